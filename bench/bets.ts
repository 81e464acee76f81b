/**
 * Bet placement end to end through the gateway (issues 4 and 12, "Must show"), next to the
 * transport alone measured in the same run:
 *   baseline  PlaceBet through a gateway (same code, same config) to a bet engine that does nothing
 *   bets      PlaceBet through the gateway to the real platform: validation, eligibility and the
 *             ledger hold (one ReserveStakes call), pipelined group commit and durability
 * Both at BENCH_CLIENTS (default 200) concurrent clients in another process, for BENCH_SECONDS
 * (default 10) after a warm-up, in two shapes (bench/lib/unary-load.ts):
 *   closed  every client calls back to back: the most each takes (bets/s), and the SQL commits per
 *           accepted bet at that load;
 *   paced   every client bets BENCH_PACED_RATE_PER_CLIENT (default 1) times a second on average,
 *           open loop: the latency a viewer sees at a stated load. (Closed-loop latency is only
 *           clients / throughput by Little's law — a p99 target means something below saturation.)
 * Targets (issue 12): closed bets/s ≥ 0.7× baseline; paced p50 ≤ 50 ms and p99 ≤ 2× the baseline's
 * paced p99 in the same run, every paced bet answered; and ≤ 0.1 SQL commits per accepted bet
 * (closed) in the bet engine's and the ledger's databases together — counted from PostgreSQL's
 * own `pg_stat_database.xact_commit` (each service on its own database, as in a cluster).
 * For both rounds of the real platform the bench also prints where placement time went, from the
 * bet engine's own batch histograms on `/metrics` (bench/lib/batch-timing.ts): batches, bets per
 * batch, the queue wait of a batch's oldest bet and the mean time of each step.
 * Every round starts once the platform is quiet (outboxes published, consumers idle): the paced
 * round used to start while consumers still worked through the closed round's backlog of events.
 *
 * The platform runs in two shapes, each on fresh databases: the embedded default (every service and
 * both gateways on the bench process's one event loop, on PostgreSQL) — judged, as in earlier runs —
 * and the cluster shape (bench/lib/cluster-platform.ts: one process per service and per gateway,
 * the Redis Streams bus and the Redis cache, Redis logical database BENCH_BETS_REDIS_DB, default 12,
 * emptied before and after) — reported. On two cores the cluster shape is the slower one: nine
 * processes share them, and every event crosses Redis instead of a function call.
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres): the server; the bench
 * creates and drops one database per service and shape. BENCH_REDIS_URL (default
 * redis://127.0.0.1:6379): the cluster shape's Redis. BENCH_BETS_SHAPES=one-process runs the judged
 * shape alone (for profiling it; the default `all` runs both).
 *
 * Diagnostics (not judged): for each paced round of the real platform the bench prints the CPU the
 * bench process used per accepted bet (`process.cpuUsage`, robust to other load on the machine) and
 * its event-loop delay (one process: every service's awaits queue behind that loop).
 * BENCH_BETS_PROFILE=<dir> also writes a V8 CPU profile of that round (`.cpuprofile`, open in
 * Chrome DevTools or speedscope); BENCH_BETS_ROUNDS=paced runs that round alone (no targets judged,
 * no JSON line) to profile a change quickly.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
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
import {
  createSeedKit,
  newChannelId,
  seedPassword,
  serviceTokensFrom,
} from '@streambet/gateway/seed';
import pg from 'pg';
import { describeBatches, scrapeBatchMetrics } from './lib/batch-timing.js';
import { startClusterPlatform } from './lib/cluster-platform.js';
import { printResults, type BenchResult } from './lib/report.js';
import { createBenchDatabase, type BenchDatabase } from './lib/postgres.js';
import {
  benchEdgeLimits,
  commitsOf,
  platformServices,
  runLoad,
  startNoopBetEngine,
  waitForQuiet,
  type LoadResult,
} from './lib/gateway-placement.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 200);
/** Bets per second per client in the paced (open-loop) rounds: 200 clients × 1/s = 200 bets/s. */
const PACED_RATE = Number(process.env.BENCH_PACED_RATE_PER_CLIENT ?? 1);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_MS = 2000;
/** Redis for the cluster shape's bus and cache; it gets logical database REDIS_DB to itself. */
/** `one-process` skips the (reported) cluster shape, e.g. to profile the judged one alone. */
const SHAPES = process.env.BENCH_BETS_SHAPES ?? 'all';
if (SHAPES !== 'all' && SHAPES !== 'one-process')
  throw new Error(`BENCH_BETS_SHAPES must be all or one-process, got "${SHAPES}"`);
