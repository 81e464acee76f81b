/**
 * The consumer-side engine shared by the memory and Redis Streams adapters: per-key FIFO
 * delivery with bounded concurrency across keys, exponential-backoff retries and dead-lettering.
 *
 * Invariants:
 * - Events of one key are handled one at a time, in push order. A failing event blocks its
 *   key (not others) until it succeeds or is dead-lettered.
 * - At most `concurrency` handler calls run at once; a key waiting out a backoff does not hold
 *   a slot.
 * - An event is acknowledged (`onHandled`) only after its handler resolved, and dead-lettered
 *   (`onDeadLetter`) only after `maxAttempts` failed attempts (an item pushed with
 *   `attempts >= maxAttempts`, i.e. delivered that often to consumers that died, is dead-lettered
 *   without another attempt). If dead-lettering itself fails
 *   the event stays at the head of its key and dead-lettering is retried after a backoff.
 * - `close()` starts nothing new, cancels pending backoffs and resolves once running work has
 *   finished; unfinished items are returned (never acknowledged), so at-least-once holds.
 *
 * Batch mode (`deliverBatch` set, for consumers that opt in with `handleBatch`): one handler call
 * takes up to `batchMaxItems` items across ready keys, each key's queued items from its head in
 * push order, so a key may have many events in flight in one call (instead of one) while its order
 * still holds: a key is in at most one running call, and its later items wait for it. The call
 * succeeds or fails as a whole: success acknowledges every item; failure counts an attempt on
 * each and retries each key after its backoff with its head item ALONE (a batch of one), so a
 * poison event exhausts only its own attempts and is dead-lettered by itself while its
 * batch-mates go on; a key goes back to batching once its lone head succeeded. `concurrency`
 * then bounds the calls (batches) in flight.
 */
import type { EventEnvelope } from './types.js';

