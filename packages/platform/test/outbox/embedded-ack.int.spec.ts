import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { createMemoryBus } from '@streambet/platform/bus/memory';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import {
  appendToOutbox,
  createOutboxRelay,
  handleOnce,
  platformMigrations,
} from '@streambet/platform/outbox/index';

/**
 * The in-process bus loses what it holds when the process dies, so the relay may count an outbox
 * row as published only once every subscribed consumer group has handled it (committed its inbox
 * row). Before that rule the row was marked published as soon as the bus had queued it in memory,
 * and a crash between queueing and the consumer's commit lost the event for good.
 */
const group = 'test.projection';
const encoder = new TextEncoder();

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

for (const target of sqlTargets()) {
  describe(`embedded bus acknowledgement on ${target.name}`, () => {
    let db: SqlTestDatabase;
    const cleanups: Array<() => Promise<void>> = [];

    beforeAll(async () => {
      db = await target.create();
    });
    afterAll(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
      await db?.dispose();
    });

    /** A migrated database of its own. */
    async function freshSql(): Promise<{ sql: Sql }> {
      let fresh: { sql: Sql };
      if (db.embedded !== undefined) {
        const schema = `t_${randomBytes(4).toString('hex')}`;
        fresh = { sql: await db.embedded.forSchema(schema) };
        cleanups.push(async () => void (await db.sql.query(`DROP SCHEMA ${schema} CASCADE`)));
      } else {
        const created = await target.create();
        cleanups.push(() => created.dispose());
        fresh = { sql: created.sql };
      }
      await migrate(fresh.sql, 'test', [
        ...platformMigrations,
        {
          id: '0001_projection',
          sql: 'CREATE TABLE projection (event_id text PRIMARY KEY, label text NOT NULL)',
        },
      ]);
      return fresh;
    }

    async function unpublished(sql: Sql): Promise<number> {
      const result = await sql.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
      );
      return result.rows[0]?.n ?? -1;
    }

    // The in-process bus runs with the embedded engine (`npm start`); on PostgreSQL the relay's
    // round holds its rows locked in a transaction, which a real crash ends with the connection.
    it.skipIf(target.name !== 'pglite')(
      'keeps the row unpublished until the consumer committed: a crash before that redelivers it once',
      async () => {
        const { sql } = await freshSql();
        const [sent] = await sql.transaction((tx) =>
          appendToOutbox(tx, [
            {
              topic: 'market',
              key: 'm-1',
              type: 'streambet.test.Happened',
              payload: encoder.encode('a'),
            },
          ]),
        );

        // The first process: its consumer receives the event and dies before committing.
        const firstBus = createMemoryBus();
        const entered = deferred();
        await firstBus.subscribe({
          group,
          topics: ['market'],
          handler: async () => {
            entered.resolve();
            await new Promise<never>(() => {});
          },
        });
        const firstRelay = createOutboxRelay({ sql, bus: firstBus });
        firstRelay.flush().catch(() => undefined);
        await entered.promise;
        // The first bus and relay are dropped here, never closed: that is the crash.
        expect(await unpublished(sql)).toBe(1);

        // The restarted process: a new bus and relay over the same database.
        const secondBus = createMemoryBus();
        cleanups.push(() => secondBus.close());
        const delivered: EventEnvelope[] = [];
        await secondBus.subscribe({
          group,
          topics: ['market'],
          handler: async (event) => {
            delivered.push(event);
            await handleOnce(sql, group, event, async (tx) => {
              await tx.query('INSERT INTO projection (event_id, label) VALUES ($1, $2)', [
                event.id,
                new TextDecoder().decode(event.payload),
              ]);
            });
          },
        });
        const secondRelay = createOutboxRelay({ sql, bus: secondBus });
        await secondRelay.flush();
        await secondRelay.flush();

        expect(delivered.map((event) => event.id)).toEqual([sent?.id]);
        const applied = await sql.query<{ event_id: string }>('SELECT event_id FROM projection');
        expect(applied.rows).toEqual([{ event_id: sent?.id }]);
        expect(await unpublished(sql)).toBe(0);
      },
    );

    it('does not publish while a subscribed group has no live member, and publishes once it has', async () => {
      const { sql } = await freshSql();
      await sql.transaction((tx) =>
        appendToOutbox(tx, [
          {
            topic: 'market',
            key: 'm-2',
            type: 'streambet.test.Happened',
            payload: encoder.encode('b'),
          },
        ]),
      );
      const bus = createMemoryBus();
      cleanups.push(() => bus.close());
      const first = await bus.subscribe({ group, topics: ['market'], handler: async () => {} });
      await first.close();
      const relay = createOutboxRelay({ sql, bus });
      await expect(relay.flush()).rejects.toThrow(/no live member in consumer group/);
      expect(await unpublished(sql)).toBe(1);

      const received: string[] = [];
      await bus.subscribe({
        group,
        topics: ['market'],
        handler: (event) => {
          received.push(event.id);
          return Promise.resolve();
        },
      });
      await relay.flush();
      expect(await unpublished(sql)).toBe(0);
      expect(received).toHaveLength(1);
    });
  });
}
