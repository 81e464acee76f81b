/**
 * The platform in its cluster shape: every service and the gateway in its own process (as k8s/
 * and docker-compose.yml deploy them: one Deployment each), on PostgreSQL (one database per
 * service), the Redis Streams bus and the Redis cache. Benches time the deployment's shape with it
 * (bench/bets.ts); chaos tests kill and restart its processes (gateway/test/chaos.e2e.spec.ts).
 *
 * Why not the embedded default: it runs all eight services and the gateway on ONE event loop, so
 * on a two-core machine every request queues behind every other service's work, and a process
 * cannot be killed without killing the whole platform.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
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
import { spawnService, type ServiceProcess } from './process.js';
import { freePorts } from '@streambet/platform/runtime/free-ports';

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

/** The V8 flags the platform runs with (package.json `start`, k8s/, docker-compose.yml). */
export const platformNodeFlags: readonly string[] = ['--max-semi-space-size=64'];

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
  /**
   * SIGKILLs the service's process (and the Node process tsx runs it in): no shutdown hook runs.
   * Resolves once both are gone.
   */
  kill(service: DownstreamName): Promise<void>;
  /** Starts the service again on the same port; resolves once its /health/ready answers 200. */
  restart(service: DownstreamName): Promise<void>;
  /** What the service's current process wrote so far (stdout, then stderr): for failure messages. */
  output(service: DownstreamName): string;
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
  /** Name of this client on the bus (default `cluster-<pid>`). */
  readonly busConsumerName?: string;
}

/** Every descendant of `pid` (Linux /proc; empty elsewhere). */
function descendants(pid: number): number[] {
  const found: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const task of tasks) {
    let children: string;
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.split(' ').filter((s) => s.trim() !== '')) {
      const childPid = Number(child);
      found.push(childPid, ...descendants(childPid));
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
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
  const userKeys = await generateSigningKeyPair('cluster-user');
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
  const byService = new Map<DownstreamName, ServiceProcess>();
  const bus = createRedisStreamsBus({
    url: redisUrl.toString(),
    streamPrefix: 'streambet:bus',
    consumerName: options.busConsumerName ?? `cluster-${process.pid}`,
  });
  const shutdown = async (graceMs = 10_000): Promise<void> => {
    for (const proc of [...running].reverse()) {
      if (proc.child.exitCode === null && proc.child.signalCode === null)
        proc.child.kill('SIGTERM');
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
    service?: DownstreamName,
  ): Promise<string> => {
    const proc = spawnService(entry, { ...shared, ...env, PORT: String(port) });
    running.push(proc);
    if (service !== undefined) byService.set(service, proc);
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
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const services = entries.filter(([name]) => name !== 'gateway');
  const serviceEnv = (name: DownstreamName): Record<string, string> => ({
    DATABASE_URL: options.postgresUrlFor(name),
    SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify(serviceKeys.privateJwks[name]),
    ...options.envFor?.[name],
  });
  try {
    // The services need nothing from each other to start (the JWKS is fetched on first use).
    await Promise.all(
      services.map(([name, entry], index) =>
        start(entry, ports[index]!, serviceEnv(name as DownstreamName), name as DownstreamName),
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
    async kill(service) {
      const proc = byService.get(service);
      const pid = proc?.child.pid;
      if (proc === undefined || pid === undefined) throw new Error(`${service} is not running`);
      // tsx runs the service in a child Node process: kill that one too, or it keeps serving.
      const tree = [pid, ...descendants(pid)];
      for (const each of tree) {
        try {
          process.kill(each, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await proc.exited;
      const deadline = Date.now() + 2_000;
      while (tree.some(alive) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
    },
    async restart(service) {
      const index = entries.findIndex(([name]) => name === service);
      await start(entries[index]![1], ports[index]!, serviceEnv(service), service);
    },
    output(service) {
      const proc = byService.get(service);
      return proc === undefined ? '' : `${proc.stdout()}\n${proc.stderr()}`;
    },
    shutdown,
  };
}
