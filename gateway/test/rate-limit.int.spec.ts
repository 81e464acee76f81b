import { randomUUID } from 'node:crypto';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PoolService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import { createRedisCache } from '@streambet/platform/cache/redis';
import type { Cache } from '@streambet/platform/cache/types';
import { realServers } from '@streambet/testkit/env';
import { createTestTokens, type TestTokens } from '@streambet/testkit/tokens';
import { clientAddress } from '../src/rate-limit.js';
import { manualClock, startFakePool, startTestGateway, stopGateways } from './harness.js';

let pool: Awaited<ReturnType<typeof startFakePool>>;
let tokens: TestTokens;
beforeAll(async () => {
  pool = await startFakePool();
  tokens = await createTestTokens();
});
afterAll(async () => {
  await pool?.shutdown();
});
const caches: Cache[] = [];
afterEach(async () => {
  await stopGateways();
  for (const cache of caches.splice(0)) await cache.close();
});

/** The cache adapters the limits are tested on: memory always, Redis when TEST_REDIS_URL is set. */
interface CacheTarget {
  readonly name: string;
  open(now: () => number): Cache;
  /** A second connection to the same store (another replica's), for shared stores. */
  reopen(cache: Cache): Cache;
}
const redisPrefixes = new WeakMap<Cache, string>();
const cacheTargets: CacheTarget[] = [
  { name: 'memory cache', open: (now) => createMemoryCache({ now }), reopen: (cache) => cache },
  ...(realServers.redisUrl === ''
    ? []
    : [
        {
          name: 'Redis cache',
          open() {
            const keyPrefix = `sbtest:gateway:${randomUUID()}:`;
            const cache = createRedisCache({ url: realServers.redisUrl, keyPrefix });
            redisPrefixes.set(cache, keyPrefix);
            return cache;
          },
          reopen(cache: Cache) {
            return createRedisCache({
              url: realServers.redisUrl,
              keyPrefix: redisPrefixes.get(cache) ?? '',
            });
          },
        },
      ]),
];

const transports: Record<string, (baseUrl: string) => Transport> = {
  Connect: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: '1.1' }),
  gRPC: (baseUrl) => createGrpcTransport({ baseUrl }),
  'gRPC-Web': (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: '1.1' }),
};

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error('call unexpectedly succeeded');
}

