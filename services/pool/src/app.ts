import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import {
  PoolService,
  PoolInternalService,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { BetEngineInternalService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { SettlementInternalService } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { createAutoLockTask } from './auto-lock.js';
import { defaultPoolSettings, type PoolConfig, type PoolSettings } from './config.js';
import {
  createIntegrationConsumer,
  createLeaderboardConsumer,
  createProjectionConsumer,
} from './consumers.js';
import { betEngineVoider, settlementReverser, type Downstreams } from './downstreams.js';
import { createLeaderboards } from './leaderboards.js';
import { poolMigrations } from './migrations/index.js';
import { poolPolicy } from './policy.js';
import { createProjections } from './projections.js';
import { createPoolInternalServiceImpl, createPoolServiceImpl } from './routes.js';
import { createPoolStore } from './store.js';

/**
 * Builds the pool service: markets and their lifecycle (PoolService), the internal reads of the
 * bet engine and settlement (PoolInternalService), the integration, leaderboard and projection
 * (odds snapshots, display names) consumers and the auto-lock timer. `settings` defaults to the deployment's (see config.ts); tests pass theirs.
 */
export function createPoolServiceDefinition(
  settings: PoolSettings = defaultPoolSettings,
): ServiceDefinition<PoolConfig> {
  return {
    name: 'pool',
    migrations: poolMigrations,
    create(ctx) {
      const store = createPoolStore({
        sql: ctx.sql,
        clock: ctx.clock,
        settings,
        onCommitted: () => ctx.outboxCommitted(),
      });
      const leaderboards = createLeaderboards({ sql: ctx.sql, cache: ctx.cache });
      const projections = createProjections(ctx.sql);
      // The calls to the bet engine and settlement are made only where the config names their
      // URLs. config.ts does not declare BET_ENGINE_SERVICE_URL / SETTLEMENT_SERVICE_URL for the
      // pool yet (adding them changes the README's generated variable table): until then LockMarket
      // answers voids_confirmed=false, and VoidResolvedMarket commits the void and settlement
      // reverses the payouts from MarketVoided.
      const urls = ctx.config as unknown as Readonly<Record<string, unknown>>;
      const betEngineUrl = urls.BET_ENGINE_SERVICE_URL;
      const settlementUrl = urls.SETTLEMENT_SERVICE_URL;
      const downstreams: Downstreams = {
        ...(typeof betEngineUrl === 'string'
          ? { voidBetsAfter: betEngineVoider(ctx.client(BetEngineInternalService, betEngineUrl)) }
          : {}),
        ...(typeof settlementUrl === 'string'
          ? {
              reverseSettlement: settlementReverser(
                ctx.client(SettlementInternalService, settlementUrl),
              ),
            }
          : {}),
      };
      const consumerDeps = {
        store,
        leaderboards,
        clock: ctx.clock,
        logger: ctx.logger,
        onCommitted: () => ctx.outboxCommitted(),
      };
      return {
        routes(router) {
          router.service(
            PoolService,
            createPoolServiceImpl({
              store,
              leaderboards,
              projections,
              clock: ctx.clock,
              downstreams,
            }),
          );
          router.service(PoolInternalService, createPoolInternalServiceImpl({ store }));
        },
        policy: poolPolicy,
        consumers: [
          createIntegrationConsumer(consumerDeps),
          createLeaderboardConsumer(consumerDeps),
          createProjectionConsumer({ projections }),
        ],
        tasks: [
          createAutoLockTask({
            store,
            clock: ctx.clock,
            logger: ctx.logger,
            intervalMs: settings.autoLockIntervalMs,
          }),
        ],
      };
    },
  };
}

/** The pool service as the platform runs it (embedded `npm start` and its own process). */
export const poolService: ServiceDefinition<PoolConfig> = createPoolServiceDefinition();