/** Where to write a CPU profile of the paced round of the real platform (diagnostics). */
const PROFILE_DIR = process.env.BENCH_BETS_PROFILE;
/** `paced`: only the paced round of the real platform, one process (diagnostics, nothing judged). */
const ROUNDS = process.env.BENCH_BETS_ROUNDS ?? 'all';
if (ROUNDS !== 'all' && ROUNDS !== 'paced')
  throw new Error(`BENCH_BETS_ROUNDS must be all or paced, got "${ROUNDS}"`);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_DB = Number(process.env.BENCH_BETS_REDIS_DB ?? 12);

/** One way of running the platform, with a second gateway in front of the no-op bet engine. */
interface Shape {
  readonly label: string;
  readonly gatewayUrl: string;
  readonly baselineGatewayUrl: string;
  readonly userServiceUrl: string;
  /** Where the bet engine serves `/metrics` (its placement batch timing). */
  readonly betEngineUrl: string;
  readonly servicePrivateJwks: ServiceKeys['privateJwks'];
  readonly bus: EventBus;
  stop(): Promise<void>;
}

/** The embedded default: every service and both gateways on the bench process's one event loop. */
async function startOneProcess(
  databases: ReadonlyMap<DownstreamName, BenchDatabase>,
  noopUrl: string,
): Promise<Shape> {
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
    label: 'one process',
    gatewayUrl: platform.gatewayUrl,
    baselineGatewayUrl: baselineGateway.url,
    userServiceUrl: platform.serviceUrls.get('user')!,
    betEngineUrl: platform.serviceUrls.get('bet-engine')!,
    servicePrivateJwks: pair.privateJwks,
    bus: platform.bus,
    async stop() {
      await baselineGateway.shutdown();
      await platform.shutdown();
    },
  };
}

/** The deployment's shape: each service and each gateway its own process (bench/lib/cluster-platform.ts). */
async function startCluster(
  databases: ReadonlyMap<DownstreamName, BenchDatabase>,
  noopUrl: string,
): Promise<Shape> {
  const cluster = await startClusterPlatform({
    postgresUrlFor: (service) => databases.get(service)!.url,
    redisUrl: REDIS_URL,
    redisDb: REDIS_DB,
    env: { LOG_LEVEL: 'warn', USER_SCRYPT_LOG_N: '10', ...benchEdgeLimits },
  });
  try {
    const baselineGatewayUrl = await cluster.startGateway({
      [serviceUrlVariable('bet-engine')]: noopUrl,
    });
    return {
      label: 'cluster, a process per service',
      gatewayUrl: cluster.gatewayUrl,
      baselineGatewayUrl,
      userServiceUrl: cluster.serviceUrls.get('user')!,
      betEngineUrl: cluster.serviceUrls.get('bet-engine')!,
      servicePrivateJwks: cluster.serviceKeys.privateJwks,
      bus: cluster.bus,
      stop: () => cluster.shutdown(),
    };
  } catch (error) {
    await cluster.shutdown();
    throw error;
  }
}

/** A round that did not run (BENCH_BETS_ROUNDS=paced). */
const skipped: LoadResult = {
  ok: 0,
  offered: 0,
  errors: {},
  seconds: 1,
  p50Ms: 0,
  p99Ms: 0,
  loopDelayP99Ms: 0,
  loopDelayMaxMs: 0,
};

/**
 * Watches the bench process while `round` runs: CPU time (all threads), event-loop delay and,
 * with BENCH_BETS_PROFILE, a V8 CPU profile written as `<dir>/<label>.cpuprofile`.
 */
