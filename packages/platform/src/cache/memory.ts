/**
 * In-process cache for the embedded mode and tests. It mirrors the Redis adapter's observable
 * behaviour, including the awkward parts, so code tested against it behaves the same on Redis:
 * - key types: a key holds a string, a versioned value, a sorted set or a token bucket, and the
 *   wrong operation on it fails with `WRONGTYPE` like Redis does; `set` overwrites any type;
 * - TTLs: `set` without `ttlMs` clears a previous TTL (like SET); `incrBy` with `ttlMs` only sets
 *   the TTL of a counter that has none (a fixed window does not slide); `expire` with a
 *   non-positive TTL deletes the key (like PEXPIRE). A key expires once `now() >= setAt + ttlMs`,
 *   checked lazily on access against the injected clock, plus an expiry heap that drops expired
 *   keys nobody reads again, so memory stays bounded by the live keys;
 * - sorted sets: ZREVRANGE order (score descending, ties by member in descending byte order);
 * - counters are stored as decimal strings, so `get` of a counter returns e.g. `"5"`.
 */
import { compareMembersDescending } from './sorted-set-order.js';
import { assertBucketArgs, bucketTtlMs, takeFromBucket, type BucketState } from './token-bucket.js';
import type { Cache, RateLimitDecision, ScoredMember, TokenBucketSpec } from './types.js';

/** Options of {@link createMemoryCache}. */
export interface MemoryCacheOptions {
  /** Clock for TTLs, ms since the epoch. Default `Date.now`; tests inject a controllable one. */
  readonly now?: () => number;
}

/** The memory cache: the `Cache` port plus TTL inspection (tests, diagnostics). */
export interface MemoryCache extends Cache {
  readonly kind: 'memory';
  /** Milliseconds until `key` expires; null when it is absent or has no TTL (like PTTL -2 / -1). */
  remainingTtlMs(key: string): Promise<number | null>;
}

type Value =
  | { readonly type: 'string'; value: string }
  | { readonly type: 'versioned'; version: bigint; value: string }
  | { readonly type: 'zset'; scores: Map<string, number>; sorted: ScoredMember[] | undefined }
  | { readonly type: 'bucket'; state: BucketState };

type Entry = { value: Value; expiresAtMs: number | undefined };

const wrongType = 'WRONGTYPE Operation against a key holding the wrong kind of value';

