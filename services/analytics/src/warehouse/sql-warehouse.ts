/**
 * The warehouse in the service's own SQL database (PGlite embedded, PostgreSQL when configured
 * without ClickHouse): tables `analytics_events` and `analytics_facts` from the service's
 * migrations, keyed by event id, so a redelivered event is inserted once (ON CONFLICT DO NOTHING).
 */
import type { Sql } from '@streambet/platform/sql/types';
import type { WarehouseRows } from '../domain/facts.js';
import type { Warehouse } from './warehouse.js';

/** The SQL warehouse on `sql` (already migrated with the analytics migrations). */
export function createSqlWarehouse(sql: Sql): Warehouse {
  return {
    kind: 'sql',
    dialect: {
      facts: 'analytics_facts',
      intDiv: (dividend, divisor) => `((${dividend}) / (${divisor}))`,
    },
    async write(batch: readonly WarehouseRows[]) {
      if (batch.length === 0) return;
      const events = batch.map((rows) => rows.event);
      const facts = batch.flatMap((rows) => rows.facts);
      await sql.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO analytics_events
             (event_id, topic, type, aggregate_id, occurred_at_ms, producer, actor_user_id, payload_json)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                                $6::text[], $7::text[], $8::text[])
           ON CONFLICT (event_id) DO NOTHING`,
          [
            events.map((e) => e.eventId),
            events.map((e) => e.topic),
            events.map((e) => e.type),
            events.map((e) => e.aggregateId),
            events.map((e) => String(e.occurredAtMs)),
            events.map((e) => e.producer),
            events.map((e) => e.actorUserId),
            events.map((e) => e.payloadJson),
          ],
        );
        if (facts.length === 0) return;
        await tx.query(
          `INSERT INTO analytics_facts
             (event_id, seq, kind, occurred_at_ms, currency, channel_id, market_id, user_id, bet_id,
              amount_minor, commission_minor, streamer_share_minor)
           SELECT * FROM unnest($1::text[], $2::smallint[], $3::text[], $4::bigint[], $5::text[],
                                $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[],
                                $11::bigint[], $12::bigint[])
           ON CONFLICT (event_id, seq) DO NOTHING`,
          [
            facts.map((f) => f.eventId),
            facts.map((f) => f.seq),
            facts.map((f) => f.kind),
            facts.map((f) => String(f.occurredAtMs)),
            facts.map((f) => f.currency),
            facts.map((f) => f.channelId),
            facts.map((f) => f.marketId),
            facts.map((f) => f.userId),
            facts.map((f) => f.betId),
            facts.map((f) => String(f.amountMinor)),
            facts.map((f) => String(f.commissionMinor)),
            facts.map((f) => String(f.streamerShareMinor)),
          ],
        );
      });
    },
    async select(text) {
      return (await sql.query<Record<string, unknown>>(text)).rows;
    },
    ping: () => sql.ping(),
    // The database belongs to the service host, which closes it.
    close: () => Promise.resolve(),
  };
}
