import { randomUUID } from 'node:crypto';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import { createRedisCache } from '@streambet/platform/cache/redis';
import type { Cache } from '@streambet/platform/cache/types';
import { deleteRedisKeys } from './bus.js';
import { realServers } from './env.js';

/**
 * One cache for one test. `advanceClockMs` exists when the cache's clock is injectable (memory),
 * so TTL expiry is tested without waiting; `remainingTtlMs` reads a key's TTL (PTTL) so the Redis
 * adapter's TTLs are checked without waiting for them.
 */
export interface CacheFixture {
  readonly cache: Cache;
  advanceClockMs?(ms: number): void;
  remainingTtlMs(key: string): Promise<number | null>;
  /** A second client on the same data (another process); the memory cache returns itself. */
  createPeer(): Promise<Cache>;
  /** Closes every client and deletes every key the test wrote. */
  dispose(): Promise<void>;
}

/** One cache adapter the contract suite runs against. */
export interface CacheTarget {
  readonly name: 'memory' | 'redis';
  /** Why this target cannot run here; undefined when it can. */
  readonly skipReason: string | undefined;
  create(): Promise<CacheFixture>;
}

/** Title suffix of the Redis cache suites when TEST_REDIS_URL is not set. */
export const REDIS_CACHE_SKIP_REASON = 'skipped: TEST_REDIS_URL not set';

/** Every cache adapter: memory always, Redis when `TEST_REDIS_URL` is set (else with a skip reason). */
export function cacheTargets(): CacheTarget[] {
  return [
    {
      name: 'memory',
      skipReason: undefined,
      create() {
        let nowMs = 1_700_000_000_000;
        const cache = createMemoryCache({ now: () => nowMs });
        return Promise.resolve<CacheFixture>({
          cache,
          advanceClockMs(ms) {
            nowMs += ms;
          },
          remainingTtlMs: (key) => cache.remainingTtlMs(key),
          createPeer: () => Promise.resolve(cache),
          dispose: () => cache.close(),
        });
      },
    },
    {
      name: 'redis',
      skipReason: realServers.redisUrl === '' ? REDIS_CACHE_SKIP_REASON : undefined,
      create: () => createRedisCacheFixture(realServers.redisUrl),
    },
  ];
}

/** Redis caches under a fresh `sbtest:<uuid>:` key prefix; dispose deletes every key under it. */
export async function createRedisCacheFixture(url: string): Promise<CacheFixture> {
  const keyPrefix = `sbtest:${randomUUID()}:`;
  const cache = createRedisCache({ url, keyPrefix });
  const peers: Cache[] = [];
  await cache.ping();
  return {
    cache,
    remainingTtlMs: (key) => cache.remainingTtlMs(key),
    async createPeer() {
      const peer = createRedisCache({ url, keyPrefix });
      peers.push(peer);
      await peer.ping();
      return peer;
    },
    async dispose() {
      await Promise.all([cache, ...peers].map((each) => each.close()));
      await deleteRedisKeys(url, keyPrefix);
    },
  };
}
