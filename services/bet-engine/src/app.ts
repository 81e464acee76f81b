import { randomBytes } from 'node:crypto';
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import { serviceUrl } from '@streambet/platform/runtime/platform-config';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import {
  BetEngineService,
  BetEngineInternalService,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { PoolInternalService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  defaultBetEngineSettings,
  type BetEngineConfig,
  type BetEngineSettings,
} from './config.js';
import { createMarketConsumer, createSettlementConsumer } from './consumers.js';
import { ledgerPort, poolMarketSource } from './downstreams.js';
import { createMarkets } from './markets.js';
import { betEngineMigrations } from './migrations/index.js';
import { createOddsService, type OddsService } from './odds.js';
import { createPlacementEngine, type BatchTiming, type PlacementEngine } from './placement.js';
import { betEnginePolicy } from './policy.js';
import { createBetEngineInternalServiceImpl, createBetEngineServiceImpl } from './routes.js';
import { createBetEngineStore } from './store/index.js';
import { createExchange } from './exchange/index.js';

/**
 * Builds the bet-engine service for POOL (parimutuel) markets: group-committed placement with
 * stake holds in the user service's ledger, live odds (cache + conflated OddsChanged), the market
 * projection and settlement results from events, and the internal reads and voids of the pool and
 * settlement services. EXCHANGE markets are refused (FAILED_PRECONDITION) until the exchange lands.
 */
export function createBetEngineServiceDefinition(
  settings: BetEngineSettings = defaultBetEngineSettings,
): ServiceDefinition<BetEngineConfig> {
  return {
    name: 'bet-engine',
    migrations: betEngineMigrations,
    create(ctx) {
      const store = createBetEngineStore({
        sql: ctx.sql,
        onCommitted: () => ctx.outboxCommitted(),
      });
      const ledger = ledgerPort(
        ctx.client(LedgerInternalService, serviceUrl(ctx.config, 'user')),
        ctx.client(UserInternalService, serviceUrl(ctx.config, 'user')),
      );
      const markets = createMarkets({
        store,
        ledger,
        source: poolMarketSource(ctx.client(PoolInternalService, serviceUrl(ctx.config, 'pool'))),
        clock: ctx.clock,
        logger: ctx.logger,
      });
      const odds = createOddsService({
        store,
        cache: ctx.cache,
        clock: ctx.clock,
        logger: ctx.logger,
        minIntervalMs: settings.oddsMinIntervalMs,
      });
      const placement = createPlacementEngine({
        store,
        markets,
        ledger,
        odds,
        clock: ctx.clock,
        logger: ctx.logger,
        settings: { ...settings, maxBatchesInFlight: ctx.config.BET_ENGINE_BATCHES_IN_FLIGHT },
        newBetId: (nowMs) => encodeUlid(nowMs, new Uint8Array(randomBytes(10))),
        onBatch: placementTimingMetrics(ctx.registry),
      });
      const exchange = createExchange({
        sql: ctx.sql,
        ledger: ctx.client(LedgerInternalService, serviceUrl(ctx.config, 'user')),
        users: ctx.client(UserInternalService, serviceUrl(ctx.config, 'user')),
        markets,
        clock: ctx.clock,
        logger: ctx.logger,
        holdTimeoutSeconds: settings.holdTimeoutSeconds,
        maxBatchSize: settings.maxBatchSize,
        // Book snapshots ride in the lane's commits: wake the outbox relay after them.
        onBookChanged: () => ctx.outboxCommitted(),
      });
      const routeDeps = { store, markets, placement, odds, clock: ctx.clock, exchange };
      registerPlacementMetrics(ctx.registry, placement, odds);
      const consumerDeps = {
        store,
        markets,
        placement,
        odds,
        clock: ctx.clock,
        logger: ctx.logger,
        onCommitted: () => ctx.outboxCommitted(),
        exchange: exchange.exchange,
      };
      let reconcileTimer: NodeJS.Timeout | undefined;
      let reconciling: Promise<unknown> = Promise.resolve();
      return {
        routes(router) {
          router.service(BetEngineService, createBetEngineServiceImpl(routeDeps));
          router.service(BetEngineInternalService, createBetEngineInternalServiceImpl(routeDeps));
        },
        policy: betEnginePolicy,
        consumers: [createMarketConsumer(consumerDeps), createSettlementConsumer(consumerDeps)],
        tasks: [
          {
            // Finishes bets left PENDING by a crash or a ledger outage (at start, then periodically).
            name: 'reconcile-pending-bets',
            start() {
              let busy = false;
              const run = (): void => {
                if (busy) return;
                busy = true;
                reconciling = placement
                  .reconcile()
                  .catch((error: unknown) =>
                    ctx.logger.error({ err: error }, 'reconciliation failed'),
                  )
                  .finally(() => {
                    busy = false;
                  });
              };
              run();
              reconcileTimer = setInterval(run, settings.reconcileIntervalMs);
              reconcileTimer.unref();
            },
            async stop() {
              clearInterval(reconcileTimer);
              await reconciling;
            },
          },
        ],
        async stop() {
          await placement.drain();
          await exchange.exchange.drain();
          await odds.flush();
        },
      };
    },
  };
}

/** Group-commit figures on /metrics: batches, placements, ledger hold calls, OddsChanged published. */
function registerPlacementMetrics(
  registry: Registry,
  placement: PlacementEngine,
  odds: OddsService,
): void {
  const figures: Array<[string, string, () => number]> = [
    ['bet_engine_batches_total', 'Group-commit batches run', () => placement.stats.batches],
    [
      'bet_engine_placements_total',
      'Placements processed in batches',
      () => placement.stats.placements,
    ],
    [
      'bet_engine_ledger_hold_calls_total',
      'SubmitTransfers calls for holds',
      () => placement.stats.ledgerHoldCalls,
    ],
    ['bet_engine_largest_batch', 'Largest batch so far', () => placement.stats.largestBatch],
    [
      'bet_engine_queued_placements',
      'Placements waiting for the next batch',
      () => placement.queuedPlacements(),
    ],
    ['bet_engine_odds_published_total', 'OddsChanged events appended', () => odds.publishedCount()],
  ];
  for (const [name, help, read] of figures) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  }
}

/**
 * Where placement latency goes, on /metrics: batch sizes, how long the oldest bet of each batch
 * queued, and each step's time (intents commit, stake reservation, finalize commit, odds). A
 * bet's latency is about its queue wait plus the sum of its batch's steps.
 */
function placementTimingMetrics(registry: Registry): (timing: BatchTiming) => void {
  const size = new Histogram({
    name: 'bet_engine_batch_size',
    help: 'Placements per group-commit batch',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [registry],
  });
  const queueWait = new Histogram({
    name: 'bet_engine_batch_queue_wait_seconds',
    help: "How long each batch's oldest placement waited in the queue",
    buckets: latencyBuckets,
    registers: [registry],
  });
  const step = new Histogram({
    name: 'bet_engine_batch_step_seconds',
    help: 'Time of each step of a placement batch',
    labelNames: ['step'],
    buckets: latencyBuckets,
    registers: [registry],
  });
  return (timing) => {
    size.observe(timing.size);
    queueWait.observe(timing.queueWaitMs / 1000);
    for (const [name, ms] of Object.entries(timing.stepsMs))
      step.observe({ step: name }, ms / 1000);
  };
}

/** Seconds, from a fast commit to a stalled batch. */
const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The bet-engine service as the platform runs it (embedded `npm start` and its own process). */
export const betEngineService: ServiceDefinition<BetEngineConfig> =
  createBetEngineServiceDefinition();
