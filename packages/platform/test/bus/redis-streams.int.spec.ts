import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { pingEnvelope } from '@streambet/testkit/events';
import { deadLetterHeaders } from '@streambet/platform/bus/envelope';
import { partitionForKey } from '@streambet/platform/bus/partition';
import {
  createRedisStreamsBus,
  type RedisStreamsBusOptions,
} from '@streambet/platform/bus/redis-streams';
import type { EventBus, EventEnvelope } from '@streambet/platform/bus/types';
import { UnavailableError } from '@streambet/platform/errors/domain-errors';
import { deleteRedisKeys, REDIS_BUS_SKIP_REASON } from '@streambet/testkit/bus';
import { realServers } from '@streambet/testkit/env';

const redisUrl = realServers.redisUrl;
const timeoutMs = 20_000;

describe.skipIf(redisUrl === '')(
  `redis-streams bus specifics${redisUrl === '' ? ` (${REDIS_BUS_SKIP_REASON})` : ''}`,
  () => {
    let prefix = '';
    let raw: Redis | undefined;
    const buses: EventBus[] = [];

    function bus(overrides: Partial<RedisStreamsBusOptions> = {}): EventBus {
      const created = createRedisStreamsBus({
        url: redisUrl,
        streamPrefix: prefix,
        consumerName: `spec-${randomUUID().slice(0, 8)}`,
        retryBaseMs: 10,
        blockMs: 1_000,
        ...overrides,
      });
      buses.push(created);
      return created;
    }

    function rawRedis(): Redis {
      raw ??= new Redis(redisUrl, { maxRetriesPerRequest: 1 });
      return raw;
    }

    afterEach(async () => {
      await Promise.all(buses.splice(0).map((each) => each.close()));
      raw?.disconnect();
      raw = undefined;
      await deleteRedisKeys(redisUrl, `${prefix}:`);
    });

    function fresh(): void {
      prefix = `sbtest:${randomUUID()}`;
    }

    it('puts one key in one partition stream, in publish order, trimmed to about maxLenApprox', async () => {
      fresh();
      const producer = bus({ partitions: 4, maxLenApprox: 10 });
      const events = Array.from({ length: 600 }, (_, seq) =>
        pingEnvelope('orders', `k${seq % 3}`, seq),
      );
      await producer.publish(events);
      const redis = rawRedis();
      for (const key of ['k0', 'k1', 'k2']) {
        const stream = `${prefix}:orders:${partitionForKey(key, 4)}`;
        const entries = await redis.xrange(stream, '-', '+');
        const seqs = entries
          .map(([, fields]) => fields)
          .filter((fields) => fields[fields.indexOf('key') + 1] === key)
          .map((fields) => Number(fields[fields.indexOf('id') + 1]?.split('-')[1]));
        expect(seqs.length).toBeGreaterThan(0);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
      let total = 0;
      for (let partition = 0; partition < 4; partition += 1)
        total += await redis.xlen(`${prefix}:orders:${partition}`);
      // MAXLEN ~ trims whole stream nodes (100 entries each), so "about 10" per stream is at most ~110.
      expect(total).toBeLessThan(600);
    });

    it('takes over entries a dead consumer read but never acknowledged (XAUTOCLAIM after claimIdleMs)', async () => {
      fresh();
      const producer = bus({ claimIdleMs: 300 });
      const received: EventEnvelope[] = [];
      const group = 'takeover';
      // The "dead process": a raw consumer that reads the entry and disappears without XACK.
      const stream = `${prefix}:jobs:0`;
      const redis = rawRedis();
      await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
      const sent = pingEnvelope('jobs', 'job-1', 1);
      await producer.publish([sent]);
      const ghostRead = await redis.xreadgroup(
        'GROUP',
        group,
        'ghost',
        'COUNT',
        10,
        'STREAMS',
        stream,
        '>',
      );
      expect(JSON.stringify(ghostRead)).toContain(sent.id);

      const arrived = waiter();
      await producer.subscribe({
        group,
        topics: ['jobs'],
        handler: (got) => {
          received.push(got);
          arrived.resolve();
          return Promise.resolve();
        },
      });
      await arrived.promise;
      expect(received.map((got) => got.id)).toEqual([sent.id]);
      await waitUntil(
        async () => Number(((await redis.xpending(stream, group)) as [number])[0]) === 0,
        'the ack',
      );
    });

    it('dead-letters without another attempt an entry already delivered maxAttempts times to dead consumers', async () => {
      fresh();
      const producer = bus({ claimIdleMs: 300 });
      const group = 'poison';
      const stream = `${prefix}:jobs:0`;
      const redis = rawRedis();
      await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
      const sent = pingEnvelope('jobs', 'job-1', 1);
      await producer.publish([sent]);
      // Three deliveries to consumers that "crashed" (delivery count 3).
      await redis.xreadgroup('GROUP', group, 'ghost', 'STREAMS', stream, '>');
      await redis.xreadgroup('GROUP', group, 'ghost', 'STREAMS', stream, '0');
      await redis.xreadgroup('GROUP', group, 'ghost', 'STREAMS', stream, '0');

      let handlerCalls = 0;
      const dead = waiter<EventEnvelope>();
      await producer.subscribe({
        group: 'dlq-reader',
        topics: ['jobs.dlq'],
        handler: (got) => Promise.resolve(dead.resolve(got)),
      });
      await producer.subscribe({
        group,
        topics: ['jobs'],
        maxAttempts: 3,
        handler: () => {
          handlerCalls += 1;
          return Promise.resolve();
        },
      });
      const got = await dead.promise;
      expect(handlerCalls).toBe(0);
      expect(got.id).toBe(sent.id);
      expect(got.headers[deadLetterHeaders.error]).toMatch(/without an acknowledgement/);
    });

    it('lets a restarted process with the same consumerName resume its own pending entries at once', async () => {
      fresh();
      const consumerName = `stable-${randomUUID().slice(0, 8)}`;
      const first = bus({ consumerName, claimIdleMs: 60_000 });
      const failed = waiter();
      const subscription = await first.subscribe({
        group: 'resume',
        topics: ['jobs'],
        maxAttempts: 10,
        handler: () => {
          failed.resolve();
          return Promise.reject(new Error('crash before ack'));
        },
      });
      await first.publish([pingEnvelope('jobs', 'job-1', 1)]);
      await failed.promise;
      await subscription.close();

      // claimIdleMs is a minute: only re-reading its own pending list can deliver this quickly.
      const second = bus({ consumerName, claimIdleMs: 60_000 });
      const resumed = waiter<EventEnvelope>();
      await second.subscribe({
        group: 'resume',
        topics: ['jobs'],
        handler: (got) => Promise.resolve(resumed.resolve(got)),
      });
      expect((await resumed.promise).key).toBe('job-1');
    });

    it('moves an entry that is not a bus envelope to the DLQ stream and acknowledges it', async () => {
      fresh();
      const logged: string[] = [];
      const consumer = bus({
        logger: { warn: () => {}, error: (_fields, message) => void logged.push(message) },
      });
      const group = 'malformed';
      const handled: EventEnvelope[] = [];
      await consumer.subscribe({
        group,
        topics: ['raw'],
        handler: (got) => Promise.resolve(void handled.push(got)),
      });
      const redis = rawRedis();
      await redis.xadd(`${prefix}:raw:0`, '*', 'hello', 'world');
      await waitUntil(async () => (await redis.xlen(`${prefix}:raw.dlq:0`)) === 1, 'the DLQ entry');
      const [[, fields] = ['', []]] = await redis.xrange(`${prefix}:raw.dlq:0`, '-', '+');
      expect(fields).toContain('hello');
      expect(fields[fields.indexOf(deadLetterHeaders.error) + 1]).toMatch(
        /^Error: stream entry has no '\w+' field$/,
      );
      await waitUntil(
        async () => Number(((await redis.xpending(`${prefix}:raw:0`, group)) as [number])[0]) === 0,
        'the ack',
      );
      expect(handled).toEqual([]);
      expect(logged).toContain('malformed stream entry moved to the DLQ');
    });

    it('closes promptly even with a long blockMs, and removes its idle consumer from the group', async () => {
      fresh();
      const consumer = bus({ blockMs: 30_000 });
      const subscription = await consumer.subscribe({
        group: 'quick',
        topics: ['idle'],
        handler: async () => {},
      });
      // Let the reader reach its blocking XREADGROUP (no events will come).
      const redis = rawRedis();
      await waitUntil(
        async () => ((await redis.call('CLIENT', 'LIST')) as string).includes('cmd=xreadgroup'),
        'the blocking read',
      );
      const startedAt = performance.now();
      await subscription.close();
      expect(performance.now() - startedAt).toBeLessThan(5_000);
      const consumers = (await redis.call(
        'XINFO',
        'CONSUMERS',
        `${prefix}:idle:0`,
        'quick',
      )) as unknown[];
      expect(consumers).toEqual([]);
    });

    it('fails ping with UnavailableError, not a hang, when Redis is unreachable; close still resolves', async () => {
      fresh();
      const unreachable = bus({ url: 'redis://127.0.0.1:1' });
      const failure = await unreachable.ping().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(UnavailableError);
      expect((failure as Error).message).toMatch(
        /event bus \(redis-streams\) unavailable: PING failed/,
      );
      await unreachable.close();
    });
  },
);

function waiter<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done, fail) => {
    resolve = done;
    setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs).unref();
  });
  return { promise, resolve };
}

/** Polls a Redis-side condition (no event to wait on there) with a generous deadline. */
async function waitUntil(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
