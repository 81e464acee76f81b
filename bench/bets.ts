/**
 * Bet placement end to end through the gateway (issue 4, "Must show"), next to the transport alone
 * measured in the same run:
 *   baseline  PlaceBet through a gateway (same code, same config) to a bet engine that does nothing
 *   bets      PlaceBet through the gateway to the real platform: validation, eligibility, the
 *             ledger hold, group commit and durability
 * Both at BENCH_CLIENTS (default 200) concurrent clients in another process, for BENCH_SECONDS
 * (default 10) after a warm-up, in two shapes (bench/lib/unary-load.ts):
 *   closed  every client calls back to back: the most each takes (bets/s), and the SQL commits per
 *           accepted bet at that load;
 *   paced   every client bets BENCH_PACED_RATE_PER_CLIENT (default 1) times a second on average,
 *           open loop: the latency a viewer sees at a stated load. (Closed-loop latency is only
 *           clients / throughput by Little's law — a p99 target means something below saturation.)
 * Targets: closed bets/s ≥ 0.5× baseline, paced p99 ≤ 50 ms, and ≤ 0.1 SQL commits per accepted
 * bet (closed) in the bet engine's and the ledger's databases together — counted from PostgreSQL's
 * own `pg_stat_database.xact_commit` (each service on its own database, as in a cluster).
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres): the server; the bench
 * creates and drops one database per service.
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
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { generateSigningKeyPair } from '@streambet/platform/auth/tokens';
import { servicePorts, serviceUrlVariable } from '@streambet/platform/runtime/platform-config';
import { loadGatewayConfig } from '@streambet/gateway/config';
import { startEmbeddedPlatform } from '@streambet/gateway/embedded-platform';
import { startGateway } from '@streambet/gateway/gateway';
import {
  createSeedKit,
  newChannelId,
  seedPassword,
  serviceTokensFrom,
} from '@streambet/gateway/seed/actors';
import pg from 'pg';
import { printResults, type BenchResult } from './lib/report.js';
import { createBenchDatabase, type BenchDatabase } from './lib/postgres.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 200);
/** Bets per second per client in the paced (open-loop) rounds: 200 clients × 1/s = 200 bets/s. */
const PACED_RATE = Number(process.env.BENCH_PACED_RATE_PER_CLIENT ?? 1);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_MS = 2000;
const here = path.dirname(fileURLToPath(import.meta.url));

