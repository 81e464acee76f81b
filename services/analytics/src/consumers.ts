/**
 * The analytics service's bus consumers.
 * - `warehouse`: every event of every family into the warehouse sink. Its effect is idempotent by
 *   itself (the warehouse keys rows by event id: ON CONFLICT DO NOTHING in SQL, ReplacingMergeTree
 *   + FINAL in ClickHouse), so it does not take an inbox row per event, which would cost one SQL
 *   transaction per event and defeat the batching; the event is acked only once stored.
 */
import type { BackgroundTask, EventConsumer } from '@streambet/platform/runtime/service-host';
import { eventTopics } from './domain/facts.js';
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