/** Creates an in-process cache; see the module comment for the Redis behaviours it mirrors. */
export function createMemoryCache(options: MemoryCacheOptions = {}): MemoryCache {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const expiryHeap = createExpiryHeap();
  let closed = false;

  function fail(operation: string, key: string, message: string): never {
    throw new Error(`cache (memory): ${operation} ${JSON.stringify(key)}: ${message}`);
  }

  function assertOpen(operation: string): void {
    if (closed) throw new Error(`cache (memory) is closed: cannot ${operation}`);
  }

  /** Drops expired keys whose time has come, then returns the live entry of `key`. */
  function live(operation: string, key: string): Entry | undefined {
    assertOpen(operation);
    if (typeof key !== 'string')
      throw new TypeError(`cache (memory): ${operation}: key must be a string`);
    const at = now();
    expiryHeap.popExpired(at, (expiredKey, expiresAtMs) => {
      if (entries.get(expiredKey)?.expiresAtMs === expiresAtMs) entries.delete(expiredKey);
    });
    const entry = entries.get(key);
    if (entry?.expiresAtMs !== undefined && at >= entry.expiresAtMs) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  }

  function expectType<T extends Value['type']>(
    operation: string,
    key: string,
    entry: Entry | undefined,
    type: T,
  ): Extract<Value, { type: T }> | undefined {
    if (entry === undefined) return undefined;
    if (entry.value.type !== type) fail(operation, key, wrongType);
    return entry.value as Extract<Value, { type: T }>;
  }

  function setTtl(entry: Entry, key: string, ttlMs: number | undefined): void {
    entry.expiresAtMs = ttlMs === undefined ? undefined : now() + ttlMs;
    if (entry.expiresAtMs !== undefined) expiryHeap.push(entry.expiresAtMs, key);
  }

  function assertTtl(operation: string, key: string, ttlMs: number | undefined): void {
    if (ttlMs !== undefined && !(Number.isSafeInteger(ttlMs) && ttlMs > 0)) {
      fail(operation, key, `ttlMs must be a positive integer, got ${ttlMs}`);
    }
  }

  function put(key: string, value: Value, ttlMs: number | undefined): void {
    const entry: Entry = { value, expiresAtMs: undefined };
    setTtl(entry, key, ttlMs);
    entries.set(key, entry);
  }

  function zset(operation: string, key: string) {
    return expectType(operation, key, live(operation, key), 'zset');
  }

  function sortedMembers(value: Extract<Value, { type: 'zset' }>): ScoredMember[] {
    value.sorted ??= [...value.scores]
      .map(([member, score]) => ({ member, score }))
      .sort((a, b) =>
        a.score !== b.score ? b.score - a.score : compareMembersDescending(a.member, b.member),
      );
    return value.sorted;
  }

  return {
    kind: 'memory',

    get(key) {
      return attempt(() => {
        return expectType('GET', key, live('GET', key), 'string')?.value ?? null;
      });
    },

    set(key, value, ttlMs) {
      return attempt(() => {
        live('SET', key);
        assertTtl('SET', key, ttlMs);
        put(key, { type: 'string', value: String(value) }, ttlMs);
      });
    },

    setIfNewer(key, version, value, ttlMs) {
      return attempt(() => {
        const current = expectType('SETIFNEWER', key, live('SETIFNEWER', key), 'versioned');
        assertTtl('SETIFNEWER', key, ttlMs);
        if (typeof version !== 'bigint') fail('SETIFNEWER', key, 'version must be a bigint');
        if (current !== undefined && current.version >= version) return false;
        put(key, { type: 'versioned', version, value: String(value) }, ttlMs);
        return true;
      });
    },

    getVersioned(key) {
      return attempt(() => {
        const current = expectType('GETVERSIONED', key, live('GETVERSIONED', key), 'versioned');
        return current === undefined ? null : { version: current.version, value: current.value };
      });
    },

    del(key) {
      return attempt(() => {
        live('DEL', key);
        entries.delete(key);
      });
    },

    incrBy(key, delta, ttlMs) {
      return attempt(() => {
        const entry = live('INCRBY', key);
        const current = expectType('INCRBY', key, entry, 'string');
        assertTtl('INCRBY', key, ttlMs);
        if (!Number.isSafeInteger(delta))
          fail('INCRBY', key, `delta must be a safe integer, got ${delta}`);
        const before = current === undefined ? 0 : Number(current.value);
        if (
          current !== undefined &&
          !(/^-?\d+$/.test(current.value) && Number.isSafeInteger(before))
        ) {
          fail('INCRBY', key, 'ERR value is not an integer or out of range');
        }
        const after = before + delta;
        if (!Number.isSafeInteger(after))
          fail('INCRBY', key, 'ERR increment or decrement would overflow');
        if (entry === undefined || current === undefined) {
          put(key, { type: 'string', value: String(after) }, ttlMs);
        } else {
          current.value = String(after);
          if (ttlMs !== undefined && entry.expiresAtMs === undefined) setTtl(entry, key, ttlMs);
        }
        return after;
      });
    },

    zIncrBy(key, member, delta) {
      return attempt(() => {
        const current = zset('ZINCRBY', key);
        if (typeof delta !== 'number' || Number.isNaN(delta))
          fail('ZINCRBY', key, 'delta must be a number');
        const value = current ?? {
          type: 'zset' as const,
          scores: new Map<string, number>(),
          sorted: undefined,
        };
        const score = (value.scores.get(member) ?? 0) + delta;
        if (Number.isNaN(score)) fail('ZINCRBY', key, 'ERR resulting score is not a number (NaN)');
        value.scores.set(member, score);
        value.sorted = undefined;
        if (current === undefined) put(key, value, undefined);
        return score;
      });
    },

    zScore(key, member) {
      return attempt(() => {
        return zset('ZSCORE', key)?.scores.get(member) ?? null;
      });
    },

    zRevRange(key, start, stop) {
      return attempt(() => {
        const value = zset('ZREVRANGE', key);
        if (!Number.isSafeInteger(start) || !Number.isSafeInteger(stop))
          fail('ZREVRANGE', key, 'start and stop must be integers');
        if (value === undefined) return [];
        const members = sortedMembers(value);
        const length = members.length;
        let from = start < 0 ? start + length : start;
        let to = stop < 0 ? stop + length : stop;
        if (from < 0) from = 0;
        if (to >= length) to = length - 1;
        if (from > to || from >= length) return [];
        return members.slice(from, to + 1).map((entry) => ({ ...entry }));
      });
    },

    zRevRank(key, member) {
      return attempt(() => {
        const value = zset('ZREVRANK', key);
        const score = value?.scores.get(member);
        if (value === undefined || score === undefined) return null;
        let rank = 0;
        for (const [other, otherScore] of value.scores) {
          if (
            otherScore > score ||
            (otherScore === score && compareMembersDescending(other, member) < 0)
          )
            rank += 1;
        }
        return rank;
      });
    },

    expire(key, ttlMs) {
      return attempt(() => {
        const entry = live('PEXPIRE', key);
        if (!Number.isSafeInteger(ttlMs))
          fail('PEXPIRE', key, `ttlMs must be an integer, got ${ttlMs}`);
        if (entry === undefined) return;
        if (ttlMs <= 0) entries.delete(key);
        else setTtl(entry, key, ttlMs);
      });
    },

    takeTokens(
      key: string,
      spec: TokenBucketSpec,
      nowMs: number,
      cost = 1,
    ): Promise<RateLimitDecision> {
      return attempt(() => {
        const current = expectType('TAKETOKENS', key, live('TAKETOKENS', key), 'bucket');
        assertBucketArgs(spec, nowMs, cost);
        const { state, decision } = takeFromBucket(current?.state, spec, nowMs, cost);
        put(key, { type: 'bucket', state }, bucketTtlMs(spec));
        return decision;
      });
    },

    remainingTtlMs(key) {
      return attempt(() => {
        const entry = live('PTTL', key);
        if (entry?.expiresAtMs === undefined) return null;
        return entry.expiresAtMs - now();
      });
    },

    ping() {
      return attempt(() => {
        assertOpen('PING');
      });
    },

    close() {
      return attempt(() => {
        closed = true;
        entries.clear();
        expiryHeap.clear();
      });
    },
  };
}

