import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoPath } from '@streambet/testkit/process';
import { environmentTable } from '../config-catalog.js';

describe('README', () => {
  it('given the config specs every process loads, then the README lists exactly those variables (run `npm run docs:env` after changing one)', () => {
    const readme = fs.readFileSync(repoPath('README.md'), 'utf8');
    const section = /<!-- env-table:start -->\n([\s\S]*?)\n<!-- env-table:end -->/.exec(readme);
    expect(section?.[1]).toBe(environmentTable());
  });
});
