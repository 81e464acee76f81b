/**
 * UserService handlers (user.proto) except the wallet view (GetWallet, ListTransactions), which the
 * ledger serves. Each handler validates the request, reads under lock, decides with the pure
 * domain, writes through the identity store and appends its events to the outbox in the same
 * transaction. Errors are domain errors; the platform's interceptor maps them to Connect codes.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { MoneySchema, Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  CoolOffStartedSchema,
  KycStatusChangedSchema,
  LimitChangedSchema,
  SelfExclusionStartedSchema,
  UserClientContextSchema,
  UserFrozenSchema,
  UserLoggedInSchema,
  UserProfileUpdatedSchema,
  UserRegisteredSchema,
  UserSessionRevokedForReuseSchema,
  UserUnfrozenSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import {
  AccountStatus,
  AmountLimitSchema,
  DateSchema,
  KycCaseSchema,
  KycDocumentType,
  KycStatus,
  LimitKind,
  LimitPeriod,
  ResponsibleGamblingLimitsSchema,
  SelfExclusionDuration,
  SelfExclusionSchema,
  UserSchema,
  type AmountLimit,
  type KycCase,
  type User,
} from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import type { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import {
  KycDecision,
  TokenPairSchema,
  type TokenPair,
} from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import type { Money } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { callerKey } from '@streambet/platform/auth/caller';
import {
  AlreadyExistsError,
  IllegalStateError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  ValidationError,
  type FieldViolation,
} from '@streambet/platform/errors/domain-errors';
import type { Cache, TokenBucketSpec } from '@streambet/platform/cache/types';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import { isAdultAt, type CalendarDate } from './domain/accounts/age.js';
import { normalizeRoles, primaryRole, type RoleName } from './domain/accounts/roles.js';
import { decideRefresh } from './domain/accounts/session.js';
import {
  defaultLoginThrottle,
  loginRetryAfterMs,
  type LoginThrottlePolicy,
} from './domain/accounts/throttle.js';
import { encodeUlid, isUlid } from '@streambet/platform/ids/ulid';
import {
  displayNameViolation,
  normalizeEmail,
  throwIfViolations,
  validateRegistration,
} from './domain/accounts/validation.js';
import {
  assertCanStartKyc,
  decideReview,
  kycRequirement,
  maskDocumentNumber,
  validateKycSubmission,
  type KycCaseState,
  type KycDecisionName,
  type KycDocumentTypeName,
  type KycStatusName,
} from './domain/kyc/kyc.js';
import {
  applyDueLoosening,
  decideLimitChange,
  limitAt,
  limitPeriods,
  periodMs,
  usedInWindow,
  type DatedAmount,
  type LimitChange,
  type LimitKindName,
  type LimitPeriodName,
  type LimitState,
} from './domain/limits/limits.js';
import {
  decideCoolOff,
  decideSelfExclusion,
  selfExclusionActive,
  type SelfExclusionDurationName,
  type SelfExclusionState,
} from './domain/limits/restrictions.js';
import {
  userEvent,
  type EventActor,
  type IdentityStore,
  type PendingUserEvent,
  type UserRecord,
} from './store/index.js';
import type { KycProvider } from './kyc-provider.js';
import type { PasswordHasher } from './password-hasher.js';
import {
  hashRefreshToken,
  isWellFormedRefreshToken,
  newRefreshToken,
  type TokenIssuer,
} from './token-issuer.js';

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
   * Failed logins per email before Login answers RESOURCE_EXHAUSTED, and the window they are
   * counted in (USER_LOGIN_MAX_FAILURES, default 5; USER_LOGIN_FAILURE_WINDOW_SECONDS, default 900).
   */
  readonly loginThrottle?: LoginThrottlePolicy;
}

/** Per-IP token buckets of Register and Login, in the shared cache (Redis in a cluster). */
export interface IpLimits {
  readonly cache: Cache;
  readonly register: TokenBucketSpec;
  readonly login: TokenBucketSpec;
}

/**
 * The client's IP as the edge forwarded it: the first (client-most) `x-forwarded-for` entry, or
 * `x-real-ip`; empty when neither is present (in-cluster callers).
 */
export function clientIpOf(headers: Headers): string {
  const forwarded = headers.get('x-forwarded-for');
  const first = forwarded?.split(',')[0]?.trim() ?? '';
  if (first !== '') return first.slice(0, 64);
  return (headers.get('x-real-ip') ?? '').trim().slice(0, 64);
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
  /** 10 random bytes per id; defaults to node:crypto. */
  readonly randomBytes?: (size: number) => Uint8Array;
}

/** UserService without the wallet RPCs, which routes.ts takes from the ledger. */
export type UserServiceImpl = Omit<
  ServiceImpl<typeof UserService>,
  'getWallet' | 'listTransactions'
>;

// ---------------------------------------------------------------------------------------------
// Proto ↔ domain mapping

const roleToProto: Readonly<Record<RoleName, Role>> = {
  viewer: Role.VIEWER,
  streamer: Role.STREAMER,
  admin: Role.ADMIN,
};

/** Proto role of a role name. */
export function roleProto(role: RoleName): Role {
  return roleToProto[role];
}

