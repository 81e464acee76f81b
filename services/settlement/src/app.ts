import { Counter } from 'prom-client';
import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import { serviceUrl } from '@streambet/platform/runtime/platform-config';
import { BetEngineInternalService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  PoolInternalService,
  PoolService,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  SettlementService,
  SettlementInternalService,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import type { SettlementConfig } from './config.js';
import { createMarketConsumer } from './consumers.js';
import { randomBytes } from 'node:crypto';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import {
  betSourceFromClient,
  finishedMarketsFromClient,
  ledgerFromClient,
  termsFromClient,
} from './downstreams.js';
import { settlementMigrations } from './migrations/index.js';
import { settlementPolicy } from './policy.js';
import { createSettlementInternalServiceImpl, createSettlementServiceImpl } from './routes.js';
import { createSettlementRunner } from './runner.js';
import { createSettlementStore } from './store.js';
import { createMissingRunSweeper, createSweeperTask } from './sweeper.js';
import { createSettlementTask } from './task.js';

/**
 * The settlement service: records a run per resolved or canceled POOL market from the pool's
 * `market` events, runs it in the background (bets from the bet engine, money through the user
 * service's ledger, resumable and idempotent by derived transfer ids), serves the results
 * (SettlementService) and reverses a completed settlement when an admin voids the market
 * (SettlementInternalService).
 */
export const settlementService: ServiceDefinition<SettlementConfig> = {
  name: 'settlement',
  migrations: settlementMigrations,
  create(ctx) {
    const store = createSettlementStore({
      sql: ctx.sql,
      clock: ctx.clock,
      onCommitted: () => ctx.outboxCommitted(),
    });
    const leasesLost = new Counter({
      name: 'settlement_leases_lost_total',
      help: 'Settlement attempts that found their lease taken over and stopped without writing',
      registers: [ctx.registry],
    });
    const takeovers = new Counter({
      name: 'settlement_lease_takeovers_total',
      help: 'Settlement runs taken over from a runner whose lease expired (crashed or stalled)',
      registers: [ctx.registry],
    });
    const terms = termsFromClient(ctx.client(PoolInternalService, serviceUrl(ctx.config, 'pool')));
    const runner = createSettlementRunner({
      store,
      clock: ctx.clock,
      leaseMs: ctx.config.SETTLEMENT_LEASE_MS,
      onLeaseLost: () => leasesLost.inc(),
      onTakeover: () => takeovers.inc(),
      bets: betSourceFromClient(
        ctx.client(BetEngineInternalService, serviceUrl(ctx.config, 'bet-engine')),
      ),
      ledger: ledgerFromClient(ctx.client(LedgerInternalService, serviceUrl(ctx.config, 'user'))),
      terms,
      logger: ctx.logger,
    });
    const task = createSettlementTask({
      store,
      runner,
      logger: ctx.logger,
      intervalMs: ctx.config.SETTLEMENT_POLL_MS,
    });
    const sweptRuns = new Counter({
      name: 'settlement_runs_started_by_sweeper_total',
      help: 'Settlement runs the missing-run sweeper recorded for finished markets whose event never arrived',
      registers: [ctx.registry],
    });
    const sweeper = createSweeperTask({
      logger: ctx.logger,
      intervalMs: ctx.config.SETTLEMENT_SWEEP_INTERVAL_MS,
      sweeper: createMissingRunSweeper({
        store,
        sql: ctx.sql,
        markets: finishedMarketsFromClient(ctx.client(PoolService, serviceUrl(ctx.config, 'pool'))),
        terms,
        clock: ctx.clock,
        logger: ctx.logger,
        newSettlementId: () => encodeUlid(ctx.clock.now(), new Uint8Array(randomBytes(10))),
        lookbackMs: ctx.config.SETTLEMENT_SWEEP_LOOKBACK_HOURS * 3_600_000,
        graceMs: ctx.config.SETTLEMENT_SWEEP_GRACE_MS,
        onRunRecorded: () => {
          sweptRuns.inc();
          task.wake();
        },
      }),
    });
    return {
      routes(router) {
        router.service(SettlementService, createSettlementServiceImpl({ store, runner }));
        router.service(
          SettlementInternalService,
          createSettlementInternalServiceImpl({ store, runner }),
        );
      },
      policy: settlementPolicy,
      consumers: [
        createMarketConsumer({
          store,
          clock: ctx.clock,
          logger: ctx.logger,
          onRunRecorded: () => task.wake(),
        }),
      ],
      tasks: [task, sweeper],
    };
  },
};
