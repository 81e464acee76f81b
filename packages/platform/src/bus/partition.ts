/**
 * Key → partition mapping shared by the adapters that partition topics themselves (memory member
 * choice, Redis Streams partitions). It must never change: a different mapping would move a key to
 * another partition mid-stream and break its ordering.
 */

/** 32-bit FNV-1a over the key's UTF-16 code units; stable across processes and releases. */
export function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index += 1) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The partition (0-based) that owns `key` when a topic has `partitions` partitions. */
export function partitionForKey(key: string, partitions: number): number {
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw new RangeError(`partitions must be an integer >= 1, got ${partitions}`);
  }
  return hashKey(key) % partitions;
}