/** Proto account status of a stored status. */
export function accountStatusProto(status: 'active' | 'frozen'): AccountStatus {
  return status === 'active' ? AccountStatus.ACTIVE : AccountStatus.FROZEN;
}

/** Proto KYC status of a status name. */
export function kycStatusProto(status: KycStatusName): KycStatus {
  return KycStatus[status];
}

/** Status name of a proto KYC status; undefined for UNSPECIFIED or unknown values. */
export function kycStatusName(status: KycStatus): KycStatusName | undefined {
  const name = KycStatus[status] as string | undefined;
  return name === undefined || name === 'UNSPECIFIED' ? undefined : (name as KycStatusName);
}

function enumName<T extends string>(
  enumObject: Record<number, string>,
  value: number,
): T | undefined {
  const name = enumObject[value];
  return name === undefined || name === 'UNSPECIFIED' ? undefined : (name as T);
}

const limitPeriodToProto: Readonly<Record<LimitPeriodName, LimitPeriod>> = {
  daily: LimitPeriod.DAILY,
  weekly: LimitPeriod.WEEKLY,
  monthly: LimitPeriod.MONTHLY,
};

/** Proto period of a period name. */
export function limitPeriodProto(period: LimitPeriodName): LimitPeriod {
  return limitPeriodToProto[period];
}

function limitPeriodName(period: LimitPeriod): LimitPeriodName | undefined {
  return limitPeriods.find((name) => limitPeriodToProto[name] === period);
}

/** A Money message. */
export function money(amountMinor: bigint, currency: string): Money {
  return create(MoneySchema, { amountMinor, currency });
}

/** The User message; the freeze reason only for admins (contract). */
export function userProto(user: UserRecord, nowMs: number, forAdmin: boolean): User {
  return create(UserSchema, {
    userId: user.userId,
    email: user.email,
    displayName: user.displayName,
    dateOfBirth: create(DateSchema, user.dateOfBirth),
    roles: user.roles.map(roleProto),
    status: accountStatusProto(user.status),
    kycStatus: kycStatusProto(user.kycStatus),
    realMoneyEligible: isAdultAt(user.dateOfBirth, nowMs),
    createdAtMs: BigInt(user.createdAtMs),
    frozenReason: forAdmin && user.status === 'frozen' ? user.frozenReason : '',
  });
}

/** The KycCase message: document number masked and reviewer hidden unless for an admin. */
export function kycCaseProto(kase: KycCaseState, forAdmin: boolean): KycCase {
  return create(KycCaseSchema, {
    kycCaseId: kase.caseId,
    userId: kase.userId,
    status: kycStatusProto(kase.status),
    legalName: kase.legalName,
    documentType: KycDocumentType[kase.documentType],
    documentNumber: forAdmin ? kase.documentNumber : maskDocumentNumber(kase.documentNumber),
    documentCountry: kase.documentCountry,
    submittedAtMs: BigInt(kase.submittedAtMs),
    reviewedAtMs: BigInt(kase.reviewedAtMs),
    reviewerUserId: forAdmin ? kase.reviewerUserId : '',
    reviewReason: kase.reviewReason,
  });
}

function selfExclusionProto(state: SelfExclusionState) {
  return create(SelfExclusionSchema, {
    duration: SelfExclusionDuration[state.duration],
    startedAtMs: BigInt(state.startedAtMs),
    untilMs: BigInt(state.untilMs ?? 0),
  });
}

function amountLimitProto(
  kind: LimitKindName,
  period: LimitPeriodName,
  state: LimitState,
  usedMinor: bigint,
  currency: string,
): AmountLimit {
  return create(AmountLimitSchema, {
    kind: kind === 'deposit' ? LimitKind.DEPOSIT : LimitKind.LOSS,
    period: limitPeriodProto(period),
    ...(state.amountMinor === null ? {} : { amount: money(state.amountMinor, currency) }),
    used: money(usedMinor, currency),
    ...(state.pending === null
      ? {}
      : {
          pendingChange: {
            ...(state.pending.amountMinor === null
              ? {}
              : { amount: money(state.pending.amountMinor, currency) }),
            effectiveAtMs: BigInt(state.pending.effectiveAtMs),
          },
        }),
  });
}

// ---------------------------------------------------------------------------------------------
// Callers and request checks

export interface UserCaller {
  readonly userId: string;
  readonly role: RoleName;
  readonly sessionId: string | undefined;
}

export function userCaller(ctx: HandlerContext): UserCaller {
  const caller = ctx.values.get(callerKey);
  if (caller.kind !== 'user') {
    throw new UnauthenticatedError(
      'this method needs a signed-in user (Authorization: Bearer <access token>)',
    );
  }
  return { userId: caller.userId, role: caller.role, sessionId: caller.sessionId };
}

function actorOf(caller: UserCaller): EventActor {
  return { userId: caller.userId, role: roleProto(caller.role) };
}

/** Throws INVALID_ARGUMENT unless `value` is a ULID; names the field. */
export function requireUlid(field: string, value: string): string {
  if (!isUlid(value)) {
    throw new ValidationError('malformed id', [
      {
        field,
        description: `must be a ULID (26 characters of Crockford base32), got "${value.slice(0, 40)}"`,
      },
    ]);
  }
  return value;
}

