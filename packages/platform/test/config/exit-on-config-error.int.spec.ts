import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Runs a real service-like main (fixtures/main.ts) under tsx, as `npm start` would.
describe('exitOnConfigError (process level)', () => {
  const fixture = fileURLToPath(new URL('./fixtures/main.ts', import.meta.url));
  const tsx = fileURLToPath(new URL('../../../../node_modules/.bin/tsx', import.meta.url));

  const run = (
    env: Record<string, string>,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(tsx, [fixture], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('given a bad and a missing variable, when the process starts, then it exits 78 naming both on stderr', async () => {
    const result = await run({ FIXTURE_PORT: 'abc' });
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([
      'invalid configuration (2 variables):',
      expect.stringMatching(
        /^ {2}FIXTURE_PORT: "abc" is invalid \(must be a whole number\); expected TCP port, 0-65535$/,
      ),
      '  FIXTURE_DATABASE_URL: is not set; expected PostgreSQL URL of the fixture database',
    ]);
  });

  it('given valid variables, when the process starts, then it runs', async () => {
    const result = await run({ FIXTURE_DATABASE_URL: 'postgres://127.0.0.1/x' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      FIXTURE_PORT: 8080,
      FIXTURE_DATABASE_URL: 'postgres://127.0.0.1/x',
    });
  });
});