async function watchProcess<T>(
  label: string,
  round: () => Promise<T>,
): Promise<{ result: T; cpuMs: number; loop: string; statements: Map<string, number> }> {
  const session = PROFILE_DIR === undefined ? undefined : new Session();
  if (session !== undefined) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 500 });
    await session.post('Profiler.start');
  }
  // SQL statements sent per database (pg's client is shared by every service in this process).
  const statements = new Map<string, number>();
  const query = pg.Client.prototype.query;
  if (PROFILE_DIR !== undefined) {
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const db = this.database ?? '?';
      statements.set(db, (statements.get(db) ?? 0) + 1);
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
  }
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const cpuBefore = process.cpuUsage();
  const result = await round();
  const cpu = process.cpuUsage(cpuBefore);
  delay.disable();
  pg.Client.prototype.query = query;
  if (session !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    await mkdir(PROFILE_DIR!, { recursive: true });
    const file = path.join(PROFILE_DIR!, `${label.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    process.stderr.write(`CPU profile written to ${file}\n`);
    session.disconnect();
  }
  const ms = (ns: number): string => (ns / 1e6).toFixed(1);
  return {
    result,
    statements,
    cpuMs: (cpu.user + cpu.system) / 1000,
    loop: `event-loop delay p50 ${ms(delay.percentile(50))} ms p99 ${ms(delay.percentile(99))} ms max ${ms(delay.max)} ms`,
  };
}

/** What one shape measured. */
interface ShapeFigures {
  readonly label: string;
  readonly baseline: LoadResult;
  readonly baselinePaced: LoadResult;
  readonly bets: LoadResult;
  readonly betsPaced: LoadResult;
  readonly commitsPerBet: number;
  readonly pacedCommitsPerBet: number;
}

/** Seeds a streamer, CLIENTS funded viewers and an open market, then runs the four rounds. */
async function measure(
  shape: Shape,
  databases: ReadonlyMap<DownstreamName, BenchDatabase>,
): Promise<ShapeFigures> {
  const kit = createSeedKit({
    gatewayUrl: shape.gatewayUrl,
    userServiceUrl: shape.userServiceUrl,
    serviceToken: serviceTokensFrom(shape.servicePrivateJwks),
    bus: shape.bus,
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

  const all = ROUNDS === 'all';
  await waitForQuiet(databases);
  const baseline = all
    ? await runLoad({ ...spec, gatewayUrl: shape.baselineGatewayUrl, round: 'noop' })
    : skipped;
  await waitForQuiet(databases);
  const baselinePaced = all
    ? await runLoad({
        ...spec,
        ...paced,
        gatewayUrl: shape.baselineGatewayUrl,
        round: 'noop-paced',
      })
    : skipped;
  await waitForQuiet(databases);
  const commitsBefore = await commitsOf(hot);
  const batchesBefore = await scrapeBatchMetrics(shape.betEngineUrl);
  const bets = all
    ? await runLoad({ ...spec, gatewayUrl: shape.gatewayUrl, round: 'real' })
    : skipped;
  const commitsAfter = await commitsOf(hot);
  const batches = describeBatches(batchesBefore, await scrapeBatchMetrics(shape.betEngineUrl));
  // Commits over the whole run (warm-up included) per bet accepted over the whole run (1 unit each).
  const acceptedTotal = await escrowPending();
  await waitForQuiet(databases);
  const commitsBeforePaced = await commitsOf(hot);
  const batchesBeforePaced = await scrapeBatchMetrics(shape.betEngineUrl);
  const watched = await watchProcess(`${shape.label} paced`, () =>
    runLoad({
      ...spec,
      ...paced,
      gatewayUrl: shape.gatewayUrl,
      round: 'real-paced',
    }),
  );
  const betsPaced = watched.result;
  const commitsAfterPaced = await commitsOf(hot);
  const batchesPaced = describeBatches(
    batchesBeforePaced,
    await scrapeBatchMetrics(shape.betEngineUrl),
  );
  const acceptedPaced = (await escrowPending()) - acceptedTotal;
  const commitsBetween = (from: Map<string, number>, to: Map<string, number>): number =>
    hot.reduce((sum, db) => sum + (to.get(db.name) ?? 0) - (from.get(db.name) ?? 0), 0);
  const commits = commitsBetween(commitsBefore, commitsAfter);
  const pacedCommits = commitsBetween(commitsBeforePaced, commitsAfterPaced);
  const figures: ShapeFigures = {
    label: shape.label,
    baseline,
    baselinePaced,
    bets,
    betsPaced,
    commitsPerBet: acceptedTotal > 0 ? commits / acceptedTotal : 0,
    pacedCommitsPerBet: acceptedPaced > 0 ? pacedCommits / acceptedPaced : 0,
  };
  const perSecond = (load: LoadResult): number => load.ok / load.seconds;
  const loop = (load: LoadResult): string =>
    `load generator loop delay p99 ${load.loopDelayP99Ms.toFixed(1)} ms max ${load.loopDelayMaxMs.toFixed(1)} ms`;
  console.log(`== ${shape.label}`);
  console.log(
    `baseline (no-op bet engine): ${Math.round(perSecond(baseline))} calls/s, p50 ${baseline.p50Ms.toFixed(1)} ms, p99 ${baseline.p99Ms.toFixed(1)} ms, errors ${JSON.stringify(baseline.errors)}; ${loop(baseline)}`,
  );
  console.log(
    `bets (real platform): ${Math.round(perSecond(bets))} accepted/s, p50 ${bets.p50Ms.toFixed(1)} ms, p99 ${bets.p99Ms.toFixed(1)} ms, errors ${JSON.stringify(bets.errors)}; ${loop(bets)}`,
  );
  console.log(
    `paced, ${CLIENTS} clients × ${PACED_RATE}/s offered: baseline p50 ${baselinePaced.p50Ms.toFixed(1)} ms p99 ${baselinePaced.p99Ms.toFixed(1)} ms (${baselinePaced.ok}/${baselinePaced.offered} ok; ${loop(baselinePaced)}); bets p50 ${betsPaced.p50Ms.toFixed(1)} ms p99 ${betsPaced.p99Ms.toFixed(1)} ms (${betsPaced.ok}/${betsPaced.offered} ok, errors ${JSON.stringify(betsPaced.errors)}; ${loop(betsPaced)}), ${figures.pacedCommitsPerBet.toFixed(3)} SQL commits per bet`,
  );
  console.log(`placement batches (bet engine /metrics), closed loop: ${batches}`);
  console.log(`placement batches (bet engine /metrics), paced: ${batchesPaced}`);
  // Warm-up included: CPU over the whole round per bet accepted over the whole round.
  console.log(
    `bench process, paced round: ${(acceptedPaced > 0 ? watched.cpuMs / acceptedPaced : 0).toFixed(2)} ms CPU per accepted bet (${Math.round(watched.cpuMs)} ms for ${acceptedPaced}), ${watched.loop}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  if (watched.statements.size > 0) {
    const per = [...watched.statements]
      .sort((a, b) => b[1] - a[1])
      .map(
        ([db, n]) =>
          `${db.replace(/^bench_/, '').replace(/_[0-9a-f]{8}$/, '')} ${(n / Math.max(1, acceptedPaced)).toFixed(2)}`,
      );
    console.log(`SQL statements per accepted bet, paced round, by database: ${per.join(', ')}`);
  }
  console.log(
    `SQL commits in bet engine + ledger: ${commits} for ${acceptedTotal} accepted bets (${figures.commitsPerBet.toFixed(3)} per bet)`,
  );
  return figures;
}

/** Creates the shape's databases, starts it, measures, stops it and drops them. */
async function run(
  start: (databases: ReadonlyMap<DownstreamName, BenchDatabase>, noopUrl: string) => Promise<Shape>,
  noopUrl: string,
): Promise<ShapeFigures> {
  const databases = new Map<DownstreamName, BenchDatabase>();
  try {
    for (const name of platformServices)
      databases.set(name, await createBenchDatabase(name.replace('-', '_')));
    const shape = await start(databases, noopUrl);
    try {
      return await measure(shape, databases);
    } finally {
      await shape.stop();
    }
  } finally {
    for (const db of databases.values()) await db.drop();
  }
}

const round1 = (value: number): number => Math.round(value * 10) / 10;
const round2 = (value: number): number => Math.round(value * 100) / 100;

/** The figures of one shape as results; the `judged` shape carries the targets, the other is reported. */
function resultsOf(figures: ShapeFigures, judged: boolean): BenchResult[] {
  const { baseline, baselinePaced, bets, betsPaced } = figures;
  const shape = figures.label;
  const target = (text: string): string => (judged ? text : 'reported');
  const baselinePerSecond = baseline.ok / baseline.seconds;
  const betsPerSecond = bets.ok / bets.seconds;
  const ratio = baselinePerSecond > 0 ? betsPerSecond / baselinePerSecond : 0;
  return [
    {
      name: `accepted bets/s through the gateway, ${CLIENTS} clients, ${shape}`,
      value: Math.round(betsPerSecond),
      unit: 'bets/s',
      baseline: Math.round(baselinePerSecond),
      ratio: round2(ratio),
      target: target('≥ 0.7×'),
      met: !judged || ratio >= 0.7,
    },
    {
      name: `p99 PlaceBet latency, paced ${CLIENTS} clients × ${PACED_RATE}/s, ${shape}`,
      value: round1(betsPaced.p99Ms),
      unit: 'ms',
      baseline: round1(baselinePaced.p99Ms),
      ratio: baselinePaced.p99Ms > 0 ? round2(betsPaced.p99Ms / baselinePaced.p99Ms) : 0,
      target: target('≤ 2× baseline'),
      met:
        !judged ||
        (baselinePaced.p99Ms > 0 &&
          betsPaced.p99Ms <= 2 * baselinePaced.p99Ms &&
          betsPaced.ok === betsPaced.offered),
    },
    {
      name: `p50 PlaceBet latency, paced ${CLIENTS} clients × ${PACED_RATE}/s, ${shape}`,
      value: round1(betsPaced.p50Ms),
      unit: 'ms',
      baseline: round1(baselinePaced.p50Ms),
      ratio: baselinePaced.p50Ms > 0 ? round2(betsPaced.p50Ms / baselinePaced.p50Ms) : 0,
      target: target('≤ 50 ms'),
      met: !judged || (betsPaced.p50Ms <= 50 && betsPaced.ok === betsPaced.offered),
    },
    {
      name: `p99 PlaceBet latency at saturation (closed loop, ${CLIENTS} in flight), ${shape}`,
      value: round1(bets.p99Ms),
      unit: 'ms',
      baseline: round1(baseline.p99Ms),
      ratio: baseline.p99Ms > 0 ? round2(bets.p99Ms / baseline.p99Ms) : 0,
      target: 'reported',
      met: true,
    },
    {
      name: `SQL commits per accepted bet (bet engine + ledger), closed loop ${CLIENTS} clients, ${shape}`,
      value: Math.round(figures.commitsPerBet * 1000) / 1000,
      unit: 'commits/bet',
      baseline: 0.1,
      ratio: round2(figures.commitsPerBet / 0.1),
      target: target('≤ 0.1'),
      met: !judged || figures.commitsPerBet <= 0.1,
    },
    {
      name: `SQL commits per accepted bet, paced ${CLIENTS} clients × ${PACED_RATE}/s, ${shape}`,
      value: Math.round(figures.pacedCommitsPerBet * 1000) / 1000,
      unit: 'commits/bet',
      baseline: 0.1,
      ratio: round2(figures.pacedCommitsPerBet / 0.1),
      target: 'reported',
      met: true,
    },
  ];
}

const noop = await startNoopBetEngine();
const results: BenchResult[] = [];
try {
  const oneProcess = await run(startOneProcess, noop.url);
  results.push(...resultsOf(oneProcess, true));
  if (SHAPES !== 'one-process' && ROUNDS === 'all') {
    const cluster = await run(startCluster, noop.url);
    results.push(...resultsOf(cluster, false));
  }
} finally {
  await noop.close();
}
if (ROUNDS === 'all') printResults('bets', results);
