import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import { createRedisCache, type RedisCache } from '@streambet/platform/cache/redis';
import { UnavailableError } from '@streambet/platform/errors/domain-errors';
import { deleteRedisKeys } from '@streambet/testkit/bus';
import { REDIS_CACHE_SKIP_REASON } from '@streambet/testkit/cache';
import { realServers } from '@streambet/testkit/env';

const redisUrl = realServers.redisUrl;

describe.skipIf(redisUrl === '')(
  `redis cache specifics${redisUrl === '' ? ` (${REDIS_CACHE_SKIP_REASON})` : ''}`,
  () => {
    const keyPrefix = `sbtest:${randomUUID()}:`;
    let cache: RedisCache;

    beforeAll(() => {
      cache = createRedisCache({ url: redisUrl, keyPrefix });
    });
    afterAll(async () => {
      await cache.close();
      await deleteRedisKeys(redisUrl, keyPrefix);
    });

    it('makes the same token-bucket decisions as the memory cache for any sequence of takes', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            capacity: fc.integer({ min: 1, max: 50 }),
            refillPerSecond: fc.oneof(
              fc.integer({ min: 1, max: 100 }),
              fc.constantFrom(0.5, 0.25, 0.1, 3.3),
            ),
          }),
          fc.array(
            fc.record({
              stepMs: fc.integer({ min: -50, max: 2_000 }),
              cost: fc.integer({ min: 1, max: 5 }),
            }),
            {
              minLength: 1,
              maxLength: 30,
            },
          ),
          async (spec, takes) => {
            const key = `parity:${(run += 1)}`;
            const memory = createMemoryCache({ now: () => 0 });
            let nowMs = 1_000_000;
            for (const take of takes) {
              nowMs += take.stepMs;
              const cost = Math.min(take.cost, spec.capacity);
              const expected = await memory.takeTokens(key, spec, nowMs, cost);
              expect(await cache.takeTokens(key, spec, nowMs, cost)).toEqual(expected);
            }
            await memory.close();
          },
        ),
        { numRuns: 40, seed: 20_240_601 },
      );
    });

    it('orders sorted-set ties exactly as the memory cache for arbitrary Unicode members', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(
            fc.record({
              member: fc.string({ unit: 'grapheme', maxLength: 4 }),
              score: fc.integer({ min: 0, max: 2 }),
            }),
            {
              selector: (entry) => entry.member,
              minLength: 1,
              maxLength: 25,
            },
          ),
          async (entries) => {
            const key = `order:${(run += 1)}`;
            const memory = createMemoryCache();
            for (const { member, score } of entries) {
              await memory.zIncrBy(key, member, score);
              await cache.zIncrBy(key, member, score);
            }
            const expected = await memory.zRevRange(key, 0, -1);
            expect(await cache.zRevRange(key, 0, -1)).toEqual(expected);
            for (const [rank, { member }] of expected.entries())
              expect(await cache.zRevRank(key, member)).toBe(rank);
            await memory.close();
          },
        ),
        { numRuns: 40, seed: 20_240_602 },
      );
    });

    it('keeps every key under keyPrefix', async () => {
      await cache.set('plain', 'x');
      await cache.zIncrBy('board', 'm', 1);
      await cache.setIfNewer('versioned', 1n, 'v');
      const raw = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
      try {
        expect(await raw.get(`${keyPrefix}plain`)).toBe('x');
        expect(await raw.type(`${keyPrefix}board`)).toBe('zset');
        expect(await raw.hgetall(`${keyPrefix}versioned`)).toEqual({ v: '1', d: 'v' });
      } finally {
        raw.disconnect();
      }
    });

    it('uses a caller-supplied client without closing it', async () => {
      const shared = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
      try {
        const borrowed = createRedisCache({ redis: shared, keyPrefix });
        await borrowed.set('borrowed', 'yes');
        await borrowed.close();
        expect(await shared.get(`${keyPrefix}borrowed`)).toBe('yes');
      } finally {
        shared.disconnect();
      }
    });
  },
);

describe('redis cache when Redis is unreachable', () => {
  it('fails calls with UnavailableError (details in cause), never hangs, and closes', async () => {
    const down = createRedisCache({ url: 'redis://127.0.0.1:1', keyPrefix: 'x:' });
    const failure = await down.get('k').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(UnavailableError);
    expect((failure as Error).message).toBe('cache (redis) unavailable: GET failed');
    expect(String(((failure as Error).cause as Error).message)).toMatch(/redis GET "k" failed/);
    await down.close();
    await down.close();
  });

  it('refuses to start without exactly one of url or redis', () => {
    expect(() => createRedisCache({ keyPrefix: 'x:' })).toThrow(
      /exactly one of \{ url \} or \{ redis \}/,
    );
  });
});
