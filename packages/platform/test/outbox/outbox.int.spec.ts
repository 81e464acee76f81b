import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  POSTGRES_SKIP_REASON,
  openSqlUrl,
  sqlTargets,
  type SqlTestDatabase,
} from '@streambet/testkit/sql';
import type { EventBus, EventEnvelope } from '@streambet/platform/bus/types';
import { createPostgresSql } from '@streambet/platform/sql/postgres';
import { LOCK_FILE_NAME } from '@streambet/platform/sql/folder-lock';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import {
  appendToOutbox,
  createOutboxRelay,
  deletePublishedOutboxRows,
  handleOnce,
  platformMigrations,
  type OutboxEvent,
} from '@streambet/platform/outbox/index';
import { spawnTsx } from '../sql/fixtures/spawn-tsx.js';
import { createRecordingBus } from './fixtures/recording-bus.js';
import { crashTestMigrations } from './fixtures/crash-schema.js';

const targets = sqlTargets();
const here = path.dirname(fileURLToPath(import.meta.url));
const encoder = new TextEncoder();

function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

function event(key: string, label: string, topic = 'market'): OutboxEvent {
  return {
    topic,
    key,
    type: 'streambet.test.Happened',
    payload: encoder.encode(label),
    headers: { label },
  };
}

function labels(events: readonly EventEnvelope[]): string[] {
  return events.map((envelope) => new TextDecoder().decode(envelope.payload));
}

/** A promise with its resolve function outside, to order two relays' steps without timers. */
function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/** Ids per key, in the order they appear. */
function byKey(events: readonly EventEnvelope[]): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const envelope of events)
    grouped.set(envelope.key, [...(grouped.get(envelope.key) ?? []), envelope.id]);
  return grouped;
}

