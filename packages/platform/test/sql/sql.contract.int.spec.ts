import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  POSTGRES_SKIP_REASON,
  pgliteTemplate,
  sqlTargets,
  type SqlTestDatabase,
} from '@streambet/testkit/sql';
import { createPostgresSql } from '@streambet/platform/sql/postgres';
import { openEmbeddedDatabase } from '@streambet/platform/sql/pglite';
import {
  FolderLockedError,
  LOCK_FILE_NAME,
  acquireFolderLock,
} from '@streambet/platform/sql/folder-lock';
import { MigrationError, migrate } from '@streambet/platform/sql/migrate';
import { SqlUsageError } from '@streambet/platform/sql/transaction-scope';
import type { Migration, Sql } from '@streambet/platform/sql/types';
import { spawnTsx } from './fixtures/spawn-tsx.js';

const INT64_MAX = 9_223_372_036_854_775_807n;
const INT64_MIN = -9_223_372_036_854_775_808n;
const targets = sqlTargets();
const here = path.dirname(fileURLToPath(import.meta.url));

function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

for (const target of targets) {
  describe(`SQL contract on ${target.name}`, () => {
    let db: SqlTestDatabase;
    let sql: Sql;

    beforeAll(async () => {
      db = await target.create();
      sql = db.sql;
    });
    afterAll(async () => {
      await db?.dispose();
    });

    /** A database nobody else in this file touches: a new schema on the shared PGlite, a new database on PostgreSQL. */
    async function freshSql(): Promise<{ sql: Sql; url?: string; dispose(): Promise<void> }> {
      if (db.embedded !== undefined) {
        const schema = uniqueName('t');
        const scoped = await db.embedded.forSchema(schema);
        return {
          sql: scoped,
          async dispose() {
            await sql.query(`DROP SCHEMA ${schema} CASCADE`);
            await scoped.close();
          },
        };
      }
      return target.create();
    }

    it('reports its dialect and answers ping', async () => {
      expect(sql.dialect).toBe(target.name);
      await expect(sql.ping()).resolves.toBeUndefined();
    });

    it('runs a statement prepared by name like the plain one, in and out of transactions', async () => {
      const table = uniqueName('prep');
      await sql.query(`CREATE TABLE ${table} (id text PRIMARY KEY, amount bigint NOT NULL)`);
      const insert = `INSERT INTO ${table} (id, amount) VALUES ($1::text, $2::bigint) RETURNING amount`;
      const name = uniqueName('sb_contract');
      const first = await sql.query<{ amount: bigint }>(insert, ['a', INT64_MAX], {
        prepareAs: name,
      });
      expect(first.rows).toEqual([{ amount: INT64_MAX }]);
      // The same name again (PostgreSQL: on a pooled connection that may have prepared it or not).
      for (const id of ['b', 'c', 'd']) {
        await sql.query(insert, [id, 7n], { prepareAs: name });
      }
      await sql.transaction(async (tx) => {
        await tx.query(insert, ['e', -1n], { prepareAs: name });
        await tx.query(insert, ['f', 1n], { prepareAs: name });
      });
      await expect(
        sql.transaction(async (tx) => {
          await tx.query(insert, ['g', 1n], { prepareAs: name });
          await tx.query(insert, ['a', 1n], { prepareAs: name }); // duplicate: rolls back 'g'
        }),
      ).rejects.toThrow();
      const rows = await sql.query<{ id: string; amount: bigint }>(
        `SELECT id, amount FROM ${table} ORDER BY id`,
      );
      expect(rows.rows.map((r) => `${r.id}=${r.amount}`)).toEqual([
        `a=${INT64_MAX}`,
        'b=7',
        'c=7',
        'd=7',
        'e=-1',
        'f=1',
      ]);
      await sql.query(`DROP TABLE ${table}`);
    });

    it('round-trips BIGINT as bigint, including the int64 limits', async () => {
      const table = uniqueName('amounts');
      await sql.query(
        `CREATE TABLE ${table} (id integer PRIMARY KEY, amount_minor bigint NOT NULL)`,
      );
      const values = [
        INT64_MAX,
        INT64_MIN,
        INT64_MAX - 1n,
        2n ** 53n + 1n,
        -(2n ** 53n) - 1n,
        0n,
        5n,
      ];
      for (const [index, value] of values.entries()) {
        await sql.query(`INSERT INTO ${table} (id, amount_minor) VALUES ($1, $2)`, [index, value]);
      }
      const { rows } = await sql.query<{ amount_minor: bigint }>(
        `SELECT amount_minor FROM ${table} ORDER BY id`,
      );
      expect(rows.map((row) => row.amount_minor)).toEqual(values);
      for (const row of rows) expect(typeof row.amount_minor).toBe('bigint');

      const computed = await sql.query<{ next: bigint; count: bigint; small: bigint }>(
        `SELECT $1::bigint + 1 AS next, count(*) AS count, 7::bigint AS small FROM ${table}`,
        [INT64_MAX - 1n],
      );
      expect(computed.rows[0]).toEqual({
        next: INT64_MAX,
        count: BigInt(values.length),
        small: 7n,
      });

      const arrays = await sql.query<{ amounts: bigint[] }>('SELECT $1::bigint[] AS amounts', [
        [1n, INT64_MAX, INT64_MIN],
      ]);
      expect(arrays.rows[0]!.amounts).toEqual([1n, INT64_MAX, INT64_MIN]);

      await expect(sql.query('SELECT $1::bigint + 1', [INT64_MAX])).rejects.toMatchObject({
        code: '22003',
      });
    });

    it('returns NUMERIC as an exact string (sum of BIGINT is NUMERIC too)', async () => {
      const { rows } = await sql.query<{
        odds: string;
        exact: string;
        ratio: string;
        total: string;
        many: string[];
      }>(
        `SELECT $1::numeric(30, 10) AS odds, 0.1::numeric + 0.2::numeric AS exact, 1::numeric / 3 AS ratio,
                (SELECT sum(v) FROM (VALUES ($2::bigint), ($2::bigint)) AS t(v)) AS total,
                ARRAY[1.50, 2.25]::numeric[] AS many`,
        ['12345678901234567890.0123456789', INT64_MAX],
      );
      expect(rows[0]).toEqual({
        odds: '12345678901234567890.0123456789',
        exact: '0.3',
        ratio: '0.33333333333333333333',
        total: '18446744073709551614',
        many: ['1.50', '2.25'],
      });
    });

    it('round-trips JSONB documents, TIMESTAMPTZ as Date and BYTEA as bytes', async () => {
      const table = uniqueName('docs');
      await sql.query(
        `CREATE TABLE ${table} (id integer PRIMARY KEY, doc jsonb, at timestamptz, raw bytea)`,
      );
      const at = new Date('2030-05-06T07:08:09.123Z');
      const doc = {
        market: 'm-1',
        outcomes: ['yes', 'não'],
        nested: { ok: true, n: 1.5 },
        none: null,
      };
      const raw = new Uint8Array([0, 1, 2, 250, 255]);
      await sql.query(`INSERT INTO ${table} VALUES (1, $1, $2, $3)`, [doc, at, raw]);
      await sql.query(`INSERT INTO ${table} (id, doc) VALUES (2, $1), (3, $2)`, [
        JSON.stringify([1, 2, 3]),
        { stakeMinor: 12n },
      ]);

      const { rows } = await sql.query<{ doc: unknown; at: Date | null; raw: Uint8Array | null }>(
        `SELECT doc, at, raw FROM ${table} ORDER BY id`,
      );
      expect(rows[0]!.doc).toEqual(doc);
      expect(rows[0]!.at).toBeInstanceOf(Date);
      expect(rows[0]!.at!.getTime()).toBe(at.getTime());
      expect(rows[0]!.raw).toBeInstanceOf(Uint8Array);
      expect([...rows[0]!.raw!]).toEqual([...raw]);
      expect(rows[1]!.doc).toEqual([1, 2, 3]);
      expect(rows[2]!.doc).toEqual({ stakeMinor: '12' });

      const now = await sql.query<{ now: Date }>('SELECT now() AS now');
      expect(now.rows[0]!.now).toBeInstanceOf(Date);
    });

    it('reports rowCount for writes and reads, and runs several statements when there are no parameters', async () => {
      const table = uniqueName('counts');
      const created = await sql.query(
        `CREATE TABLE ${table} (id integer PRIMARY KEY); INSERT INTO ${table} VALUES (1), (2), (3)`,
      );
      expect(created.rowCount).toBe(3);
      expect(
        (await sql.query(`UPDATE ${table} SET id = id + 10 WHERE id > $1`, [1])).rowCount,
      ).toBe(2);
      expect((await sql.query(`DELETE FROM ${table} WHERE id = $1`, [99])).rowCount).toBe(0);
      expect((await sql.query(`SELECT * FROM ${table}`)).rowCount).toBe(3);
      const returning = await sql.query<{ id: number }>(
        `INSERT INTO ${table} VALUES ($1), ($2) RETURNING id`,
        [20, 21],
      );
      expect(returning).toEqual({ rows: [{ id: 20 }, { id: 21 }], rowCount: 2 });
    });

    it('commits a transaction and returns its value; rolls back and rethrows the same error', async () => {
      const table = uniqueName('ledger');
      await sql.query(`CREATE TABLE ${table} (id text PRIMARY KEY, amount_minor bigint NOT NULL)`);

      const value = await sql.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES ($1, $2)`, ['a', 100n]);
        await tx.query(`INSERT INTO ${table} VALUES ($1, $2)`, ['b', -100n]);
        return 'done';
      });
      expect(value).toBe('done');

      const failure = new Error('domain rule broken');
      await expect(
        sql.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${table} VALUES ($1, $2)`, ['c', 1n]);
          throw failure;
        }),
      ).rejects.toBe(failure);

      const duplicate = sql.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES ($1, $2)`, ['d', 1n]);
        await tx.query(`INSERT INTO ${table} VALUES ($1, $2)`, ['a', 1n]);
      });
      await expect(duplicate).rejects.toMatchObject({ code: '23505' });

      const { rows } = await sql.query<{ id: string }>(`SELECT id FROM ${table} ORDER BY id`);
      expect(rows.map((row) => row.id)).toEqual(['a', 'b']);
    });

    it('refuses to commit when a failed statement inside the transaction was swallowed', async () => {
      const table = uniqueName('swallowed');
      await sql.query(`CREATE TABLE ${table} (id integer PRIMARY KEY)`);
      const attempt = sql.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES (1)`);
        await tx.query(`INSERT INTO ${table} VALUES (1)`).catch(() => undefined);
      });
      await expect(attempt).rejects.toMatchObject({ code: '25P02' });
      expect((await sql.query(`SELECT * FROM ${table}`)).rowCount).toBe(0);
    });

    it('applies the requested isolation level', async () => {
      for (const isolation of ['read committed', 'repeatable read', 'serializable'] as const) {
        const level = await sql.transaction(
          async (tx) =>
            (await tx.query<{ transaction_isolation: string }>('SHOW transaction_isolation'))
              .rows[0]!.transaction_isolation,
          { isolation },
        );
        expect(level).toBe(isolation);
      }
    });

    it('explains nested and late use instead of deadlocking', async () => {
      await expect(
        sql.transaction(() => sql.transaction(() => Promise.resolve(1))),
      ).rejects.toThrow(SqlUsageError);
      await expect(sql.transaction(() => sql.query('SELECT 1'))).rejects.toThrow(
        /use the `tx` executor/i,
      );

      let leaked: { query(text: string): Promise<unknown> } | undefined;
      await sql.transaction((tx) => {
        leaked = tx;
        return Promise.resolve();
      });
      await expect(leaked!.query('SELECT 1')).rejects.toThrow(/transaction already ended/);

      // Work a transaction started without awaiting may use the database once the transaction ended.
      let releaseBackground!: () => void;
      const gate = new Promise<void>((resolve) => {
        releaseBackground = resolve;
      });
      let background: Promise<unknown> | undefined;
      await sql.transaction((tx) => {
        background = gate.then(() => sql.query('SELECT 1 AS one'));
        return tx.query('SELECT 1');
      });
      releaseBackground();
      await expect(background).resolves.toMatchObject({ rows: [{ one: 1 }] });
    });

    it('runs concurrent transactions without mixing their statements', async () => {
      const table = uniqueName('concurrent');
      await sql.query(`CREATE TABLE ${table} (tx integer NOT NULL, step integer NOT NULL)`);
      await Promise.all(
        [1, 2, 3, 4].map((txNumber) =>
          sql
            .transaction(async (tx) => {
              for (let step = 0; step < 5; step++)
                await tx.query(`INSERT INTO ${table} VALUES ($1, $2)`, [txNumber, step]);
              if (txNumber === 3) throw new Error('roll this one back');
            })
            .catch((error: unknown) => {
              if (!(error instanceof Error && error.message === 'roll this one back')) throw error;
            }),
        ),
      );
      const { rows } = await sql.query<{ tx: number; n: bigint }>(
        `SELECT tx, count(*) AS n FROM ${table} GROUP BY tx ORDER BY tx`,
      );
      expect(rows).toEqual([
        { tx: 1, n: 5n },
        { tx: 2, n: 5n },
        { tx: 4, n: 5n },
      ]);
    });

    describe('migrate()', () => {
      const migrations: Migration[] = [
        {
          id: '0002_add_status',
          sql: "ALTER TABLE markets ADD COLUMN status text NOT NULL DEFAULT 'DRAFT'",
        },
        {
          id: '0001_create_markets',
          sql: 'CREATE TABLE markets (id text PRIMARY KEY);\nCREATE INDEX markets_id ON markets (id)',
        },
        { id: '0003_seed', sql: "INSERT INTO markets (id) VALUES ('m-1')" },
      ];

      it('applies pending migrations in id order, once', async () => {
        const fresh = await freshSql();
        try {
          expect(await migrate(fresh.sql, 'pool', migrations)).toEqual({
            applied: ['0001_create_markets', '0002_add_status', '0003_seed'],
          });
          expect(await migrate(fresh.sql, 'pool', migrations)).toEqual({ applied: [] });
          const more = [
            ...migrations,
            { id: '0004_more', sql: "INSERT INTO markets (id) VALUES ('m-2')" },
          ];
          expect(await migrate(fresh.sql, 'pool', more)).toEqual({ applied: ['0004_more'] });
          const { rows } = await fresh.sql.query<{ id: string; status: string }>(
            'SELECT id, status FROM markets ORDER BY id',
          );
          expect(rows).toEqual([
            { id: 'm-1', status: 'DRAFT' },
            { id: 'm-2', status: 'DRAFT' },
          ]);
          const applied = await fresh.sql.query<{ id: string; service: string }>(
            'SELECT id, service FROM schema_migrations ORDER BY id',
          );
          expect(applied.rows.map((row) => row.id)).toEqual([
            '0001_create_markets',
            '0002_add_status',
            '0003_seed',
            '0004_more',
          ]);
          expect(applied.rows.every((row) => row.service === 'pool')).toBe(true);
        } finally {
          await fresh.dispose();
        }
      });

      it('rolls a failing migration back entirely and keeps the ones before it', async () => {
        const fresh = await freshSql();
        try {
          const broken = [
            migrations[1]!,
            {
              id: '0002_broken',
              sql: 'CREATE TABLE half (id int); INSERT INTO nowhere VALUES (1)',
            },
          ];
          await expect(migrate(fresh.sql, 'pool', broken)).rejects.toMatchObject({ code: '42P01' });
          const tables = await fresh.sql.query<{ name: string }>(
            'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1',
          );
          expect(tables.rows.map((row) => row.name)).toEqual(['markets', 'schema_migrations']);
          const applied = await fresh.sql.query<{ id: string }>('SELECT id FROM schema_migrations');
          expect(applied.rows).toEqual([{ id: '0001_create_markets' }]);
        } finally {
          await fresh.dispose();
        }
      });

      it('refuses an edited migration, naming it', async () => {
        const fresh = await freshSql();
        try {
          await migrate(fresh.sql, 'pool', migrations);
          const edited = migrations.map((m) =>
            m.id === '0002_add_status' ? { ...m, sql: `${m.sql} -- edited` } : m,
          );
          const error = await migrate(fresh.sql, 'pool', edited).catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(MigrationError);
          expect((error as MigrationError).migrationId).toBe('0002_add_status');
          expect((error as Error).message).toMatch(
            /0002_add_status of pool was changed after it was applied/,
          );
          // Line endings alone are not an edit.
          const crlf = migrations.map((m) => ({ ...m, sql: m.sql.replaceAll('\n', '\r\n') }));
          await expect(migrate(fresh.sql, 'pool', crlf)).resolves.toEqual({ applied: [] });
        } finally {
          await fresh.dispose();
        }
      });

      it('refuses to run older code against a newer schema unless told the change is compatible', async () => {
        const fresh = await freshSql();
        try {
          await migrate(fresh.sql, 'pool', migrations);
          const older = migrations.filter((m) => m.id !== '0003_seed');
          await expect(migrate(fresh.sql, 'pool', older)).rejects.toThrow(
            /has migration 0003_seed applied .* does not know/,
          );
          const warnings: unknown[] = [];
          const logger = { info: () => undefined, warn: (fields: object) => warnings.push(fields) };
          await expect(
            migrate(fresh.sql, 'pool', older, { onUnknownApplied: 'warn', logger }),
          ).resolves.toEqual({ applied: [] });
          expect(warnings).toEqual([{ migrationId: '0003_seed' }]);
        } finally {
          await fresh.dispose();
        }
      });

      it('rejects duplicate ids before touching the database', async () => {
        const fresh = await freshSql();
        try {
          await expect(
            migrate(fresh.sql, 'pool', [migrations[0]!, migrations[0]!]),
          ).rejects.toThrow(/0002_add_status appears twice/);
        } finally {
          await fresh.dispose();
        }
      });
    });

    if (target.name === 'pglite') {
      describe('one PGlite, one schema per service', () => {
        const embedded = () => db.embedded!;

        it('keeps schemas apart: same table name, no leakage, interleaved use', async () => {
          const pool = await embedded().forSchema('pool');
          const bets = await embedded().forSchema('bet_engine');
          await pool.query('CREATE TABLE items (id text PRIMARY KEY, owner text NOT NULL)');
          await bets.query('CREATE TABLE items (id text PRIMARY KEY, owner text NOT NULL)');
          await migrate(pool, 'pool', [{ id: '0001_x', sql: 'CREATE TABLE only_pool (id int)' }]);
          await migrate(bets, 'bet-engine', [
            { id: '0001_y', sql: 'CREATE TABLE only_bets (id int)' },
          ]);

          await Promise.all([
            ...Array.from({ length: 10 }, (_, index) =>
              pool.query('INSERT INTO items VALUES ($1, $2)', [`p${index}`, 'pool']),
            ),
            ...Array.from({ length: 10 }, (_, index) =>
              bets.transaction(async (tx) => {
                await tx.query('INSERT INTO items VALUES ($1, $2)', [`b${index}`, 'bets']);
              }),
            ),
          ]);

          const poolItems = await pool.query<{ owner: string }>('SELECT owner FROM items');
          const betItems = await bets.query<{ owner: string }>('SELECT owner FROM items');
          expect(poolItems.rows).toHaveLength(10);
          expect(poolItems.rows.every((row) => row.owner === 'pool')).toBe(true);
          expect(betItems.rows).toHaveLength(10);
          expect(betItems.rows.every((row) => row.owner === 'bets')).toBe(true);

          await expect(pool.query('SELECT * FROM only_bets')).rejects.toMatchObject({
            code: '42P01',
          });
          await expect(bets.query('SELECT * FROM only_pool')).rejects.toMatchObject({
            code: '42P01',
          });
          expect(
            (await pool.query<{ id: string }>('SELECT id FROM schema_migrations')).rows,
          ).toEqual([{ id: '0001_x' }]);
          expect(
            (await bets.query<{ id: string }>('SELECT id FROM schema_migrations')).rows,
          ).toEqual([{ id: '0001_y' }]);
          expect((await bets.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s).toBe(
            'bet_engine',
          );
        });

        it('refuses a transaction on another schema from inside a transaction (one backend would deadlock)', async () => {
          const first = await embedded().forSchema('first');
          const second = await embedded().forSchema('second');
          await expect(first.transaction(async () => second.query('SELECT 1'))).rejects.toThrow(
            SqlUsageError,
          );
        });

        it('rejects schema names that would need quoting', async () => {
          await expect(embedded().forSchema('bet-engine')).rejects.toThrow(
            /Invalid schema name "bet-engine"/,
          );
          await expect(embedded().forSchema('x; DROP SCHEMA public')).rejects.toThrow(
            SqlUsageError,
          );
        });
      });
    }

    if (target.name === 'postgres') {
      it('applies each migration once when two replicas migrate at the same time', async () => {
        const fresh = await freshSql();
        const replicaA = createPostgresSql({ connectionString: fresh.url!, maxConnections: 2 });
        const replicaB = createPostgresSql({ connectionString: fresh.url!, maxConnections: 2 });
        try {
          const many: Migration[] = Array.from({ length: 12 }, (_, index) => ({
            id: `${String(index + 1).padStart(4, '0')}_step`,
            sql:
              index === 0
                ? 'CREATE TABLE steps (n integer PRIMARY KEY)'
                : `INSERT INTO steps VALUES (${index}); CREATE TABLE step_${index} (id int)`,
          }));
          const [a, b] = await Promise.all([
            migrate(replicaA, 'pool', many),
            migrate(replicaB, 'pool', many),
          ]);
          expect([...a.applied, ...b.applied].sort()).toEqual(many.map((m) => m.id));
          expect(a.applied.filter((id) => b.applied.includes(id))).toEqual([]);
          expect((await fresh.sql.query('SELECT * FROM steps')).rowCount).toBe(11);
        } finally {
          await replicaA.close();
          await replicaB.close();
          await fresh.dispose();
        }
      });

      it('parses BIGINT per pool without touching the process-wide pg parsers', async () => {
        const pg = (await import('pg')).default;
        const { rows } = await sql.query<{ n: bigint }>('SELECT 5::bigint AS n');
        expect(rows[0]!.n).toBe(5n);
        const client = new pg.Client({ connectionString: db.url! });
        await client.connect();
        try {
          const plain = await client.query<{ n: unknown }>('SELECT 5::bigint AS n');
          expect(plain.rows[0]!.n).toBe('5');
        } finally {
          await client.end();
        }
      });

      it('closes idempotently and refuses statements afterwards', async () => {
        const extra = createPostgresSql({ connectionString: db.url!, maxConnections: 1 });
        await extra.ping();
        await extra.close();
        await extra.close();
        await expect(extra.query('SELECT 1')).rejects.toThrow(SqlUsageError);
      });
    }
  });
}

