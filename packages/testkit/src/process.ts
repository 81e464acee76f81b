import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository's tsx binary: services run from TypeScript source, as `npm start` runs them. */
export const tsxBin = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));

/** Absolute path of a file in the repository, from its repo-relative path. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../../../${relative}`, import.meta.url));
}

/** A child process running a service entry point, with its output captured line by line. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first JSON log line whose `msg` equals `msg` (rejects if the process exits first). */
  waitForLog(msg: string): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
}

/**
 * Starts `tsx <entry>` with exactly `env` (plus PATH and HOME): no variable leaks in from the test
 * runner's environment, so a test states every value the service reads.
 */
export function spawnService(entry: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(tsxBin, [repoPath(entry)], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: Array<{ msg: string; resolve: (line: Record<string, unknown>) => void }> = [];
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const scan = (): void => {
    for (const line of out.split('\n')) {
      if (!line.startsWith('{')) continue;
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      for (const waiter of waiters.splice(0)) {
        if (parsed.msg === waiter.msg) waiter.resolve(parsed);
        else waiters.push(waiter);
      }
    }
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    scan();
  });
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLog(msg) {
      return new Promise((resolve, reject) => {
        waiters.push({ msg, resolve });
        scan();
        void exited.then((code) =>
          reject(new Error(`process exited (${code}) before logging "${msg}":\n${err}\n${out}`)),
        );
      });
    },
  };
}
