/**
 * Identity routes: Register, Login (and its second step, CompleteLogin), Refresh, Logout (sessions and refresh-token rotation), profiles,
 * the JWKS, and the admin's account management (FreezeAccount, UnfreezeAccount, ListUsers). Each
 * handler validates, reads under lock, decides with domain/accounts, writes through the store and
 * appends its events to the outbox in the same transaction. Freeze and Unfreeze run on the
 * platform's command handler (account-commands.ts); Register, Login, Refresh and UpdateProfile keep
 * their own transactions: they rely on the database's uniqueness (email, display name, refresh
 * token) and on work outside one user's locked row (password hashing, issuing tokens), which the
 * handler's load → decide → save of one state does not model.
 */
import { createHmac } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import type { HandlerContext } from '@connectrpc/connect';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  UserClientContextSchema,
  UserLoggedInSchema,
  UserProfileUpdatedSchema,
  UserRegisteredSchema,
  UserSessionRevokedForReuseSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import { AccountStatus } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import {
  TokenPairSchema,
  type TokenPair,
} from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import {
  AlreadyExistsError,
  ResourceExhaustedError,
  UnauthenticatedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import { isAdultAt } from './domain/accounts/age.js';
import { normalizeRoles, primaryRole, type RoleName } from './domain/accounts/roles.js';
import { decideRefresh } from './domain/accounts/session.js';
import { coarsePlaceOf } from './domain/accounts/session-place.js';
import { decideFreeze, decideUnfreeze } from './domain/accounts/account.js';
import { handleAccountCommand } from './account-commands.js';
import { decideLoginAttempt, defaultLoginThrottle } from './domain/accounts/throttle.js';
import {
  displayNameViolation,
  normalizeEmail,
  throwIfViolations,
  validateRegistration,
} from './domain/accounts/validation.js';
import { userEvent, type UserRecord } from './store/index.js';
import { hashRefreshToken, isWellFormedRefreshToken, newRefreshToken } from './token-issuer.js';

import { roleProto, kycStatusName, enumName, userProto, dateOf } from './proto-codec.js';
import {
  userCaller,
  actorOf,
  requireUlid,
  targetUser,
  existingUser,
  readPage,
  nextPageToken,
  reasonViolation,
  clientIpOf,
} from './requests.js';
import type { UserServiceDeps, UserServiceImpl } from './routes.js';
import { queueVerificationMail } from './account-recovery-routes.js';
import {
  createSecondFactorVerifier,
  hashSecondStepToken,
  isWellFormedSecondStepToken,
  newSecondStepToken,
  secondStepTtlMs,
  twoStepEnabled,
} from './two-step.js';
import { languageFromAcceptLanguage } from '../notifications/domain.js';
import { notificationStore } from '../notifications/store.js';

/** The account, session and admin RPCs of UserService. */
export function createIdentityRoutes(
  deps: UserServiceDeps,
  newId: (nowMs: number) => string,
): Pick<
  UserServiceImpl,
  | 'register'
  | 'login'
  | 'completeLogin'
  | 'refresh'
  | 'logout'
  | 'getProfile'
  | 'updateProfile'
  | 'getJwks'
  | 'freezeAccount'
  | 'unfreezeAccount'
  | 'listUsers'
> {
  const { sql, store, clock, hasher, tokens, settings } = deps;
  const refreshTtlMs = settings.refreshTokenTtlSeconds * 1000;
  const secondFactor = createSecondFactorVerifier({
    sql,
    store,
    clock,
    settings: deps.settings,
    ...(deps.secondFactorLockout === undefined ? {} : { lockout: deps.secondFactorLockout }),
  });

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
    await store.insertSession(tx, {
      sessionId,
      userId: user.userId,
      createdAtMs: nowMs,
      deviceId,
      clientApp: (ctx.requestHeader.get('x-client-app') ?? '').slice(0, 128),
      place: coarsePlaceOf(clientIpOf(ctx.requestHeader)),
    });
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
        // Texts and emails in the reader's language from the start (English unless Portuguese is
        // preferred); changeable later in the notification preferences.
        const language = languageFromAcceptLanguage(ctx.requestHeader.get('accept-language'));
        if (language !== 'en') await notificationStore.setLanguage(tx, user.userId, language);
        await queueVerificationMail(deps, tx, user, newId, nowMs);
        return startSession(tx, user, input.deviceId, ctx, nowMs);
      });
      deps.onMailQueued?.();
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
      const address = clientIpOf(ctx.requestHeader);
      const throttle = settings.loginThrottle ?? defaultLoginThrottle;
      const attemptAtMs = clock.now();
      const refusal = decideLoginAttempt(
        await store.getLoginHistory(sql, email, address),
        attemptAtMs,
        throttle,
      );
      if (refusal !== undefined) {
        throw new ResourceExhaustedError(
          refusal.scope === 'address'
            ? 'too many failed logins for this email from this network'
            : 'too many failed logins for this email',
          { retryAfterMs: refusal.retryAfterMs },
        );
      }
      const user = await store.getUserByEmail(sql, email);
      const wrong = async () => {
        await store.recordLoginFailure(sql, {
          email,
          address,
          nowMs: attemptAtMs,
          policy: throttle,
        });
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
      const secondStep = twoStepEnabled(await store.getTwoStep(sql, user.userId))
        ? newSecondStepToken()
        : undefined;
      const pair = await sql.transaction(async (tx) => {
        await store.recordLoginSuccess(tx, email, address, nowMs);
        if (rehash !== undefined) await store.updatePasswordHash(tx, user.userId, rehash);
        if (secondStep !== undefined) {
          await store.insertLoginSecondStep(tx, {
            tokenHash: hashSecondStepToken(secondStep),
            userId: user.userId,
            deviceId: req.deviceId,
            createdAtMs: nowMs,
            expiresAtMs: nowMs + secondStepTtlMs,
          });
          return undefined;
        }
        return startSession(tx, user, req.deviceId, ctx, nowMs);
      });
      if (pair === undefined) {
        return {
          secondStepToken: secondStep!,
          secondStepExpiresAtMs: BigInt(nowMs + secondStepTtlMs),
        };
      }
      return { user: userProto(user, nowMs, user.roles.includes('admin')), tokens: await pair() };
    },

    async completeLogin(req, ctx) {
      if (!isWellFormedSecondStepToken(req.secondStepToken)) {
        throw new ValidationError('login refused', [
          { field: 'second_step_token', description: 'is not a token from Login' },
        ]);
      }
      const tokenHash = hashSecondStepToken(req.secondStepToken);
      const expired = 'this sign-in expired or was already completed; log in again';
      const step = await store.findLoginSecondStep(sql, tokenHash);
      if (step === undefined || step.usedAtMs !== null || clock.now() >= step.expiresAtMs) {
        throw new UnauthenticatedError(expired);
      }
      await secondFactor.verify(step.userId, {
        field: 'code',
        code: req.code,
        address: clientIpOf(ctx.requestHeader),
      });
      const nowMs = clock.now();
      const { user, pair } = await sql.transaction(async (tx) => {
        if (!(await store.useLoginSecondStep(tx, tokenHash, nowMs))) {
          throw new UnauthenticatedError(expired);
        }
        const current = await existingUser(store, tx, step.userId);
        return {
          user: current,
          pair: await startSession(tx, current, step.deviceId, ctx, nowMs),
        };
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
        await store.touchSession(
          tx,
          token.sessionId,
          nowMs,
          coarsePlaceOf(clientIpOf(ctx.requestHeader)),
        );
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
    async freezeAccount(req, ctx) {
      const caller = userCaller(ctx);
      requireUlid('user_id', req.userId);
      throwIfViolations('freeze refused', [reasonViolation(req.reason)]);
      const nowMs = clock.now();
      const { after } = await handleAccountCommand(deps, req.userId, actorOf(caller), (target) =>
        decideFreeze(target, req.reason),
      );
      return { user: userProto(after, nowMs, true) };
    },

    async unfreezeAccount(req, ctx) {
      const caller = userCaller(ctx);
      requireUlid('user_id', req.userId);
      throwIfViolations('unfreeze refused', [reasonViolation(req.reason)]);
      const nowMs = clock.now();
      const { after } = await handleAccountCommand(deps, req.userId, actorOf(caller), (target) =>
        decideUnfreeze(target, req.reason),
      );
      return { user: userProto(after, nowMs, true) };
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
