/**
 * The warehouse sink: every event the bus delivers is decoded into its warehouse rows, buffered,
 * and written in batches — when `batchRows` events are buffered, when no event arrived for
 * `idleFlushMs`, or `flushMs` after the first one arrived (0: as soon as no write is running, a
 * group commit). A delivery is acknowledged only
 * once its batch is stored: `accept` resolves then, and the bus acks the event.
 *
 * A warehouse that is down: the failed batch stays buffered and is retried every `retryMs`; new
 * events keep being buffered up to `maxBufferedEvents`, after which `accept` refuses them at once
 * (`SinkBackPressureError`): the bus does not ack them and redelivers them with its backoff. No
 * event is lost (only stored events are acked) and memory stays bounded.
 */
import { toWarehouseRows, type IncomingEvent, type WarehouseRows } from './domain/facts.js';
import type { Warehouse } from './warehouse/warehouse.js';

/** Timers the sink arms; the testkit's manual scheduler fits, `realTimers` is the process's. */
export interface SinkTimers {
  setTimer(fn: () => void, delayMs: number): { cancel(): void };
}

/** The process timers. */
export const realTimers: SinkTimers = {
  setTimer(fn, delayMs) {
    const handle = setTimeout(fn, delayMs);
    return { cancel: () => clearTimeout(handle) };
  },
};

/** Refusal of an event while the buffer is full (the warehouse is down or too slow). */
export class SinkBackPressureError extends Error {
  override readonly name = 'SinkBackPressureError';
}

/** Observations for metrics and logs. */
export interface SinkObserver {
  written?(events: number, durationMs: number): void;
  writeFailed?(events: number, error: unknown): void;
  refused?(): void;
}

/** Options of {@link createWarehouseSink}. */
export interface SinkOptions {
  readonly warehouse: Warehouse;
  /** Most events in one write; a full batch is written at once. */
  readonly batchRows: number;
  /** Longest an event waits for its batch to fill, ms; 0 writes as soon as no write is running. */
  readonly flushMs: number;
  /**
   * Writes a partial batch early when no event arrived for this long, ms (0 or ≥ flushMs: off).
   * The bus holds back events it cannot ack yet (a key's next event waits for the previous one,
   * and every bus caps its in-flight deliveries), so a buffer that stopped growing will not fill.
   */
  readonly idleFlushMs?: number;
  /**
   * Inserts running at once (default 1). Order does not matter to the warehouse (rows are keyed by
   * event id), so ClickHouse takes several; the SQL warehouse keeps one.
   */
  readonly maxConcurrentWrites?: number;
  /** Most events held (buffered or being written); beyond it new events are refused. */
  readonly maxBufferedEvents: number;
  /** Delay before writing a failed batch again, ms. */
  readonly retryMs: number;
  readonly timers?: SinkTimers;
  /** Monotonic-enough ms for write durations; default Date.now-free (0). */
  readonly now?: () => number;
  readonly observer?: SinkObserver;
}

/** The sink. */
export interface WarehouseSink {
  /** Buffers `event`; resolves once it is stored, rejects with SinkBackPressureError when full. */
  accept(event: IncomingEvent): Promise<void>;
  /**
   * Buffers all of `events` (a bus batch delivery) or none: resolves once every one is stored,
   * rejects with SinkBackPressureError when they do not fit (a batch larger than the whole buffer
   * is taken only into an empty one), or with the write's error while draining.
   */
  acceptBatch(events: readonly IncomingEvent[]): Promise<void>;
  /** Events held now (buffered or being written). */
  readonly buffered: number;
  /** False after a failed write, true again after the next stored batch. */
  readonly healthy: boolean;
  /**
   * Writes what is buffered now and stops waiting: later events are written at once. Events whose
   * write fails from here on are rejected (not acked, so redelivered after a restart).
   */
  drain(): Promise<void>;
}