/**
 * The user a read is about: the caller when `requested` is empty; another user only for admins
 * (PERMISSION_DENIED otherwise, before revealing whether that user exists).
 */
export function targetUser(caller: UserCaller, requested: string, what: string): string {
  if (requested === '' || requested === caller.userId) return caller.userId;
  requireUlid('user_id', requested);
  if (caller.role !== 'admin') {
    throw new PermissionDeniedError(
      `only admins may read another user's ${what}; leave user_id empty to read your own`,
    );
  }
  return requested;
}

async function existingUser(
  store: IdentityStore,
  db: SqlExecutor,
  userId: string,
  lock: { forUpdate?: boolean } = {},
): Promise<UserRecord> {
  const user = await store.getUser(db, userId, lock);
  if (user === undefined) throw new NotFoundError(`no user with id ${userId}`);
  return user;
}

const defaultPageSize = 50;
const maxPageSize = 200;

/** Page size and cursor of a PageRequest; INVALID_ARGUMENT for a bad size or token. */
export function readPage(page: { pageSize: number; pageToken: string } | undefined): {
  readonly size: number;
  readonly cursor: string | undefined;
} {
  const pageSize = page?.pageSize ?? 0;
  if (pageSize < 0 || pageSize > maxPageSize) {
    throw new ValidationError('bad page', [
      {
        field: 'page.page_size',
        description: `must be 1–${maxPageSize} (0 means ${defaultPageSize})`,
      },
    ]);
  }
  const token = page?.pageToken ?? '';
  let cursor: string | undefined;
  if (token !== '') {
    cursor = Buffer.from(token, 'base64url').toString('utf8');
    if (!isUlid(cursor)) {
      throw new ValidationError('bad page', [
        {
          field: 'page.page_token',
          description: 'is not a token from a previous response; omit it for the first page',
        },
      ]);
    }
  }
  return { size: pageSize === 0 ? defaultPageSize : pageSize, cursor };
}

function nextPageToken(ids: readonly string[], size: number): string {
  const last = ids[size - 1];
  return ids.length > size && last !== undefined
    ? Buffer.from(last, 'utf8').toString('base64url')
    : '';
}

function reasonViolation(reason: string) {
  const trimmed = reason.trim();
  return trimmed.length < 1 || trimmed.length > 500
    ? { field: 'reason', description: 'is required, 1–500 characters' }
    : undefined;
}

// ---------------------------------------------------------------------------------------------
// Shared decisions (also used by the KYC webhook and the limit sweeper)

/** Input of {@link decideKycCase}. */
export interface KycCaseDecisionInput {
  readonly caseId: string;
  readonly decision: KycDecisionName | undefined;
  readonly reason: string;
  /** Admin user id, or empty for the provider's webhook. */
  readonly reviewerUserId: string;
  readonly actor: EventActor | undefined;
  readonly nowMs: number;
}

/**
 * Applies a KYC decision in `tx`: locks the user then the case, decides (the same decision again
 * changes nothing; a different one on a decided case is FAILED_PRECONDITION), writes the case and
 * the user's status, and appends KycStatusChanged.
 */
export async function decideKycCase(
  store: IdentityStore,
  tx: SqlExecutor,
  input: KycCaseDecisionInput,
): Promise<KycCaseState> {
  const peek = await store.getKycCase(tx, input.caseId);
  if (peek === undefined) throw new NotFoundError(`no KYC case with id ${input.caseId}`);
  const user = await existingUser(store, tx, peek.userId, { forUpdate: true });
  const kase = await store.getKycCase(tx, input.caseId, { forUpdate: true });
  if (kase === undefined) throw new NotFoundError(`no KYC case with id ${input.caseId}`);
  const outcome = decideReview(
    kase,
    input.decision,
    input.reason,
    input.reviewerUserId,
    input.nowMs,
  );
  if (!outcome.changed) return outcome.kase;
  await store.updateKycCase(tx, outcome.kase);
  await store.setKycStatus(tx, user.userId, outcome.kase.status);
  await store.appendEvents(tx, [
    userEvent(
      KycStatusChangedSchema,
      user.userId,
      {
        kycCaseId: kase.caseId,
        previousStatus: kycStatusProto(user.kycStatus),
        status: kycStatusProto(outcome.kase.status),
        reason: outcome.kase.status === 'REJECTED' ? outcome.kase.reviewReason : '',
      },
      input.actor,
    ),
  ]);
  return outcome.kase;
}

function limitChangedEvent(
  userId: string,
  kind: LimitKindName,
  period: LimitPeriodName,
  change: LimitChange,
  currency: string,
  actor: EventActor | undefined,
): PendingUserEvent {
  return userEvent(
    LimitChangedSchema,
    userId,
    {
      kind: kind === 'deposit' ? LimitKind.DEPOSIT : LimitKind.LOSS,
      period: limitPeriodProto(period),
      ...(change.previousAmountMinor === null
        ? {}
        : { previousAmount: money(change.previousAmountMinor, currency) }),
      ...(change.amountMinor === null ? {} : { amount: money(change.amountMinor, currency) }),
      effectiveAtMs: BigInt(change.effectiveAtMs),
      scheduled: change.scheduled,
    },
    actor,
  );
}

