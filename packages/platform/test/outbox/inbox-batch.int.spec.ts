/**
 * Group-committed inbox handling (handleBatchOnce, createInboxBatcher): exactly-once effects for a
 * batch of deliveries in one transaction, on PGlite and PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import {
  createInboxBatcher,
  handleBatchOnce,
  handleOnce,
  platformMigrations,
} from '@streambet/platform/outbox/index';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';

const uniqueName = (prefix: string): string => `${prefix}_${randomBytes(4).toString('hex')}`;

/** Inserts one projection row per event, in order: a repeated effect hits the primary key. */
async function project(tx: SqlExecutor, events: readonly { id: string }[]): Promise<void> {
  for (const event of events) {
    await tx.query('INSERT INTO projection (event_id, n) VALUES ($1, DEFAULT)', [event.id]);
  }
}

for (const target of sqlTargets()) {
  describe(`batched inbox on ${target.name}`, () => {
    let db: SqlTestDatabase;
    beforeAll(async () => {
      db = await target.create();
    });
    afterAll(async () => {
      await db?.dispose();
    });

    async function freshSql(): Promise<{ sql: Sql; dispose(): Promise<void> }> {
      let fresh: { sql: Sql; dispose(): Promise<void> };
      if (db.embedded !== undefined) {
        const schema = uniqueName('t');
        fresh = {
          sql: await db.embedded.forSchema(schema),
          dispose: async () => {
            await db.sql.query(`DROP SCHEMA ${schema} CASCADE`);
          },
        };
      } else {
        fresh = await target.create();
      }
      await migrate(fresh.sql, 'test', [
        ...platformMigrations,
        {
          id: '0001_projection',
          sql: 'CREATE TABLE projection (event_id text PRIMARY KEY, n bigserial NOT NULL)',
        },
      ]);
      return fresh;
    }

    const projected = async (sql: Sql): Promise<string[]> =>
      (
        await sql.query<{ event_id: string }>('SELECT event_id FROM projection ORDER BY n')
      ).rows.map((row) => row.event_id);

    it('applies the new events of a batch once, in the order given, in one transaction', async () => {
      const fresh = await freshSql();
      try {
        const { sql } = fresh;
        expect(
          await handleOnce(sql, 'test.projector', { id: 'e2' }, (tx) =>
            project(tx, [{ id: 'e2' }]),
          ),
        ).toBe(true);
        const ran = await handleBatchOnce(
          sql,
          'test.projector',
          [{ id: 'e3' }, { id: 'e1' }, { id: 'e2' }, { id: 'e3' }, { id: 'e4' }],
          project,
        );
        expect([...ran].sort()).toEqual(['e1', 'e3', 'e4']);
        // e2 was handled before; e3 twice in the batch counts once; the given order is kept.
        expect(await projected(sql)).toEqual(['e2', 'e3', 'e1', 'e4']);
        // The same consumer never applies them again; another consumer has its own rows.
        expect(
          await handleBatchOnce(sql, 'test.projector', [{ id: 'e1' }, { id: 'e4' }], project),
        ).toEqual(new Set());
        expect(
          (await handleBatchOnce(sql, 'test.other', [{ id: 'e1' }], () => Promise.resolve())).size,
        ).toBe(1);
      } finally {
        await fresh.dispose();
      }
    });

    it('rolls every inbox row of the batch back with a failing effect', async () => {
      const fresh = await freshSql();
      try {
        const { sql } = fresh;
        const failure = new Error('projection store down');
        await expect(
          handleBatchOnce(sql, 'test.projector', [{ id: 'a' }, { id: 'b' }], async (tx, events) => {
            await project(tx, events);
            throw failure;
          }),
        ).rejects.toBe(failure);
        expect((await sql.query('SELECT * FROM inbox')).rowCount).toBe(0);
        expect(await projected(sql)).toEqual([]);
        await handleBatchOnce(sql, 'test.projector', [{ id: 'a' }, { id: 'b' }], project);
        expect(await projected(sql)).toEqual(['a', 'b']);
      } finally {
        await fresh.dispose();
      }
    });

    it('group-commits concurrent deliveries: every event once, few transactions', async () => {
      const fresh = await freshSql();
      try {
        const { sql } = fresh;
        const batches: number[] = [];
        const batcher = createInboxBatcher<{ id: string }>({
          sql,
          consumer: 'test.projector',
          maxBatch: 100,
          apply: async (tx, events) => {
            batches.push(events.length);
            await project(tx, events);
          },
        });
        const ids = Array.from({ length: 60 }, (_, i) => `evt-${String(i).padStart(2, '0')}`);
        // A redelivery of ten of them while the first deliveries are still in flight.
        await Promise.all([...ids, ...ids.slice(0, 10)].map((id) => batcher.handle({ id })));
        expect((await projected(sql)).sort()).toEqual(ids);
        expect(batches.reduce((sum, n) => sum + n, 0)).toBe(60);
        // One delivered burst is one transaction (the bus hands it over within one turn).
        expect(batches.length).toBe(1);
        // Later deliveries queue behind a running transaction and go together in the next one.
        batches.length = 0;
        const later = Array.from({ length: 30 }, (_, i) => `later-${i}`);
        const first = batcher.handle({ id: later[0]! });
        await new Promise((resolve) => setImmediate(resolve));
        await Promise.all([first, ...later.slice(1).map((id) => batcher.handle({ id }))]);
        expect(batches).toEqual([1, 29]);
      } finally {
        await fresh.dispose();
      }
    });

    it('a failing event fails alone: the rest of its batch is applied once', async () => {
      const fresh = await freshSql();
      try {
        const { sql } = fresh;
        const failure = new Error('cannot project poison');
        const batcher = createInboxBatcher<{ id: string }>({
          sql,
          consumer: 'test.projector',
          maxBatch: 100,
          apply: async (tx, events) => {
            await project(tx, events);
            if (events.some((event) => event.id === 'poison')) throw failure;
          },
        });
        const results = await Promise.allSettled(
          ['a', 'poison', 'b', 'c'].map((id) => batcher.handle({ id })),
        );
        expect(results.map((r) => r.status)).toEqual([
          'fulfilled',
          'rejected',
          'fulfilled',
          'fulfilled',
        ]);
        expect(results[1]).toMatchObject({ reason: failure });
        expect((await projected(sql)).sort()).toEqual(['a', 'b', 'c']);
        const inbox = await sql.query<{ event_id: string }>(
          'SELECT event_id FROM inbox ORDER BY event_id',
        );
        expect(inbox.rows.map((row) => row.event_id)).toEqual(['a', 'b', 'c']);
      } finally {
        await fresh.dispose();
      }
    });
  });
}