/** Schedules callbacks; injected so tests can observe or control backoff delays. */
export interface Timer {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process timer (`setTimeout` / `clearTimeout`). */
export const realTimer: Timer = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Delay before attempt `failedAttempts + 1`: `baseMs · 2^(failedAttempts-1)`, capped at `maxMs`. */
export function exponentialBackoffMs(
  failedAttempts: number,
  baseMs: number,
  maxMs: number,
): number {
  const exponent = Math.max(0, failedAttempts - 1);
  return Math.min(maxMs, baseMs * 2 ** Math.min(exponent, 30));
}

/** One event inside the dispatcher, with adapter-specific bookkeeping in `meta`. */
export interface DispatchItem<M> {
  readonly envelope: EventEnvelope;
  /** Attempts already made (a claimed Redis entry may arrive with earlier deliveries counted). */
  attempts: number;
  readonly meta: M;
}

/** Thrown by `deliver` to say "not attempted, the dispatcher is closing": the item is kept, not retried. */
export class DeliveryAbortedError extends Error {
  constructor() {
    super('delivery aborted: the consumer is closing');
    this.name = 'DeliveryAbortedError';
  }
}

/** Options of {@link createKeyedDispatcher}. */
export interface KeyedDispatcherOptions<M> {
  /** Most handler calls in flight at once (across keys). */
  readonly concurrency: number;
  readonly maxAttempts: number;
  /** Delay before the next attempt after `failedAttempts` failures. */
  readonly backoffMs: (failedAttempts: number) => number;
  readonly timer: Timer;
  /** Runs the handler for one attempt; rejects when the attempt failed. */
  readonly deliver: (item: DispatchItem<M>) => Promise<void>;
  /**
   * Batch mode: runs the handler once for these items (keys in any order, each key's items in
   * push order); rejects when the attempt failed for all of them. See the module comment.
   */
  readonly deliverBatch?: (items: readonly DispatchItem<M>[]) => Promise<void>;
  /** Most items in one `deliverBatch` call (default 500). */
  readonly batchMaxItems?: number;
  /** Acknowledges a handled item. Its failure is reported, not retried: the event may be redelivered. */
  readonly onHandled: (item: DispatchItem<M>) => Promise<void>;
  /** Moves an item that exhausted its attempts to the dead-letter topic and acknowledges it. */
  readonly onDeadLetter: (item: DispatchItem<M>, error: unknown) => Promise<void>;
  /** Infrastructure failures (ack or dead-letter write failed) for logging. */
  readonly onError: (error: unknown, item: DispatchItem<M>) => void;
}

/** The per-key dispatcher; see the module comment for its guarantees. */
export interface KeyedDispatcher<M> {
  push(item: DispatchItem<M>): void;
  /** Items pushed and not yet finished (queued, running or waiting out a backoff). */
  readonly size: number;
  /** Whether an item with this predicate is held (queued, running or in backoff). */
  holds(predicate: (item: DispatchItem<M>) => boolean): boolean;
  /** All held items (for heartbeats). */
  heldItems(): DispatchItem<M>[];
  /** Resolves once `size < limit` or the dispatcher closes. */
  waitForCapacity(limit: number): Promise<void>;
  /** Resolves after running attempts settle; returns the items left unfinished. Idempotent. */
  close(): Promise<DispatchItem<M>[]>;
}

interface KeyState<M> {
  readonly items: DispatchItem<M>[];
  /** Set while the head waits out a backoff. */
  timerHandle?: unknown;
  /** Error that made the head exhaust its attempts, kept while dead-lettering is retried. */
  exhaustedBy?: { error: unknown };
  deadLetterFailures: number;
  /** Batch mode: after a failed batch, the head goes alone until it succeeds. */
  isolated?: boolean;
}

/** A key's share of a batch: its first `count` items. */
interface BatchPart<M> {
  readonly key: string;
  readonly state: KeyState<M>;
  readonly items: DispatchItem<M>[];
}

/** Creates a {@link KeyedDispatcher}. */
export function createKeyedDispatcher<M>(options: KeyedDispatcherOptions<M>): KeyedDispatcher<M> {
  const { concurrency, maxAttempts, backoffMs, timer } = options;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be an integer >= 1, got ${concurrency}`);
  }
  const batchMaxItems = options.batchMaxItems ?? 500;
  if (!Number.isSafeInteger(batchMaxItems) || batchMaxItems < 1) {
    throw new RangeError(`batchMaxItems must be an integer >= 1, got ${batchMaxItems}`);
  }
  const keys = new Map<string, KeyState<M>>();
  const ready: string[] = [];
  let size = 0;
  let running = 0;
  let closed = false;
  let closing: Promise<DispatchItem<M>[]> | undefined;
  let idleWaiters: Array<() => void> = [];
  let capacityWaiters: Array<{ limit: number; resolve: () => void }> = [];

  function push(item: DispatchItem<M>): void {
    if (closed) throw new Error('dispatcher is closed');
    const key = item.envelope.key;
    let state = keys.get(key);
    size += 1;
    if (state === undefined) {
      state = { items: [item], deadLetterFailures: 0 };
      keys.set(key, state);
      ready.push(key);
      pump();
    } else {
      state.items.push(item);
    }
  }

  function pump(): void {
    while (!closed && running < concurrency && ready.length > 0) {
      if (options.deliverBatch !== undefined) {
        const parts = takeBatch();
        running += 1;
        if (parts === undefined) void runHead(ready.shift() as string);
        else void runBatch(options.deliverBatch, parts);
        continue;
      }
      const key = ready.shift() as string;
      running += 1;
      void runHead(key);
    }
  }

  /** Whether a ready key must go through the one-item path (its head is to be dead-lettered). */
  function mustDeadLetter(state: KeyState<M>): boolean {
    const head = state.items[0];
    return state.exhaustedBy !== undefined || (head !== undefined && head.attempts >= maxAttempts);
  }

  /**
   * The next batch from the ready keys, or undefined when the first ready key's head is to be
   * dead-lettered (runHead does that). An isolated key's head goes alone.
   */
  function takeBatch(): BatchPart<M>[] | undefined {
    const parts: BatchPart<M>[] = [];
    let count = 0;
    while (ready.length > 0 && count < batchMaxItems) {
      const key = ready[0] as string;
      const state = keys.get(key);
      if (state === undefined || state.items.length === 0) {
        ready.shift();
        continue;
      }
      const alone = state.isolated === true || mustDeadLetter(state);
      if (alone && parts.length > 0) break;
      if (mustDeadLetter(state)) return undefined;
      ready.shift();
      const take = alone ? 1 : Math.min(state.items.length, batchMaxItems - count);
      parts.push({ key, state, items: state.items.slice(0, take) });
      count += take;
      if (alone) break;
    }
    return parts;
  }

  async function runBatch(
    deliverBatch: (items: readonly DispatchItem<M>[]) => Promise<void>,
    parts: BatchPart<M>[],
  ): Promise<void> {
    const items = parts.flatMap((part) => part.items);
    try {
      if (items.length === 0) return;
      for (const item of items) item.attempts += 1;
      try {
        await deliverBatch(items);
      } catch (error) {
        if (error instanceof DeliveryAbortedError) {
          for (const item of items) item.attempts -= 1;
          return;
        }
        for (const part of parts) {
          const head = part.items[0] as DispatchItem<M>;
          part.state.isolated = true;
          if (head.attempts < maxAttempts) {
            scheduleRetry(part.key, part.state, backoffMs(head.attempts));
          } else {
            part.state.exhaustedBy = { error };
            ready.push(part.key);
          }
        }
        return;
      }
      await Promise.all(
        items.map((item) =>
          options.onHandled(item).catch((error: unknown) => options.onError(error, item)),
        ),
      );
      for (const part of parts) {
        part.state.items.splice(0, part.items.length);
        part.state.isolated = false;
        size -= part.items.length;
        if (part.state.items.length === 0) keys.delete(part.key);
        else ready.push(part.key);
      }
    } finally {
      running -= 1;
      settle();
      pump();
    }
  }

  async function runHead(key: string): Promise<void> {
    const state = keys.get(key);
    const item = state?.items[0];
    try {
      if (state === undefined || item === undefined) return;
      if (state.exhaustedBy === undefined && item.attempts >= maxAttempts) {
        // Delivered that often already (to consumers that died before acknowledging): a poison
        // event that kills its consumer must not get another chance to do so.
        state.exhaustedBy = {
          error: new Error(
            `delivered ${item.attempts} times without an acknowledgement (consumers died or stalled)`,
          ),
        };
      }
      if (state.exhaustedBy === undefined) {
        item.attempts += 1;
        try {
          await options.deliver(item);
        } catch (error) {
          if (error instanceof DeliveryAbortedError) {
            item.attempts -= 1;
            return;
          }
          if (item.attempts < maxAttempts) {
            scheduleRetry(key, state, backoffMs(item.attempts));
            return;
          }
          state.exhaustedBy = { error };
        }
        if (state.exhaustedBy === undefined) {
          await options.onHandled(item).catch((error: unknown) => options.onError(error, item));
          finishHead(key, state);
          return;
        }
      }
      try {
        await options.onDeadLetter(item, state.exhaustedBy.error);
      } catch (error) {
        options.onError(error, item);
        state.deadLetterFailures += 1;
        scheduleRetry(key, state, backoffMs(state.deadLetterFailures));
        return;
      }
      finishHead(key, state);
    } finally {
      running -= 1;
      settle();
      pump();
    }
  }

  function scheduleRetry(key: string, state: KeyState<M>, delayMs: number): void {
    if (closed) return;
    state.timerHandle = timer.setTimeout(() => {
      state.timerHandle = undefined;
      if (closed) return;
      ready.push(key);
      pump();
    }, delayMs);
  }

  function finishHead(key: string, state: KeyState<M>): void {
    state.items.shift();
    state.exhaustedBy = undefined;
    state.deadLetterFailures = 0;
    size -= 1;
    if (state.items.length === 0) {
      keys.delete(key);
    } else {
      // Back of the queue: one busy key must not starve the others.
      ready.push(key);
    }
  }

  function settle(): void {
    if (capacityWaiters.length > 0) {
      const still: typeof capacityWaiters = [];
      for (const waiter of capacityWaiters) {
        if (closed || size < waiter.limit) waiter.resolve();
        else still.push(waiter);
      }
      capacityWaiters = still;
    }
    if (running === 0 && idleWaiters.length > 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  function heldItems(): DispatchItem<M>[] {
    const all: DispatchItem<M>[] = [];
    for (const state of keys.values()) all.push(...state.items);
    return all;
  }

  return {
    push,
    get size() {
      return size;
    },
    holds(predicate) {
      for (const state of keys.values()) if (state.items.some(predicate)) return true;
      return false;
    },
    heldItems,
    waitForCapacity(limit) {
      if (closed || size < limit) return Promise.resolve();
      return new Promise((resolve) => capacityWaiters.push({ limit, resolve }));
    },
    close() {
      closing ??= (async () => {
        closed = true;
        for (const state of keys.values()) {
          if (state.timerHandle !== undefined) {
            timer.clearTimeout(state.timerHandle);
            state.timerHandle = undefined;
          }
        }
        ready.length = 0;
        settle();
        if (running > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
        return heldItems();
      })();
      return closing;
    },
  };
}
