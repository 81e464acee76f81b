/**
 * What a PlaceBet-through-the-gateway bench needs, shared by bench/exchange.ts (part 2): the
 * embedded platform on PostgreSQL (one database per service, as in a cluster) with a second
 * gateway in front of a no-op bet engine (the transport alone, measured in the same run), the
 * load generator in its own process (bench/lib/unary-load.ts), PostgreSQL's own commit counters,
 * and the wait for a quiet platform between rounds. bench/bets.ts holds the same pieces inline
 * (written before this file; it also runs the cluster shape).
 */
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import {
  BetEngineService,
  BetSchema,
  BetStatus,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { generateServiceKeys, type ServiceKeys } from '@streambet/platform/auth/tokens';
import type { EventBus } from '@streambet/platform/bus/types';
import {
  servicePorts,
  serviceUrlVariable,
  type DownstreamName,
} from '@streambet/platform/runtime/platform-config';
import { loadGatewayConfig } from '@streambet/gateway/config';
import { startEmbeddedPlatform } from '@streambet/gateway/embedded-platform';
import { startGateway } from '@streambet/gateway/app';
import pg from 'pg';
import { createBenchDatabase, type BenchDatabase } from './postgres.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The summary line of bench/lib/unary-load.ts. */
export interface LoadResult {
  ok: number;
  offered: number;
  errors: Record<string, number>;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  /** The load generator's own event-loop delay: high values mean it, not the server, was late. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** Runs the load generator (bench/lib/unary-load.ts) in its own process; `spec` is its LOAD_SPEC. */
export function runLoad(spec: object): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'unary-load.ts')], {
      env: { ...process.env, LOAD_SPEC: JSON.stringify(spec) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadResult);
    });
  });
}

/** A bet engine that accepts every PlaceBet at once and touches nothing: the transport alone. */
export async function startNoopBetEngine(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http2.createServer(
    connectNodeAdapter({
      routes(router) {
        router.service(BetEngineService, {
          placeBet: (request) => ({
            bet: create(BetSchema, {
              betId: request.idempotencyKey,
              marketId: request.marketId,
              outcomeId: request.outcomeId,
              stakeMinor: request.stakeMinor,
              currency: request.currency,
              side: request.side,
              requestedDecimalOdds: request.decimalOdds,
              status: BetStatus.ACCEPTED,
            }),
          }),
        });
      },
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `xact_commit` of each database (PostgreSQL counts read-only transactions and autocommits too). */
export async function commitsOf(databases: readonly BenchDatabase[]): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: databases[0]!.url });
  await client.connect();
  try {
    // Statistics reach the shared counters at most once a second per backend.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await client.query<{ datname: string; commits: string }>(
      'SELECT datname, xact_commit::text AS commits FROM pg_stat_database WHERE datname = ANY($1)',
      [databases.map((d) => d.name)],
    );
    return new Map(rows.map((row) => [row.datname, Number(row.commits)]));
  } finally {
    await client.end();
  }
}

/** Σ over `databases` of the commits between two `commitsOf` readings. */
export function commitsBetween(
  databases: readonly BenchDatabase[],
  from: ReadonlyMap<string, number>,
  to: ReadonlyMap<string, number>,
): number {
  return databases.reduce((sum, db) => sum + (to.get(db.name) ?? 0) - (from.get(db.name) ?? 0), 0);
}

/**
 * Waits until the platform has digested what earlier rounds left behind: every service's outbox
 * published and the inbox row counts stable over three polls 0.5 s apart (gives up after 120 s).
 */
