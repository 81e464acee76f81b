/**
 * The cache contract: one vitest suite every `Cache` adapter must pass, so the embedded cache and
 * Redis are interchangeable, down to sorted-set tie order and token-bucket arithmetic.
 *
 * Deterministic: TTLs are checked through the injected clock (memory) or PTTL (Redis) — never by
 * waiting for real time to pass; token buckets take the caller's `nowMs`; concurrency tests
 * check invariants (exact totals), not timings.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CacheFixture } from './cache.js';

/** Options of {@link describeCacheContract}. */
export interface CacheContractOptions {
  /** When set, the suite is registered as skipped with this reason in its title. */
  readonly skipReason?: string | undefined;
}

/** Registers the contract suite for one adapter; `factory` makes a fresh, empty cache per test. */
export function describeCacheContract(
  name: string,
  factory: () => Promise<CacheFixture>,
  options: CacheContractOptions = {},
): void {
  const title = options.skipReason === undefined ? name : `${name} (${options.skipReason})`;

  describe.skipIf(options.skipReason !== undefined)(`Cache contract: ${title}`, () => {
    let fixture: CacheFixture | undefined;
    const open = async (): Promise<CacheFixture> => {
      fixture = await factory();
      return fixture;
    };
    afterEach(async () => {
      const current = fixture;
      fixture = undefined;
      await current?.dispose();
    });

    it('gets, sets, overwrites and deletes strings', async () => {
      const { cache } = await open();
      expect(await cache.get('odds:m1')).toBeNull();
      await cache.set('odds:m1', '1.85');
      expect(await cache.get('odds:m1')).toBe('1.85');
      await cache.set('odds:m1', 'ünï € 😀');
      expect(await cache.get('odds:m1')).toBe('ünï € 😀');
      await cache.del('odds:m1');
      expect(await cache.get('odds:m1')).toBeNull();
      await cache.del('never-written');
      await expect(cache.ping()).resolves.toBeUndefined();
    });

    it('expires a key after ttlMs, and a later set without ttl clears the TTL', async () => {
      const current = await open();
      const { cache } = current;
      await cache.set('session', 'v', 1_000);
      const ttl = await current.remainingTtlMs('session');
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(1_000);
      if (current.advanceClockMs !== undefined) {
        current.advanceClockMs(999);
        expect(await cache.get('session')).toBe('v');
        current.advanceClockMs(1);
        expect(await cache.get('session')).toBeNull();
      }
      await cache.set('sticky', 'a', 1_000);
      await cache.set('sticky', 'b');
      expect(await current.remainingTtlMs('sticky')).toBeNull();
      await expect(cache.set('bad', 'x', 0)).rejects.toThrow(/ttlMs must be a positive integer/);
      await expect(cache.set('bad', 'x', 1.5)).rejects.toThrow(/ttlMs must be a positive integer/);
    });

    it('expire() sets a TTL on any existing key, ignores missing keys and deletes on ttlMs <= 0', async () => {
      const current = await open();
      const { cache } = current;
      await cache.zIncrBy('board:daily', 'alice', 5);
      await cache.expire('board:daily', 60_000);
      const ttl = await current.remainingTtlMs('board:daily');
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
      if (current.advanceClockMs !== undefined) {
        current.advanceClockMs(60_000);
        expect(await cache.zScore('board:daily', 'alice')).toBeNull();
      }
      await cache.expire('missing', 1_000);
      expect(await current.remainingTtlMs('missing')).toBeNull();
      expect(await cache.get('missing')).toBeNull();
      await cache.set('gone', 'x');
      await cache.expire('gone', 0);
      expect(await cache.get('gone')).toBeNull();
    });

    it('incrBy counts from 0, sets its TTL only once (fixed window) and rejects non-integers', async () => {
      const current = await open();
      const { cache } = current;
      expect(await cache.incrBy('count', 5)).toBe(5);
      expect(await cache.incrBy('count', -7)).toBe(-2);
      expect(await cache.get('count')).toBe('-2');
      expect(await cache.incrBy('window', 1, 1_000)).toBe(1);
      expect(await cache.incrBy('window', 1, 100_000)).toBe(2);
      const ttl = await current.remainingTtlMs('window');
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(1_000);
      if (current.advanceClockMs !== undefined) {
        current.advanceClockMs(1_000);
        expect(await cache.incrBy('window', 1, 1_000)).toBe(1);
      }
      await expect(cache.incrBy('count', 1.5)).rejects.toThrow(/delta must be a safe integer/);
      await cache.set('text', 'abc');
      await expect(cache.incrBy('text', 1)).rejects.toThrow(/not an integer/);
    });

    it('incrBy is atomic under 100 concurrent calls from two clients', async () => {
      const current = await open();
      const peer = await current.createPeer();
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, index) =>
          (index % 2 === 0 ? current.cache : peer).incrBy('hits', 1),
        ),
      );
      expect(new Set(results).size).toBe(100);
      expect(Math.max(...results)).toBe(100);
      expect(await current.cache.get('hits')).toBe('100');
    });

    it('setIfNewer refuses equal and older versions, across the full bigint range', async () => {
      const current = await open();
      const { cache } = current;
      expect(await cache.getVersioned('odds')).toBeNull();
      expect(await cache.setIfNewer('odds', 5n, 'v5')).toBe(true);
      expect(await cache.setIfNewer('odds', 4n, 'v4')).toBe(false);
      expect(await cache.setIfNewer('odds', 5n, 'v5-again')).toBe(false);
      expect(await cache.getVersioned('odds')).toEqual({ version: 5n, value: 'v5' });
      expect(await cache.setIfNewer('odds', 6n, 'v6', 5_000)).toBe(true);
      expect(await cache.getVersioned('odds')).toEqual({ version: 6n, value: 'v6' });
      expect(await current.remainingTtlMs('odds')).toBeGreaterThan(0);
      expect(await cache.setIfNewer('odds', 7n, 'v7')).toBe(true);
      expect(await current.remainingTtlMs('odds')).toBeNull();

      const big = 2n ** 64n;
      expect(await cache.setIfNewer('big', big + 1n, 'b+1')).toBe(true);
      expect(await cache.setIfNewer('big', big, 'b')).toBe(false);
      expect(await cache.setIfNewer('big', big + 10n, 'b+10')).toBe(true);
      expect(await cache.setIfNewer('big', 999n, 'short')).toBe(false);
      expect(await cache.getVersioned('big')).toEqual({ version: big + 10n, value: 'b+10' });

      expect(await cache.setIfNewer('neg', -10n, 'a')).toBe(true);
      expect(await cache.setIfNewer('neg', -11n, 'b')).toBe(false);
      expect(await cache.setIfNewer('neg', -9n, 'c')).toBe(true);
      expect(await cache.setIfNewer('neg', 0n, 'd')).toBe(true);
      expect(await cache.getVersioned('neg')).toEqual({ version: 0n, value: 'd' });

      await expect(cache.get('neg')).rejects.toThrow(/WRONGTYPE/);
    });

    it('setIfNewer keeps the newest version when writers race (50 writes, two clients, shuffled)', async () => {
      const current = await open();
      const peer = await current.createPeer();
      const versions = shuffled(Array.from({ length: 50 }, (_, index) => BigInt(index + 1)));
      const written = await Promise.all(
        versions.map((version, index) =>
          (index % 2 === 0 ? current.cache : peer).setIfNewer('race', version, `v${version}`),
        ),
      );
      expect(written.filter(Boolean).length).toBeGreaterThanOrEqual(1);
      expect(await current.cache.getVersioned('race')).toEqual({ version: 50n, value: 'v50' });
      expect(await current.cache.setIfNewer('race', 49n, 'late')).toBe(false);
    });

    it('orders sorted sets like ZREVRANGE: score descending, ties by member in descending byte order', async () => {
      const { cache } = await open();
      expect(await cache.zIncrBy('board', 'alice', 10)).toBe(10);
      expect(await cache.zIncrBy('board', 'alice', 2.5)).toBe(12.5);
      for (const member of ['a', 'b', 'ab', 'B', '', 'é', '€', '\uffff', '😀'])
        await cache.zIncrBy('board', member, 1);
      await cache.zIncrBy('board', 'zed', 3);
      await cache.zIncrBy('board', 'neg', -1);
      const all = await cache.zRevRange('board', 0, -1);
      expect(all).toEqual([
        { member: 'alice', score: 12.5 },
        { member: 'zed', score: 3 },
        // UTF-8 byte order: 😀 (F0…) > U+FFFF (EF BF BF) > € (E2…) > é (C3…) > ASCII.
        ...['😀', '\uffff', '€', 'é', 'b', 'ab', 'a', 'B', ''].map((member) => ({
          member,
          score: 1,
        })),
        { member: 'neg', score: -1 },
      ]);
      for (const [rank, entry] of all.entries())
        expect(await cache.zRevRank('board', entry.member)).toBe(rank);
      expect(await cache.zScore('board', 'alice')).toBe(12.5);
      expect(await cache.zScore('board', 'nobody')).toBeNull();
      expect(await cache.zRevRank('board', 'nobody')).toBeNull();
      expect(await cache.zRevRank('no-board', 'alice')).toBeNull();

      expect(await cache.zRevRange('board', 1, 2)).toEqual(all.slice(1, 3));
      expect(await cache.zRevRange('board', -2, -1)).toEqual(all.slice(-2));
      expect(await cache.zRevRange('board', 0, 100)).toEqual(all);
      expect(await cache.zRevRange('board', -100, 0)).toEqual(all.slice(0, 1));
      expect(await cache.zRevRange('board', 3, 1)).toEqual([]);
      expect(await cache.zRevRange('board', 50, 60)).toEqual([]);
      expect(await cache.zRevRange('no-board', 0, -1)).toEqual([]);

      expect(await cache.zIncrBy('floats', 'x', 0.1)).toBe(0.1);
      expect(await cache.zIncrBy('floats', 'x', 0.2)).toBe(0.1 + 0.2);
      await cache.set('plain', 'x');
      await expect(cache.zIncrBy('plain', 'm', 1)).rejects.toThrow(/WRONGTYPE/);
    });

    it('token bucket: bursts to capacity, refuses with the exact retryAfterMs, refills on the caller clock', async () => {
      const { cache } = await open();
      const spec = { capacity: 10, refillPerSecond: 10 };
      const t0 = 1_000_000;
      const burst = [];
      for (let index = 0; index < 10; index += 1)
        burst.push(await cache.takeTokens('rl:user-1', spec, t0));
      expect(burst.map((decision) => decision.allowed)).toEqual(Array(10).fill(true));
      expect(burst.map((decision) => decision.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      expect(burst.every((decision) => decision.retryAfterMs === 0)).toBe(true);

      expect(await cache.takeTokens('rl:user-1', spec, t0)).toEqual({
        allowed: false,
        remaining: 0,
        retryAfterMs: 100,
      });
      expect(await cache.takeTokens('rl:user-1', spec, t0 + 99)).toEqual({
        allowed: false,
        remaining: 0,
        retryAfterMs: 1,
      });
      expect(await cache.takeTokens('rl:user-1', spec, t0 + 100)).toEqual({
        allowed: true,
        remaining: 0,
        retryAfterMs: 0,
      });
      // A clock that goes backwards refills nothing.
      expect((await cache.takeTokens('rl:user-1', spec, t0)).allowed).toBe(false);
      // Long idle: refills to capacity, not beyond.
      expect(await cache.takeTokens('rl:user-1', spec, t0 + 100 + 60_000)).toEqual({
        allowed: true,
        remaining: 9,
        retryAfterMs: 0,
      });

      // Fractional refill and cost > 1.
      const slow = { capacity: 2, refillPerSecond: 0.5 };
      expect(await cache.takeTokens('rl:slow', slow, 0, 2)).toEqual({
        allowed: true,
        remaining: 0,
        retryAfterMs: 0,
      });
      expect(await cache.takeTokens('rl:slow', slow, 1_000)).toEqual({
        allowed: false,
        remaining: 0,
        retryAfterMs: 1_000,
      });
      expect(await cache.takeTokens('rl:slow', slow, 2_000)).toEqual({
        allowed: true,
        remaining: 0,
        retryAfterMs: 0,
      });
      await expect(cache.takeTokens('rl:slow', slow, 3_000, 3)).rejects.toThrow(/exceeds capacity/);
      await expect(
        cache.takeTokens('rl:bad', { capacity: 0, refillPerSecond: 1 }, 0),
      ).rejects.toThrow(/capacity/);
    });

    it('token bucket never over-grants: 50 concurrent takes from two clients on capacity 10 allow exactly 10', async () => {
      const current = await open();
      const peer = await current.createPeer();
      const spec = { capacity: 10, refillPerSecond: 1 };
      const decisions = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          (index % 2 === 0 ? current.cache : peer).takeTokens('rl:hot', spec, 5_000),
        ),
      );
      expect(decisions.filter((decision) => decision.allowed)).toHaveLength(10);
      expect(
        decisions
          .filter((decision) => !decision.allowed)
          .every((decision) => decision.retryAfterMs === 1_000),
      ).toBe(true);
    });

    it('close() is idempotent and later calls fail with a message saying it is closed', async () => {
      const current = await open();
      const { cache } = current;
      await Promise.all([cache.close(), cache.close()]);
      await cache.close();
      await expect(cache.get('k')).rejects.toThrow(/closed/);
    });
  });
}

/** Deterministic shuffle (fixed LCG seed): varied write order without flaky randomness. */
function shuffled<T>(items: T[]): T[] {
  const result = [...items];
  let seed = 42;
  for (let index = result.length - 1; index > 0; index -= 1) {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    const other = seed % (index + 1);
    [result[index], result[other]] = [result[other] as T, result[index] as T];
  }
  return result;
}