/**
 * Puts every scheduled limit loosening that is due into force and publishes LimitChanged
 * (scheduled = false) for each; returns how many were applied. Reads already treat due changes as
 * in force, so this only makes the stored state and the event stream catch up: run it every minute
 * or so from main.ts.
 */
export async function applyDueLimitChanges(
  deps: Pick<UserServiceDeps, 'sql' | 'store' | 'clock' | 'settings'>,
  batchSize = 100,
): Promise<number> {
  const nowMs = deps.clock.now();
  const due = await deps.store.dueLimits(deps.sql, nowMs, batchSize);
  let applied = 0;
  for (const item of due) {
    applied += await deps.sql.transaction(async (tx) => {
      await deps.store.getUser(tx, item.userId, { forUpdate: true });
      const limits = await deps.store.getLimits(tx, item.userId, item.kind);
      const result = applyDueLoosening(limits[item.period], nowMs);
      if (result === undefined) return 0;
      await deps.store.saveLimit(tx, item.userId, item.kind, item.period, result.state);
      await deps.store.appendEvents(tx, [
        limitChangedEvent(
          item.userId,
          item.kind,
          item.period,
          result.change,
          deps.settings.realCurrency,
          undefined,
        ),
      ]);
      return 1;
    });
  }
  return applied;
}

// ---------------------------------------------------------------------------------------------

