import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { migrate } from '@streambet/platform/sql/migrate';
import { platformMigrations } from '@streambet/platform/outbox/index';
import { createRetentionTask } from '@streambet/platform/outbox/retention';

const hourMs = 3_600_000;
const nowMs = Date.parse('2026-06-01T00:00:00Z');
const at = (hoursAgo: number): Date => new Date(nowMs - hoursAgo * hourMs);

for (const target of sqlTargets()) {
  describe(`outbox and inbox retention on ${target.name}`, () => {
    let db: SqlTestDatabase;
    beforeAll(async () => {
      db = await target.create();
      await migrate(db.sql, 'test', platformMigrations);
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it('deletes published outbox rows and inbox rows past their windows, in batches, and counts them', async () => {
      const { sql } = db;
      // Outbox: 5 published 200 h ago, 1 published 100 h ago, 1 unpublished from 300 h ago.
      const outboxRows: Array<[string, Date | null, Date]> = [
        ...Array.from({ length: 5 }, (_, n): [string, Date | null, Date] => [
          `old-${n}`,
          at(200),
          at(201),
        ]),
        ['recent', at(100), at(101)],
        ['unpublished', null, at(300)],
      ];
      for (const [id, publishedAt, occurredAt] of outboxRows) {
        await sql.query(
          `INSERT INTO outbox (id, topic, key, type, payload, occurred_at, published_at)
           VALUES ($1, 'market', 'k', 't', '\\x00'::bytea, $2, $3)`,
          [id, occurredAt, publishedAt],
        );
      }
      // Inbox: 3 rows from 800 h ago, 1 from 10 h ago.
      for (const [eventId, hoursAgo] of [
        ['e1', 800],
        ['e2', 800],
        ['e3', 800],
        ['e4', 10],
      ] as const) {
        await sql.query(
          'INSERT INTO inbox (consumer, event_id, processed_at) VALUES ($1, $2, $3)',
          ['svc.c', eventId, at(hoursAgo)],
        );
      }
      const registry = new Registry();
      const task = createRetentionTask({
        sql,
        registry,
        logger: { error: () => {} },
        now: () => nowMs,
        outboxRetentionHours: 168,
        inboxRetentionHours: 720,
        batchSize: 2,
      });

      expect(await task.runOnce()).toEqual({ outbox: 5, inbox: 3 });
      const outboxLeft = await sql.query<{ id: string }>('SELECT id FROM outbox ORDER BY id');
      expect(outboxLeft.rows.map((row) => row.id)).toEqual(['recent', 'unpublished']);
      const inboxLeft = await sql.query<{ event_id: string }>('SELECT event_id FROM inbox');
      expect(inboxLeft.rows.map((row) => row.event_id)).toEqual(['e4']);
      const metrics = await registry.getSingleMetricAsString('outbox_retention_deleted_rows_total');
      expect(metrics).toContain('outbox_retention_deleted_rows_total{table="outbox"} 5');
      expect(metrics).toContain('outbox_retention_deleted_rows_total{table="inbox"} 3');

      expect(await task.runOnce()).toEqual({ outbox: 0, inbox: 0 });
    });
  });
}