/** Runs a synchronous operation as the async port expects: a throw becomes a rejection. */
function attempt<T>(operation: () => T): Promise<T> {
  try {
    return Promise.resolve(operation());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** Min-heap of (expiresAtMs, key); stale pairs (TTL changed, key deleted) are skipped when popped. */
function createExpiryHeap() {
  const times: number[] = [];
  const keys: string[] = [];
  function swap(a: number, b: number): void {
    [times[a], times[b]] = [times[b] as number, times[a] as number];
    [keys[a], keys[b]] = [keys[b] as string, keys[a] as string];
  }
  return {
    push(expiresAtMs: number, key: string): void {
      times.push(expiresAtMs);
      keys.push(key);
      let index = times.length - 1;
      while (index > 0) {
        const parent = (index - 1) >> 1;
        if ((times[parent] as number) <= expiresAtMs) break;
        swap(index, parent);
        index = parent;
      }
    },
    popExpired(nowMs: number, onExpired: (key: string, expiresAtMs: number) => void): void {
      while (times.length > 0 && (times[0] as number) <= nowMs) {
        const expiresAtMs = times[0] as number;
        const key = keys[0] as string;
        const lastTime = times.pop() as number;
        const lastKey = keys.pop() as string;
        if (times.length > 0) {
          times[0] = lastTime;
          keys[0] = lastKey;
          let index = 0;
          for (;;) {
            const left = index * 2 + 1;
            const right = left + 1;
            let smallest = index;
            if (left < times.length && (times[left] as number) < (times[smallest] as number))
              smallest = left;
            if (right < times.length && (times[right] as number) < (times[smallest] as number))
              smallest = right;
            if (smallest === index) break;
            swap(index, smallest);
            index = smallest;
          }
        }
        onExpired(key, expiresAtMs);
      }
    },
    clear(): void {
      times.length = 0;
      keys.length = 0;
    },
  };
}