/** Creates the UserService handlers (minus the wallet RPCs). */
export function createUserService(deps: UserServiceDeps): UserServiceImpl {
  const { sql, store, clock, hasher, tokens, settings } = deps;
  const random = deps.randomBytes ?? ((size: number) => randomBytes(size));
  const newId = (nowMs: number) => encodeUlid(nowMs, random(10));
  const refreshTtlMs = settings.refreshTokenTtlSeconds * 1000;

  /** RESOURCE_EXHAUSTED (with when to retry) once this client IP used up its `action` bucket. */
  async function limitByIp(ctx: HandlerContext, action: 'register' | 'login'): Promise<void> {
    const limits = deps.ipLimits;
    if (limits === undefined) return;
    const ip = clientIpOf(ctx.requestHeader);
    if (ip === '') return;
    const decision = await limits.cache.takeTokens(
      `user:ip-limit:${action}:${ip}`,
      limits[action],
      clock.now(),
    );
    if (!decision.allowed) {
      throw new ResourceExhaustedError(
        `too many ${action === 'register' ? 'registrations' : 'log-in attempts'} from this network`,
        { retryAfterMs: decision.retryAfterMs },
      );
    }
  }

  function clientContext(ctx: HandlerContext, deviceId: string) {
    return create(UserClientContextSchema, {
      networkId: ctx.requestHeader.get('x-network-id') ?? '',
      deviceId:
        deviceId === ''
          ? ''
          : createHmac('sha256', settings.deviceIdHashKey)
              .update(deviceId)
              .digest('hex')
              .slice(0, 32),
      app: ctx.requestHeader.get('x-client-app') ?? '',
    });
  }

  /** Writes a new refresh token for the session and signs an access token; in `tx`. */
  async function issuePair(
    tx: SqlExecutor,
    user: { userId: string; roles: readonly RoleName[] },
    sessionId: string,
    nowMs: number,
  ): Promise<() => Promise<TokenPair>> {
    const refreshToken = newRefreshToken();
    const refreshExpiresAtMs = nowMs + refreshTtlMs;
    await store.insertRefreshToken(tx, {
      tokenHash: hashRefreshToken(refreshToken),
      sessionId,
      issuedAtMs: nowMs,
      expiresAtMs: refreshExpiresAtMs,
    });
    return async () => {
      const access = await tokens.issueAccessToken({
        userId: user.userId,
        roles: user.roles,
        sessionId,
      });
      return create(TokenPairSchema, {
        accessToken: access.token,
        accessTokenExpiresAtMs: BigInt(access.expiresAtMs),
        refreshToken,
        refreshTokenExpiresAtMs: BigInt(refreshExpiresAtMs),
        sessionId,
      });
    };
  }

  async function startSession(
    tx: SqlExecutor,
    user: UserRecord,
    deviceId: string,
    ctx: HandlerContext,
    nowMs: number,
  ) {
    const sessionId = newId(nowMs);
    await store.insertSession(tx, { sessionId, userId: user.userId, createdAtMs: nowMs, deviceId });
    const pair = await issuePair(tx, user, sessionId, nowMs);
    await store.appendEvents(tx, [
      userEvent(
        UserLoggedInSchema,
        user.userId,
        { sessionId, client: clientContext(ctx, deviceId) },
        { userId: user.userId, role: roleProto(primaryRole(user.roles)) },
      ),
    ]);
    return pair;
  }

  async function limitsView(db: SqlExecutor, user: UserRecord, nowMs: number) {
    const since = nowMs - periodMs.monthly;
    const [deposit, loss, deposits, losses] = await Promise.all([
      store.getLimits(db, user.userId, 'deposit'),
      store.getLimits(db, user.userId, 'loss'),
      store.amountsSince(db, 'deposits', [user.userId], since),
      store.amountsSince(db, 'losses', [user.userId], since),
    ]);
    return {
      deposit,
      loss,
      deposits: deposits.get(user.userId) ?? [],
      losses: losses.get(user.userId) ?? [],
    };
  }

  function limitsList(
    kind: LimitKindName,
    limits: Record<LimitPeriodName, LimitState>,
    entries: readonly DatedAmount[],
    nowMs: number,
  ): AmountLimit[] {
    return limitPeriods.map((period) =>
      amountLimitProto(
        kind,
        period,
        limitAt(limits[period], nowMs),
        usedInWindow(entries, period, nowMs),
        settings.realCurrency,
      ),
    );
  }

  async function setLimit(
    kind: LimitKindName,
    req: { period: LimitPeriod; amount?: Money | undefined },
    ctx: HandlerContext,
  ) {
    const caller = userCaller(ctx);
    const period = limitPeriodName(req.period);
    const violations: FieldViolation[] = [];
    if (period === undefined) {
      violations.push({ field: 'period', description: 'is required (DAILY, WEEKLY or MONTHLY)' });
    }
    if (req.amount !== undefined) {
      if (req.amount.amountMinor <= 0n) {
        violations.push({
          field: 'amount.amount_minor',
          description: 'must be positive; leave amount unset to remove the limit',
        });
      }
      if (req.amount.currency !== settings.realCurrency) {
        violations.push({
          field: 'amount.currency',
          description: `must be ${settings.realCurrency}, the deployment's real currency (play money is never limited)`,
        });
      }
    }
    if (violations.length > 0 || period === undefined) {
      throw new ValidationError(`${kind} limit refused`, violations);
    }
    const requested = req.amount === undefined ? null : req.amount.amountMinor;
    const nowMs = clock.now();
    return sql.transaction(async (tx) => {
      const user = await existingUser(store, tx, caller.userId, { forUpdate: true });
      const limits = await store.getLimits(tx, user.userId, kind);
      const decision = decideLimitChange(limits[period], requested, nowMs);
      await store.saveLimit(tx, user.userId, kind, period, decision.state);
      await store.appendEvents(
        tx,
        decision.changes.map((change) =>
          limitChangedEvent(
            user.userId,
            kind,
            period,
            change,
            settings.realCurrency,
            change.byRequest ? actorOf(caller) : undefined,
          ),
        ),
      );
      const entries = await store.amountsSince(
        tx,
        kind === 'deposit' ? 'deposits' : 'losses',
        [user.userId],
        nowMs - periodMs[period],
      );
      return {
        limit: amountLimitProto(
          kind,
          period,
          decision.state,
          usedInWindow(entries.get(user.userId) ?? [], period, nowMs),
          settings.realCurrency,
        ),
        effectiveAtMs: BigInt(decision.effectiveAtMs),
        appliedImmediately: decision.appliedImmediately,
      };
    });
  }

  return {
    async register(req, ctx) {
      await limitByIp(ctx, 'register');
      const nowMs = clock.now();
      const input = validateRegistration(
        {
          email: req.email,
          password: req.password,
          dateOfBirth: req.dateOfBirth === undefined ? undefined : dateOf(req.dateOfBirth),
          displayName: req.displayName,
          deviceId: req.deviceId,
        },
        nowMs,
      );
      const passwordHash = await hasher.hash(input.password);
      const user: UserRecord = {
        userId: newId(nowMs),
        email: input.email,
        displayName: input.displayName,
        passwordHash,
        dateOfBirth: input.dateOfBirth,
        roles: normalizeRoles([]),
        status: 'active',
        frozenReason: '',
        kycStatus: 'NOT_STARTED',
        createdAtMs: nowMs,
        coolOffUntilMs: 0,
        selfExclusion: null,
        lifetimeDepositsMinor: 0n,
      };
      const pair = await sql.transaction(async (tx) => {
        const inserted = await store.insertUser(tx, user);
        if (inserted === 'email-taken') {
          throw new AlreadyExistsError('an account with this email already exists; log in instead');
        }
        if (inserted === 'display-name-taken') {
          throw new AlreadyExistsError(
            `display name "${user.displayName}" is taken; choose another`,
          );
        }
        await store.appendEvents(tx, [
          userEvent(
            UserRegisteredSchema,
            user.userId,
            {
              email: user.email,
              displayName: user.displayName,
              roles: user.roles.map(roleProto),
              realMoneyEligible: isAdultAt(user.dateOfBirth, nowMs),
              client: clientContext(ctx, input.deviceId),
            },
            { userId: user.userId, role: Role.VIEWER },
          ),
        ]);
        await deps.onUserRegistered?.(tx, { userId: user.userId });
        return startSession(tx, user, input.deviceId, ctx, nowMs);
      });
      if (deps.afterUserRegistered !== undefined) {
        try {
          await deps.afterUserRegistered(user.userId);
        } catch (error) {
          deps.onAfterRegisteredError?.(error, user.userId);
        }
      }
      return { user: userProto(user, nowMs, false), tokens: await pair() };
    },

    async login(req, ctx) {
      await limitByIp(ctx, 'login');
      throwIfViolations('login refused', [
        req.email.trim() === '' ? { field: 'email', description: 'is required' } : undefined,
        req.password === '' ? { field: 'password', description: 'is required' } : undefined,
        req.deviceId.length > 128
          ? { field: 'device_id', description: 'must be at most 128 characters' }
          : undefined,
      ]);
      const email = normalizeEmail(req.email);
      const throttle = settings.loginThrottle ?? defaultLoginThrottle;
      const attemptAtMs = clock.now();
      const retryAfterMs = loginRetryAfterMs(
        await store.getLoginFailures(sql, email),
        attemptAtMs,
        throttle,
      );
      if (retryAfterMs > 0) {
        throw new ResourceExhaustedError('too many failed logins for this email', {
          retryAfterMs,
        });
      }
      const user = await store.getUserByEmail(sql, email);
      const wrong = async () => {
        await store.recordLoginFailure(sql, email, attemptAtMs, throttle.windowMs);
        return new UnauthenticatedError('email or password is wrong');
      };
      if (user === undefined) {
        await hasher.dummyVerify(req.password);
        throw await wrong();
      }
      if (!(await hasher.verify(req.password, user.passwordHash))) throw await wrong();
      const nowMs = clock.now();
      const rehash = hasher.needsRehash(user.passwordHash)
        ? await hasher.hash(req.password)
        : undefined;
      const pair = await sql.transaction(async (tx) => {
        await store.clearLoginFailures(tx, email);
        if (rehash !== undefined) await store.updatePasswordHash(tx, user.userId, rehash);
        return startSession(tx, user, req.deviceId, ctx, nowMs);
      });
      return { user: userProto(user, nowMs, user.roles.includes('admin')), tokens: await pair() };
    },

    async refresh(req, ctx) {
      if (!isWellFormedRefreshToken(req.refreshToken)) {
        throw new UnauthenticatedError(
          'refresh token is missing or not well-formed; sign in again',
        );
      }
      const nowMs = clock.now();
      const outcome = await sql.transaction(async (tx) => {
        const token = await store.findRefreshToken(tx, hashRefreshToken(req.refreshToken), {
          forUpdate: true,
        });
        if (token === undefined)
          return { kind: 'reject' as const, reason: 'refresh token is unknown; sign in again' };
        const decision = decideRefresh(token, nowMs);
        if (decision.kind === 'reject') return decision;
        if (decision.kind === 'reuse') {
          await store.revokeSession(tx, token.sessionId, nowMs, 'refresh token reuse');
          await store.appendEvents(tx, [
            userEvent(UserSessionRevokedForReuseSchema, token.userId, {
              sessionId: token.sessionId,
              client: clientContext(ctx, ''),
            }),
          ]);
          return { kind: 'reuse' as const };
        }
        const user = await existingUser(store, tx, token.userId);
        await store.markRefreshTokenUsed(tx, token.tokenHash, nowMs);
        return { kind: 'rotate' as const, pair: await issuePair(tx, user, token.sessionId, nowMs) };
      });
      if (outcome.kind === 'reject') throw new UnauthenticatedError(outcome.reason);
      if (outcome.kind === 'reuse') {
        throw new UnauthenticatedError(
          'refresh token was already used; the session has been revoked for safety; sign in again',
        );
      }
      return { tokens: await outcome.pair() };
    },

    async logout(req) {
      if (!isWellFormedRefreshToken(req.refreshToken)) {
        throw new UnauthenticatedError('refresh token is missing or not well-formed');
      }
      const nowMs = clock.now();
      const revoked = await sql.transaction(async (tx) => {
        const token = await store.findRefreshToken(tx, hashRefreshToken(req.refreshToken));
        if (token === undefined) return undefined;
        return req.allSessions
          ? store.revokeAllSessions(tx, token.userId, nowMs, 'logout (all sessions)')
          : store.revokeSession(tx, token.sessionId, nowMs, 'logout');
      });
      if (revoked === undefined) throw new UnauthenticatedError('refresh token is unknown');
      return { revokedSessions: revoked };
    },

    async getProfile(req, ctx) {
      const caller = userCaller(ctx);
      const userId = targetUser(caller, req.userId, 'profile');
      const user = await existingUser(store, sql, userId);
      return { user: userProto(user, clock.now(), caller.role === 'admin') };
    },

    async updateProfile(req, ctx) {
      const caller = userCaller(ctx);
      if (req.displayName !== undefined)
        throwIfViolations('profile update refused', [displayNameViolation(req.displayName)]);
      const nowMs = clock.now();
      const user = await sql.transaction(async (tx) => {
        const current = await existingUser(store, tx, caller.userId, { forUpdate: true });
        const name = req.displayName;
        if (name === undefined || name === current.displayName) return current;
        if ((await store.updateDisplayName(tx, current.userId, name)) === 'taken') {
          throw new AlreadyExistsError(`display name "${name}" is taken; choose another`);
        }
        await store.appendEvents(tx, [
          userEvent(
            UserProfileUpdatedSchema,
            current.userId,
            { displayName: name },
            actorOf(caller),
          ),
        ]);
        return { ...current, displayName: name };
      });
      return { user: userProto(user, nowMs, caller.role === 'admin') };
    },

    getJwks() {
      return Promise.resolve({
        jwksJson: tokens.jwksJson(),
        maxAgeSeconds: tokens.jwksMaxAgeSeconds,
      });
    },

    async startKyc(req, ctx) {
      const caller = userCaller(ctx);
      const submission = validateKycSubmission({
        legalName: req.legalName,
        documentType: enumName<KycDocumentTypeName>(KycDocumentType, req.documentType),
        documentNumber: req.documentNumber,
        documentCountry: req.documentCountry,
      });
      const before = await existingUser(store, sql, caller.userId);
      assertCanStartKyc(before.kycStatus);
      const nowMs = clock.now();
      const kase: KycCaseState = {
        caseId: newId(nowMs),
        userId: caller.userId,
        status: 'PENDING_REVIEW',
        ...submission,
        submittedAtMs: nowMs,
        reviewedAtMs: 0,
        reviewerUserId: '',
        reviewReason: '',
      };
      const { providerReference } = await deps.kycProvider.submit({
        caseId: kase.caseId,
        userId: kase.userId,
        legalName: kase.legalName,
        documentType: kase.documentType,
        documentNumber: kase.documentNumber,
        documentCountry: kase.documentCountry,
      });
      await sql.transaction(async (tx) => {
        const user = await existingUser(store, tx, caller.userId, { forUpdate: true });
        assertCanStartKyc(user.kycStatus);
        if (!(await store.insertKycCase(tx, kase, providerReference))) {
          throw new IllegalStateError(
            'a KYC case is already pending review; wait for its decision',
          );
        }
        await store.setKycStatus(tx, user.userId, 'PENDING_REVIEW');
        await store.appendEvents(tx, [
          userEvent(
            KycStatusChangedSchema,
            user.userId,
            {
              kycCaseId: kase.caseId,
              previousStatus: kycStatusProto(user.kycStatus),
              status: KycStatus.PENDING_REVIEW,
              reason: '',
            },
            actorOf(caller),
          ),
        ]);
      });
      return { kycCase: kycCaseProto(kase, false) };
    },

    async getKycStatus(req, ctx) {
      const caller = userCaller(ctx);
      const userId = targetUser(caller, req.userId, 'KYC status');
      const user = await existingUser(store, sql, userId);
      const latest = await store.latestKycCase(sql, userId);
      const requirement = kycRequirement(
        user.kycStatus,
        user.lifetimeDepositsMinor,
        settings.kycThresholdMinor,
      );
      return {
        status: kycStatusProto(user.kycStatus),
        ...(latest === undefined
          ? {}
          : { latestCase: kycCaseProto(latest, caller.role === 'admin') }),
        requiredForWithdrawal: requirement.requiredForWithdrawal,
        requiredForRealMoney: requirement.requiredForRealMoney,
      };
    },

    async listKycCases(req) {
      const page = readPage(req.page);
      const status = kycStatusName(req.status);
      if (status === 'NOT_STARTED') {
        throw new ValidationError('bad filter', [
          {
            field: 'status',
            description: 'cases are never NOT_STARTED; use PENDING_REVIEW, VERIFIED or REJECTED',
          },
        ]);
      }
      const cases = await store.listKycCases(sql, {
        status,
        userId: req.userId === '' ? undefined : requireUlid('user_id', req.userId),
        afterCaseId: page.cursor,
        limit: page.size + 1,
      });
      return {
        cases: cases.slice(0, page.size).map((kase) => kycCaseProto(kase, true)),
        page: {
          nextPageToken: nextPageToken(
            cases.map((c) => c.caseId),
            page.size,
          ),
        },
      };
    },

    async reviewKyc(req, ctx) {
      const caller = userCaller(ctx);
      requireUlid('kyc_case_id', req.kycCaseId);
      const decision: KycDecisionName | undefined =
        req.decision === KycDecision.APPROVE
          ? 'APPROVE'
          : req.decision === KycDecision.REJECT
            ? 'REJECT'
            : undefined;
      const nowMs = clock.now();
      const kase = await sql.transaction((tx) =>
        decideKycCase(store, tx, {
          caseId: req.kycCaseId,
          decision,
          reason: req.reason,
          reviewerUserId: caller.userId,
          actor: actorOf(caller),
          nowMs,
        }),
      );
      return { kycCase: kycCaseProto(kase, true) };
    },

    async getLimits(req, ctx) {
      const caller = userCaller(ctx);
      const userId = targetUser(caller, req.userId, 'limits');
      const nowMs = clock.now();
      const user = await existingUser(store, sql, userId);
      const view = await limitsView(sql, user, nowMs);
      return {
        limits: create(ResponsibleGamblingLimitsSchema, {
          depositLimits: limitsList('deposit', view.deposit, view.deposits, nowMs),
          lossLimits: limitsList('loss', view.loss, view.losses, nowMs),
          coolOffUntilMs: BigInt(user.coolOffUntilMs > nowMs ? user.coolOffUntilMs : 0),
          ...(user.selfExclusion !== null && selfExclusionActive(user.selfExclusion, nowMs)
            ? { selfExclusion: selfExclusionProto(user.selfExclusion) }
            : {}),
          lifetimeDeposits: money(user.lifetimeDepositsMinor, settings.realCurrency),
          kycThreshold: money(settings.kycThresholdMinor, settings.realCurrency),
        }),
      };
    },

    setDepositLimit: (req, ctx) => setLimit('deposit', req, ctx),
    setLossLimit: (req, ctx) => setLimit('loss', req, ctx),

    async startCoolOff(req, ctx) {
      const caller = userCaller(ctx);
      const nowMs = clock.now();
      const seconds = Number(req.durationSeconds);
      decideCoolOff(0, seconds, nowMs);
      const untilMs = await sql.transaction(async (tx) => {
        const user = await existingUser(store, tx, caller.userId, { forUpdate: true });
        const decision = decideCoolOff(user.coolOffUntilMs, seconds, nowMs);
        if (decision.changed) {
          await store.setCoolOff(tx, user.userId, decision.untilMs);
          await store.appendEvents(tx, [
            userEvent(
              CoolOffStartedSchema,
              user.userId,
              { untilMs: BigInt(decision.untilMs) },
              actorOf(caller),
            ),
          ]);
        }
        return decision.untilMs;
      });
      return { untilMs: BigInt(untilMs) };
    },

    async selfExclude(req, ctx) {
      const caller = userCaller(ctx);
      const duration = enumName<SelfExclusionDurationName>(SelfExclusionDuration, req.duration);
      const nowMs = clock.now();
      decideSelfExclusion(null, duration, nowMs);
      const exclusion = await sql.transaction(async (tx) => {
        const user = await existingUser(store, tx, caller.userId, { forUpdate: true });
        const decision = decideSelfExclusion(user.selfExclusion, duration, nowMs);
        if (decision.changed) {
          await store.setSelfExclusion(tx, user.userId, decision.exclusion);
          await store.appendEvents(tx, [
            userEvent(
              SelfExclusionStartedSchema,
              user.userId,
              {
                duration: SelfExclusionDuration[decision.exclusion.duration],
                untilMs: BigInt(decision.exclusion.untilMs ?? 0),
              },
              actorOf(caller),
            ),
          ]);
        }
        return decision.exclusion;
      });
      return { selfExclusion: selfExclusionProto(exclusion) };
    },

    async freezeAccount(req, ctx) {
      const caller = userCaller(ctx);
      requireUlid('user_id', req.userId);
      throwIfViolations('freeze refused', [reasonViolation(req.reason)]);
      const nowMs = clock.now();
      const user = await sql.transaction(async (tx) => {
        const target = await existingUser(store, tx, req.userId, { forUpdate: true });
        if (target.roles.includes('admin')) {
          throw new IllegalStateError(
            'admins are not frozen through the API; remove the admin role out of band first',
          );
        }
        if (target.status === 'frozen') return target;
        const reason = req.reason.trim();
        await store.setStatus(tx, target.userId, 'frozen', reason);
        await store.appendEvents(tx, [
          userEvent(UserFrozenSchema, target.userId, { reason }, actorOf(caller)),
        ]);
        return { ...target, status: 'frozen' as const, frozenReason: reason };
      });
      return { user: userProto(user, nowMs, true) };
    },

    async unfreezeAccount(req, ctx) {
      const caller = userCaller(ctx);
      requireUlid('user_id', req.userId);
      throwIfViolations('unfreeze refused', [reasonViolation(req.reason)]);
      const nowMs = clock.now();
      const user = await sql.transaction(async (tx) => {
        const target = await existingUser(store, tx, req.userId, { forUpdate: true });
        if (target.status === 'active') return target;
        const reason = req.reason.trim();
        await store.setStatus(tx, target.userId, 'active', '');
        await store.appendEvents(tx, [
          userEvent(UserUnfrozenSchema, target.userId, { reason }, actorOf(caller)),
        ]);
        return { ...target, status: 'active' as const, frozenReason: '' };
      });
      return { user: userProto(user, nowMs, true) };
    },

    async listUsers(req) {
      const page = readPage(req.page);
      if (req.query.length > 254) {
        throw new ValidationError('bad filter', [
          { field: 'query', description: 'must be at most 254 characters' },
        ]);
      }
      const role = enumName<string>(Role, req.role);
      if (role === 'SERVICE') {
        throw new ValidationError('bad filter', [
          { field: 'role', description: 'ROLE_SERVICE is never a user role' },
        ]);
      }
      const nowMs = clock.now();
      const users = await store.listUsers(sql, {
        query: req.query.trim(),
        status:
          req.status === AccountStatus.ACTIVE
            ? 'active'
            : req.status === AccountStatus.FROZEN
              ? 'frozen'
              : undefined,
        kycStatus: kycStatusName(req.kycStatus),
        role: role === undefined ? undefined : (role.toLowerCase() as RoleName),
        beforeUserId: page.cursor,
        limit: page.size + 1,
      });
      return {
        users: users.slice(0, page.size).map((user) => userProto(user, nowMs, true)),
        page: {
          nextPageToken: nextPageToken(
            users.map((u) => u.userId),
            page.size,
          ),
        },
      };
    },
  };
}

function dateOf(date: { year: number; month: number; day: number }): CalendarDate {
  return { year: date.year, month: date.month, day: date.day };
}
