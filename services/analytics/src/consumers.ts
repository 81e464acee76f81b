/**
 * The analytics service's bus consumers.
 * - `warehouse`: every event of every family into the warehouse sink. Its effect is idempotent by
 *   itself (the warehouse keys rows by event id: ON CONFLICT DO NOTHING in SQL, ReplacingMergeTree
 *   + FINAL in ClickHouse), so it does not take an inbox row per event, which would cost one SQL
 *   transaction per event and defeat the batching; the event is acked only once stored.
 * - `audit`: audited events into the hash-chained audit log, through the inbox.
 */
import { fromBinary, toJson } from '@bufbuild/protobuf';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { createInboxBatcher } from '@streambet/platform/outbox/inbox';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { BackgroundTask, EventConsumer } from '@streambet/platform/runtime/service-host';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import { appendAuditEntries, appendAuditEntry } from './audit/store.js';
import { auditDraftOf, isAudited, type AuditDraft } from './domain/audit.js';
import { eventRegistry, eventTopics } from './domain/facts.js';
import type { WarehouseSink } from './sink.js';

/** Most events the bus hands the sink in one call (see {@link createWarehouseConsumer}). */
export const warehouseBatchMaxEvents = 500;

/**
 * The sink's consumer (consumer group `analytics.warehouse`). It takes batch deliveries: with one
 * event per call, a key's next event waited for this one's insert, so the events in flight were
 * capped by the number of keys and each round trip cost one ClickHouse insert (the sink bench ran
 * at 0.12× clickhouse-client); a batch hands the sink many events of a key at once.
 */
export function createWarehouseConsumer(
  sink: WarehouseSink,
  options: { readonly batchMaxEvents?: number } = {},
): EventConsumer {
  return {
    name: 'warehouse',
    topics: eventTopics,
    // A refused or failed event is retried until stored: the warehouse must see every event.
    maxAttempts: 'unlimited',
    handleIdempotently: (event) => sink.accept(event),
    handleBatchIdempotently: (events) => sink.acceptBatch(events),
    batchMaxEvents: options.batchMaxEvents ?? warehouseBatchMaxEvents,
  };
}

/**
 * Shutdown of the sink: tasks stop before consumers close, so what is buffered is written now
 * (and whatever fails is left unacked) instead of in-flight deliveries waiting on a timer.
 */
export function createSinkTask(sink: WarehouseSink): BackgroundTask {
  return {
    name: 'warehouse-sink',
    start() {},
    stop: () => sink.drain(),
  };
}

/** Topics the audit log follows: every family but the derived odds snapshots. */
const auditTopics = eventTopics.filter((topic) => topic !== 'odds');

/** Most events appended to the audit log in one transaction (see {@link createAuditConsumer}). */
export const auditBatchMax = 500;

/** The audit draft of an event, or undefined if the event is not audited. */
function auditDraftOfEvent(event: EventEnvelope): AuditDraft | undefined {
  if (!isAudited(event.type)) return undefined;
  const schema = eventRegistry.getMessage(event.type);
  if (schema === undefined) return undefined;
  const json = toJson(schema, fromBinary(schema, event.payload), {
    registry: eventRegistry,
  }) as Record<string, unknown>;
  return auditDraftOf({ id: event.id, type: event.type, occurredAtMs: event.occurredAtMs, json });
}

/**
 * The audit consumer (consumer group `analytics.audit`): each audited event becomes one entry of
 * the hash-chained log, appended in the inbox transaction (exactly once per event).
 *
 * With `sql` (the service), deliveries are group-committed: the events delivered while the
 * previous transaction ran are appended together in ONE transaction (one inbox statement, the
 * chain heads locked once, one insert), instead of a transaction of eight statements per event —
 * in the embedded platform the audit log was the largest SQL load of a bet (bench/bets.ts,
 * services/bet-engine/README.md). `handle` stays for one event in the caller's inbox transaction
 * (tests, replays).
 */
export function createAuditConsumer(deps: {
  readonly clock: Clock;
  readonly sql?: Sql;
}): EventConsumer & { handle(event: EventEnvelope, tx: SqlExecutor): Promise<void> } {
  const handle = async (event: EventEnvelope, tx: SqlExecutor): Promise<void> => {
    const draft = auditDraftOfEvent(event);
    if (draft !== undefined) await appendAuditEntry(tx, draft, deps.clock.now());
  };
  const base = {
    name: 'audit',
    topics: auditTopics,
    // The log must not miss a change: retried until appended.
    maxAttempts: 'unlimited' as const,
    handle,
  };
  if (deps.sql === undefined) return base;
  const batcher = createInboxBatcher<EventEnvelope>({
    sql: deps.sql,
    consumer: 'analytics.audit',
    maxBatch: auditBatchMax,
    apply: async (tx, events) => {
      const drafts = events.flatMap((event) => {
        const draft = auditDraftOfEvent(event);
        return draft === undefined ? [] : [draft];
      });
      await appendAuditEntries(tx, drafts, deps.clock.now());
    },
  });
  return { ...base, handleIdempotently: (event) => batcher.handle(event) };
}
