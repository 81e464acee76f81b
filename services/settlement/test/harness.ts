/**
 * Test harness of the settlement int tests: one fresh database per harness holding the platform's
 * and the settlement service's tables AND the user service's real ledger (its migrations and
 * store, served by its real LedgerInternalService implementation on an in-memory Connect
 * transport, so money moves exactly as in production). The bet engine's ResolveMarketBets is an
 * in-test implementation over an in-memory list (the oracle test runs the real bet engine); the settlement RPCs run behind the production interceptor stack with real signed
 * tokens. Market events are delivered through the real inbox (handleOnce).
 */
import type { DescMessage, MessageInitShape } from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
  type Client,
} from '@connectrpc/connect';
import {
  BetEngineInternalService,
  MarketResolutionKind,
  ResolutionRefundReason,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { settlePool } from '@streambet/parimutuel/settlement';
import {
  MarketCanceledSchema,
  MarketCreatedSchema,
  MarketResolvedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type {
  SettlementInternalService,
  SettlementService,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import type { UserRole } from '@streambet/platform/auth/caller';
import type { Sql } from '@streambet/platform/sql/types';
import {
  manualClock,
  manualScheduler,
  type ManualClock,
  type ManualScheduler,
} from '@streambet/testkit/clock';
import { ulidOf } from '@streambet/testkit/ids';
import { asService, asUser } from '@streambet/testkit/rpc';
import type { SqlTarget, SqlTestDatabase } from '@streambet/testkit/sql';
import { createTestTokens, type TestTokens } from '@streambet/testkit/tokens';
import {
  AccountKind,
  TransferCode,
  TransferKind,
  TransferResultCode,
  command as ledgerCommand,
  createLedgerTestService,
  type LedgerStore,
  type TransferCommand,
} from '@streambet/user/testing';
import {
  betSourceFromClient,
  ledgerFromClient,
  type SettlementLedger,
} from '../src/downstreams.js';
import { createSettlementRunner, type RunnerDeps, type SettlementRunner } from '../src/runner.js';
import type { SettlementStore } from '../src/store.js';
import { createSettlementTestService } from '../src/testing.js';

export { manualClock, type ManualClock } from '@streambet/testkit/clock';
/** A deterministic ULID-shaped id from a number (ascending with n). */
export const ulid = ulidOf;

/** The real currency of every test. */
export const CUR = 'BRL';

/** A bet in the fake bet engine. */
export interface TestBet {
  readonly betId: string;
  readonly userId: string;
  readonly outcomeId: string;
  readonly stakeMinor: bigint;
}

/** The in-test bet engine: ResolveMarketBets over in-memory bets. */
export interface FakeBetEngine {
  readonly bets: Map<string, TestBet[]>;
  /** Each market's outcomes (createMarket fills it). */
  readonly outcomes: Map<string, readonly string[]>;
  /** While true, ResolveMarketBets answers UNAVAILABLE (bets pending). */
  unavailable: boolean;
  /** How many ResolveMarketBets calls were made. */
  calls: number;
}

/**
 * Serves BetEngineInternalService.ResolveMarketBets from `engine`: the resolution of the market's
 * in-memory bets by packages/parimutuel (the real bet engine computes it in SQL; its own tests and
 * the oracle test check that), users in user id order after after_user_id, batch_size per message.
 */
function serveFakeBetEngine(engine: FakeBetEngine) {
  return createRouterTransport((router) => {
    router.service(BetEngineInternalService, {
      async *resolveMarketBets(request) {
        engine.calls += 1;
        if (engine.unavailable) {
          throw new ConnectError('bets are still pending a ledger confirmation', Code.Unavailable);
        }
        const bets = engine.bets.get(request.marketId) ?? [];
        const outcomeIds = engine.outcomes.get(request.marketId) ?? [
          ...new Set(bets.map((b) => b.outcomeId)),
        ];
        const result = settlePool(bets, {
          outcomeIds,
          winningOutcomeId: request.canceled ? null : request.winningOutcomeId,
          commissionBps: request.commissionBps,
          streamerShareBps: request.streamerShareBps,
        });
        const counts = new Map<string, bigint>();
        for (const bet of bets) counts.set(bet.userId, (counts.get(bet.userId) ?? 0n) + 1n);
        const f = result.figures;
        const resolution = {
          marketId: request.marketId,
          settlementId: request.settlementId,
          currency: CUR,
          kind:
            result.kind === 'REFUND' ? MarketResolutionKind.REFUND : MarketResolutionKind.PAYOUT,
          refundReason:
            result.refundReason === null
              ? ResolutionRefundReason.UNSPECIFIED
              : ResolutionRefundReason[result.refundReason],
          winningOutcomeId: result.winningOutcomeId ?? '',
          commissionBps: request.commissionBps,
          streamerShareBps: request.streamerShareBps,
          totalStakedMinor: f.totalStakedMinor,
          winningStakedMinor: f.winningStakedMinor,
          losingStakedMinor: f.losingStakedMinor,
          commissionMinor: f.commissionMinor,
          streamerShareMinor: f.streamerShareMinor,
          rakeMinor: f.rakeMinor,
          distributableMinor: f.distributableMinor,
          breakageMinor: f.breakageMinor,
          payoutTotalMinor: f.payoutTotalMinor,
          betCount: BigInt(f.betCount),
          userCount: BigInt(result.users.length),
          winnerCount: BigInt(f.winnerCount),
        };
        const users = [...result.users]
          .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
          .filter((u) => u.userId > request.afterUserId)
          .map((u) => ({
            userId: u.userId,
            betCount: counts.get(u.userId) ?? 0n,
            stakedMinor: u.stakeMinor,
            payoutMinor: u.payoutMinor,
          }));
        const size = request.batchSize === 0 ? 5000 : request.batchSize;
        for (let start = 0; start < users.length || start === 0; start += size) {
          await Promise.resolve();
          yield { resolution, users: users.slice(start, start + size) };
          if (users.length === 0) break;
        }
      },
    });
  });
}

/**
 * The ledger as one that predates market-level resolution: ResolveMarket and CreditMarketPayouts
 * answer UNIMPLEMENTED, so a run resolves holds page by page (ResolveMarketHolds) and pays through
 * SubmitTransfers (the older path, kept for such ledgers and runs started on it).
 */
export function withoutMarketResolution(ledger: SettlementLedger): SettlementLedger {
  const unimplemented = (): Promise<never> =>
    Promise.reject(new ConnectError('not implemented by this ledger', Code.Unimplemented));
  return {
    ...ledger,
    resolveMarket: unimplemented,
    creditMarketPayouts: unimplemented,
  };
}

/** Ledger command with defaults (in {@link CUR}). */
export function command(
  partial: Partial<TransferCommand> & Pick<TransferCommand, 'transferId'>,
): TransferCommand {
  return ledgerCommand({ currency: CUR, memo: '', ...partial });
}

/** Submits and requires every command to commit. */
export async function submitOk(ledger: LedgerStore, commands: TransferCommand[]): Promise<void> {
  for (let start = 0; start < commands.length; start += 1000) {
    const results = await ledger.submitTransfers(commands.slice(start, start + 1000));
    const bad = results.filter((r) => r.code !== TransferResultCode.OK);
    if (bad.length > 0)
      throw new Error(
        `setup transfer failed: ${JSON.stringify(bad[0], (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
      );
  }
}

/** A market with its outcomes, set up in the ledger (escrow) and announced (MarketCreated). */
export interface TestMarket {
  readonly marketId: string;
  readonly channelId: string;
  readonly outcomeIds: readonly string[];
  readonly streamerUserId: string;
  readonly commissionBps: number;
  readonly streamerShareBps: number;
}

export interface Harness {
  readonly db: SqlTestDatabase;
  readonly sql: Sql;
  readonly clock: ManualClock;
  /** The runners' lease heartbeat timers: they fire only on `runDue()`, due by `clock`. */
  readonly scheduler: ManualScheduler;
  readonly ledger: LedgerStore;
  readonly store: SettlementStore;
  readonly runner: SettlementRunner;
  /** The default runner's dependencies (its real ledger client, store, scheduler, …). */
  readonly runnerDeps: RunnerDeps;
  readonly engine: FakeBetEngine;
  readonly settlement: Client<typeof SettlementService>;
  readonly internal: Client<typeof SettlementInternalService>;
  readonly tokens: TestTokens;
  as(userId: string, role: UserRole): Promise<{ headers: { authorization: string } }>;
  service(name?: string): Promise<{ headers: { authorization: string } }>;
  /** A runner with other options (e.g. a hook that stops it after k batches). */
  runnerWith(options: Partial<RunnerDeps>): SettlementRunner;
  /** Delivers a market event through the inbox; false when it was a duplicate. */
  marketEvent<D extends DescMessage>(
    eventId: string,
    schema: D,
    init: MessageInitShape<D>,
  ): Promise<boolean>;
  /** Creates wallets funded with `fundMinor` each. */
  fundUsers(userIds: readonly string[], fundMinor: bigint): Promise<void>;
  /** Creates a market (escrow, MarketCreated). */
  createMarket(n: number, options?: Partial<TestMarket>): Promise<TestMarket>;
  /** Places bets: holds wallet → escrow (`bet:<id>:stake`) and lists them in the bet engine. */
  placeBets(market: TestMarket, bets: readonly TestBet[]): Promise<void>;
  /** Delivers MarketResolved. */
  resolve(market: TestMarket, winningOutcomeId: string, eventId?: string): Promise<boolean>;
  /** Delivers MarketCanceled. */
  cancel(market: TestMarket, eventId?: string): Promise<boolean>;
  /** Posted balance (credits − debits posted) of an account; 0 if missing. */
  balance(accountId: string): Promise<bigint>;
  /** Available balance of a wallet. */
  available(accountId: string): Promise<bigint>;
  /** Ledger-wide: Σ posted and Σ pending per currency are zero; returns the totals. */
  expectBalanced(): Promise<void>;
  dispose(): Promise<void>;
}

/** Builds a harness on a fresh database of `target`. */
export async function createHarness(
  target: SqlTarget,
  options: Partial<RunnerDeps> = {},
): Promise<Harness> {
  const db = await target.create();
  return createHarnessOn(db, options);
}

/** Builds a harness on an open database (the crash test reopens one). */
export async function createHarnessOn(
  db: SqlTestDatabase,
  options: Partial<RunnerDeps> = {},
  clock: ManualClock = manualClock(),
  wrapLedger: (ledger: SettlementLedger) => SettlementLedger = (ledger) => ledger,
): Promise<Harness> {
  const sql = db.sql;
  // Both services' tables share the test database: each migration run tolerates the other's ids.
  const migrateOptions = { onUnknownApplied: 'warn' } as const;
  const tokens = await createTestTokens();
  const engine: FakeBetEngine = {
    bets: new Map(),
    outcomes: new Map(),
    unavailable: false,
    calls: 0,
  };
  const scheduler = manualScheduler(clock);
  const ledgerService = await createLedgerTestService({
    sql,
    clock,
    realCurrency: CUR,
    migrate: migrateOptions,
  });
  const ledger = ledgerService.store;
  const service = await createSettlementTestService({
    sql,
    clock,
    tokens,
    bets: betSourceFromClient(createClient(BetEngineInternalService, serveFakeBetEngine(engine))),
    ledger: wrapLedger(
      ledgerFromClient(createClient(LedgerInternalService, ledgerService.transport)),
    ),
    runner: { scheduler, ...options },
    migrate: migrateOptions,
  });
  const { store, runner, runnerDeps: baseDeps } = service;
  let eventCounter = 0;
  await ledger.createAccounts([
    { accountId: `house:${CUR}`, kind: AccountKind.HOUSE, currency: CUR, ownerId: '' },
    { accountId: `rake:${CUR}`, kind: AccountKind.RAKE, currency: CUR, ownerId: '' },
  ]);

  const harness: Harness = {
    db,
    sql,
    clock,
    scheduler,
    ledger,
    store,
    runner,
    runnerDeps: baseDeps,
    engine,
    settlement: service.settlement,
    internal: service.internal,
    tokens,
    as: (userId, role) => asUser(tokens, userId, role),
    service: (name = 'pool') => asService(tokens, name),
    runnerWith: (more) => createSettlementRunner({ ...baseDeps, ...more }),
    marketEvent: (eventId, schema, init) => service.marketEvent(eventId, schema, init),
    async fundUsers(userIds, fundMinor) {
      await ledger.createAccounts(
        userIds.map((userId) => ({
          accountId: `wallet:${userId}:${CUR}`,
          kind: AccountKind.USER_WALLET,
          currency: CUR,
          ownerId: userId,
        })),
      );
      await submitOk(
        ledger,
        userIds.map((userId) =>
          command({
            transferId: `fund:${userId}`,
            debitAccountId: `house:${CUR}`,
            creditAccountId: `wallet:${userId}:${CUR}`,
            amountMinor: fundMinor,
            memo: 'test funding',
          }),
        ),
      );
    },
    async createMarket(n, overrides = {}) {
      const market: TestMarket = {
        marketId: ulid(5_000_000 + n),
        channelId: `channel-${n}`,
        outcomeIds: [ulid(6_000_000 + n * 10), ulid(6_000_000 + n * 10 + 1)],
        streamerUserId: ulid(7_000_000 + n),
        commissionBps: 500,
        streamerShareBps: 3000,
        ...overrides,
      };
      engine.outcomes.set(market.marketId, market.outcomeIds);
      await ledger.createAccounts([
        {
          accountId: `market:${market.marketId}:escrow`,
          kind: AccountKind.MARKET_ESCROW,
          currency: CUR,
          ownerId: market.marketId,
        },
      ]);
      eventCounter += 1;
      await harness.marketEvent(`created-${eventCounter}`, MarketCreatedSchema, {
        marketId: market.marketId,
        channelId: market.channelId,
        channelOwnerUserId: market.streamerUserId,
        title: 'Will she win?',
        outcomes: market.outcomeIds.map((outcomeId, index) => ({ outcomeId, title: `o${index}` })),
        currency: CUR,
        kind: MarketKind.POOL,
        commissionBps: market.commissionBps,
        streamerRevenueShareBps: market.streamerShareBps,
        version: 1n,
      });
      return market;
    },
    async placeBets(market, bets) {
      await submitOk(
        ledger,
        bets.map((bet) =>
          command({
            transferId: `bet:${bet.betId}:stake`,
            kind: TransferKind.PENDING,
            debitAccountId: `wallet:${bet.userId}:${CUR}`,
            creditAccountId: `market:${market.marketId}:escrow`,
            amountMinor: bet.stakeMinor,
            code: TransferCode.BET_STAKE,
            marketId: market.marketId,
            betId: bet.betId,
          }),
        ),
      );
      engine.bets.set(market.marketId, [...(engine.bets.get(market.marketId) ?? []), ...bets]);
    },
    resolve(market, winningOutcomeId, eventId) {
      eventCounter += 1;
      return harness.marketEvent(eventId ?? `resolved-${eventCounter}`, MarketResolvedSchema, {
        marketId: market.marketId,
        channelId: market.channelId,
        winningOutcomeId,
        kind: MarketKind.POOL,
        currency: CUR,
        commissionBps: market.commissionBps,
        streamerRevenueShareBps: market.streamerShareBps,
        streamerUserId: market.streamerUserId,
        resolvedAtMs: BigInt(clock.now()),
        version: 4n,
      });
    },
    cancel(market, eventId) {
      eventCounter += 1;
      return harness.marketEvent(eventId ?? `canceled-${eventCounter}`, MarketCanceledSchema, {
        marketId: market.marketId,
        channelId: market.channelId,
        canceledAtMs: BigInt(clock.now()),
        currency: CUR,
        version: 3n,
      });
    },
    async balance(accountId) {
      const [account] = await ledger.lookupAccounts([accountId]);
      if (account === undefined) return 0n;
      return account.balance.creditsPosted - account.balance.debitsPosted;
    },
    async available(accountId) {
      const [account] = await ledger.lookupAccounts([accountId]);
      if (account === undefined) return 0n;
      const b = account.balance;
      return b.creditsPosted - b.debitsPosted - b.debitsPending;
    },
    async expectBalanced() {
      const totals = await ledger.getLedgerTotals('');
      for (const total of totals) {
        if (total.totals.debitsPosted !== total.totals.creditsPosted) {
          throw new Error(`posted unbalanced in ${total.currency}`);
        }
        if (total.totals.debitsPending !== total.totals.creditsPending) {
          throw new Error(`pending unbalanced in ${total.currency}`);
        }
      }
    },
    dispose: () => db.dispose(),
  };
  return harness;
}
