import type { EventEnvelope } from '../bus/types.js';
import { injectTraceHeaders } from '../obs/tracing.js';
import type { Sql, SqlExecutor } from '../sql/types.js';
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
  /**
   * Trace context, request id, producer service. The active trace context (`traceparent`) is added
   * when these do not carry one, so every event continues the trace of the change that caused it.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Options of {@link appendToOutbox}; defaults are the wall clock and UUIDv7 ids. */
export interface AppendToOutboxOptions {
  /** ms since the epoch; becomes `occurredAtMs`. */
  readonly clock?: () => number;
  /** Event ids; must be globally unique (consumers dedupe on them). */
  readonly newId?: () => string;
}

/**
 * Rows per INSERT: one statement with one array parameter per column (`unnest`), so a large append
 * (a settlement's 100,000 PayoutMade events) is a few statements, each parsed and planned once.
 */
const ROWS_PER_INSERT = 5000;

/**
 * One INSERT per chunk: the columns travel as arrays and `unnest … WITH ORDINALITY … ORDER BY`
 * feeds the rows to the insert in array order, so `seq` follows the order of `events`.
 */
const INSERT_ROWS = `INSERT INTO outbox (id, topic, key, type, payload, headers, occurred_at)
  SELECT id, topic, key, type, payload, headers::jsonb, occurred_at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[],
    $7::timestamptz[]) WITH ORDINALITY AS e(id, topic, key, type, payload, headers, occurred_at, n)
  ORDER BY n`;

/**
 * Writes events to the outbox inside the caller's transaction (`tx` from `sql.transaction`), so
 * they exist if and only if the state change commits. Nothing is published here: the relay does
 * that after commit (call `relay.wake()` after the commit for low latency). Returns the envelopes
 * as they will be published (ids assigned).
 *
 * Per-key order is the order rows get their `seq`, i.e. the order of these calls and, within one
 * call, the order of `events`. Call it after the statement that locks or updates the aggregate row,
 * so two transactions on one aggregate append in their commit order. Any number of events: they are
 * inserted in bulk, {@link ROWS_PER_INSERT} rows per statement.
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
  // One injection per append, shared (frozen) by the events that bring no headers of their own.
  const traceHeaders = Object.freeze(injectTraceHeaders());
  const traced = traceHeaders.traceparent !== undefined;
  const headersOf = (given: OutboxEvent['headers']): Readonly<Record<string, string>> =>
    given === undefined
      ? traceHeaders
      : traced && given.traceparent === undefined
        ? { ...traceHeaders, ...given }
        : { ...given };
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
      headers: headersOf(event.headers),
      occurredAtMs: clock(),
    };
  });

  for (let start = 0; start < envelopes.length; start += ROWS_PER_INSERT) {
    const end = Math.min(start + ROWS_PER_INSERT, envelopes.length);
    const count = end - start;
    const ids = new Array<string>(count);
    const topics = new Array<string>(count);
    const keys = new Array<string>(count);
    const types = new Array<string>(count);
    const payloads = new Array<Uint8Array>(count);
    const headers = new Array<string>(count);
    const occurredAt = new Array<string>(count);
    // Most appends share one time and one set of headers: convert a time once, JSON once.
    let lastMs = Number.NaN;
    let lastAt = '';
    const sharedHeadersJson = headersJson(traceHeaders);
    for (let i = 0; i < count; i++) {
      const envelope = envelopes[start + i]!;
      ids[i] = envelope.id;
      topics[i] = envelope.topic;
      keys[i] = envelope.key;
      types[i] = envelope.type;
      payloads[i] = envelope.payload;
      headers[i] =
        envelope.headers === traceHeaders ? sharedHeadersJson : headersJson(envelope.headers);
      if (envelope.occurredAtMs !== lastMs) {
        lastMs = envelope.occurredAtMs;
        lastAt = new Date(lastMs).toISOString();
      }
      occurredAt[i] = lastAt;
    }
    await tx.query(INSERT_ROWS, [ids, topics, keys, types, payloads, headers, occurredAt]);
  }
  return envelopes;
}

/** The JSONB text of an envelope's headers (`{}` without any). */
function headersJson(headers: Readonly<Record<string, string>>): string {
  for (const _key in headers) return JSON.stringify(headers);
  return '{}';
}

function isWholeDatabase(executor: SqlExecutor): executor is Sql {
  return typeof (executor as Partial<Sql>).transaction === 'function';
}