for (const target of targets) {
  describe(`outbox and inbox on ${target.name}`, () => {
    let db: SqlTestDatabase;

    beforeAll(async () => {
      db = await target.create();
    });
    afterAll(async () => {
      await db?.dispose();
    });

    /** A migrated database of its own: a new schema on the shared PGlite, a new database on PostgreSQL. */
    async function freshSql(): Promise<{ sql: Sql; url?: string; dispose(): Promise<void> }> {
      let fresh: { sql: Sql; url?: string; dispose(): Promise<void> };
      if (db.embedded !== undefined) {
        const schema = uniqueName('t');
        const scoped = await db.embedded.forSchema(schema);
        fresh = {
          sql: scoped,
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
          sql: 'CREATE TABLE projection (event_id text PRIMARY KEY, label text NOT NULL)',
        },
      ]);
      return fresh;
    }

    it('publishes committed events once, in append order, and nothing from rolled-back transactions', async () => {
      const fresh = await freshSql();
      try {
        const { sql } = fresh;
        const first = await sql.transaction((tx) =>
          appendToOutbox(tx, [event('m-1', 'a'), event('m-2', 'b'), event('m-1', 'c')]),
        );
        await expect(
          sql.transaction(async (tx) => {
            await appendToOutbox(tx, [event('m-1', 'rolled back')]);
            throw new Error('state change refused');
          }),
        ).rejects.toThrow('state change refused');
        const second = await sql.transaction((tx) => appendToOutbox(tx, [event('m-2', 'd')]));

        const bus = createRecordingBus();
        const relay = createOutboxRelay({ sql, bus, batchSize: 2 });
        await relay.flush();
        expect(bus.accepted).toEqual([...first, ...second]);
        expect(labels(bus.accepted)).toEqual(['a', 'b', 'c', 'd']);
        expect(bus.accepted[0]).toMatchObject({
          topic: 'market',
          key: 'm-1',
          type: 'streambet.test.Happened',
          headers: { label: 'a' },
        });
        expect(bus.accepted[0]!.payload).toBeInstanceOf(Uint8Array);

        await relay.flush();
        expect(bus.accepted).toHaveLength(4);
        const rows = await sql.query<{ attempts: number; published: boolean }>(
          'SELECT attempts, published_at IS NOT NULL AS published FROM outbox',
        );
        expect(rows.rows).toEqual(
          Array.from({ length: 4 }, () => ({ attempts: 1, published: true })),
        );

        expect(await deletePublishedOutboxRows(sql, new Date(Date.now() + 60_000))).toBe(4);
      } finally {
        await fresh.dispose();
      }
    });

    it('assigns time-sortable unique ids and keeps occurredAtMs from the clock', async () => {
      const fresh = await freshSql();
      try {
        const envelopes = await fresh.sql.transaction((tx) =>
          appendToOutbox(
            tx,
            Array.from({ length: 50 }, (_, index) => event('k', String(index))),
            { clock: () => 1_700_000_000_123 },
          ),
        );
        const ids = envelopes.map((envelope) => envelope.id);
        expect(new Set(ids).size).toBe(50);
        expect([...ids].sort()).toEqual(ids);
        for (const id of ids)
          expect(id).toMatch(
            /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
          );
        const bus = createRecordingBus();
        await createOutboxRelay({ sql: fresh.sql, bus }).flush();
        expect(bus.accepted.map((envelope) => envelope.occurredAtMs)).toEqual(
          envelopes.map(() => 1_700_000_000_123),
        );
        await expect(appendToOutbox(fresh.sql, [event('k', 'x')])).rejects.toThrow(
          /needs the `tx`/,
        );
      } finally {
        await fresh.dispose();
      }
    });

    it('appends a large batch in bulk with the same rows, ids, order and bytes as given', async () => {
      const fresh = await freshSql();
      try {
        const { sql } = fresh;
        // More than two INSERT chunks, keys interleaved, awkward payload bytes and headers.
        const count = 10_001;
        const awkward = [
          new Uint8Array(0),
          Uint8Array.of(0, 0x5c, 0x22, 0x27, 0x7b, 0x7d, 0x2c, 0xff, 0x0a),
          encoder.encode('{"a":"b"}\\x00'),
        ];
        const events: OutboxEvent[] = Array.from({ length: count }, (_, index) => ({
          topic: index % 5 === 0 ? 'settlement' : 'market',
          key: `k-${index % 3}`,
          type: 'streambet.test.Happened',
          payload: awkward[index % 7] ?? encoder.encode(`payload ${index}`),
          ...(index % 4 === 0 ? { headers: { label: `"h" ${index}\\`, trace: 'x,y' } } : {}),
        }));
        let tick = 1_700_000_000_000;
        let nextId = 0;
        const envelopes = await sql.transaction((tx) =>
          appendToOutbox(tx, events, {
            clock: () => tick++ - (tick % 2) * 7,
            newId: () => `id-${String(nextId++).padStart(6, '0')}`,
          }),
        );
        expect(envelopes).toHaveLength(count);
        expect(envelopes.map((envelope) => envelope.id)).toEqual(
          events.map((_, index) => `id-${String(index).padStart(6, '0')}`),
        );

        const stored = await sql.query<{ id: string; topic: string; headers: unknown }>(
          'SELECT id, topic, headers FROM outbox ORDER BY seq',
        );
        expect(stored.rows.map((row) => row.id)).toEqual(envelopes.map((envelope) => envelope.id));
        expect(stored.rows.map((row) => row.headers)).toEqual(
          envelopes.map((envelope) => envelope.headers),
        );

        const bus = createRecordingBus();
        await createOutboxRelay({ sql, bus, batchSize: 5_000 }).flush();
        expect(bus.accepted).toHaveLength(count);
        expect(bus.accepted).toEqual(envelopes);
        const hex = (payload: Uint8Array): string => Buffer.from(payload).toString('hex');
        expect(bus.accepted.map((envelope) => hex(envelope.payload))).toEqual(
          events.map((appended) => hex(appended.payload)),
        );
      } finally {
        await fresh.dispose();
      }
    });

    it('runs in the background: wake() after commit publishes; stop() ends the loop', async () => {
      const fresh = await freshSql();
      try {
        const bus = createRecordingBus();
        const relay = createOutboxRelay({ sql: fresh.sql, bus, pollIntervalMs: 3_600_000 });
        await fresh.sql.transaction((tx) => appendToOutbox(tx, [event('m-1', 'before start')]));
        relay.start();
        await bus.waitForAccepted(1);
        await fresh.sql.transaction((tx) => appendToOutbox(tx, [event('m-1', 'after start')]));
        relay.wake();
        await bus.waitForAccepted(2);
        await relay.stop();
        await relay.stop();
        expect(labels(bus.accepted)).toEqual(['before start', 'after start']);
      } finally {
        await fresh.dispose();
      }
    });

    it('applies an effect once when the bus delivers the same event twice', async () => {
      const fresh = await freshSql();
      try {
        const { sql } = fresh;
        const bus = createRecordingBus({ deliveries: 2 });
        const outcomes: boolean[] = [];
        await bus.subscribe({
          group: 'test',
          topics: ['market'],
          handler: async (envelope) => {
            outcomes.push(
              await handleOnce(sql, 'test.projector', envelope, async (tx) => {
                await tx.query('INSERT INTO projection (event_id, label) VALUES ($1, $2)', [
                  envelope.id,
                  envelope.headers.label ?? '',
                ]);
              }),
            );
          },
        });
        await sql.transaction((tx) =>
          appendToOutbox(tx, [event('m-1', 'a'), event('m-1', 'b'), event('m-2', 'c')]),
        );
        await createOutboxRelay({ sql, bus }).flush();

        expect(outcomes).toEqual([true, false, true, false, true, false]);
        const projected = await sql.query<{ label: string }>(
          'SELECT label FROM projection ORDER BY label',
        );
        expect(projected.rows.map((row) => row.label)).toEqual(['a', 'b', 'c']);
        expect((await sql.query('SELECT * FROM inbox')).rowCount).toBe(3);
      } finally {
        await fresh.dispose();
      }
    });

    it('rolls the inbox row back with a failing effect, so the redelivery applies it', async () => {
      const fresh = await freshSql();
      try {
        const { sql } = fresh;
        const envelope = { id: 'evt-1' };
        const failure = new Error('projection store down');
        await expect(
          handleOnce(sql, 'test.projector', envelope, async (tx) => {
            await tx.query('INSERT INTO projection VALUES ($1, $2)', ['evt-1', 'first try']);
            throw failure;
          }),
        ).rejects.toBe(failure);
        expect((await sql.query('SELECT * FROM inbox')).rowCount).toBe(0);
        expect((await sql.query('SELECT * FROM projection')).rowCount).toBe(0);

        const ran = await handleOnce(sql, 'test.projector', envelope, async (tx) => {
          await tx.query('INSERT INTO projection VALUES ($1, $2)', ['evt-1', 'second try']);
        });
        expect(ran).toBe(true);
        // Another consumer of the same event has its own inbox row.
        expect(await handleOnce(sql, 'test.other', envelope, () => Promise.resolve())).toBe(true);
        expect(await handleOnce(sql, 'test.projector', envelope, () => Promise.resolve())).toBe(
          false,
        );
      } finally {
        await fresh.dispose();
      }
    });

    it('applies the effect once when the same event is handled concurrently', async () => {
      const fresh = await freshSql();
      try {
        let effects = 0;
        const results = await Promise.all(
          Array.from({ length: 4 }, () =>
            handleOnce(fresh.sql, 'test.projector', { id: 'evt-concurrent' }, async (tx) => {
              effects += 1;
              await tx.query('INSERT INTO projection VALUES ($1, $2)', ['evt-concurrent', 'x']);
            }),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(effects).toBe(1);
      } finally {
        await fresh.dispose();
      }
    });

    it('keeps unpublished rows when publishing fails, backs off, and publishes each once in key order after recovery', async () => {
      const fresh = await freshSql();
      try {
        const { sql } = fresh;
        const bus = createRecordingBus();
        bus.failNext(2);
        const errors: unknown[] = [];
        const relay = createOutboxRelay({
          sql,
          bus,
          batchSize: 3,
          pollIntervalMs: 3_600_000,
          initialBackoffMs: 1,
          onError: (error) => errors.push(error),
        });
        const appended: EventEnvelope[] = [];
        for (let index = 0; index < 4; index++) {
          appended.push(
            ...(await sql.transaction((tx) =>
              appendToOutbox(tx, [event('m-1', `m1-${index}`), event('m-2', `m2-${index}`)]),
            )),
          );
        }
        relay.start();
        await bus.waitForAccepted(appended.length);
        await relay.stop();

        expect(errors.map((error) => (error as Error).message)).toEqual([
          'bus unavailable (test)',
          'bus unavailable (test)',
        ]);
        expect(bus.publishCalls()).toBeGreaterThanOrEqual(3);
        expect(bus.accepted.map((envelope) => envelope.id)).toEqual(
          appended.map((envelope) => envelope.id),
        );
        expect(byKey(bus.accepted)).toEqual(byKey(appended));
        const rows = await sql.query<{ attempts: number; last_error: string | null }>(
          'SELECT attempts, last_error FROM outbox ORDER BY seq LIMIT 3',
        );
        expect(rows.rows).toEqual(
          Array.from({ length: 3 }, () => ({ attempts: 3, last_error: null })),
        );
      } finally {
        await fresh.dispose();
      }
    });

    it('rejects flush() with the bus error, records it on the rows, and publishes on the next flush', async () => {
      const fresh = await freshSql();
      try {
        const { sql } = fresh;
        const bus = createRecordingBus();
        const relay = createOutboxRelay({ sql, bus });
        await sql.transaction((tx) => appendToOutbox(tx, [event('m-1', 'a')]));
        bus.failNext(1);
        await expect(relay.flush()).rejects.toThrow('bus unavailable (test)');
        const failed = await sql.query<{
          attempts: number;
          last_error: string;
          published_at: Date | null;
        }>('SELECT attempts, last_error, published_at FROM outbox');
        expect(failed.rows).toEqual([
          { attempts: 1, last_error: 'Error: bus unavailable (test)', published_at: null },
        ]);
        await relay.flush();
        expect(labels(bus.accepted)).toEqual(['a']);
      } finally {
        await fresh.dispose();
      }
    });

    it('publishes an event whose producer died between commit and publish, and applies its effect once', async () => {
      const database = await target.createUrl();
      try {
        const orderId = uniqueName('order');
        const child = spawnTsx(path.join(here, 'fixtures/crash-producer.ts'), [
          database.url,
          orderId,
        ]);
        const exit = await child.exited;
        expect(exit, child.stderr()).toEqual({ code: null, signal: 'SIGKILL' });
        const eventId = /^committed (\S+)$/m.exec(child.stdout())?.[1];
        expect(eventId).toBeDefined();

        if (target.name === 'pglite') {
          // The killed child left its lock behind; opening below must take it over.
          const lockFile = path.join(
            decodeURIComponent(new URL(database.url).pathname),
            LOCK_FILE_NAME,
          );
          expect(JSON.parse(fs.readFileSync(lockFile, 'utf8'))).toMatchObject({
            pid: child.process.pid,
          });
        }

        const sql = await openSqlUrl(database.url);
        try {
          await migrate(sql, 'orders', crashTestMigrations);
          expect(
            (await sql.query('SELECT * FROM outbox WHERE published_at IS NULL')).rowCount,
          ).toBe(1);

          const bus = createRecordingBus({ deliveries: 2 });
          await bus.subscribe({
            group: 'projector',
            topics: ['order'],
            handler: async (envelope) => {
              await handleOnce(sql, 'orders.projector', envelope, async (tx) => {
                await tx.query(
                  `INSERT INTO order_projection (id, amount_minor, applied)
                   SELECT id, amount_minor, 1 FROM orders WHERE id = $1
                   ON CONFLICT (id) DO UPDATE SET applied = order_projection.applied + 1`,
                  [envelope.key],
                );
              });
            },
          });
          const relay = createOutboxRelay({ sql, bus, pollIntervalMs: 3_600_000 });
          relay.start();
          await bus.waitForAccepted(1);
          await relay.flush();
          await relay.stop();
          // A relay started again later (another restart) finds nothing left to publish.
          await createOutboxRelay({ sql, bus }).flush();

          expect(bus.accepted.map((envelope) => envelope.id)).toEqual([eventId]);
          expect(bus.accepted[0]).toMatchObject({
            topic: 'order',
            key: orderId,
            headers: { producer: 'crash-producer' },
          });
          const projection = await sql.query(
            'SELECT id, amount_minor, applied FROM order_projection',
          );
          expect(projection.rows).toEqual([{ id: orderId, amount_minor: 1_500n, applied: 1 }]);
        } finally {
          await sql.close();
        }
      } finally {
        await database.dispose();
      }
    });

    if (target.name === 'postgres') {
      it('lets several relays share the outbox: each event published once, order per key kept', async () => {
        const fresh = await freshSql();
        const relaySqls = Array.from({ length: 3 }, (_, index) =>
          createPostgresSql({
            connectionString: fresh.url!,
            maxConnections: 2,
            applicationName: `relay-${index}`,
          }),
        );
        try {
          const bus = createRecordingBus();
          const relays = relaySqls.map((sql) =>
            createOutboxRelay({ sql, bus, batchSize: 4, pollIntervalMs: 3_600_000 }),
          );
          for (const relay of relays) relay.start();

          const appended: EventEnvelope[] = [];
          for (let round = 0; round < 25; round++) {
            const events = Array.from({ length: 8 }, (_, index) =>
              event(`m-${(round + index) % 6}`, `${round}-${index}`),
            );
            appended.push(...(await fresh.sql.transaction((tx) => appendToOutbox(tx, events))));
            for (const relay of relays) relay.wake();
          }
          await bus.waitForAccepted(appended.length);
          for (const relay of relays) await relay.flush();
          for (const relay of relays) await relay.stop();

          expect(bus.accepted).toHaveLength(appended.length);
          expect(new Set(bus.accepted.map((envelope) => envelope.id))).toEqual(
            new Set(appended.map((envelope) => envelope.id)),
          );
          expect(byKey(bus.accepted)).toEqual(byKey(appended));
          const unpublished = await fresh.sql.query(
            'SELECT 1 FROM outbox WHERE published_at IS NULL',
          );
          expect(unpublished.rowCount).toBe(0);
        } finally {
          for (const sql of relaySqls) await sql.close();
          await fresh.dispose();
        }
      });

      it('comes back for rows it held back once the relay holding their key has finished', async () => {
        // The order that stranded rows before: A claims a key's first row; B claims its second
        // and holds it back (A's claim is earlier); A publishes, finds nothing more to claim
        // (B still locks the second row) and ends its drain; B's round ends with nothing
        // published. Nobody would look again before the next poll (an hour here).
        const fresh = await freshSql();
        const sqlA = createPostgresSql({ connectionString: fresh.url!, maxConnections: 1 });
        const sqlB = createPostgresSql({ connectionString: fresh.url!, maxConnections: 1 });
        try {
          const bus = createRecordingBus();
          const aPublishing = deferred();
          const releaseA = deferred();
          const busA: EventBus = {
            ...bus,
            async publish(events) {
              aPublishing.resolve();
              await releaseA.promise;
              await bus.publish(events);
            },
          };
          const bRoundDone = deferred();
          const releaseB = deferred();
          let bTransactions = 0;
          const gatedB: Sql = {
            dialect: sqlB.dialect,
            query: (text, params, options) => sqlB.query(text, params, options),
            ping: () => sqlB.ping(),
            close: () => sqlB.close(),
            transaction: (fn, options) =>
              sqlB.transaction(async (tx) => {
                const result = await fn(tx);
                // B's first round keeps its row locks until A's drain is over.
                if (++bTransactions === 1) {
                  bRoundDone.resolve();
                  await releaseB.promise;
                }
                return result;
              }, options),
          };
          const appended = await fresh.sql.transaction((tx) =>
            appendToOutbox(tx, [event('m-1', 'first'), event('m-1', 'second')]),
          );
          const relayA = createOutboxRelay({ sql: sqlA, bus: busA, batchSize: 1 });
          const relayB = createOutboxRelay({
            sql: gatedB,
            bus,
            batchSize: 1,
            pollIntervalMs: 3_600_000,
          });

          const drainA = relayA.flush();
          await aPublishing.promise;
          relayB.start();
          await bRoundDone.promise;
          releaseA.resolve();
          await drainA;
          expect(labels(bus.accepted)).toEqual(['first']);
          releaseB.resolve();

          await bus.waitForAccepted(2);
          await relayB.stop();
          expect(bus.accepted.map((envelope) => envelope.id)).toEqual(
            appended.map((envelope) => envelope.id),
          );
        } finally {
          await sqlA.close();
          await sqlB.close();
          await fresh.dispose();
        }
      });
    }
  });
}

// Shown as skipped, with the reason, when this run has no real PostgreSQL.
const hasPostgres = targets.some((target) => target.name === 'postgres');
if (!hasPostgres) {
  describe.skip(`outbox and inbox on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('several relays share one outbox with FOR UPDATE SKIP LOCKED; crash between commit and publish', () =>
      undefined);
  });
}
