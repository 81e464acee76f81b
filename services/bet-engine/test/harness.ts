/**
 * Test harness of the bet engine's int tests, per SQL target:
 * - the REAL user service pieces its hot path depends on — the ledger store (with its group
 *   commit and wallet events) behind LedgerInternalService, and UserInternalService
 *   (CheckEligibility) over the identity store — on their own database, served through the
 *   production interceptor stack (auth with real signed service tokens) on an in-memory transport;
 * - the bet engine (store, placement lane, odds, consumers) on its own database, its two services
 *   behind the same interceptor stack on another in-memory transport;
 * - a manual clock shared by both, a manual scheduler for the odds conflation, counters of ledger
 *   calls and of SQL commits on both databases.
 */
import type { DescMessage, MessageInitShape } from '@bufbuild/protobuf';
import type { Code } from '@connectrpc/connect';
import {
  ConnectError,
  createRouterTransport,
  type Client,
  type Interceptor,
} from '@connectrpc/connect';
import type {
  BetEngineInternalService,
  BetEngineService,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  MarketCreatedSchema,
  MarketOpenedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  TransferResultCode,
  type LedgerInternalService,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  AccountKind,
  TransferCode,
  TransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import type { UserRole } from '@streambet/platform/auth/caller';
import type { MemoryCache } from '@streambet/platform/cache/memory';
import type { Sql } from '@streambet/platform/sql/types';
import {
  manualClock,
  manualScheduler,
  type ManualClock,
  type ManualScheduler,
} from '@streambet/testkit/clock';
import { asService, asUser, type CallOptions } from '@streambet/testkit/rpc';
import type { SqlTarget, SqlTestDatabase } from '@streambet/testkit/sql';
import { createTestTokens, type TestTokens } from '@streambet/testkit/tokens';
import { nextUlid as newUlid } from '@streambet/testkit/ids';
import { createUserTestService, insertTestUser, type IdentityStore } from '@streambet/user/testing';
import type { BetEngineSettings } from '../src/config.js';
import type { LedgerPort, MarketSource } from '../src/downstreams.js';
import type { Markets } from '../src/markets.js';
import type { OddsService } from '../src/odds.js';
import type { BatchTiming, PlacementEngine } from '../src/placement.js';
import type { BetRecord } from '../src/proto-codec.js';
import type { BetEngineStore } from '../src/store/index.js';
import type { Exchange } from '../src/exchange/index.js';
import { createBetEngineTestService, testBetEngineSettings } from '../src/testing.js';

export {
  manualClock,
  manualScheduler,
  testEpochMs as startMs,
  type ManualClock,
  type ManualScheduler,
} from '@streambet/testkit/clock';
export type { CallOptions } from '@streambet/testkit/rpc';
export { newUlid };

/** Counts committed transactions of a database (group-commit figures). */
export interface CommitCounter {
  count: number;
}

function countingSql(sql: Sql, counter: CommitCounter): Sql {
  return {
    dialect: sql.dialect,
    query: (text, params, options) => sql.query(text, params, options),
    async transaction(fn, options) {
      const result = await sql.transaction(fn, options);
      counter.count += 1;
      return result;
    },
    ping: () => sql.ping(),
    close: () => sql.close(),
  };
}

let marketCounter = 0;

/** Options of a market created through MarketCreated + MarketOpened. */
export interface MarketOptions {
  readonly ownerUserId?: string;
  readonly outcomes?: number;
  readonly currency?: string;
  readonly kind?: MarketKind;
  readonly minStakeMinor?: bigint;
  readonly maxStakePerBetMinor?: bigint;
  readonly maxStakePerUserMinor?: bigint;
  readonly commissionBps?: number;
  readonly bettingWindowMs?: number;
  /** Leave the market in DRAFT. */
  readonly draft?: boolean;
}

/** A market the harness created. */
export interface TestMarket {
  readonly marketId: string;
  readonly channelId: string;
  readonly ownerUserId: string;
  readonly outcomeIds: readonly string[];
  readonly bettingClosesAtMs: number;
  /** The market's version after the last event the harness sent. */
  version: number;
}

export interface Harness {
  readonly clock: ManualClock;
  readonly scheduler: ManualScheduler;
  readonly cache: MemoryCache;
  readonly store: BetEngineStore;
  readonly markets: Markets;
  readonly odds: OddsService;
  readonly placement: PlacementEngine;
  /** The EXCHANGE lane (orders, books, holds). */
  readonly exchange: Exchange;
  /** Every placement batch's timing, as the engine reported it (what app.ts puts on /metrics). */
  readonly batches: BatchTiming[];
  /** The ledger port the bet engine uses (tests drive crash steps through it). */
  readonly ledgerPort: LedgerPort;
  readonly betEngine: Client<typeof BetEngineService>;
  readonly internal: Client<typeof BetEngineInternalService>;
  /** The real ledger, as any service sees it. */
  readonly ledger: Client<typeof LedgerInternalService>;
  readonly identity: IdentityStore;
  readonly userSql: Sql;
  readonly betSql: Sql;
  readonly tokens: TestTokens;
  /** Calls per user-service method (e.g. `SubmitTransfers`), made by the bet engine. */
  readonly userCalls: Map<string, number>;
  readonly betCommits: CommitCounter;
  readonly userCommits: CommitCounter;
  as(userId: string, role?: UserRole): Promise<CallOptions>;
  service(name?: string): Promise<CallOptions>;
  /** Registers a user with a PTS wallet holding `fundedMinor` (0: wallet without funds; null: no wallet). */
  addUser(fundedMinor?: bigint | null): Promise<string>;
  /** Registers `count` users at once (one ledger call for the wallets, one for the grants). */
  addUsers(count: number, fundedMinor: bigint): Promise<string[]>;
  /** Creates (and opens) a market through the pool's events. */
  addMarket(options?: MarketOptions): Promise<TestMarket>;
  /** Delivers a market event to the market consumer. */
  marketEvent<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Promise<void>;
  /** Delivers a settlement event through the inbox; false when it was a duplicate. */
  settlementEvent<D extends DescMessage>(
    eventId: string,
    schema: D,
    init: MessageInitShape<D>,
  ): Promise<boolean>;
  /** Available balance of a ledger account. */
  available(accountId: string): Promise<bigint>;
  /** Pending (held) debits of a ledger account. */
  pending(accountId: string): Promise<bigint>;
  /** The bet engine's outbox rows of one key, oldest first. */
  outbox(key: string, topic?: string): Promise<Array<{ type: string; payload: Uint8Array }>>;
  /** Builds a second bet engine on the same databases (a restart after a crash). */
  restart(): Promise<Harness>;
  dispose(): Promise<void>;
}

/** Settings of the tests: the deployment's, reconciliation of any age. */
export const testSettings: BetEngineSettings = testBetEngineSettings;

interface Shared {
  readonly userDb: SqlTestDatabase | undefined;
  readonly betDb: SqlTestDatabase;
  readonly tokens: TestTokens;
  readonly clock: ManualClock;
  readonly userCalls: Map<string, number>;
  readonly betCommits: CommitCounter;
  readonly userCommits: CommitCounter;
  readonly userSql: Sql;
  readonly betSql: Sql;
  readonly identity: IdentityStore;
  readonly ledger: Client<typeof LedgerInternalService>;
  readonly engineUserTransport: ReturnType<typeof createRouterTransport>;
  readonly serviceHeaders: CallOptions;
}

/** Starts the user-service side (ledger + eligibility) and migrates both databases. */
async function createShared(target: SqlTarget): Promise<Shared> {
  // Embedded: one PGlite, a schema per service (as `npm start` runs them); PostgreSQL: a database each.
  const betDb = await target.create();
  const userDb = betDb.embedded === undefined ? await target.create() : undefined;
  const rawUserSql = userDb?.sql ?? (await betDb.embedded!.forSchema('user_service'));
  const userCommits: CommitCounter = { count: 0 };
  const betCommits: CommitCounter = { count: 0 };
  const userSql = countingSql(rawUserSql, userCommits);
  const betSql = countingSql(betDb.sql, betCommits);
  const clock = manualClock();
  const tokens = await createTestTokens();
  const user = await createUserTestService({ sql: userSql, clock, tokens });
  const userCalls = new Map<string, number>();
  const countCalls: Interceptor = (next) => (req) => {
    userCalls.set(req.method.name, (userCalls.get(req.method.name) ?? 0) + 1);
    return next(req);
  };
  const serviceHeaders = await asService(tokens, 'bet-engine');
  // Tests reach the user service directly; the bet engine through its own transport, which
  // carries its service credential and counts its calls.
  const bearer: Interceptor = (next) => (req) => {
    req.header.set('authorization', serviceHeaders.headers.authorization);
    return next(req);
  };
  const engineUserTransport = createRouterTransport(user.routes, {
    transport: { interceptors: [bearer] },
    router: { interceptors: [countCalls, ...user.interceptors] },
  });
  const ledger = user.ledger;
  const identity = user.identity;
  const house = await ledger.createAccounts(
    { accounts: [{ accountId: 'house:PTS', kind: AccountKind.HOUSE, currency: 'PTS' }] },
    serviceHeaders,
  );
  if (house.results[0]?.account === undefined) throw new Error('house account not created');
  return {
    userDb,
    betDb,
    tokens,
    clock,
    userCalls,
    betCommits,
    userCommits,
    userSql,
    betSql,
    identity,
    ledger,
    engineUserTransport,
    serviceHeaders,
  };
}

/** A fresh pair of databases, the real ledger and eligibility, and a bet engine. */
export async function createHarness(
  target: SqlTarget,
  settings: BetEngineSettings = testSettings,
  options: HarnessOptions = {},
): Promise<Harness> {
  return buildEngine(await createShared(target), settings, options);
}

/** Options of {@link createHarness}. */
export interface HarnessOptions {
  readonly marketSource?: MarketSource;
  /**
   * While `holdsLost` is true, SubmitTransfers of holds reaches the ledger (the holds commit)
   * but the answer is lost, as after a network failure or a deadline.
   */
  readonly ledgerFault?: { holdsLost: boolean };
  /** Awaited before each stake reservation reaches the user service (to hold a batch in flight). */
  readonly holdGate?: (bets: readonly BetRecord[]) => Promise<void>;
}

async function buildEngine(
  shared: Shared,
  settings: BetEngineSettings,
  options: HarnessOptions,
): Promise<Harness> {
  const { tokens, clock, ledger, serviceHeaders } = shared;
  const scheduler = manualScheduler(clock);
  const fault = options.ledgerFault;
  const engine = await createBetEngineTestService({
    sql: shared.betSql,
    clock,
    tokens,
    user: shared.engineUserTransport,
    scheduler,
    settings,
    ...(options.marketSource === undefined ? {} : { marketSource: options.marketSource }),
    ...(fault === undefined && options.holdGate === undefined
      ? {}
      : {
          wrapLedger: (realPort: LedgerPort): LedgerPort => ({
            ...realPort,
            async hold(bets) {
              await options.holdGate?.(bets);
              const outcomes = await realPort.hold(bets);
              if (fault?.holdsLost === true) throw new Error('deadline exceeded (simulated)');
              return outcomes;
            },
          }),
        }),
  });
  const { cache, store, markets, odds, placement, batches, exchange } = engine;

  async function balance(accountId: string) {
    const result = await ledger.getAccountBalances({ accountIds: [accountId] }, serviceHeaders);
    const found = result.balances[0];
    if (found === undefined) throw new Error(`no ledger account ${accountId}`);
    return found;
  }

  const harness: Harness = {
    clock,
    scheduler,
    cache,
    store,
    markets,
    odds,
    placement,
    exchange,
    batches,
    ledgerPort: engine.ledgerPort,
    betEngine: engine.betEngine,
    internal: engine.internal,
    ledger,
    identity: shared.identity,
    userSql: shared.userSql,
    betSql: shared.betSql,
    tokens,
    userCalls: shared.userCalls,
    betCommits: shared.betCommits,
    userCommits: shared.userCommits,
    as: (userId, role = 'viewer') => asUser(tokens, userId, role),
    service: (name = 'settlement') => asService(tokens, name),
    async addUser(fundedMinor = 10_000n) {
      const userId = newUlid();
      await insertTestUser(shared.userSql, userId, clock.now());
      if (fundedMinor === null) return userId;
      const wallet = `wallet:${userId}:PTS`;
      await ledger.createAccounts(
        {
          accounts: [
            { accountId: wallet, kind: AccountKind.USER_WALLET, currency: 'PTS', ownerId: userId },
          ],
        },
        serviceHeaders,
      );
      if (fundedMinor > 0n) {
        const granted = await ledger.submitTransfers(
          {
            commands: [
              {
                transferId: `grant:${userId}`,
                kind: TransferKind.SINGLE_PHASE,
                debitAccountId: 'house:PTS',
                creditAccountId: wallet,
                amountMinor: fundedMinor,
                currency: 'PTS',
                code: TransferCode.PLAY_MONEY_GRANT,
              },
            ],
          },
          serviceHeaders,
        );
        if (granted.results[0]?.code !== TransferResultCode.OK) {
          throw new Error(`grant failed: ${granted.results[0]?.detail ?? '?'}`);
        }
      }
      return userId;
    },
    async addUsers(count, fundedMinor) {
      const userIds: string[] = [];
      for (let i = 0; i < count; i += 1) userIds.push(await harness.addUser(null));
      const created = await ledger.createAccounts(
        {
          accounts: userIds.map((userId) => ({
            accountId: `wallet:${userId}:PTS`,
            kind: AccountKind.USER_WALLET,
            currency: 'PTS',
            ownerId: userId,
          })),
        },
        serviceHeaders,
      );
      if (created.results.some((r) => r.account === undefined))
        throw new Error('wallets not created');
      const granted = await ledger.submitTransfers(
        {
          commands: userIds.map((userId) => ({
            transferId: `grant:${userId}`,
            kind: TransferKind.SINGLE_PHASE,
            debitAccountId: 'house:PTS',
            creditAccountId: `wallet:${userId}:PTS`,
            amountMinor: fundedMinor,
            currency: 'PTS',
            code: TransferCode.PLAY_MONEY_GRANT,
          })),
        },
        serviceHeaders,
      );
      if (granted.results.some((r) => r.code !== TransferResultCode.OK))
        throw new Error('grants failed');
      return userIds;
    },
    async addMarket(options = {}) {
      marketCounter += 1;
      const marketId = newUlid();
      const channelId = `CH${marketCounter}`;
      const ownerUserId = options.ownerUserId ?? newUlid();
      const outcomeIds = Array.from(
        { length: options.outcomes ?? 2 },
        (_, i) => `${marketId}-o${i}`,
      );
      await harness.marketEvent(MarketCreatedSchema, {
        marketId,
        channelId,
        channelOwnerUserId: ownerUserId,
        title: `Market ${marketCounter}`,
        outcomes: outcomeIds.map((outcomeId, i) => ({ outcomeId, title: `Outcome ${i}` })),
        currency: options.currency ?? 'PTS',
        kind: options.kind ?? MarketKind.POOL,
        stakeLimits: {
          minStakeMinor: options.minStakeMinor ?? 10n,
          maxStakePerBetMinor: options.maxStakePerBetMinor ?? 5_000n,
          maxStakePerUserMinor: options.maxStakePerUserMinor ?? 8_000n,
        },
        bettingWindowSeconds: 120,
        commissionBps: options.commissionBps ?? 500,
        version: 1n,
      });
      const bettingClosesAtMs = clock.now() + (options.bettingWindowMs ?? 120_000);
      const market: TestMarket = {
        marketId,
        channelId,
        ownerUserId,
        outcomeIds,
        bettingClosesAtMs,
        version: 1,
      };
      if (options.draft !== true) {
        await harness.marketEvent(MarketOpenedSchema, {
          marketId,
          channelId,
          openedAtMs: BigInt(clock.now()),
          bettingClosesAtMs: BigInt(bettingClosesAtMs),
          version: 2n,
        });
        market.version = 2;
      }
      return market;
    },
    marketEvent: (schema, init) => engine.marketEvent(schema, init),
    settlementEvent: (eventId, schema, init) => engine.settlementEvent(eventId, schema, init),
    async available(accountId) {
      return (await balance(accountId)).availableMinor;
    },
    async pending(accountId) {
      return (await balance(accountId)).debitsPendingMinor;
    },
    async outbox(key, topic) {
      const result = await shared.betSql.query<{ type: string; payload: Uint8Array }>(
        `SELECT type, payload FROM outbox WHERE key = $1 AND ($2::text IS NULL OR topic = $2) ORDER BY seq`,
        [key, topic ?? null],
      );
      return result.rows;
    },
    restart: () => buildEngine(shared, settings, options),
    async dispose() {
      await engine.drain();
      await shared.userDb?.dispose();
      await shared.betDb.dispose();
    },
  };
  return harness;
}

/** The Connect code, raw message and BetRejection detail (if any) of a failing call. */
export async function failure(
  call: Promise<unknown>,
): Promise<{ code: Code; message: string; error: ConnectError }> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    return { code: connectError.code, message: connectError.rawMessage, error: connectError };
  }
  throw new Error('call unexpectedly succeeded');
}

let keyCounter = 0;

/** A fresh idempotency key. */
export function newKey(): string {
  keyCounter += 1;
  return `key-${keyCounter}-${Math.random().toString(36).slice(2, 8)}`;
}
