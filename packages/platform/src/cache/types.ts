/**
 * The cache / key-value port: the odds cache, leaderboards (sorted sets) and rate limits.
 * In-process adapter for the embedded mode, Redis (ioredis) in the cluster. Nothing in it is
 * the source of truth: every value can be rebuilt from SQL after a cache loss.
 */

/** One member of a sorted set with its score. */
export interface ScoredMember {
  readonly member: string;
  readonly score: number;
}

/** Outcome of taking tokens from a bucket. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Whole tokens left after this take (fractional refill rounded down; 0 when refused). */
  readonly remaining: number;
  /** When refused: ms until enough tokens will have refilled to allow the same take. 0 when allowed. */
  readonly retryAfterMs: number;
}

export interface TokenBucketSpec {
  /** Bucket size: the largest burst allowed. */
  readonly capacity: number;
  /** Refill rate in tokens per second. */
  readonly refillPerSecond: number;
}

export interface Cache {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | null>;
  /** Sets `key`; with `ttlMs` (a positive integer) it expires after that many milliseconds, without it any previous TTL is cleared (like SET). */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /**
   * Sets `key` only if the stored version is lower than `version` (or absent). Returns whether
   * it was written. Keeps a late writer from replacing newer odds with older ones.
   */
  setIfNewer(key: string, version: bigint, value: string, ttlMs?: number): Promise<boolean>;
  /** Reads a value written by `setIfNewer`, with its version. */
  getVersioned(key: string): Promise<{ version: bigint; value: string } | null>;
  del(key: string): Promise<void>;
  /**
   * Atomically adds `delta` (a safe integer) to an integer counter (created at 0) and returns the
   * new value. `ttlMs` is applied only when the counter has no TTL yet (normally: this call
   * created it), so a fixed rate window does not slide with every increment.
   */
  incrBy(key: string, delta: number, ttlMs?: number): Promise<number>;

  /** Sorted sets (leaderboards). Adds `delta` to the member's score; returns the new score. */
  zIncrBy(key: string, member: string, delta: number): Promise<number>;
  zScore(key: string, member: string): Promise<number | null>;
  /**
   * Members by descending score, ranks `start`..`stop` inclusive (0-based; negative counts from the
   * end, -1 = last), exactly like ZREVRANGE: equal scores are ordered by member in DESCENDING
   * byte order (memcmp of the UTF-8 bytes, i.e. reverse lexicographic: `b` before `ab` before `a`),
   * because ZREVRANGE is the reverse of ZRANGE, which orders ties ascending.
   */
  zRevRange(key: string, start: number, stop: number): Promise<ScoredMember[]>;
  /** 0-based rank by descending score (ties as in `zRevRange`), or null when absent. */
  zRevRank(key: string, member: string): Promise<number | null>;
  /** Sets a TTL on any existing key (leaderboard windows expire); `ttlMs <= 0` deletes it, like PEXPIRE. */
  expire(key: string, ttlMs: number): Promise<void>;

  /**
   * Token bucket: takes `cost` tokens (default 1) from the bucket named `key`, atomically
   * across processes. `nowMs` is the caller's clock (injected so tests are deterministic);
   * the Redis adapter uses it too, so every process must pass the same kind of clock.
   * A refused take consumes nothing. A `cost` above `capacity` could never be allowed and
   * throws a RangeError instead of refusing forever.
   */
  takeTokens(
    key: string,
    spec: TokenBucketSpec,
    nowMs: number,
    cost?: number,
  ): Promise<RateLimitDecision>;

  ping(): Promise<void>;
  close(): Promise<void>;
}
