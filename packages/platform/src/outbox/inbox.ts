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