// Shown as skipped, with the reason, when this run has no real PostgreSQL.
const hasPostgres = targets.some((target) => target.name === 'postgres');
if (!hasPostgres) {
  describe.skip(`SQL contract on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs against real PostgreSQL', () => undefined);
  });
}

describe('embedded engine: the data folder lock', () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const folder of folders) await fs.promises.rm(folder, { recursive: true, force: true });
  });
  function tempFolder(): string {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'sbtest-lock-'));
    folders.push(folder);
    return folder;
  }

  it('refuses a second opener of the same folder while the first is open, and allows it after close', async () => {
    const folder = tempFolder();
    const template = await pgliteTemplate();
    const first = await openEmbeddedDatabase({ dataDir: folder, template });
    try {
      const sql = await first.forSchema('svc');
      await sql.query('CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)');
      const second = await openEmbeddedDatabase({ dataDir: folder, template }).catch(
        (error: unknown) => error,
      );
      expect(second).toBeInstanceOf(FolderLockedError);
      expect((second as Error).message).toContain(folder);
      expect((second as Error).message).toContain(`process ${process.pid}`);
    } finally {
      await first.close();
    }
    expect(fs.existsSync(path.join(folder, LOCK_FILE_NAME))).toBe(false);

    const reopened = await openEmbeddedDatabase({ dataDir: folder, template });
    try {
      const sql = await reopened.forSchema('svc');
      expect((await sql.query<{ id: number }>('SELECT id FROM kept')).rows).toEqual([{ id: 7 }]);
    } finally {
      await reopened.close();
    }
  });

  it('refuses while another live process holds the folder, and takes the lock over once it died', async () => {
    const folder = tempFolder();
    const child = spawnTsx(path.join(here, 'fixtures/hold-folder-lock.ts'), [folder]);
    try {
      await child.waitForOutput('locked');
      const refused = (() => {
        try {
          return acquireFolderLock(folder);
        } catch (error) {
          return error;
        }
      })();
      expect(refused).toBeInstanceOf(FolderLockedError);
      expect((refused as FolderLockedError).owner.pid).toBe(child.process.pid);
      expect((refused as Error).message).toContain(
        `The data folder ${folder} is in use by process ${child.process.pid}`,
      );
    } finally {
      child.process.kill('SIGKILL');
      await child.exited;
    }
    // The dead child's lock file is still there; the next opener takes it over.
    const lockFile = path.join(folder, LOCK_FILE_NAME);
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: child.process.pid });
    const lock = acquireFolderLock(folder);
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
    expect(fs.existsSync(lockFile)).toBe(false);
  });
});
