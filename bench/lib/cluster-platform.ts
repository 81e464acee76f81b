/**
 * The platform in its cluster shape for benches: every service and the gateway in its own process
 * (as k8s/ and docker-compose.yml deploy them: one Deployment each), on PostgreSQL (one database per
 * service), the Redis Streams bus and the Redis cache, with the platform's V8 flags.
 *
 * Why benches need it: the embedded default runs all eight services and the gateway on ONE event
 * loop, so on a two-core machine every request queues behind every other service's work (consumers,
 * outbox relays, garbage collection of one shared heap) and the JavaScript never uses the second
 * core. Latency targets are about the deployment, so they are judged on this shape.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  generateServiceKeys,
  generateSigningKeyPair,
  type ServiceKeys,
} from '@streambet/platform/auth/tokens';
import { createRedisStreamsBus } from '@streambet/platform/bus/redis-streams';
import type { EventBus } from '@streambet/platform/bus/types';
import {
  servicePorts,
  serviceUrlVariable,
  type DownstreamName,
} from '@streambet/platform/runtime/platform-config';
import { freePorts } from '@streambet/gateway/embedded-platform';
import { spawnService, type ServiceProcess } from '@streambet/testkit/process';
import { platformNodeFlags } from './node-flags.js';

/** Entry points in start order: the user service first (everyone verifies its JWKS). */
const entries: ReadonlyArray<readonly [DownstreamName | 'gateway', string]> = [
  ['user', 'services/user/src/main.ts'],
  ['pool', 'services/pool/src/main.ts'],
  ['bet-engine', 'services/bet-engine/src/main.ts'],
  ['settlement', 'services/settlement/src/main.ts'],
  ['payment', 'services/payment/src/main.ts'],
  ['integration', 'services/integration/src/main.ts'],
  ['realtime', 'services/realtime/src/main.ts'],
  ['analytics', 'services/analytics/src/main.ts'],
  ['gateway', 'gateway/src/main.ts'],
];

/** A running cluster-shaped platform. */
export interface ClusterPlatform {
  readonly gatewayUrl: string;
  readonly serviceUrls: ReadonlyMap<DownstreamName, string>;
  /** A client of the platform's Redis Streams bus (the seed kit publishes ChannelLinked on it). */
  readonly bus: EventBus;
  /** Each service's own signing key, and the public keys every process trusts. */
  readonly serviceKeys: ServiceKeys;
  /** Starts one more gateway process with the platform's settings plus `env`; resolves with its URL. */
  startGateway(env: Record<string, string>): Promise<string>;
  /** Stops every process (SIGTERM, then SIGKILL after `graceMs`), closes the bus, empties the Redis database. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Options of {@link startClusterPlatform}. */
export interface ClusterPlatformOptions {
  /** The PostgreSQL URL of each service's own database. */
  readonly postgresUrlFor: (service: DownstreamName) => string;
  /** Redis server; the platform gets logical database `redisDb` to itself, emptied before and after. */
  readonly redisUrl: string;
  readonly redisDb: number;
  /** Extra variables for every process (log level, edge limits, ...). */
  readonly env?: Record<string, string>;
  /** Variables for one process only (e.g. the gateway's bet-engine URL). */
  readonly envFor?: Partial<Record<DownstreamName | 'gateway', Record<string, string>>>;
}

/** Starts every deployable as its own process and waits until each says it is ready. */
export async function startClusterPlatform(
  options: ClusterPlatformOptions,
): Promise<ClusterPlatform> {
  const redisUrl = new URL(options.redisUrl);
  redisUrl.pathname = `/${options.redisDb}`;
  const admin = new Redis(redisUrl.toString(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  await admin.flushdb();

  const serviceKeys = await generateServiceKeys(Object.keys(servicePorts));
  const userKeys = await generateSigningKeyPair('bench-cluster-user');
  const ports = await freePorts(entries.length);
  const urlOf = (index: number): string => `http://127.0.0.1:${ports[index]!}`;
  const serviceUrls = new Map<DownstreamName, string>();
  const shared: Record<string, string> = {
    NODE_OPTIONS: platformNodeFlags.join(' '),
    STREAMBET_MODE: 'cluster',
    HOST: '127.0.0.1',
    EVENT_BUS: 'redis-streams',
    CACHE: 'redis',
    REDIS_URL: redisUrl.toString(),
    SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify(serviceKeys.publicJwks),
    USER_TOKEN_PRIVATE_JWK: JSON.stringify(userKeys.privateJwk),
    KYC_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
    DEVICE_ID_HASH_KEY: randomBytes(24).toString('base64url'),
    ...options.env,
  };
  entries.forEach(([name], index) => {
    if (name === 'gateway') return;
    serviceUrls.set(name, urlOf(index));
    shared[serviceUrlVariable(name)] = urlOf(index);
  });
  shared.USER_JWKS_URL = `${serviceUrls.get('user')!}/.well-known/jwks.json`;

  const running: ServiceProcess[] = [];
  const bus = createRedisStreamsBus({
    url: redisUrl.toString(),
    streamPrefix: 'streambet:bus',
    consumerName: `bench-${process.pid}`,
  });
  const shutdown = async (graceMs = 10_000): Promise<void> => {
    for (const proc of [...running].reverse()) {
      if (proc.child.exitCode === null) proc.child.kill('SIGTERM');
      const killer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
      await proc.exited;
      clearTimeout(killer);
    }
    await bus.close();
    await admin.flushdb();
    admin.disconnect();
  };
  /** Spawns `entry` listening on `port` and resolves once its /health/ready answers 200. */
  const start = async (
    entry: string,
    port: number,
    env: Record<string, string>,
  ): Promise<string> => {
    const proc = spawnService(entry, { ...shared, ...env, PORT: String(port) });
    running.push(proc);
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 180_000;
    for (;;) {
      if (proc.child.exitCode !== null)
        throw new Error(
          `${entry} exited (${proc.child.exitCode}):\n${proc.stderr()}\n${proc.stdout()}`,
        );
      const ready = await fetch(`${url}/health/ready`).then(
        (res) => res.status === 200,
        () => false,
      );
      if (ready) return url;
      if (Date.now() > deadline)
        throw new Error(`${entry} not ready after 180 s:\n${proc.stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const services = entries.filter(([name]) => name !== 'gateway');
  try {
    // The services need nothing from each other to start (the JWKS is fetched on first use).
    await Promise.all(
      services.map(([name, entry], index) =>
        start(entry, ports[index]!, {
          DATABASE_URL: options.postgresUrlFor(name as DownstreamName),
          SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify(serviceKeys.privateJwks[name]),
          ...options.envFor?.[name],
        }),
      ),
    );
    await start('gateway/src/main.ts', ports[entries.length - 1]!, { ...options.envFor?.gateway });
  } catch (error) {
    await shutdown(1_000);
    throw error;
  }
  return {
    gatewayUrl: urlOf(entries.length - 1),
    serviceUrls,
    bus,
    serviceKeys,
    startGateway: async (env) => {
      const [port] = await freePorts(1);
      return start('gateway/src/main.ts', port!, { ...options.envFor?.gateway, ...env });
    },
    shutdown,
  };
}
