/**
 * The package runs in React Native, which has no DOM: its sources may not use the browser's
 * globals. `window` and `document` already fail the typecheck (no DOM library), but Node's types
 * declare `localStorage` and friends, so this test reads the sources for them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');
const browserOnly =
  /\b(window|document|localStorage|sessionStorage|navigator|XMLHttpRequest|indexedDB)\b/;

function withoutCommentsAndStrings(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "''");
}

describe('@streambet/client sources', () => {
  it('use no browser-only global (so a React Native app can import them)', () => {
    const files = fs.readdirSync(srcDir, { recursive: true, encoding: 'utf8' });
    const sources = files.filter((f) => f.endsWith('.ts'));
    expect(sources.length).toBeGreaterThan(5);
    const offenders = sources.flatMap((file) =>
      withoutCommentsAndStrings(fs.readFileSync(path.join(srcDir, file), 'utf8'))
        .split('\n')
        .filter((line) => browserOnly.test(line))
        .map((line) => `${file}: ${line.trim()}`),
    );
    expect(offenders).toEqual([]);
  });
});
