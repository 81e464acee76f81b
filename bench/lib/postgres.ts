/** Real-PostgreSQL helpers for benches: a throwaway database and pgbench as the baseline. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** Server to bench against; each bench creates and drops its own database on it. */
export const benchServerUrl =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database created for one bench run. */
export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: benchServerUrl,
    application_name: 'bench-admin',
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates `bench_<prefix>_<random>` on the bench server. */
export async function createBenchDatabase(prefix: string): Promise<BenchDatabase> {
  const name = `bench_${prefix}_${randomBytes(4).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(benchServerUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** The pgbench binary: on PATH, or the newest under /usr/lib/postgresql/<version>/bin. */
export function findPgbench(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'pgbench');
    if (dir !== '' && fs.existsSync(candidate)) return candidate;
  }
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a))
    : [];
  for (const version of versions) {
    const candidate = path.join(root, version, 'bin', 'pgbench');
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(
    'pgbench not found on PATH or under /usr/lib/postgresql/*/bin; install postgresql-client',
  );
}

/**
 * The baseline: pgbench running a single-row INSERT script (`INSERT INTO <table> (v) VALUES (1)`,
 * one statement per transaction) with `clients` connections for `seconds`. Returns its TPS.
 */
export async function pgbenchInsertTps(
  databaseUrl: string,
  clients: number,
  seconds: number,
): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      'CREATE TABLE IF NOT EXISTS bench_baseline (id bigserial PRIMARY KEY, v integer NOT NULL)',
    );
  } finally {
    await client.end();
  }
  return pgbenchScriptTps(
    databaseUrl,
    clients,
    seconds,
    'INSERT INTO bench_baseline (v) VALUES (1);\n',
  );
}

/** How often a pgbench run refused a connection by a full server is tried again, 2 s apart. */
const FULL_SERVER_RETRIES = 10;

/**
 * pgbench running `script` (its own script language: `\set`, `:client_id`, one transaction per
 * run of the script unless it says otherwise) with `clients` connections on two threads for
 * `seconds`. Returns its TPS; rejects when a transaction failed. A server that refuses a connection
 * because it is full (`too many clients already`: the bench server is shared) is waited for, up to
 * FULL_SERVER_RETRIES times; the measured run is always a whole one.
 */
export async function pgbenchScriptTps(
  databaseUrl: string,
  clients: number,
  seconds: number,
  script: string,
): Promise<number> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'pgbench-'));
  const file = path.join(dir, 'script.sql');
  await fs.promises.writeFile(file, script);
  try {
    for (let attempt = 0; ; attempt += 1) {
      let stdout: string;
      try {
        ({ stdout } = await run(
          findPgbench(),
          [
            '-n',
            '-c',
            String(clients),
            '-j',
            String(Math.min(clients, 2)),
            '-T',
            String(seconds),
            '-f',
            file,
            databaseUrl,
          ],
          { maxBuffer: 10 * 1024 * 1024 },
        ));
      } catch (error) {
        const stderr = (error as { stderr?: unknown }).stderr;
        if (
          attempt < FULL_SERVER_RETRIES &&
          typeof stderr === 'string' &&
          stderr.includes('too many clients already')
        ) {
          process.stderr.write(`pgbench: the server is full, trying again in 2 s\n`);
          await new Promise((resolve) => setTimeout(resolve, 2000));
          continue;
        }
        throw error;
      }
      const failed = /number of failed transactions: (\d+)/.exec(stdout);
      if (failed?.[1] !== undefined && Number(failed[1]) > 0)
        throw new Error(`pgbench: ${failed[1]} transactions failed:\n${stdout}`);
      const match = /tps = ([\d.]+)/.exec(stdout);
      if (match?.[1] === undefined)
        throw new Error(`cannot read tps from pgbench output:\n${stdout}`);
      return Number(match[1]);
    }
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
