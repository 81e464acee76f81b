/**
 * The analytics service's bus consumers.
 * - `warehouse`: every event of every family into the warehouse sink. Its effect is idempotent by
 *   itself (the warehouse keys rows by event id: ON CONFLICT DO NOTHING in SQL, ReplacingMergeTree
 *   + FINAL in ClickHouse), so it does not take an inbox row per event, which would cost one SQL
 *   transaction per event and defeat the batching; the event is acked only once stored.
 * - `audit`: audited events into the hash-chained audit log, through the inbox.
 */
import { fromBinary, toJson } from '@bufbuild/protobuf';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { BackgroundTask, EventConsumer } from '@streambet/platform/runtime/service-host';
import { appendAuditEntry } from './audit/store.js';
import { auditDraftOf, isAudited } from './domain/audit.js';
import { eventRegistry, eventTopics } from './domain/facts.js';
import type { WarehouseSink } from './sink.js';

/** The sink's consumer (consumer group `analytics.warehouse`). */
export function createWarehouseConsumer(sink: WarehouseSink): EventConsumer {
  return {
    name: 'warehouse',
    topics: eventTopics,
    // A refused or failed event is retried until stored: the warehouse must see every event.
    maxAttempts: 'unlimited',
    handleIdempotently: (event) => sink.accept(event),
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

/**
 * The audit consumer (consumer group `analytics.audit`): each audited event becomes one entry of
 * the hash-chained log, appended in the inbox transaction (exactly once per event).
 */
export function createAuditConsumer(deps: { readonly clock: Clock }): EventConsumer {
  return {
    name: 'audit',
    topics: auditTopics,
    // The log must not miss a change: retried until appended.
    maxAttempts: 'unlimited',
    handle: async (event, tx) => {
      if (!isAudited(event.type)) return;
      const schema = eventRegistry.getMessage(event.type);
      if (schema === undefined) return;
      const json = toJson(schema, fromBinary(schema, event.payload), {
        registry: eventRegistry,
      }) as Record<string, unknown>;
      const draft = auditDraftOf({
        id: event.id,
        type: event.type,
        occurredAtMs: event.occurredAtMs,
        json,
      });
      if (draft !== undefined) await appendAuditEntry(tx, draft, deps.clock.now());
    },
  };
}
