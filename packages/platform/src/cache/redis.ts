/**
 * Redis cache (ioredis) for the cluster: shared by every process, so the read-modify-write
 * operations (`setIfNewer`, `incrBy` with a TTL, `takeTokens`) are Lua scripts that Redis runs
 * atomically. Behaviour matches the memory cache (./memory.ts) operation for operation; the
 * shared contract suite (testkit cache-contract) holds both to it.
 *
 * Key layout, all under `keyPrefix`: plain strings and counters as strings; versioned values as
 * a hash `{ v: <decimal version>, d: <value> }`; sorted sets as ZSETs; token buckets as a hash
 * `{ mt: <milli-tokens>, ts: <caller's nowMs of the last take> }` that expires once it would be full.
 */
import type { Redis } from 'ioredis';
import { closeRedis, openRedis, toRedisError, type RedisHandle } from './redis-connection.js';
import { assertBucketArgs, bucketTtlMs } from './token-bucket.js';
import type { Cache, RateLimitDecision, ScoredMember, TokenBucketSpec } from './types.js';

/** Options of {@link createRedisCache}. */
export interface RedisCacheOptions {
  /** Redis URL (`redis://host:6379/0`); the cache opens and closes its own connection. */
  readonly url?: string;
  /** Or an existing client, which the cache uses but never closes. */
  readonly redis?: Redis;
  /** Prepended to every key, e.g. `streambet:pool:`; lets services and tests share one Redis. */
  readonly keyPrefix: string;
}

/** The Redis cache: the `Cache` port plus TTL inspection (tests, diagnostics). */
export interface RedisCache extends Cache {
  readonly kind: 'redis';
  /** Milliseconds until `key` expires; null when it is absent or has no TTL (PTTL -2 / -1). */
  remainingTtlMs(key: string): Promise<number | null>;
}

/**
 * Compares canonical decimal integers of any size (bigint versions do not fit Lua's doubles):
 * sign first, then length, then digits.
 */
const compareDecimalLua = `
local function cmp(a, b)
  local na = string.sub(a, 1, 1) == '-'
  local nb = string.sub(b, 1, 1) == '-'
  if na ~= nb then
    if na then return -1 else return 1 end
  end
  local r
  if #a ~= #b then
    if #a < #b then r = -1 else r = 1 end
  elseif a == b then
    r = 0
  elseif a < b then
    r = -1
  else
    r = 1
  end
  if na then r = -r end
  return r
end
`;

/** KEYS[1]; ARGV: version (canonical decimal), value, ttlMs (0 = no TTL). Returns 1 when written. */
const setIfNewerLua = `${compareDecimalLua}
local current = redis.call('HGET', KEYS[1], 'v')
if current and cmp(current, ARGV[1]) >= 0 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return 1
`;

/** KEYS[1]; ARGV: delta, ttlMs (0 = none). The TTL is set only when the counter has none. */
const incrByLua = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl > 0 and redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ttl) end
return value
`;

/**
 * KEYS[1]; ARGV: capacity, refillPerSecond, nowMs, cost, bucket ttlMs. Mirrors takeFromBucket in
 * ./token-bucket.ts step for step (same double arithmetic). Returns { allowed, remaining, retryAfterMs }.
 */
const takeTokensLua = `
local capacityMilli = tonumber(ARGV[1]) * 1000
local refill = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local costMilli = tonumber(ARGV[4]) * 1000
local state = redis.call('HMGET', KEYS[1], 'mt', 'ts')
local milli = capacityMilli
local updated = now
if state[1] and state[2] then
  local last = tonumber(state[2])
  local elapsed = math.max(0, now - last)
  milli = math.min(capacityMilli, tonumber(state[1]) + elapsed * refill)
  updated = math.max(now, last)
end
local allowed = 0
local remaining = 0
local retry = 0
if milli >= costMilli then
  milli = milli - costMilli
  allowed = 1
  remaining = math.floor(milli / 1000)
else
  retry = math.ceil((costMilli - milli) / refill)
