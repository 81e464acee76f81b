/**
 * The bet engine for tests: its real store, market projection, odds, placement lane and consumer
 * handlers on a given database, BetEngineService and BetEngineInternalService behind the
 * production interceptor stack on an in-memory Connect transport, over the user service the
 * caller supplies (e.g. `@streambet/user/testing`'s handlers on a transport). Nothing here opens
 * a port, reads the environment or starts a timer of its own: conflation runs on `scheduler`.
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import {
  createClient,
  createRouterTransport,
  type Client,
  type Transport,
} from '@connectrpc/connect';
import {
  BetEngineInternalService,
  BetEngineService,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import { createMemoryCache, type MemoryCache } from '@streambet/platform/cache/memory';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import { handleOnce } from '@streambet/platform/outbox/inbox';
import { platformMigrations } from '@streambet/platform/outbox/index';
import type { Clock } from '@streambet/platform/rpc/clock';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { testLogger, testServerInterceptors } from '@streambet/testkit/rpc';
import type { TestTokens } from '@streambet/testkit/tokens';
import { defaultBetEngineSettings, type BetEngineSettings } from './config.js';
import { createMarketHandler, createSettlementHandler } from './consumers.js';
import { ledgerPort, type LedgerPort, type MarketSource } from './downstreams.js';
import { createMarkets, type Markets } from './markets.js';
import { betEngineMigrations } from './migrations/index.js';
import { createOddsService, type OddsService, type Scheduler } from './odds.js';
import { createPlacementEngine, type BatchTiming, type PlacementEngine } from './placement.js';
import { betEnginePolicy } from './policy.js';
import { createBetEngineInternalServiceImpl, createBetEngineServiceImpl } from './routes.js';
import { createBetEngineStore, type BetEngineStore } from './store/index.js';
import { createExchange, type Exchange } from './exchange/index.js';

/** Settings of tests: the deployment's, reconciliation of any age. */
export const testBetEngineSettings: BetEngineSettings = {
  ...defaultBetEngineSettings,
  reconcileMinAgeMs: 0,
};

/** Inputs of {@link createBetEngineTestService}. */
export interface BetEngineTestServiceOptions {
  /** The bet engine's database; migrated here (platform + bet-engine migrations, idempotent). */
  readonly sql: Sql;
  readonly clock: Clock;
  /** Keys the interceptors' auth verifies callers' tokens with. */
  readonly tokens: TestTokens;
  /**
   * The user service as the bet engine calls it: LedgerInternalService and UserInternalService,
   * with the bet engine's service credential attached.
   */
  readonly user: Transport;
  /** Arms the odds conflation timers (e.g. testkit's manual scheduler). */
  readonly scheduler: Scheduler;
  readonly settings?: BetEngineSettings;
  /** Where a market missing from the projection is fetched (the pool); default none. */
  readonly marketSource?: MarketSource;
  /** Wraps the ledger port the engine uses (fault injection); default as is. */
  readonly wrapLedger?: (port: LedgerPort) => LedgerPort;
  /** The EXCHANGE lane's writer lease, ms (default the deployment's). */
  readonly exchangeLeaseMs?: number;
}

/** The bet engine's real pieces on one database, and clients of its RPCs. */
export interface BetEngineTestService {
  readonly cache: MemoryCache;
  readonly store: BetEngineStore;
  readonly markets: Markets;
  readonly odds: OddsService;
  readonly placement: PlacementEngine;
  /** The EXCHANGE lane (orders, books, holds). */
  readonly exchange: Exchange;
  /** Every placement batch's timing, as the engine reported it (what app.ts puts on /metrics). */
  readonly batches: BatchTiming[];
  /** The ledger port the engine uses (after `wrapLedger`). */
  readonly ledgerPort: LedgerPort;
  readonly transport: Transport;
  readonly betEngine: Client<typeof BetEngineService>;
  readonly internal: Client<typeof BetEngineInternalService>;
  /** Delivers a market event to the market consumer. */
  marketEvent<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Promise<void>;
  /** Delivers a settlement event through the inbox; false when it was a duplicate. */
  settlementEvent<D extends DescMessage>(
    eventId: string,
    schema: D,
    init: MessageInitShape<D>,
  ): Promise<boolean>;
  /** Lets queued placements finish and flushes pending odds. */
  drain(): Promise<void>;
}

