/**
 * Test harness of the identity/KYC/limits int tests: a fresh database per target with the
 * platform's and the identity migrations, the UserService and UserInternalService behind the
 * production interceptor stack (auth included) on an in-memory Connect transport, a manual clock,
 * and helpers to register users and mint service credentials.
 */
import {
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
  type Client,
} from '@connectrpc/connect';
import type { JSONWebKeySet, JWK } from 'jose';
import { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { UserService, type TokenPair } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import type { User } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { authInterceptor } from '@streambet/platform/auth/auth-interceptor';
import {
  createServiceTokenIssuer,
  createServiceTokenVerifier,
  createUserTokenVerifier,
  generateSigningKeyPair,
  serviceKeyId,
} from '@streambet/platform/auth/tokens';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import type { TokenBucketSpec } from '@streambet/platform/cache/types';
import { createLogger } from '@streambet/platform/log/logger';
import { createMetricsRegistry } from '@streambet/platform/obs/metrics';
import { platformMigrations } from '@streambet/platform/outbox/index';
import { createServerInterceptors } from '@streambet/platform/rpc/interceptors';
import { migrate } from '@streambet/platform/sql/migrate';
import type { SqlTarget, SqlTestDatabase } from '@streambet/testkit/sql';
import { createIdentityStore, type IdentityStore } from '../../src/identity/store/index.js';
import { createFakeKycProvider, type FakeKycProvider } from '../../src/identity/kyc-provider.js';
import { createKycWebhookHandler } from '../../src/identity/kyc-webhook.js';
import { TransferCode } from '../../src/ledger/domain/types.js';
import { createLedgerStore, type LedgerStore } from '../../src/ledger/store/index.js';
import { identityMigrations } from '../../src/identity/migrations/index.js';
import { ledgerMigrations } from '../../src/ledger/migrations/index.js';
import { createWalletOpener, type WalletOpener } from '../../src/ledger/wallet-opening.js';
import { createWalletService } from '../../src/ledger/wallet-routes.js';
import { createPasswordHasher, testScryptCost } from '../../src/identity/password-hasher.js';
import {
  createPaymentEventHandler,
  createSettlementEventHandler,
} from '../../src/identity/payment-events.js';
import { createTokenIssuer, type TokenIssuer } from '../../src/identity/token-issuer.js';
import {
  createEligibilityChecker,
  type EligibilityChecker,
} from '../../src/identity/eligibility.js';
import { createUserInternalService } from '../../src/identity/internal-routes.js';
import { userInternalServicePolicy, userServicePolicy } from '../../src/identity/policy.js';
import {
  applyDueLimitChanges,
  createUserService,
  type UserServiceSettings,
} from '../../src/identity/routes.js';
import { manualClock as testkitManualClock, type ManualClock } from '@streambet/testkit/clock';

export const issuer = 'https://user.streambet.test';
export const audience = 'streambet-api';
const webhookSecret = 'whsec_test_0123456789';
/** 2026-11-20T12:00:00Z: every test starts here. */
export const startMs = Date.UTC(2026, 10, 20, 12, 0, 0);

export type { ManualClock } from '@streambet/testkit/clock';

/** A manual clock at {@link startMs} unless told otherwise. */
function manualClock(start = startMs): ManualClock {
  return testkitManualClock(start);
}

const settings: UserServiceSettings = {
  realCurrency: 'BRL',
  kycThresholdMinor: 200_000n,
  refreshTokenTtlSeconds: 30 * 24 * 3600,
  deviceIdHashKey: 'device-key-test',
};

export interface Harness {
  readonly db: SqlTestDatabase;
  readonly clock: ManualClock;
  readonly store: IdentityStore;
  readonly tokens: TokenIssuer;
  readonly kyc: FakeKycProvider;
  readonly users: Client<typeof UserService>;
  readonly internal: Client<typeof UserInternalService>;
  readonly eligibility: EligibilityChecker;
  readonly webhook: ReturnType<typeof createKycWebhookHandler>;
  readonly applyPaymentEvent: ReturnType<typeof createPaymentEventHandler>;
  readonly applySettlementEvent: ReturnType<typeof createSettlementEventHandler>;
  readonly sweepLimits: () => Promise<number>;
  /** With `withLedger`: the ledger store and the wallet opener. */
  readonly ledger?: LedgerStore;
  readonly walletOpener?: WalletOpener;
  /** Registers a user (adult unless a date of birth is given) and returns it with its tokens. */
  register(
    name: string,
    options?: { year?: number; month?: number; day?: number },
  ): Promise<{ user: User; tokens: TokenPair }>;
  /** Logs a registered user in again (new access token at the clock's now). */
  login(name: string): Promise<TokenPair>;
  /** Makes a registered user an admin (out of band, as operators do) and returns fresh admin tokens. */
  makeAdmin(name: string): Promise<{ user: User; tokens: TokenPair }>;
  /** A bearer credential of the named service. */
  service(name: string): Promise<{ headers: { authorization: string } }>;
  dispose(): Promise<void>;
}

/** Call options with the access token of `tokens`. */
export function as(tokens: TokenPair | string): { headers: { authorization: string } } {
  return {
    headers: {
      authorization: `Bearer ${typeof tokens === 'string' ? tokens : tokens.accessToken}`,
    },
  };
}

/** The Connect code and message of a failing call. */
export async function failure(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    return { code: connectError.code, message: connectError.rawMessage };
  }
  throw new Error('call unexpectedly succeeded');
}