end
redis.call('HSET', KEYS[1], 'mt', milli, 'ts', updated)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return { allowed, remaining, retry }
`;

interface CacheScripts {
  streambetSetIfNewer(key: string, version: string, value: string, ttlMs: number): Promise<number>;
  streambetIncrBy(key: string, delta: number, ttlMs: number): Promise<number>;
  streambetTakeTokens(
    key: string,
    capacity: number,
    refillPerSecond: number,
    nowMs: number,
    cost: number,
    ttlMs: number,
  ): Promise<[number, number, number]>;
}

const component = 'cache (redis)';

/** Creates the Redis cache; see the module comment for the key layout. */
export function createRedisCache(options: RedisCacheOptions): RedisCache {
  if (typeof options.keyPrefix !== 'string')
    throw new RangeError('keyPrefix must be a string (it may be empty)');
  const handle: RedisHandle = openRedis(component, { url: options.url, redis: options.redis });
  const redis = handle.redis;
  redis.defineCommand('streambetSetIfNewer', { numberOfKeys: 1, lua: setIfNewerLua });
  redis.defineCommand('streambetIncrBy', { numberOfKeys: 1, lua: incrByLua });
  redis.defineCommand('streambetTakeTokens', { numberOfKeys: 1, lua: takeTokensLua });
  const scripts = redis as unknown as CacheScripts;
  let closed = false;
  let closing: Promise<void> | undefined;

  function k(key: string): string {
    if (typeof key !== 'string') throw new TypeError(`${component}: key must be a string`);
    return `${options.keyPrefix}${key}`;
  }

  /** Runs one Redis call, mapping its failure to a clear error naming the operation and key. */
  async function run<T>(operation: string, key: string, call: () => Promise<T>): Promise<T> {
    if (closed) throw new Error(`${component} is closed: cannot ${operation}`);
    try {
      return await call();
    } catch (error) {
      throw toRedisError(component, operation, error, handle, JSON.stringify(key));
    }
  }

  function assertTtl(operation: string, key: string, ttlMs: number | undefined): void {
    if (ttlMs !== undefined && !(Number.isSafeInteger(ttlMs) && ttlMs > 0)) {
      throw new Error(
        `${component}: ${operation} ${JSON.stringify(key)}: ttlMs must be a positive integer, got ${ttlMs}`,
      );
    }
  }

  return {
    kind: 'redis',

    get(key) {
      return run('GET', key, () => redis.get(k(key)));
    },

    async set(key, value, ttlMs) {
      assertTtl('SET', key, ttlMs);
      await run('SET', key, () =>
        ttlMs === undefined ? redis.set(k(key), value) : redis.set(k(key), value, 'PX', ttlMs),
      );
    },

    async setIfNewer(key, version, value, ttlMs) {
      assertTtl('SETIFNEWER', key, ttlMs);
      if (typeof version !== 'bigint')
        throw new TypeError(
          `${component}: SETIFNEWER ${JSON.stringify(key)}: version must be a bigint`,
        );
      const written = await run('SETIFNEWER', key, () =>
        scripts.streambetSetIfNewer(k(key), version.toString(), value, ttlMs ?? 0),
      );
      return written === 1;
    },

    async getVersioned(key) {
      const [version, value] = await run('GETVERSIONED', key, () => redis.hmget(k(key), 'v', 'd'));
      if (version === null || version === undefined) return null;
      return { version: BigInt(version), value: value ?? '' };
    },

    async del(key) {
      await run('DEL', key, () => redis.del(k(key)));
    },

    async incrBy(key, delta, ttlMs) {
      assertTtl('INCRBY', key, ttlMs);
      if (!Number.isSafeInteger(delta)) {
        throw new Error(
          `${component}: INCRBY ${JSON.stringify(key)}: delta must be a safe integer, got ${delta}`,
        );
      }
      const value = await run('INCRBY', key, () =>
        scripts.streambetIncrBy(k(key), delta, ttlMs ?? 0),
      );
      return Number(value);
    },

    async zIncrBy(key, member, delta) {
      if (typeof delta !== 'number' || Number.isNaN(delta)) {
        throw new Error(`${component}: ZINCRBY ${JSON.stringify(key)}: delta must be a number`);
      }
      const score = await run('ZINCRBY', key, () =>
        redis.zincrby(k(key), formatScore(delta), member),
      );
      return parseScore(score);
    },

    async zScore(key, member) {
      const score = await run('ZSCORE', key, () => redis.zscore(k(key), member));
      return score === null ? null : parseScore(score);
    },

    async zRevRange(key, start, stop) {
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(stop)) {
        throw new Error(
          `${component}: ZREVRANGE ${JSON.stringify(key)}: start and stop must be integers`,
        );
      }
      const flat = await run('ZREVRANGE', key, () =>
        redis.zrevrange(k(key), start, stop, 'WITHSCORES'),
      );
      const members: ScoredMember[] = [];
      for (let index = 0; index + 1 < flat.length; index += 2) {
        members.push({
          member: flat[index] as string,
          score: parseScore(flat[index + 1] as string),
        });
      }
      return members;
    },

    zRevRank(key, member) {
      return run('ZREVRANK', key, () => redis.zrevrank(k(key), member));
    },

    async expire(key, ttlMs) {
      if (!Number.isSafeInteger(ttlMs)) {
        throw new Error(
          `${component}: PEXPIRE ${JSON.stringify(key)}: ttlMs must be an integer, got ${ttlMs}`,
        );
      }
      await run('PEXPIRE', key, () => redis.pexpire(k(key), ttlMs));
    },

    async takeTokens(
      key: string,
      spec: TokenBucketSpec,
      nowMs: number,
      cost = 1,
    ): Promise<RateLimitDecision> {
      assertBucketArgs(spec, nowMs, cost);
      const [allowed, remaining, retryAfterMs] = await run('TAKETOKENS', key, () =>
        scripts.streambetTakeTokens(
          k(key),
          spec.capacity,
          spec.refillPerSecond,
          nowMs,
          cost,
          bucketTtlMs(spec),
        ),
      );
      return {
        allowed: allowed === 1,
        remaining: Number(remaining),
        retryAfterMs: Number(retryAfterMs),
      };
    },

    async remainingTtlMs(key) {
      const ttl = await run('PTTL', key, () => redis.pttl(k(key)));
      return ttl < 0 ? null : ttl;
    },

    async ping() {
      await run('PING', '', () => redis.ping());
    },

    close() {
      closing ??= (async () => {
        closed = true;
        await closeRedis(handle);
      })();
      return closing;
    },
  };
}

/** Redis prints infinite scores as `inf` / `-inf`. */
function parseScore(text: string): number {
  if (text === 'inf' || text === '+inf') return Number.POSITIVE_INFINITY;
  if (text === '-inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

function formatScore(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+inf';
  if (value === Number.NEGATIVE_INFINITY) return '-inf';
  return String(value);
}