export async function waitForQuiet(
  databases: ReadonlyMap<DownstreamName, BenchDatabase>,
): Promise<void> {
  const clients = await Promise.all(
    [...databases.values()].map(async (db) => {
      const client = new pg.Client({ connectionString: db.url, application_name: 'bench-quiet' });
      await client.connect();
      return client;
    }),
  );
  const count = async (text: string): Promise<number> => {
    let total = 0;
    for (const client of clients) {
      const exists = await client.query<{ present: boolean }>(
        `SELECT to_regclass('outbox') IS NOT NULL AS present`,
      );
      if (exists.rows[0]?.present !== true) continue;
      total += Number((await client.query<{ n: string }>(text)).rows[0]?.n ?? 0);
    }
    return total;
  };
  try {
    const startedAt = performance.now();
    let previousInbox = -1;
    let stablePolls = 0;
    while (stablePolls < 3) {
      if (performance.now() - startedAt > 120_000) {
        process.stderr.write('platform still busy after 120 s; measuring anyway\n');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      const unpublished = await count(
        'SELECT count(*)::text AS n FROM outbox WHERE published_at IS NULL',
      );
      const inbox = await count('SELECT count(*)::text AS n FROM inbox');
      stablePolls = unpublished === 0 && inbox === previousInbox ? stablePolls + 1 : 0;
      previousInbox = inbox;
    }
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

/** Every service of the platform: one bench database each. */
export const platformServices = [
  'user',
  'pool',
  'bet-engine',
  'settlement',
  'payment',
  'integration',
  'realtime',
  'analytics',
] as const satisfies readonly DownstreamName[];

/** Edge rate limits out of the way: 200 clients from one address would be throttled. */
export const benchEdgeLimits = {
  RATE_LIMIT_IP_BURST: '1000000',
  RATE_LIMIT_IP_PER_SECOND: '0',
  RATE_LIMIT_USER_BURST: '1000000',
  RATE_LIMIT_USER_PER_SECOND: '0',
};

/** The embedded platform and a second gateway in front of the no-op bet engine. */
export interface PlacementPlatform {
  readonly gatewayUrl: string;
  readonly baselineGatewayUrl: string;
  readonly userServiceUrl: string;
  readonly betEngineUrl: string;
  readonly servicePrivateJwks: ServiceKeys['privateJwks'];
  readonly bus: EventBus;
  readonly databases: ReadonlyMap<DownstreamName, BenchDatabase>;
  stop(): Promise<void>;
}

/**
 * Creates one database per service, starts the embedded platform (every service and both gateways
 * on this process's event loop) and the baseline gateway whose bet engine is `noopUrl`.
 * `stop()` stops both and drops the databases.
 */
export async function startPlacementPlatform(noopUrl: string): Promise<PlacementPlatform> {
  const databases = new Map<DownstreamName, BenchDatabase>();
  const drop = async (): Promise<void> => {
    for (const db of databases.values()) await db.drop();
  };
  try {
    for (const name of platformServices)
      databases.set(name, await createBenchDatabase(name.replace('-', '_')));
    const pair = await generateServiceKeys(Object.keys(servicePorts));
    const platform = await startEmbeddedPlatform({
      ports: 'free',
      env: { ...process.env, LOG_LEVEL: 'warn', USER_SCRYPT_LOG_N: '10', ...benchEdgeLimits },
      keys: { servicePrivateJwks: pair.privateJwks, servicePublicJwks: pair.publicJwks },
      postgresUrlFor: (service) => databases.get(service)!.url,
    });
    const urlEnv: Record<string, string> = {};
    for (const [name, url] of platform.serviceUrls) urlEnv[serviceUrlVariable(name)] = url;
    const baselineGateway = await startGateway({
      config: loadGatewayConfig({
        ...process.env,
        ...benchEdgeLimits,
        ...urlEnv,
        STREAMBET_MODE: 'embedded',
        [serviceUrlVariable('bet-engine')]: noopUrl,
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: '0',
        USER_JWKS_URL: `${platform.serviceUrls.get('user')}/.well-known/jwks.json`,
      }),
    });
    return {
      gatewayUrl: platform.gatewayUrl,
      baselineGatewayUrl: baselineGateway.url,
      userServiceUrl: platform.serviceUrls.get('user')!,
      betEngineUrl: platform.serviceUrls.get('bet-engine')!,
      servicePrivateJwks: pair.privateJwks,
      bus: platform.bus,
      databases,
      async stop() {
        try {
          await baselineGateway.shutdown();
          await platform.shutdown();
        } finally {
          await drop();
        }
      },
    };
  } catch (error) {
    await drop();
    throw error;
  }
}
