import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createKafkaBus } from '@streambet/platform/bus/kafka';
import { createMemoryBus } from '@streambet/platform/bus/memory';
import { createRedisStreamsBus } from '@streambet/platform/bus/redis-streams';
import type { EventBus } from '@streambet/platform/bus/types';
import { realServers } from './env.js';

/**
 * One bus for one test: `bus`, more members of the same deployment (`createPeer`: another
 * "process" sharing the same streams / brokers, with its own connections and consumer name) and
 * a `dispose` that closes all of them and deletes what the test created.
 */
export interface BusFixture {
  readonly bus: EventBus;
  /** Another process on the same bus. Absent for the in-process bus, where there is only one. */
  createPeer?(): Promise<EventBus>;
  dispose(): Promise<void>;
}

/** Timing the fixture configured, so contract tests can check backoff lower bounds. */
export interface BusTuning {
  readonly retryBaseMs: number;
  /**
   * Whether handlers of different keys run at the same time within one subscription. Kafka runs
   * one handler per partition at a time, so it depends on how keys spread over partitions.
   */
  readonly expectsConcurrencyAcrossKeys: boolean;
}

/** One bus adapter the contract suite runs against. */
export interface BusTarget {
  readonly name: 'memory' | 'redis-streams' | 'kafka';
  /** Why this target cannot run here (e.g. `skipped: TEST_REDIS_URL not set`); undefined when it can. */
  readonly skipReason: string | undefined;
  readonly tuning: BusTuning;
  create(): Promise<BusFixture>;
}

/** Title suffix of the Redis Streams suites when TEST_REDIS_URL is not set. */
export const REDIS_BUS_SKIP_REASON = 'skipped: TEST_REDIS_URL not set';
/** Title suffix of the Kafka suites when KAFKA_BROKERS is not set. */
export const KAFKA_SKIP_REASON = 'skipped: KAFKA_BROKERS not set (no Kafka broker on this machine)';

/** Short retries keep the retry and DLQ tests fast; the contract checks backoff against this. */
const retryBaseMs = 20;
/**
 * Small enough that the "consumer died" test sees the takeover quickly, large enough that live
 * consumers (which heartbeat every claimIdleMs/3) never lose an entry on a busy 2-core machine.
 */
const testClaimIdleMs = 600;

/**
 * Every bus adapter, each with a `skipReason` when its server is not configured: memory always
 * runs; Redis Streams when `TEST_REDIS_URL` is set; Kafka when `KAFKA_BROKERS` is set.
 */
export function busTargets(): BusTarget[] {
  return [
    {
      name: 'memory',
      skipReason: undefined,
      tuning: { retryBaseMs, expectsConcurrencyAcrossKeys: true },
      create() {
        const bus = createMemoryBus({ retryBaseMs });
        return Promise.resolve({ bus, dispose: () => bus.close() });
      },
    },
    {
      name: 'redis-streams',
      skipReason: realServers.redisUrl === '' ? REDIS_BUS_SKIP_REASON : undefined,
      tuning: { retryBaseMs, expectsConcurrencyAcrossKeys: true },
      create: () => createRedisStreamsFixture(realServers.redisUrl),
    },
    {
      name: 'kafka',
      skipReason: realServers.kafkaBrokers === '' ? KAFKA_SKIP_REASON : undefined,
      tuning: { retryBaseMs, expectsConcurrencyAcrossKeys: false },
      create: () => createKafkaFixture(realServers.kafkaBrokers),
    },
  ];
}

/**
 * Redis Streams buses under a fresh `sbtest:<uuid>` prefix; dispose closes every bus and deletes
 * every key under the prefix.
 */
export async function createRedisStreamsFixture(
  url: string,
  overrides: { partitions?: number; claimIdleMs?: number } = {},
): Promise<BusFixture & { readonly streamPrefix: string }> {
  const streamPrefix = `sbtest:${randomUUID()}`;
  const buses: EventBus[] = [];
  const make = () => {
    const bus = createRedisStreamsBus({
      url,
      streamPrefix,
      consumerName: `test-${randomUUID().slice(0, 8)}`,
      retryBaseMs,
      claimIdleMs: overrides.claimIdleMs ?? testClaimIdleMs,
      blockMs: 1_000,
      partitions: overrides.partitions ?? 2,
    });
    buses.push(bus);
    return bus;
  };
  const bus = make();
  await bus.ping();
  return {
    bus,
    streamPrefix,
    async createPeer() {
      const peer = make();
      await peer.ping();
      return peer;
    },
    async dispose() {
      await Promise.all(buses.map((each) => each.close()));
      await deleteRedisKeys(url, `${streamPrefix}:`);
    },
  };
}

/** Deletes every key starting with `prefix` (SCAN + UNLINK): what a Redis test leaves behind. */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${escapeGlob(prefix)}*`,
        'COUNT',
        500,
      );
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}

async function createKafkaFixture(brokers: string): Promise<BusFixture> {
  const buses: EventBus[] = [];
  const make = () => {
    const bus = createKafkaBus({
      brokers: brokers.split(',').map((broker) => broker.trim()),
      clientId: `sbtest-${randomUUID().slice(0, 8)}`,
      retryBaseMs,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      maxWaitTimeMs: 100,
      createTopics: { numPartitions: 4, replicationFactor: -1 },
    });
    buses.push(bus);
    return bus;
  };
  const bus = make();
  await bus.ping();
  return {
    bus,
    async createPeer() {
      const peer = make();
      await peer.ping();
      return peer;
    },
    // Topics are unique per test (the contract names them); they are left to the broker's retention.
    async dispose() {
      await Promise.all(buses.map((each) => each.close()));
    },
  };
}
