import type { EventEnvelope } from '../bus/types.js';
import type { Sql, SqlExecutor, TransactionOptions } from '../sql/types.js';

/**
 * Applies a consumer's effect for an event at most once, turning the bus's at-least-once delivery
 * into exactly-once effects. In ONE transaction: record (consumer, event id) in the inbox; if that
 * row is new, run `effect(tx)`. A throwing effect rolls the inbox row back too, so the redelivered
 * event is tried again. Concurrent deliveries of the same event on PostgreSQL serialise on the
 * inbox primary key: the second waits for the first and then skips.
 *
 * `consumer` names the effect, usually `<service>.<handler>`; two handlers of one service that both
 * react to an event need different names. Returns whether the effect ran.
 */
export async function handleOnce(
  sql: Sql,
  consumer: string,
  event: Pick<EventEnvelope, 'id'>,
  effect: (tx: SqlExecutor) => Promise<void>,
  options?: TransactionOptions,
): Promise<boolean> {
  if (consumer === '') throw new TypeError('handleOnce needs a consumer name.');
  if (event.id === '') throw new TypeError('handleOnce needs an event id.');
  return sql.transaction(async (tx) => {
    const inserted = await tx.query(
      'INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT (consumer, event_id) DO NOTHING',
      [consumer, event.id],
    );
    if (inserted.rowCount === 0) return false;
    await effect(tx);
    return true;
  }, options);
}

/** Deletes inbox rows processed before `processedBefore` (at most `limit`); keep them longer than any redelivery window. */
export async function deleteProcessedInboxRows(
  sql: Sql,
  processedBefore: Date,
  limit = 1_000,
): Promise<number> {
  const result = await sql.query(
    `DELETE FROM inbox WHERE (consumer, event_id) IN (
       SELECT consumer, event_id FROM inbox WHERE processed_at < $1 ORDER BY processed_at LIMIT $2
     )`,
    [processedBefore, limit],
  );
  return result.rowCount;
}

/**
 * {@link handleOnce} for several events in ONE transaction: records every (consumer, event id) in
 * the inbox with one statement and runs `effect(tx, fresh)` with the events whose row is new, in
 * the order given (an event given twice counts once). A throwing effect rolls every row back.
 * Returns the ids whose effect ran. The rows are inserted in id order, so two replicas inserting
 * overlapping batches wait for each other instead of deadlocking.
 */
export async function handleBatchOnce<E extends Pick<EventEnvelope, 'id'>>(
  sql: Sql,
  consumer: string,
  events: readonly E[],
  effect: (tx: SqlExecutor, fresh: readonly E[]) => Promise<void>,
  options?: TransactionOptions,
): Promise<Set<string>> {
  if (consumer === '') throw new TypeError('handleBatchOnce needs a consumer name.');
  if (events.some((event) => event.id === ''))
    throw new TypeError('handleBatchOnce needs an id on every event.');
  if (events.length === 0) return new Set();
  const ids = [...new Set(events.map((event) => event.id))].sort();
  return sql.transaction(async (tx) => {
    const inserted = await tx.query<{ event_id: string }>(
      `INSERT INTO inbox (consumer, event_id)
       SELECT $1, id FROM unnest($2::text[]) WITH ORDINALITY AS e(id, n) ORDER BY n
       ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id`,
      [consumer, ids],
    );
    const fresh = new Set(inserted.rows.map((row) => row.event_id));
    if (fresh.size === 0) return fresh;
    const seen = new Set<string>();
    const apply = events.filter((event) => {
      if (!fresh.has(event.id) || seen.has(event.id)) return false;
      seen.add(event.id);
      return true;
    });
    await effect(tx, apply);
    return fresh;
  }, options);
}

/** Options of {@link createInboxBatcher}. */
export interface InboxBatcherOptions<E extends Pick<EventEnvelope, 'id'>> {
  readonly sql: Sql;
  /** The inbox consumer name, as with {@link handleOnce}. */
  readonly consumer: string;
  /** Most events in one transaction. */
  readonly maxBatch: number;
  /** The effect of the fresh events of one batch, in delivery order, in the batch's transaction. */
  readonly apply: (tx: SqlExecutor, events: readonly E[]) => Promise<void>;
}

/**
 * Group commit for a bus consumer whose effect runs in the inbox transaction: the bus's concurrent
 * deliveries queue, and ONE transaction (one inbox statement, one effect over the batch) takes
 * every event queued while the previous transaction ran (an idle consumer starts on the next
 * turn of the event loop, so the deliveries of one published batch go together). `handle` resolves once its event's transaction committed (the bus acks only
 * then) and rejects if it failed. Per-key order holds: the bus delivers a key's next event only
 * after this one was handled, so it never shares a batch with it. A batch that fails is tried
 * again one event per transaction, so one event that keeps failing (retried, then dead-lettered
 * by the bus) fails alone instead of taking its batch with it.
 */
export function createInboxBatcher<E extends Pick<EventEnvelope, 'id'>>(
  options: InboxBatcherOptions<E>,
): { handle(event: E): Promise<void> } {
  const maxBatch = Math.max(1, options.maxBatch);
  interface Waiting {
    readonly event: E;
    resolve(): void;
    reject(error: unknown): void;
  }
  let queue: Waiting[] = [];
  let running = false;
  let scheduled = false;

  const once = (events: readonly E[]): Promise<Set<string>> =>
    handleBatchOnce(options.sql, options.consumer, events, options.apply);

  async function run(batch: readonly Waiting[]): Promise<void> {
    try {
      await once(batch.map((item) => item.event));
      for (const item of batch) item.resolve();
      return;
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
    }
    for (const item of batch) {
      try {
        await once([item.event]);
        item.resolve();
      } catch (error) {
        item.reject(error);
      }
    }
  }

  function pump(): void {
    if (running || scheduled || queue.length === 0) return;
    running = true;
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    void run(batch).finally(() => {
      running = false;
      pump();
    });
  }

  return {
    handle(event) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ event, resolve, reject });
        if (running || scheduled) return;
        // The bus hands a published batch to its handlers within one turn: gather them first.
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          pump();
        });
      });
    },
  };
}