export const password = 'correct horse battery';

/** Options of {@link createHarness}. */
export interface HarnessOptions {
  /** Passed to createUserService (the ledger's wallet-opening hook in production). */
  readonly onUserRegistered?: Parameters<typeof createUserService>[0]['onUserRegistered'];
  /**
   * Serve the wallet RPCs from a real ledger on the same database and open wallets after
   * Register, as app.ts does (signup PTS grant: `signupGrantPtsMinor`, default 0).
   */
  readonly withLedger?: { readonly signupGrantPtsMinor?: bigint };
  /** Per-IP buckets of Register and Login, on an in-process cache (manual clock). */
  readonly ipLimits?: { readonly register: TokenBucketSpec; readonly login: TokenBucketSpec };
}

export async function createHarness(
  target: SqlTarget,
  options: HarnessOptions = {},
): Promise<Harness> {
  const db = await target.create();
  await migrate(db.sql, 'user', [
    ...platformMigrations,
    ...identityMigrations,
    ...(options.withLedger === undefined ? [] : ledgerMigrations),
  ]);
  const clock = manualClock();
  const ledger =
    options.withLedger === undefined
      ? undefined
      : createLedgerStore(db.sql, { clock, currencies: { real: settings.realCurrency } });
  const walletOpener =
    ledger === undefined
      ? undefined
      : createWalletOpener({
          sql: db.sql,
          ledger,
          realCurrency: settings.realCurrency,
          signupGrantPtsMinor: options.withLedger?.signupGrantPtsMinor ?? 0n,
          nowMs: () => clock.now(),
        });
  const keys = await generateSigningKeyPair('user-key-1');
  // A key per calling service, bound to its name as in production, made on first use.
  const servicePrivateKeys = new Map<string, Promise<JWK>>();
  let servicePublicJwks: JSONWebKeySet = { keys: [] };
  const servicePrivateKey = (name: string): Promise<JWK> => {
    let key = servicePrivateKeys.get(name);
    if (key === undefined) {
      key = generateSigningKeyPair(serviceKeyId(name)).then((pair) => {
        servicePublicJwks = { keys: [...servicePublicJwks.keys, pair.publicJwk] };
        return pair.privateJwk;
      });
      servicePrivateKeys.set(name, key);
    }
    return key;
  };
  const tokens = createTokenIssuer({ signingKey: keys.privateJwk, issuer, audience, clock });
  const store = createIdentityStore(db.sql, { clock });
  const kyc = createFakeKycProvider({ secret: webhookSecret, clock });
  const deps = {
    sql: db.sql,
    store,
    clock,
    settings,
    ...(ledger === undefined
      ? {}
      : {
          openStakes: async (userIds: readonly string[]) => {
            const walletOf = (id: string) => `wallet:${id}:${settings.realCurrency}`;
            const totals = await ledger.openHoldTotals(
              userIds.map(walletOf),
              TransferCode.BET_STAKE,
            );
            return new Map(userIds.map((id) => [id, totals.get(walletOf(id)) ?? 0n]));
          },
        }),
  };
  const userImpl = createUserService({
    ...deps,
    hasher: createPasswordHasher(testScryptCost),
    tokens,
    kycProvider: kyc,
    ...(options.onUserRegistered === undefined
      ? {}
      : { onUserRegistered: options.onUserRegistered }),
    ...(options.ipLimits === undefined
      ? {}
      : { ipLimits: { cache: createMemoryCache(), ...options.ipLimits } }),
    ...(walletOpener === undefined
      ? {}
      : {
          afterUserRegistered: (userId: string) => walletOpener.open(userId),
          onAfterRegisteredError: (error: unknown) => {
            throw error;
          },
        }),
  });
  const internalImpl = createUserInternalService(deps);
  const unimplemented = () => {
    throw new ConnectError('wallet RPCs are served by the ledger', Code.Unimplemented);
  };
  const transport = createRouterTransport(
    (router) => {
      router.service(UserService, {
        ...userImpl,
        ...(ledger === undefined
          ? { getWallet: unimplemented, listTransactions: unimplemented }
          : createWalletService({ ledger, realCurrency: settings.realCurrency })),
      });
      router.service(UserInternalService, internalImpl);
    },
    {
      router: {
        interceptors: createServerInterceptors({
          logger: createLogger({ service: 'user', level: 'silent' }),
          registry: createMetricsRegistry({ service: 'user', collectDefaultMetrics: false }),
          auth: authInterceptor({
            verifyUserToken: createUserTokenVerifier({
              jwks: () => tokens.jwks(),
              issuer,
              audience,
              clock,
            }),
            verifyServiceToken: createServiceTokenVerifier({
              publicJwks: () => servicePublicJwks,
              clock,
            }),
            policy: { ...userServicePolicy, ...userInternalServicePolicy },
          }),
        }),
      },
    },
  );
  const users = createClient(UserService, transport);
  const serviceIssuers = new Map<string, () => Promise<string>>();

  const harness: Harness = {
    db,
    clock,
    store,
    tokens,
    kyc,
    users,
    internal: createClient(UserInternalService, transport),
    eligibility: createEligibilityChecker(deps),
    webhook: createKycWebhookHandler({ sql: db.sql, store, clock, secret: webhookSecret }),
    applySettlementEvent: createSettlementEventHandler({
      sql: db.sql,
      store,
      realCurrency: settings.realCurrency,
    }),
    applyPaymentEvent: createPaymentEventHandler({
      sql: db.sql,
      store,
      realCurrency: settings.realCurrency,
    }),
    sweepLimits: () => applyDueLimitChanges(deps),
    ...(ledger === undefined ? {} : { ledger }),
    ...(walletOpener === undefined ? {} : { walletOpener }),
    async register(name, dob = {}) {
      const res = await users.register({
        email: `${name}@example.com`,
        password,
        displayName: name,
        dateOfBirth: { year: dob.year ?? 1990, month: dob.month ?? 5, day: dob.day ?? 17 },
      });
      return { user: res.user!, tokens: res.tokens! };
    },
    async login(name) {
      return (await users.login({ email: `${name}@example.com`, password })).tokens!;
    },
    async makeAdmin(name) {
      const { user } = await harness.register(name);
      await db.sql.query(`UPDATE users SET roles = ARRAY['viewer','admin'] WHERE id = $1`, [
        user.userId,
      ]);
      const login = await users.login({ email: `${name}@example.com`, password });
      return { user: login.user!, tokens: login.tokens! };
    },
    async service(name) {
      let issue = serviceIssuers.get(name);
      if (issue === undefined) {
        issue = createServiceTokenIssuer({
          privateJwk: await servicePrivateKey(name),
          service: name,
          clock,
        });
        serviceIssuers.set(name, issue);
      }
      return as(await issue());
    },
    dispose: () => db.dispose(),
  };
  return harness;
}

/** Outbox rows, oldest first: type and payload. */
export async function outboxRows(
  harness: Harness,
): Promise<Array<{ id: string; topic: string; key: string; type: string; payload: Uint8Array }>> {
  const result = await harness.db.sql.query<{
    id: string;
    topic: string;
    key: string;
    type: string;
    payload: Uint8Array;
  }>('SELECT id, topic, key, type, payload FROM outbox ORDER BY seq');
  return result.rows;
}

/** Short type names of the outbox rows, oldest first. */
export async function outboxTypes(harness: Harness): Promise<string[]> {
  return (await outboxRows(harness)).map((row) => row.type.replace('streambet.events.v1.', ''));
}
