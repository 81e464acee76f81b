import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import pg from 'pg';
import { createPostgresSql } from '@streambet/platform/sql/postgres';
import { openEmbeddedDatabase, type EmbeddedDatabase } from '@streambet/platform/sql/pglite';
import type { Sql } from '@streambet/platform/sql/types';
import { realServers } from './env.js';

/** A database made for one test file (or test), gone after {@link SqlTestDatabase.dispose}. */
export interface SqlTestDatabase {
  readonly sql: Sql;
  /** Where another process can open the same database ({@link openSqlUrl}); only for real PostgreSQL. */
  readonly url?: string;
  /** The embedded engine behind `sql` (PGlite target), e.g. to make more schemas on it. */
  readonly embedded?: EmbeddedDatabase;
  /** Closes everything and deletes the database. */
  dispose(): Promise<void>;
}

/** A fresh database that nobody has opened yet, addressed by URL so a child process can open it. */
export interface SqlTestUrl {
  /** `postgres://…/sbtest_…` or `pglite:///tmp/…?schema=test`. */
  readonly url: string;
  /** Deletes the database (close every Sql on it first). */
  dispose(): Promise<void>;
}

/** One engine the SQL-backed tests run against. */
export interface SqlTarget {
  readonly name: 'pglite' | 'postgres';
  /** An open database: in-memory PGlite from the cached template, or a new `sbtest_<random>` database. */
  create(): Promise<SqlTestDatabase>;
  /** A database for another process: an on-disk PGlite folder, or a new `sbtest_<random>` database. */
  createUrl(): Promise<SqlTestUrl>;
}

/** The title suffix of real-PostgreSQL suites when they are skipped. */
export const POSTGRES_SKIP_REASON = 'skipped: TEST_DATABASE_URL not set';

/**
 * The engines available to this test run: always embedded PGlite; real PostgreSQL too when
 * `TEST_DATABASE_URL` is set (see env.ts). Pair with a `describe.skipIf` that names
 * {@link POSTGRES_SKIP_REASON} so an embedded-only run says what it skipped.
 */
export function sqlTargets(): SqlTarget[] {
  const targets: SqlTarget[] = [pgliteTarget];
  if (realServers.postgresUrl !== '') targets.push(postgresTarget(realServers.postgresUrl));
  return targets;
}

const TEST_SCHEMA = 'test';

const pgliteTarget: SqlTarget = {
  name: 'pglite',
  async create() {
    const embedded = await openEmbeddedDatabase({ template: await pgliteTemplate() });
    const sql = await embedded.forSchema(TEST_SCHEMA);
    return {
      sql,
      embedded,
      async dispose() {
        await embedded.close();
      },
    };
  },
  async createUrl() {
    const dataDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'sbtest-pglite-'));
    const url = new URL('pglite:///');
    url.pathname = dataDir;
    url.searchParams.set('schema', TEST_SCHEMA);
    return {
      url: url.toString(),
      async dispose() {
        await fs.promises.rm(dataDir, { recursive: true, force: true });
      },
    };
  },
};

function postgresTarget(serverUrl: string): SqlTarget {
  async function createDatabase(): Promise<SqlTestUrl> {
    const name = `sbtest_${randomBytes(6).toString('hex')}`;
    await withAdminClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async dispose() {
        await withAdminClient(serverUrl, async (client) => {
          await client.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
            [name],
          );
          await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        });
      },
    };
  }
  return {
    name: 'postgres',
    createUrl: createDatabase,
    async create() {
      const database = await createDatabase();
      const sql = createPostgresSql({
        connectionString: database.url,
        maxConnections: 5,
        applicationName: 'sbtest',
      });
      return {
        sql,
        url: database.url,
        async dispose() {
          await sql.close();
          await database.dispose();
        },
      };
    },
  };
}

async function withAdminClient<T>(
  serverUrl: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl, application_name: 'sbtest-admin' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Opens the database a {@link SqlTestUrl} points at, in this or a child process:
 * `postgres://…` through a pg pool, `pglite:///<folder>?schema=<name>` as the process's embedded
 * database (taking the folder lock; a dead process's lock is taken over). Closing the returned Sql
 * closes the embedded engine too.
 */
export async function openSqlUrl(
  url: string,
  options: { applicationName?: string } = {},
): Promise<Sql> {
  const parsed = new URL(url);
  if (parsed.protocol === 'postgres:' || parsed.protocol === 'postgresql:') {
    return createPostgresSql({
      connectionString: url,
      maxConnections: 5,
      applicationName: options.applicationName ?? 'sbtest',
    });
  }
  if (parsed.protocol !== 'pglite:')
    throw new Error(
      `openSqlUrl: unsupported URL ${url} (postgres:// or pglite:///<folder>?schema=<name>)`,
    );
  const dataDir = decodeURIComponent(parsed.pathname);
  const schema = parsed.searchParams.get('schema') ?? TEST_SCHEMA;
  const embedded = await openEmbeddedDatabase({ dataDir, template: await pgliteTemplate() });
  const sql = await embedded.forSchema(schema);
  return {
    dialect: sql.dialect,
    query: (text, params, options) => sql.query(text, params, options),
    transaction: (fn, txOptions) => sql.transaction(fn, txOptions),
    ping: () => sql.ping(),
    async close() {
      await sql.close();
      await embedded.close();
    },
  };
}

let template: Promise<Blob> | undefined;

/**
 * A freshly initialised PGlite data folder as a tarball, built once per machine and PGlite version
 * and cached in the OS temp folder. Loading it takes about 1 s; running initdb for every test
 * database took 3–6 s (measured on these machines).
 */
export function pgliteTemplate(): Promise<Blob> {
  template ??= loadOrBuildTemplate();
  return template;
}

async function loadOrBuildTemplate(): Promise<Blob> {
  const file = path.join(os.tmpdir(), `streambet-pglite-template-${pgliteVersion()}.tar`);
  try {
    return new Blob([await fs.promises.readFile(file)]);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
  const embedded = await openEmbeddedDatabase();
  let tarball: Blob;
  try {
    tarball = await embedded.dumpDataDir();
  } finally {
    await embedded.close();
  }
  // Write-then-rename: parallel test workers never read a half-written template.
  const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
  await fs.promises.writeFile(partial, new Uint8Array(await tarball.arrayBuffer()));
  await fs.promises.rename(partial, file);
  return tarball;
}

function pgliteVersion(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@electric-sql/pglite');
  const packageJson = path.join(path.dirname(entry), '..', 'package.json');
  return (JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { version: string }).version;
}
