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

/** Options of {@link runUntilKilled}. */
export interface RunUntilKilledOptions {
  /** The stdout line at which the child is SIGKILLed (default `KILL_ME`). */
  readonly killAt?: string;
}

/**
 * Crash tests: runs `node --import tsx <script> <base64 JSON job>` from the repository root and
 * SIGKILLs it the moment it prints a line `KILL_ME` (the child prints it at the step under test
 * and then waits), so the kill lands exactly there. Resolves with the child's stdout; rejects
 * when the child exits any other way (it never reached the step), with its output for the reason.
 * `options.killAt` names another line to kill at, for children whose steps print their own
 * markers (e.g. BEFORE_COMMIT / COMMITTED), so one child serves several kill points.
 */
export function runUntilKilled(
  script: string,
  job: unknown,
  options: RunUntilKilledOptions = {},
): Promise<string> {
  const killAt = options.killAt ?? 'KILL_ME';
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', script, Buffer.from(JSON.stringify(job)).toString('base64')],
      {
        cwd: repoPath('.'),
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LOG_LEVEL: 'silent' },
      },
    );
    let output = '';
    let stderr = '';
    let killed = false;
    proc.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!killed && output.split('\n').includes(killAt)) {
        killed = true;
        proc.kill('SIGKILL');
      }
    });
    proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (killed && signal === 'SIGKILL') resolve(output);
      else {
        reject(
          new Error(
            `crash child exited (${code ?? signal}) before ${killAt}:\n${output}\n${stderr}`,
          ),
        );
      }
    });
  });
}

/** The job a crash child was given (argv[2] of {@link runUntilKilled}). */
export function crashJob<T>(): T {
  const encoded = process.argv[2];
  if (encoded === undefined) throw new Error('crash child: no job in argv[2]');
  return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as T;
}