/** Migrates `sql` and serves the bet engine's real handlers on an in-memory transport. */
export async function createBetEngineTestService(
  options: BetEngineTestServiceOptions,
): Promise<BetEngineTestService> {
  const { sql, clock, tokens, scheduler } = options;
  const settings = options.settings ?? testBetEngineSettings;
  await migrate(sql, 'bet-engine', [...platformMigrations, ...betEngineMigrations]);
  const logger = testLogger('bet-engine');
  const cache = createMemoryCache({ now: () => clock.now() });
  const store = createBetEngineStore({ sql });
  const realPort = ledgerPort(
    createClient(LedgerInternalService, options.user),
    createClient(UserInternalService, options.user),
  );
  const port = options.wrapLedger?.(realPort) ?? realPort;
  const markets = createMarkets({
    store,
    ledger: port,
    ...(options.marketSource === undefined ? {} : { source: options.marketSource }),
    clock,
    logger,
  });
  const odds = createOddsService({
    store,
    cache,
    clock,
    logger,
    scheduler,
    minIntervalMs: settings.oddsMinIntervalMs,
  });
  let betIds = 0;
  const batches: BatchTiming[] = [];
  const placement = createPlacementEngine({
    store,
    markets,
    ledger: port,
    odds,
    clock,
    logger,
    settings,
    // Ids that sort by the clock, then by creation within one engine.
    newBetId: (nowMs) => {
      betIds += 1;
      const random = new Uint8Array(10);
      crypto.getRandomValues(random);
      random[0] = 0;
      random[1] = (betIds >> 8) & 0xff;
      random[2] = betIds & 0xff;
      return encodeUlid(nowMs, random);
    },
    onBatch: (timing) => batches.push(timing),
  });
  const exchange = createExchange({
    sql,
    ledger: createClient(LedgerInternalService, options.user),
    users: createClient(UserInternalService, options.user),
    scheduler,
    markets,
    clock,
    logger,
    holdTimeoutSeconds: settings.holdTimeoutSeconds,
    maxBatchSize: settings.maxBatchSize,
    ...(options.exchangeLeaseMs === undefined ? {} : { leaseMs: options.exchangeLeaseMs }),
  });
  const routeDeps = { store, markets, placement, odds, clock, exchange };
  const transport = createRouterTransport(
    (router) => {
      router.service(BetEngineService, createBetEngineServiceImpl(routeDeps));
      router.service(BetEngineInternalService, createBetEngineInternalServiceImpl(routeDeps));
    },
    {
      router: {
        interceptors: testServerInterceptors(tokens, betEnginePolicy, 'bet-engine', logger),
      },
    },
  );
  const marketHandler = createMarketHandler({
    store,
    markets,
    placement,
    odds,
    clock,
    logger,
    exchange: exchange.exchange,
  });
  const settlementHandler = createSettlementHandler({ store, logger });
  return {
    cache,
    store,
    markets,
    odds,
    placement,
    exchange,
    batches,
    ledgerPort: port,
    transport,
    betEngine: createClient(BetEngineService, transport),
    internal: createClient(BetEngineInternalService, transport),
    async marketEvent(schema, init) {
      await marketHandler(schema.typeName, toBinary(schema, create(schema, init)));
    },
    settlementEvent(eventId, schema, init) {
      const payload = toBinary(schema, create(schema, init));
      return handleOnce(sql, 'bet-engine.settlement', { id: eventId }, (tx) =>
        settlementHandler(schema.typeName, payload, tx),
      );
    },
    async drain() {
      await placement.drain();
      await exchange.exchange.drain();
      await odds.flush();
    },
  };
}