describe.each(cacheTargets)('rate limits on the $name', (target) => {
  const open = (now: () => number): Cache => target.open(now);
  for (const [protocol, transport] of Object.entries(transports)) {
    it(`given a burst over the per-address limit over ${protocol}, then the extra call is refused with RESOURCE_EXHAUSTED saying when to retry, and it is served again after that wait`, async () => {
      const clock = manualClock();
      const cache = open(clock.now);
      caches.push(cache);
      const gateway = await startTestGateway(
        {
          POOL_SERVICE_URL: pool.url,
          // Burst 6 at 2/s: Redis keeps an idle bucket 6 s of real time, ample between two calls.
          RATE_LIMIT_IP_BURST: '6',
          RATE_LIMIT_IP_PER_SECOND: '2',
          RATE_LIMIT_USER_PER_SECOND: '0',
        },
        { cache, clock, userJwks: tokens.userJwks },
      );
      const markets = createClient(PoolService, transport(gateway.url));
      for (let i = 0; i < 6; i += 1) await markets.listMarkets({});

      const refused = await failure(markets.listMarkets({}));
      expect(refused.code).toBe(Code.ResourceExhausted);
      expect(refused.rawMessage).toBe(
        'too many requests from this address (limit: 6 at once, 2 per second); retry in 0.5 s',
      );
      expect(refused.metadata.get('retry-after')).toBe('1');
      expect(refused.metadata.get('retry-after-ms')).toBe('500');

      clock.advance(499);
      expect((await failure(markets.listMarkets({}))).metadata.get('retry-after-ms')).toBe('1');
      clock.advance(1);
      await expect(markets.listMarkets({})).resolves.toBeDefined();
      // One token refilled, one taken: the next is refused again until the next refill.
      expect((await failure(markets.listMarkets({}))).code).toBe(Code.ResourceExhausted);
      clock.advance(3000);
      for (let i = 0; i < 6; i += 1) await markets.listMarkets({});
    });
  }

  it('given two signed-in users, when one exhausts their limit, then only that user is refused and the other is still served', async () => {
    const clock = manualClock();
    const cache = open(clock.now);
    caches.push(cache);
    const gateway = await startTestGateway(
      {
        POOL_SERVICE_URL: pool.url,
        RATE_LIMIT_USER_BURST: '3',
        RATE_LIMIT_USER_PER_SECOND: '1',
      },
      { cache, clock, userJwks: tokens.userJwks },
    );
    const markets = createClient(PoolService, transports.gRPC!(gateway.url));
    const ana = { headers: await tokens.userHeaders('01ANA0000000000000000000AA', 'viewer') };
    const bob = { headers: await tokens.userHeaders('01BOB0000000000000000000BB', 'viewer') };
    for (let i = 0; i < 3; i += 1) await markets.listMarkets({}, ana);
    const refused = await failure(markets.listMarkets({}, ana));
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(refused.rawMessage).toBe(
      'too many requests from this account (limit: 3 at once, 1 per second); retry in 1 s',
    );
    expect(refused.metadata.get('retry-after')).toBe('1');
    await markets.listMarkets({}, bob);
    await markets.listMarkets({}, bob);
    // Anonymous calls are limited by address only (which is far from exhausted here).
    await markets.listMarkets({});
    clock.advance(1000);
    await expect(markets.listMarkets({}, ana)).resolves.toBeDefined();
    const metrics = await (await fetch(gateway.metricsUrl)).text();
    expect(metrics).toMatch(/gateway_rate_limited_total\{[^}]*scope="user"[^}]*\} 1/);
  });

  it('given two gateway replicas on the same store, then a burst spread over both is limited as one bucket', async () => {
    const clock = manualClock();
    const first = open(clock.now);
    const second = target.name === 'Redis cache' ? target.reopen(first) : first;
    caches.push(first);
    if (second !== first) caches.push(second);
    const env = {
      POOL_SERVICE_URL: pool.url,
      RATE_LIMIT_IP_BURST: '4',
      RATE_LIMIT_IP_PER_SECOND: '1',
    };
    const replicas = [
      await startTestGateway(env, { cache: first, clock, userJwks: tokens.userJwks }),
      await startTestGateway(env, { cache: second, clock, userJwks: tokens.userJwks }),
    ].map((gateway) => createClient(PoolService, transports.gRPC!(gateway.url)));
    for (let i = 0; i < 4; i += 1) await replicas[i % 2]!.listMarkets({});
    for (const replica of replicas) {
      expect((await failure(replica.listMarkets({}))).code).toBe(Code.ResourceExhausted);
    }
    clock.advance(1000);
    await expect(replicas[1]!.listMarkets({})).resolves.toBeDefined();
    expect((await failure(replicas[0]!.listMarkets({}))).code).toBe(Code.ResourceExhausted);
  });

  it('given forged tokens in a flood, then the per-address limit counts them before verification', async () => {
    const clock = manualClock();
    const cache = open(clock.now);
    caches.push(cache);
    const gateway = await startTestGateway(
      { POOL_SERVICE_URL: pool.url, RATE_LIMIT_IP_BURST: '2', RATE_LIMIT_IP_PER_SECOND: '1' },
      { cache, clock, userJwks: tokens.userJwks },
    );
    const markets = createClient(PoolService, transports.Connect!(gateway.url));
    const forged = { headers: { authorization: 'Bearer not.a.jwt' } };
    expect((await failure(markets.listMarkets({}, forged))).code).toBe(Code.Unauthenticated);
    expect((await failure(markets.listMarkets({}, forged))).code).toBe(Code.Unauthenticated);
    expect((await failure(markets.listMarkets({}, forged))).code).toBe(Code.ResourceExhausted);
  });
});

describe('rate limits', () => {
  it('given a cache that fails, then calls are let through (and counted), not refused', async () => {
    const cache = createMemoryCache();
    await cache.close();
    const gateway = await startTestGateway(
      { POOL_SERVICE_URL: pool.url, RATE_LIMIT_IP_BURST: '1', RATE_LIMIT_IP_PER_SECOND: '1' },
      { cache, userJwks: tokens.userJwks },
    );
    const markets = createClient(PoolService, transports.Connect!(gateway.url));
    await markets.listMarkets({});
    await markets.listMarkets({});
    const metrics = await (await fetch(gateway.metricsUrl)).text();
    expect(metrics).toMatch(/gateway_rate_limit_errors_total\{[^}]*\} 2/);
  });

  it('given proxies in front, then the client address comes from X-Forwarded-For as far as trusted, and IPv6 is grouped per /64', () => {
    expect(clientAddress('10.0.0.5', '203.0.113.9', 0)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', 'forged, 203.0.113.9', 1)).toBe('203.0.113.9');
    expect(clientAddress('10.0.0.5', 'forged, 203.0.113.9, 10.0.0.4', 2)).toBe('203.0.113.9');
    expect(clientAddress('10.0.0.5', null, 1)).toBe('10.0.0.5');
    expect(clientAddress('::ffff:127.0.0.1', null, 0)).toBe('127.0.0.1');
    expect(clientAddress('2001:db8:1:2:aaaa::1', null, 0)).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8:1:2:bbbb:cccc:dddd:eeee', null, 0)).toBe('2001:db8:1:2::/64');
    expect(clientAddress('::1', null, 0)).toBe('0:0:0:0::/64');
  });

  it('given bad limit settings, then the config names them', async () => {
    const { loadGatewayConfig } = await import('../src/config.js');
    expect(() =>
      loadGatewayConfig({ RATE_LIMIT_IP_BURST: '0', RATE_LIMIT_USER_PER_SECOND: 'fast' }),
    ).toThrow(/RATE_LIMIT_IP_BURST: "0" is invalid[\s\S]*RATE_LIMIT_USER_PER_SECOND: "fast"/);
  });
});