interface Pending {
  readonly rows: WarehouseRows;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** An event's warehouse rows; an undecodable one is kept as an event without facts. */
function rowsOf(event: IncomingEvent): WarehouseRows {
  let rows: WarehouseRows;
  try {
    rows = toWarehouseRows(event);
  } catch {
    // Not its type's protobuf: kept as an event without facts rather than blocking its key.
    rows = {
      event: {
        eventId: event.id,
        topic: event.topic,
        type: event.type,
        aggregateId: event.key,
        occurredAtMs: event.occurredAtMs,
        producer: '',
        actorUserId: '',
        payloadJson: '{"undecodable":true}',
      },
      facts: [],
    };
  }
  return rows;
}

/** A sink writing to `options.warehouse`. */
export function createWarehouseSink(options: SinkOptions): WarehouseSink {
  const timers = options.timers ?? realTimers;
  const now = options.now ?? (() => 0);
  const pending: Pending[] = [];
  const writing = new Set<Pending[]>();
  let writingEvents = 0;
  const maxWriters = Math.max(1, options.maxConcurrentWrites ?? 1);
  let flushTimer: { cancel(): void } | undefined;
  let retryTimer: { cancel(): void } | undefined;
  let healthy = true;
  let draining = false;
  let idle: Array<() => void> = [];

  function schedule(): void {
    if (pending.length === 0) {
      if (writing.size === 0) notifyIdle();
      return;
    }
    if (retryTimer !== undefined || writing.size >= maxWriters) return;
    if (draining || options.flushMs === 0 || pending.length >= options.batchRows) {
      flushNow();
      return;
    }
    if (flushTimer !== undefined) return;
    const idleMs = options.idleFlushMs ?? 0;
    if (idleMs <= 0 || idleMs >= options.flushMs) {
      flushTimer = timers.setTimer(() => {
        flushTimer = undefined;
        flushNow();
      }, options.flushMs);
      return;
    }
    // Every idleMs: write when the buffer stopped growing (the bus has nothing more to give until
    // these are acked, e.g. every key's next event waits for this one) or flushMs has passed.
    let waitedMs = 0;
    let seen = pending.length;
    const tick = (): void => {
      flushTimer = undefined;
      waitedMs += idleMs;
      if (pending.length === seen || waitedMs >= options.flushMs) {
        flushNow();
        return;
      }
      seen = pending.length;
      flushTimer = timers.setTimer(tick, Math.min(idleMs, options.flushMs - waitedMs));
    };
    flushTimer = timers.setTimer(tick, idleMs);
  }

  function notifyIdle(): void {
    const waiting = idle;
    idle = [];
    for (const resolve of waiting) resolve();
  }

  function flushNow(): void {
    flushTimer?.cancel();
    flushTimer = undefined;
    if (writing.size >= maxWriters || pending.length === 0) return;
    const batch = pending.splice(0, options.batchRows);
    writing.add(batch);
    writingEvents += batch.length;
    const startedAt = now();
    const finished = (): void => {
      writing.delete(batch);
      writingEvents -= batch.length;
    };
    options.warehouse.write(batch.map((item) => item.rows)).then(
      () => {
        finished();
        healthy = true;
        options.observer?.written?.(batch.length, now() - startedAt);
        for (const item of batch) item.resolve();
        schedule();
      },
      (error: unknown) => {
        finished();
        healthy = false;
        options.observer?.writeFailed?.(batch.length, error);
        if (draining) {
          for (const item of batch) item.reject(error);
          schedule();
          return;
        }
        pending.unshift(...batch);
        retryTimer ??= timers.setTimer(() => {
          retryTimer = undefined;
          schedule();
        }, options.retryMs);
      },
    );
    // More full batches go out at once while writers are free.
    if (pending.length >= options.batchRows) schedule();
  }

  function refuse(what: string): Promise<void> {
    options.observer?.refused?.();
    return Promise.reject(
      new SinkBackPressureError(
        `the analytics warehouse is not keeping up (${options.maxBufferedEvents} events buffered): ${what} left to the bus for redelivery`,
      ),
    );
  }

  function enqueue(rows: WarehouseRows): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      pending.push({ rows, resolve, reject });
    });
  }

  return {
    accept(event) {
      if (pending.length + writingEvents >= options.maxBufferedEvents) {
        return refuse(`event ${event.id}`);
      }
      const stored = enqueue(rowsOf(event));
      schedule();
      return stored;
    },
    acceptBatch(events) {
      const held = pending.length + writingEvents;
      if (held > 0 && held + events.length > options.maxBufferedEvents) {
        return refuse(`${events.length} events from ${events[0]?.id ?? '-'}`);
      }
      const stored = Promise.all(events.map((event) => enqueue(rowsOf(event))));
      schedule();
      return stored.then(() => undefined);
    },
    get buffered() {
      return pending.length + writingEvents;
    },
    get healthy() {
      return healthy;
    },
    drain() {
      draining = true;
      retryTimer?.cancel();
      retryTimer = undefined;
      const done = new Promise<void>((resolve) => idle.push(resolve));
      schedule();
      return done;
    },
  };
}
