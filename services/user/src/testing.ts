/**
 * The user service for tests and benches of other packages (and its own tests' shared builders):
 * its real stores on a given database, migrated, and its real internal handlers (the ledger's
 * LedgerInternalService, identity's UserInternalService) on an in-memory Connect transport behind
 * the production interceptor stack. Nothing here opens a port or reads the environment; the
 * service's other modules stay internal.
 */
import {
  createClient,
  createRouterTransport,
  type Client,
  type ConnectRouter,
  type Interceptor,
  type Transport,
} from '@connectrpc/connect';
import { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import type { AccessPolicy } from '@streambet/platform/auth/auth-interceptor';
import { newEventId } from '@streambet/platform/outbox/event-id';
import { platformMigrations } from '@streambet/platform/outbox/index';
import { appendToOutbox } from '@streambet/platform/outbox/outbox';
import type { Clock } from '@streambet/platform/rpc/clock';
import { migrate, type MigrateOptions } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { ulidOf } from '@streambet/testkit/ids';
import { testServerInterceptors } from '@streambet/testkit/rpc';
import type { TestTokens } from '@streambet/testkit/tokens';
import { createUserInternalService } from './identity/internal-routes.js';
import { identityMigrations } from './identity/migrations/index.js';
import { userInternalServicePolicy } from './identity/policy.js';
import { createIdentityStore, type IdentityStore } from './identity/store/index.js';
import {
  AccountKind,
  TransferCode,
  TransferKind,
  type NewAccount,
  type TransferCommand,
} from './ledger/domain/index.js';
import { ledgerMigrations } from './ledger/migrations/index.js';
import { ledgerPolicy } from './ledger/policy.js';
import { createLedgerInternalService } from './ledger/routes.js';
import {
  createLedgerStore,
  withGroupCommit,
  type LedgerStore,
  type LedgerStoreOptions,
} from './ledger/store/index.js';
import { createStakeReservation } from './reservation/index.js';
import { walletEvents } from './ledger/wallet-events.js';

export {
  AccountKind,
  PendingStatus,
  TransferCode,
  TransferKind,
  TransferResultCode,
  type Account,
  type NewAccount,
  type TransferCommand,
  type TransferOutcome,
} from './ledger/domain/index.js';
export {
  createLedgerStore,
  withGroupCommit,
  type LedgerStore,
  type LedgerStoreOptions,
} from './ledger/store/index.js';
export type { IdentityStore } from './identity/store/index.js';
export { signKycWebhook } from './identity/kyc-webhook.js';

/** The real currency of tests unless told otherwise. */
export const testRealCurrency = 'BRL';

/** Applies the ledger's migrations (only) to `sql`: for databases shared with another service. */
export async function migrateLedger(sql: Sql, options?: MigrateOptions): Promise<void> {
  await migrate(sql, 'user', ledgerMigrations, options);
}

/** Inputs of {@link createLedgerTestService}. */
export interface LedgerTestServiceOptions {
  /** Migrated here with the ledger's migrations only (see {@link migrateLedger}). */
  readonly sql: Sql;
  readonly clock: Clock;
  readonly realCurrency?: string;
  readonly migrate?: MigrateOptions;
}

/** The ledger alone: its store and LedgerInternalService on an in-memory transport, no auth. */
export interface LedgerTestService {
  readonly store: LedgerStore;
  readonly transport: Transport;
  readonly ledger: Client<typeof LedgerInternalService>;
}

/** The real ledger on `sql` (no outbox events), served without auth for in-process callers. */
export async function createLedgerTestService(
  options: LedgerTestServiceOptions,
): Promise<LedgerTestService> {
  await migrateLedger(options.sql, options.migrate);
  const store = createLedgerStore(options.sql, {
    clock: options.clock,
    currencies: { real: options.realCurrency ?? testRealCurrency },
  });
  const transport = createRouterTransport((router) =>
    router.service(LedgerInternalService, createLedgerInternalService({ store })),
  );
  return { store, transport, ledger: createClient(LedgerInternalService, transport) };
}

/** Inputs of {@link createUserTestService}. */
export interface UserTestServiceOptions {
  /** The user service's database; migrated here (platform, identity and ledger migrations). */
  readonly sql: Sql;
  readonly clock: Clock;
  /** Keys the interceptors' auth verifies callers' tokens with. */
  readonly tokens: TestTokens;
  readonly realCurrency?: string;
  /** Lifetime deposits above which KYC is required; default 200,000 minor units. */
  readonly kycThresholdMinor?: bigint;
}

/** The user service's internal side as production wires it. */
export interface UserTestService {
  readonly identity: IdentityStore;
  /** The ledger store with group commit, appending wallet.* events to the outbox as it commits. */
  readonly ledgerStore: LedgerStore;
  /** Registers LedgerInternalService and UserInternalService (for a transport of the caller's). */
  routes(router: ConnectRouter): void;
  /** The access policy of those two services. */
  readonly policy: AccessPolicy;
  /** The production server interceptors (auth against `tokens`) enforcing {@link policy}. */
  readonly interceptors: Interceptor[];
  /** {@link routes} behind {@link interceptors}, in memory. */
  readonly transport: Transport;
  readonly ledger: Client<typeof LedgerInternalService>;
  readonly internal: Client<typeof UserInternalService>;
  /** Inserts an active adult viewer `userId` (no wallet) straight into the identity store. */
  insertUser(userId: string): Promise<void>;
}

/** Migrates `sql` and builds the user service's real internal handlers on it. */
export async function createUserTestService(
  options: UserTestServiceOptions,
): Promise<UserTestService> {
  const { sql, clock, tokens } = options;
  const realCurrency = options.realCurrency ?? testRealCurrency;
  await migrate(sql, 'user', [...platformMigrations, ...identityMigrations, ...ledgerMigrations]);
  const identity = createIdentityStore(sql, { clock });
  const ledgerOptions: LedgerStoreOptions = {
    clock,
    currencies: { real: realCurrency },
    onCommitted: async (tx, effects) => {
      const { ids, events } = walletEvents(effects, newEventId);
      await appendToOutbox(tx, events, { clock: () => clock.now(), newId: () => ids.shift()! });
    },
  };
  const ledgerStore = withGroupCommit(createLedgerStore(sql, ledgerOptions));
  const settings = { realCurrency, kycThresholdMinor: options.kycThresholdMinor ?? 200_000n };
  const routes = (router: ConnectRouter): void => {
    router.service(LedgerInternalService, createLedgerInternalService({ store: ledgerStore }));
    router.service(UserInternalService, {
      ...createUserInternalService({ sql, store: identity, clock, settings }),
      ...createStakeReservation({ sql, identity, clock, settings, ledgerOptions }),
    });
  };
  const policy: AccessPolicy = { ...ledgerPolicy, ...userInternalServicePolicy };
  const interceptors = testServerInterceptors(tokens, policy, 'user');
  const transport = createRouterTransport(routes, { router: { interceptors } });
  return {
    identity,
    ledgerStore,
    routes,
    policy,
    interceptors,
    transport,
    ledger: createClient(LedgerInternalService, transport),
    internal: createClient(UserInternalService, transport),
    insertUser: (userId) => insertTestUser(sql, userId, clock.now()),
  };
}

/**
 * Inserts an active adult viewer `userId` (no wallet), created at `nowMs`, into the user service's
 * database `db` (already migrated, e.g. by the running service) through its identity store.
 */
export async function insertTestUser(db: Sql, userId: string, nowMs: number): Promise<void> {
  const store = createIdentityStore(db, { clock: { now: () => nowMs } });
  const inserted = await store.insertUser(db, {
    userId,
    email: `${userId.toLowerCase()}@example.test`,
    displayName: `u${userId.slice(-12)}`,
    passwordHash: 'not-a-hash',
    dateOfBirth: { year: 1990, month: 1, day: 1 },
    roles: ['viewer'],
    status: 'active',
    frozenReason: '',
    kycStatus: 'NOT_STARTED',
    createdAtMs: nowMs,
    coolOffUntilMs: 0,
    selfExclusion: null,
    lifetimeDepositsMinor: 0n,
  });
  if (inserted !== 'inserted') throw new Error(`test user ${userId} not inserted: ${inserted}`);
}

/** The wallet of user `ulidOf(n)` in `currency`. */
export function wallet(n: number, currency = testRealCurrency): NewAccount {
  const ownerId = ulidOf(n);
  return {
    accountId: `wallet:${ownerId}:${currency}`,
    kind: AccountKind.USER_WALLET,
    currency,
    ownerId,
  };
}

/** The escrow of market `ulidOf(1_000_000 + n)` in `currency`. */
export function escrow(n: number, currency = testRealCurrency): NewAccount {
  const ownerId = ulidOf(1_000_000 + n);
  return {
    accountId: `market:${ownerId}:escrow`,
    kind: AccountKind.MARKET_ESCROW,
    currency,
    ownerId,
  };
}

/** The house account of `currency`. */
export function house(currency = testRealCurrency): NewAccount {
  return { accountId: `house:${currency}`, kind: AccountKind.HOUSE, currency, ownerId: '' };
}

/** A transfer command with every field defaulted (single-phase ADJUSTMENT in the real currency). */
export function command(
  partial: Partial<TransferCommand> & Pick<TransferCommand, 'transferId'>,
): TransferCommand {
  return {
    kind: TransferKind.SINGLE_PHASE,
    debitAccountId: '',
    creditAccountId: '',
    amountMinor: 0n,
    currency: testRealCurrency,
    pendingId: '',
    timeoutSeconds: 0n,
    linked: false,
    code: TransferCode.ADJUSTMENT,
    marketId: '',
    betId: '',
    paymentId: '',
    settlementId: '',
    memo: 'test',
    ...partial,
  };
}
