/**
 * The settlement service for tests and benches: its real store, runner and market consumer on a
 * given database, SettlementService and SettlementInternalService behind the production
 * interceptor stack on an in-memory Connect transport, over the bet source and ledger the caller
 * supplies (e.g. the user service's real ledger from `@streambet/user/testing`). Nothing here
 * opens a port or reads the environment.
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import {
  createClient,
  createRouterTransport,
  type Client,
  type Transport,
} from '@connectrpc/connect';
import {
  SettlementInternalService,
  SettlementService,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import type { Logger } from '@streambet/platform/log/logger';
import { handleOnce } from '@streambet/platform/outbox/inbox';
import { platformMigrations } from '@streambet/platform/outbox/index';
import type { Clock } from '@streambet/platform/rpc/clock';
import { migrate, type MigrateOptions } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { testLogger, testServerInterceptors } from '@streambet/testkit/rpc';
import type { TestTokens } from '@streambet/testkit/tokens';
import { createMarketHandler } from './consumers.js';
import type { BetSource, SettlementLedger } from './downstreams.js';
import { settlementMigrations } from './migrations/index.js';
import { settlementPolicy } from './policy.js';
import { createSettlementInternalServiceImpl, createSettlementServiceImpl } from './routes.js';
import { createSettlementRunner, type RunnerDeps, type SettlementRunner } from './runner.js';
import { createSettlementStore, type SettlementStore } from './store.js';

export { createMarketHandler } from './consumers.js';
export {
  betSourceFromClient,
  ledgerFromClient,
  type BetSource,
  type SettlementLedger,
} from './downstreams.js';
export { createSettlementRunner, type RunnerDeps, type SettlementRunner } from './runner.js';
export { createSettlementStore, type SettlementStore } from './store.js';

/** Applies the platform's and the settlement service's migrations to `sql`. */
export async function migrateSettlement(sql: Sql, options?: MigrateOptions): Promise<void> {
  await migrate(sql, 'settlement', [...platformMigrations, ...settlementMigrations], options);
}

/** Inputs of {@link createSettlementTestService}. */
export interface SettlementTestServiceOptions {
  /** Migrated here (see {@link migrateSettlement}, with `migrate` as its options). */
  readonly sql: Sql;
  readonly clock: Clock;
  /** Keys the interceptors' auth verifies callers' tokens with. */
  readonly tokens: TestTokens;
  /** Where the runner reads a market's bets (the bet engine's ListMarketBets). */
  readonly bets: BetSource;
  /** Where the runner moves money (the user service's ledger). */
  readonly ledger: SettlementLedger;
  /** Other runner dependencies (hooks, batch sizes). */
  readonly runner?: Partial<RunnerDeps>;
  readonly migrate?: MigrateOptions;
  readonly logger?: Logger;
}

/** The settlement service's real pieces on one database, and clients of its RPCs. */
export interface SettlementTestService {
  readonly store: SettlementStore;
  readonly runner: SettlementRunner;
  /** The runner's dependencies, for building another runner with some replaced. */
  readonly runnerDeps: RunnerDeps;
  readonly transport: Transport;
  readonly settlement: Client<typeof SettlementService>;
  readonly internal: Client<typeof SettlementInternalService>;
  /** Delivers a market event to the market consumer through the inbox; false when a duplicate. */
  marketEvent<D extends DescMessage>(
    eventId: string,
    schema: D,
    init: MessageInitShape<D>,
  ): Promise<boolean>;
}

/** Migrates `sql` and serves the settlement service's real handlers on an in-memory transport. */
export async function createSettlementTestService(
  options: SettlementTestServiceOptions,
): Promise<SettlementTestService> {
  const { sql, clock, tokens } = options;
  await migrateSettlement(sql, options.migrate);
  const logger = options.logger ?? testLogger('settlement');
  const store = createSettlementStore({ sql, clock });
  const runnerDeps: RunnerDeps = {
    store,
    clock,
    bets: options.bets,
    ledger: options.ledger,
    logger,
    ...options.runner,
  };
  const runner = createSettlementRunner(runnerDeps);
  const transport = createRouterTransport(
    (router) => {
      router.service(SettlementService, createSettlementServiceImpl({ store, runner }));
      router.service(
        SettlementInternalService,
        createSettlementInternalServiceImpl({ store, runner }),
      );
    },
    {
      router: {
        interceptors: testServerInterceptors(tokens, settlementPolicy, 'settlement', logger),
      },
    },
  );
  const handler = createMarketHandler({ store, clock, logger });
  return {
    store,
    runner,
    runnerDeps,
    transport,
    settlement: createClient(SettlementService, transport),
    internal: createClient(SettlementInternalService, transport),
    marketEvent(eventId, schema, init) {
      const payload = toBinary(schema, create(schema, init));
      return handleOnce(sql, 'settlement.market', { id: eventId }, async (tx) => {
        await handler(schema.typeName, payload, tx);
      });
    },
  };
}
