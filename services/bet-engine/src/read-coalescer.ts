/**
 * Coalesces concurrent point reads into one query, the way the placement queue coalesces writes.
 * Under load every PlaceBet first reads its idempotency key and its market; one autocommit SELECT
 * each would cost two SQL transactions per bet (PostgreSQL counts read-only ones in
 * `xact_commit` too). While one read is in flight, the keys asked for meanwhile gather and go as
 * the next single query; when idle, a read goes at once, so nothing waits on a timer. Each caller
 * still reads at or after the moment it asked.
 */
export interface CoalescingReader<K, V> {
  load(key: K): Promise<V | undefined>;
}

/**
 * `loadMany` answers a batch of distinct keys with a map by `idOf(key)`; keys missing from the map
 * read as undefined. A failed batch fails each of its callers.
 */
export function createCoalescingReader<K, V>(
  loadMany: (keys: readonly K[]) => Promise<ReadonlyMap<string, V>>,
  idOf: (key: K) => string,
  maxBatch = 1000,
): CoalescingReader<K, V> {
  interface Waiter {
    readonly key: K;
    resolve(value: V | undefined): void;
    reject(error: unknown): void;
  }
  let queue: Waiter[] = [];
  let inFlight = false;

  const flush = (): void => {
    if (inFlight || queue.length === 0) return;
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    inFlight = true;
    const distinct = new Map<string, K>();
    for (const waiter of batch) distinct.set(idOf(waiter.key), waiter.key);
    loadMany([...distinct.values()])
      .then(
        (found) => {
          for (const waiter of batch) waiter.resolve(found.get(idOf(waiter.key)));
        },
        (error: unknown) => {
          for (const waiter of batch) waiter.reject(error);
        },
      )
      .finally(() => {
        inFlight = false;
        flush();
      });
  };

  return {
    load(key) {
      return new Promise<V | undefined>((resolve, reject) => {
        queue.push({ key, resolve, reject });
        flush();
      });
    },
  };
}
