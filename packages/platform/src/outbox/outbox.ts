import type { EventEnvelope } from '../bus/types.js';
import type { Sql, SqlExecutor, SqlValue } from '../sql/types.js';
import { newEventId } from './event-id.js';

/** An event a state change produces; becomes an {@link EventEnvelope} once it has an id and a time. */
export interface OutboxEvent {
  /** The event family (`market`, `bet`, `wallet` ...): one topic each. */
  readonly topic: string;
  /** Aggregate id; events with the same key reach consumers in the order they were appended. */
  readonly key: string;
  /** Fully-qualified protobuf message name, e.g. `streambet.events.v1.MarketOpened`. */
  readonly type: string;
  /** The protobuf binary of the event message. */
  readonly payload: Uint8Array;
  /** Trace context, request id, producer service. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Options of {@link appendToOutbox}; defaults are the wall clock and UUIDv7 ids. */
export interface AppendToOutboxOptions {
  /** ms since the epoch; becomes `occurredAtMs`. */
  readonly clock?: () => number;
  /** Event ids; must be globally unique (consumers dedupe on them). */
  readonly newId?: () => string;
}

const ROWS_PER_INSERT = 500;

/**
 * Writes events to the outbox inside the caller's transaction (`tx` from `sql.transaction`), so
 * they exist if and only if the state change commits. Nothing is published here: the relay does
 * that after commit (call `relay.wake()` after the commit for low latency). Returns the envelopes
 * as they will be published (ids assigned).
 *
 * Per-key order is the order rows get their `seq`, i.e. the order of these calls. Call it after the
 * statement that locks or updates the aggregate row, so two transactions on one aggregate append in
 * their commit order.
 */
export async function appendToOutbox(
  tx: SqlExecutor,
  events: readonly OutboxEvent[],
  options: AppendToOutboxOptions = {},
): Promise<EventEnvelope[]> {
  if (isWholeDatabase(tx)) {
    throw new TypeError(
      'appendToOutbox needs the `tx` of the transaction that changes the state, not the whole database.',
    );
  }
  const clock = options.clock ?? Date.now;
  const newId = options.newId ?? newEventId;
  const envelopes = events.map((event): EventEnvelope => {
    for (const field of ['topic', 'key', 'type'] as const) {
      if (typeof event[field] !== 'string' || event[field] === '') {
        throw new TypeError(
          `Outbox event ${field} must be a non-empty string (got ${JSON.stringify(event[field])}).`,
        );
      }
    }
    return {
      id: newId(),
      topic: event.topic,
      key: event.key,
      type: event.type,
      payload: event.payload,
      headers: { ...(event.headers ?? {}) },
      occurredAtMs: clock(),
    };
  });

  for (let start = 0; start < envelopes.length; start += ROWS_PER_INSERT) {
    const chunk = envelopes.slice(start, start + ROWS_PER_INSERT);
    const params: SqlValue[] = [];
    const tuples = chunk.map((envelope) => {
      const base = params.length;
      params.push(
        envelope.id,
        envelope.topic,
        envelope.key,
        envelope.type,
        envelope.payload,
        envelope.headers,
        new Date(envelope.occurredAtMs),
      );
      return `($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6}::jsonb, $${base + 7})`;
    });
    await tx.query(
      `INSERT INTO outbox (id, topic, key, type, payload, headers, occurred_at) VALUES ${tuples.join(', ')}`,
      params,
    );
  }
  return envelopes;
}

function isWholeDatabase(executor: SqlExecutor): executor is Sql {
  return typeof (executor as Partial<Sql>).transaction === 'function';
}