interface LoadResult {
  ok: number;
  offered: number;
  errors: Record<string, number>;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

/** Runs the load generator in its own process and returns its summary. */
function runLoad(spec: object): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(here, 'lib/unary-load.ts')],
      {
        env: { ...process.env, LOAD_SPEC: JSON.stringify(spec) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
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
async function startNoopBetEngine(): Promise<{ url: string; close(): Promise<void> }> {
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
async function commitsOf(databases: BenchDatabase[]): Promise<Map<string, number>> {
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

const services = [
  'user',
  'pool',
  'bet-engine',
  'settlement',
  'payment',
  'integration',
  'realtime',
  'analytics',
] as const;
const databases = new Map<string, BenchDatabase>();
for (const name of services) databases.set(name, await createBenchDatabase(name.replace('-', '_')));

const pair = await generateSigningKeyPair('bench-service-key');
const edgeLimits = {
  RATE_LIMIT_IP_BURST: '1000000',
  RATE_LIMIT_IP_PER_SECOND: '0',
  RATE_LIMIT_USER_BURST: '1000000',
  RATE_LIMIT_USER_PER_SECOND: '0',
};
const platform = await startEmbeddedPlatform({
  ports: 'free',
  env: { ...process.env, LOG_LEVEL: 'warn', USER_SCRYPT_LOG_N: '10', ...edgeLimits },
  keys: { servicePrivateJwk: pair.privateJwk, servicePublicJwks: pair.publicJwks },
  postgresUrlFor: (service) => databases.get(service)!.url,
});
const noop = await startNoopBetEngine();
const urlEnv: Record<string, string> = {};
for (const [name, url] of platform.serviceUrls) urlEnv[serviceUrlVariable(name)] = url;
const baselineGateway = await startGateway({
  config: loadGatewayConfig({
    ...process.env,
    ...edgeLimits,
    ...urlEnv,
    [serviceUrlVariable('bet-engine')]: noop.url,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: '0',
    USER_JWKS_URL: `${platform.serviceUrls.get('user')}/.well-known/jwks.json`,
  }),
});
void servicePorts;

const results: BenchResult[] = [];
try {
  const kit = createSeedKit({
    gatewayUrl: platform.gatewayUrl,
    userServiceUrl: platform.serviceUrls.get('user')!,
    serviceToken: serviceTokensFrom(pair.privateJwk),
    bus: platform.bus,
  });
  const channelId = newChannelId();
  const streamer = await kit.makeStreamer(
    await kit.register('bench-streamer@example.com', 'BenchStreamer'),
    seedPassword,
    channelId,
    'benchstreamer',
  );
  const viewers = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => kit.register(`bench${i}@example.com`, `Bench_${i}`)),
  );
  await Promise.all(
    viewers.map((v) => kit.grantPoints(v.userId, 10_000_000n, `bench-${v.userId}`)),
  );
  const created = await kit.pool.createMarket(
    {
      idempotencyKey: 'bench-market',
      channelId,
      title: 'Bench market',
      outcomes: Array.from({ length: 10 }, (_, i) => ({ title: `Outcome ${i + 1}` })),
      currency: 'PTS',
      kind: MarketKind.POOL,
      bettingWindowSeconds: 1800,
      openNow: true,
    },
    { headers: streamer.headers },
  );
  const market = created.market!;
  const spec = {
    durationMs: SECONDS * 1000,
    warmupMs: WARMUP_MS,
    marketId: market.marketId,
    outcomeIds: market.outcomes.map((o) => o.outcomeId),
    tokens: viewers.map((v) => v.accessToken),
  };

  const escrowPending = async (): Promise<number> =>
    Number(
      (
        await kit.ledger.getAccountBalances(
          { accountIds: [`market:${market.marketId}:escrow`] },
          await kit.asService(),
        )
      ).balances[0]?.creditsPendingMinor ?? 0n,
    );
  const hot = [databases.get('bet-engine')!, databases.get('user')!];
  const paced = { mode: 'paced', ratePerClient: PACED_RATE };

  const baseline = await runLoad({ ...spec, gatewayUrl: baselineGateway.url, round: 'noop' });
  const baselinePaced = await runLoad({
    ...spec,
    ...paced,
    gatewayUrl: baselineGateway.url,
    round: 'noop-paced',
  });
  const commitsBefore = await commitsOf(hot);
  const bets = await runLoad({ ...spec, gatewayUrl: platform.gatewayUrl, round: 'real' });
  const commitsAfter = await commitsOf(hot);
  // Commits over the whole run (warm-up included) per bet accepted over the whole run (1 unit each).
  const acceptedTotal = await escrowPending();
  const betsPaced = await runLoad({
    ...spec,
    ...paced,
    gatewayUrl: platform.gatewayUrl,
    round: 'real-paced',
  });
  const commitsAfterPaced = await commitsOf(hot);
  const acceptedPaced = (await escrowPending()) - acceptedTotal;
  const pacedCommits = hot.reduce(
    (sum, db) => sum + (commitsAfterPaced.get(db.name) ?? 0) - (commitsAfter.get(db.name) ?? 0),
    0,
  );
  const pacedCommitsPerBet = acceptedPaced > 0 ? pacedCommits / acceptedPaced : 0;
  const commitsIn = (db: BenchDatabase): number =>
    (commitsAfter.get(db.name) ?? 0) - (commitsBefore.get(db.name) ?? 0);
  const commits = hot.reduce((sum, db) => sum + commitsIn(db), 0);
  const commitsPerBet = acceptedTotal > 0 ? commits / acceptedTotal : 0;
  const baselinePerSecond = baseline.ok / baseline.seconds;
  const betsPerSecond = bets.ok / bets.seconds;
  console.log(
    `baseline (no-op bet engine): ${Math.round(baselinePerSecond)} calls/s, p50 ${baseline.p50Ms.toFixed(1)} ms, p99 ${baseline.p99Ms.toFixed(1)} ms, errors ${JSON.stringify(baseline.errors)}`,
  );
  console.log(
    `bets (real platform): ${Math.round(betsPerSecond)} accepted/s, p50 ${bets.p50Ms.toFixed(1)} ms, p99 ${bets.p99Ms.toFixed(1)} ms, errors ${JSON.stringify(bets.errors)}`,
  );
  console.log(
    `paced, ${CLIENTS} clients × ${PACED_RATE}/s offered: baseline p50 ${baselinePaced.p50Ms.toFixed(1)} ms p99 ${baselinePaced.p99Ms.toFixed(1)} ms (${baselinePaced.ok}/${baselinePaced.offered} ok); bets p50 ${betsPaced.p50Ms.toFixed(1)} ms p99 ${betsPaced.p99Ms.toFixed(1)} ms (${betsPaced.ok}/${betsPaced.offered} ok, errors ${JSON.stringify(betsPaced.errors)}), ${pacedCommitsPerBet.toFixed(3)} SQL commits per bet`,
  );
  console.log(
    `SQL commits in bet engine + ledger: ${commits} for ${acceptedTotal} accepted bets (${commitsPerBet.toFixed(3)} per bet; bet engine ${commitsIn(hot[0]!)}, user/ledger ${commitsIn(hot[1]!)})`,
  );
  const ratio = baselinePerSecond > 0 ? betsPerSecond / baselinePerSecond : 0;
  results.push(
    {
      name: `accepted bets/s through the gateway, ${CLIENTS} clients`,
      value: Math.round(betsPerSecond),
      unit: 'bets/s',
      baseline: Math.round(baselinePerSecond),
      ratio: Math.round(ratio * 100) / 100,
      target: '≥ 0.5×',
      met: ratio >= 0.5,
    },
    {
      name: `p99 PlaceBet latency, paced ${CLIENTS} clients × ${PACED_RATE}/s`,
      value: Math.round(betsPaced.p99Ms * 10) / 10,
      unit: 'ms',
      baseline: Math.round(baselinePaced.p99Ms * 10) / 10,
      ratio:
        baselinePaced.p99Ms > 0
          ? Math.round((betsPaced.p99Ms / baselinePaced.p99Ms) * 100) / 100
          : 0,
      target: '≤ 50 ms',
      met: betsPaced.p99Ms <= 50 && betsPaced.ok === betsPaced.offered,
    },
    {
      name: `p50 PlaceBet latency, paced ${CLIENTS} clients × ${PACED_RATE}/s`,
      value: Math.round(betsPaced.p50Ms * 10) / 10,
      unit: 'ms',
      baseline: Math.round(baselinePaced.p50Ms * 10) / 10,
      ratio:
        baselinePaced.p50Ms > 0
          ? Math.round((betsPaced.p50Ms / baselinePaced.p50Ms) * 100) / 100
          : 0,
      target: 'reported',
      met: true,
    },
    {
      name: `p99 PlaceBet latency at saturation (closed loop, ${CLIENTS} in flight)`,
      value: Math.round(bets.p99Ms * 10) / 10,
      unit: 'ms',
      baseline: Math.round(baseline.p99Ms * 10) / 10,
      ratio: baseline.p99Ms > 0 ? Math.round((bets.p99Ms / baseline.p99Ms) * 100) / 100 : 0,
      target: 'reported',
      met: true,
    },
    {
      name: `SQL commits per accepted bet (bet engine + ledger), closed loop ${CLIENTS} clients`,
      value: Math.round(commitsPerBet * 1000) / 1000,
      unit: 'commits/bet',
      baseline: 0.1,
      ratio: Math.round((commitsPerBet / 0.1) * 100) / 100,
      target: '≤ 0.1',
      met: commitsPerBet <= 0.1,
    },
    {
      name: `SQL commits per accepted bet, paced ${CLIENTS} clients × ${PACED_RATE}/s`,
      value: Math.round(pacedCommitsPerBet * 1000) / 1000,
      unit: 'commits/bet',
      baseline: 0.1,
      ratio: Math.round((pacedCommitsPerBet / 0.1) * 100) / 100,
      target: 'reported',
      met: true,
    },
  );
} finally {
  await baselineGateway.shutdown();
  await noop.close();
  await platform.shutdown();
  for (const db of databases.values()) await db.drop();
}
printResults('bets', results);
