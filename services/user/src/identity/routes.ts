/**
 * UserService handlers (user.proto) except the wallet view (GetWallet, ListTransactions), which the
 * ledger serves (ledger/wallet-routes.ts): assembled from identity-routes.ts, kyc-routes.ts and
 * limits-routes.ts, which share proto-codec.ts and requests.ts. Errors are domain errors; the
 * platform's interceptor maps them to Connect codes. Who may call what: policy.ts.
 */
import { randomBytes } from 'node:crypto';
import type { ServiceImpl } from '@connectrpc/connect';
import type { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import type { Cache, TokenBucketSpec } from '@streambet/platform/cache/types';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import type { LoginThrottlePolicy } from './domain/accounts/throttle.js';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import type { IdentityStore } from './store/index.js';
import type { KycProvider } from './kyc-provider.js';
import type { PasswordHasher } from './password-hasher.js';
import type { TokenIssuer } from './token-issuer.js';
import { createAccountRecoveryRoutes } from './account-recovery-routes.js';
import type { SecondFactorLockoutPolicy } from './domain/accounts/two-step.js';
import { createEmailChangeRoutes } from './email-change-routes.js';
import { createTwoStepRoutes } from './two-step-routes.js';
import { createIdentityRoutes } from './identity-routes.js';
import { createKycRoutes } from './kyc-routes.js';
import { createLimitsRoutes } from './limits-routes.js';
import { createRoleRoutes } from './role-routes.js';

export { applyDueLimitChanges } from './limits-routes.js';

/** Deployment settings the user service's rules need (read by config.ts, passed in). */
export interface UserServiceSettings {
  /** ISO 4217 code of the real currency (USER_REAL_CURRENCY, e.g. BRL). */
  readonly realCurrency: string;
  /** Lifetime real-money deposits above which KYC is required, minor units (USER_KYC_THRESHOLD_MINOR). */
  readonly kycThresholdMinor: bigint;
  /** Refresh-token lifetime in seconds (USER_REFRESH_TOKEN_TTL_SECONDS, default 30 days). */
  readonly refreshTokenTtlSeconds: number;
  /** Key of the keyed hash of client device ids in events (USER_DEVICE_ID_HASH_KEY). */
  readonly deviceIdHashKey: string;
  /**
   * Key sealing TOTP secrets at rest (USER_TOTP_SECRET_KEY, base64 of 32 bytes); empty or absent
   * = derived from `deviceIdHashKey` (totp-secret-cipher.ts).
   */
  readonly totpSecretKey?: string;
  /**
   * Failed logins before Login answers RESOURCE_EXHAUSTED: per (email, client address) and per
   * email across addresses (domain/accounts/throttle.ts; default `defaultLoginThrottle`).
   */
  readonly loginThrottle?: LoginThrottlePolicy;
  /**
   * Base URL of the links in verification and password-reset emails (MAIL_LINK_BASE_URL; default
   * the web app of `npm start`).
   */
  readonly mailLinkBaseUrl?: string;
  /**
   * Refuse real-money deposits and withdrawals until the user confirmed their email address
   * (USER_REQUIRE_VERIFIED_EMAIL; CheckEligibility reason EMAIL_NOT_VERIFIED). Default false here;
   * the service's config turns it on in cluster mode.
   */
  readonly requireVerifiedEmail?: boolean;
}

/** Per-IP token buckets of Register and Login, in the shared cache (Redis in a cluster). */
export interface IpLimits {
  readonly cache: Cache;
  readonly register: TokenBucketSpec;
  readonly login: TokenBucketSpec;
}

/** Dependencies of {@link createUserService}. */
export interface UserServiceDeps {
  readonly sql: Sql;
  readonly store: IdentityStore;
  readonly clock: Clock;
  readonly hasher: PasswordHasher;
  readonly tokens: TokenIssuer;
  readonly kycProvider: KycProvider;
  readonly settings: UserServiceSettings;
  /**
   * Called inside the Register transaction after the user row is written, so the ledger can open
   * the user's wallet accounts atomically with the account.
   */
  readonly onUserRegistered?: (tx: SqlExecutor, user: { readonly userId: string }) => Promise<void>;
  /**
   * Called right after the Register transaction commits, before Register answers: opens the
   * user's wallets (wallet-opening.ts), which runs its own ledger transactions and so cannot run
   * inside Register's. A failure is reported to `onAfterRegisteredError` and does not fail the
   * registration (the user exists; the start-up sweep finishes the opening).
   */
  readonly afterUserRegistered?: (userId: string) => Promise<void>;
  /** Receives failures of {@link afterUserRegistered} (for the log). */
  readonly onAfterRegisteredError?: (error: unknown, userId: string) => void;
  /**
   * Per-client-IP token buckets on Register and Login (abuse: account farming, credential
   * stuffing across many emails). The IP is the first `x-forwarded-for` entry (set by the edge);
   * calls without one are not limited here. Absent: no per-IP limits.
   */
  readonly ipLimits?: IpLimits;
  /** Called after a transaction that queued mail commits (wakes the mail sender). */
  readonly onMailQueued?: () => void;
  /**
   * Lockout after wrong second-factor codes (domain/accounts/two-step.ts; default
   * `defaultSecondFactorLockout`).
   */
  readonly secondFactorLockout?: SecondFactorLockoutPolicy;
  /** 10 random bytes per id; defaults to node:crypto. */
  readonly randomBytes?: (size: number) => Uint8Array;
}

/** UserService without the wallet RPCs, which routes.ts takes from the ledger. */
export type UserServiceImpl = Omit<
  ServiceImpl<typeof UserService>,
  'getWallet' | 'listTransactions'
>;

/** Creates the UserService handlers (minus the wallet RPCs). */
export function createUserService(deps: UserServiceDeps): UserServiceImpl {
  const random = deps.randomBytes ?? ((size: number) => randomBytes(size));
  const newId = (nowMs: number) => encodeUlid(nowMs, random(10));
  return {
    ...createIdentityRoutes(deps, newId),
    ...createAccountRecoveryRoutes(deps, newId),
    ...createTwoStepRoutes(deps, newId),
    ...createEmailChangeRoutes(deps, newId),
    ...createKycRoutes(deps, newId),
    ...createLimitsRoutes(deps),
    ...createRoleRoutes(deps),
  };
}
