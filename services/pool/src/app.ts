import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import { serviceUrl } from '@streambet/platform/runtime/platform-config';
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
import { createPredictionMirrorConsumer } from './integration-effects.js';
import { createLeaderboards } from './leaderboards.js';
import { poolMigrations } from './migrations/index.js';
import { poolPolicy } from './policy.js';
import { createProjections } from './projections.js';
import { createPoolInternalServiceImpl, createPoolServiceImpl } from './routes.js';
import { createPoolStore } from './store.js';
import { createTemplateTriggerConsumer } from './template-trigger.js';
import { createTemplateStore } from './templates.js';

/**
 * Builds the pool service: markets and their lifecycle (PoolService), the internal reads of the
 * bet engine and settlement (PoolInternalService), the integration, leaderboard and projection
 * (odds snapshots, display names) and template-trigger consumers and the auto-lock timer. `settings` defaults to the deployment's (see config.ts); tests pass theirs.
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
      const templates = createTemplateStore({ sql: ctx.sql, clock: ctx.clock, store });
      const leaderboards = createLeaderboards({ sql: ctx.sql, cache: ctx.cache });
      const projections = createProjections(ctx.sql);
      // LockMarket asks the bet engine to void late bets (for the counts in its answer), and
      // VoidResolvedMarket has settlement reverse the payouts before the void commits.
      const downstreams: Downstreams = {
        voidBetsAfter: betEngineVoider(
          ctx.client(BetEngineInternalService, serviceUrl(ctx.config, 'bet-engine')),
        ),
        reverseSettlement: settlementReverser(
          ctx.client(SettlementInternalService, serviceUrl(ctx.config, 'settlement')),
        ),
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
              templates,
            }),
          );
          router.service(PoolInternalService, createPoolInternalServiceImpl({ store }));
        },
        policy: poolPolicy,
        consumers: [
          createIntegrationConsumer(consumerDeps),
          createPredictionMirrorConsumer(consumerDeps),
          createTemplateTriggerConsumer({ templates, logger: ctx.logger }),
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
