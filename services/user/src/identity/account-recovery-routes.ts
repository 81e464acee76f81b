/**
 * Accounts people can keep (issue 17): address verification (VerifyEmail, ResendVerification),
 * password reset by emailed token (RequestPasswordReset, ResetPassword), ChangePassword, and the
 * session list with its revocations (ListSessions, RevokeSession, RevokeSessions).
 *
 * Every email is written to the mail outbox in the transaction of the change that causes it
 * (mail/mail-outbox.ts). Emailed tokens are single-use and short-lived; a token that is unknown,
 * used or expired gets one message (FAILED_PRECONDITION) and changes nothing. RequestPasswordReset
 * answers the same whether or not an account has the address, and throttles per email and per
 * client address whether or not it does.
 */
import { create } from '@bufbuild/protobuf';
import { SessionSchema } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import {
  IllegalStateError,
  NotFoundError,
  ResourceExhaustedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import { enqueueMail } from '../mail/mail-outbox.js';
import { notificationStore } from '../notifications/store.js';
import {
  emailTokenTtlMs,
  hashEmailToken,
  isWellFormedEmailToken,
  newEmailToken,
  passwordChangedMail,
  resetMail,
  verificationMail,
} from './account-mail.js';
import {
  normalizeEmail,
  passwordViolation,
  throwIfViolations,
} from './domain/accounts/validation.js';
import { userProto } from './proto-codec.js';
import { createSecondFactorVerifier } from './two-step.js';
import {
  clientIpOf,
  existingUser,
  reasonViolation,
  requireUlid,
  targetUser,
  userCaller,
} from './requests.js';
import type { UserServiceDeps, UserServiceImpl } from './routes.js';
import type { UserRecord } from './store/index.js';

/** Default MAIL_LINK_BASE_URL: the web app of `npm start`. */
export const defaultMailLinkBaseUrl = 'http://localhost:8080';

/** Throttles of the emailing RPCs (fixed windows). */
export const accountRecoveryThrottles = {
  resendVerification: { max: 3, windowMs: 3_600_000 },
  resetPerEmail: { max: 3, windowMs: 3_600_000 },
  resetPerAddress: { max: 10, windowMs: 3_600_000 },
  changePassword: { max: 5, windowMs: 15 * 60_000 },
} as const;

const badTokenMessage = (what: string) =>
  `this ${what} link is invalid, already used or expired; ask for a new one`;

const maxSessionsListed = 100;

/**
 * Writes a verification token and its email for `user` in `tx` (Register, ResendVerification).
 */
export async function queueVerificationMail(
  deps: UserServiceDeps,
  tx: SqlExecutor,
  user: Pick<UserRecord, 'userId' | 'email' | 'displayName'>,
  newId: (nowMs: number) => string,
  nowMs: number,
): Promise<void> {
  const token = newEmailToken('verify_email');
  await deps.store.insertEmailToken(tx, {
    tokenHash: hashEmailToken(token),
    purpose: 'verify_email',
    userId: user.userId,
    email: user.email,
    createdAtMs: nowMs,
    expiresAtMs: nowMs + emailTokenTtlMs.verify_email,
  });
  await enqueueMail(
    tx,
    verificationMail(
      {
        messageId: newId(nowMs),
        userId: user.userId,
        to: user.email,
        displayName: user.displayName,
        language: await notificationStore.languageOf(tx, user.userId),
      },
      token,
      deps.settings.mailLinkBaseUrl ?? defaultMailLinkBaseUrl,
    ),
    nowMs,
  );
}

/** The account-recovery and session RPCs of UserService. */
export function createAccountRecoveryRoutes(
  deps: UserServiceDeps,
  newId: (nowMs: number) => string,
): Pick<
  UserServiceImpl,
  | 'verifyEmail'
  | 'resendVerification'
  | 'requestPasswordReset'
  | 'resetPassword'
  | 'changePassword'
  | 'listSessions'
  | 'revokeSession'
  | 'revokeSessions'
> {
  const { sql, store, clock, hasher } = deps;
  const linkBase = deps.settings.mailLinkBaseUrl ?? defaultMailLinkBaseUrl;
  const mailQueued = () => deps.onMailQueued?.();
  const secondFactor = createSecondFactorVerifier({
    sql,
    store,
    clock,
    settings: deps.settings,
    ...(deps.secondFactorLockout === undefined ? {} : { lockout: deps.secondFactorLockout }),
  });

  function refuse(decision: { allowed: boolean; retryAfterMs?: number }, message: string) {
    if (!decision.allowed) {
      throw new ResourceExhaustedError(message, {
        ...(decision.retryAfterMs === undefined ? {} : { retryAfterMs: decision.retryAfterMs }),
      });
    }
  }

  return {
    async verifyEmail(req) {
      if (!isWellFormedEmailToken(req.token, 'verify_email')) {
        throw new ValidationError('verification refused', [
          { field: 'token', description: 'is not a token from a verification email' },
        ]);
      }
      const nowMs = clock.now();
      const user = await sql.transaction(async (tx) => {
        const token = await store.findEmailToken(tx, hashEmailToken(req.token), {
          forUpdate: true,
        });
        if (
          token === undefined ||
          token.purpose !== 'verify_email' ||
          token.usedAtMs !== null ||
          nowMs >= token.expiresAtMs
        ) {
          throw new IllegalStateError(badTokenMessage('verification'));
        }
        const current = await existingUser(store, tx, token.userId, { forUpdate: true });
        if (current.email !== token.email) {
          throw new IllegalStateError(badTokenMessage('verification'));
        }
        await store.useEmailToken(tx, token.tokenHash, nowMs);
        await store.setEmailVerified(tx, current.userId, nowMs);
        return { ...current, emailVerifiedAtMs: current.emailVerifiedAtMs ?? nowMs };
      });
      return { user: userProto(user, nowMs, false) };
    },

    async resendVerification(_req, ctx) {
      const caller = userCaller(ctx);
      const nowMs = clock.now();
      const email = await sql.transaction(async (tx) => {
        const user = await existingUser(store, tx, caller.userId, { forUpdate: true });
        if ((user.emailVerifiedAtMs ?? null) !== null) {
          throw new IllegalStateError(`${user.email} is already verified`);
        }
        refuse(
          await store.takeThrottle(
            tx,
            `resend-verification:${user.userId}`,
            nowMs,
            accountRecoveryThrottles.resendVerification,
          ),
          'too many verification emails for this account',
        );
        await queueVerificationMail(deps, tx, user, newId, nowMs);
        return user.email;
      });
      mailQueued();
      return { email };
    },

    async requestPasswordReset(req, ctx) {
      const trimmed = req.email.trim();
      throwIfViolations('password reset refused', [
        trimmed === '' || trimmed.length > 254
          ? { field: 'email', description: 'is required, at most 254 characters' }
          : undefined,
      ]);
      const email = normalizeEmail(trimmed);
      const address = clientIpOf(ctx.requestHeader);
      const nowMs = clock.now();
      // The throttles count in their own statements: they must hold whether or not an account
      // exists, and a refusal must not depend on it.
      if (address !== '') {
        refuse(
          await store.takeThrottle(
            sql,
            `reset:address:${address}`,
            nowMs,
            accountRecoveryThrottles.resetPerAddress,
          ),
          'too many password-reset requests from this network',
        );
      }
      refuse(
        await store.takeThrottle(
          sql,
          `reset:email:${email}`,
          nowMs,
          accountRecoveryThrottles.resetPerEmail,
        ),
        'too many password-reset requests for this email',
      );
      const user = await store.getUserByEmail(sql, email);
      if (user !== undefined) {
        const token = newEmailToken('reset_password');
        await sql.transaction(async (tx) => {
          await store.insertEmailToken(tx, {
            tokenHash: hashEmailToken(token),
            purpose: 'reset_password',
            userId: user.userId,
            email: user.email,
            createdAtMs: nowMs,
            expiresAtMs: nowMs + emailTokenTtlMs.reset_password,
          });
          await enqueueMail(
            tx,
            resetMail(
              {
                messageId: newId(nowMs),
                userId: user.userId,
                to: user.email,
                displayName: user.displayName,
                language: await notificationStore.languageOf(tx, user.userId),
              },
              token,
              linkBase,
            ),
            nowMs,
          );
        });
        mailQueued();
      }
      return {};
    },

    async resetPassword(req) {
      if (!isWellFormedEmailToken(req.token, 'reset_password')) {
        throw new ValidationError('password reset refused', [
          { field: 'token', description: 'is not a token from a password-reset email' },
        ]);
      }
      const tokenHash = hashEmailToken(req.token);
      const nowMs = clock.now();
      // Read first (no lock) to check the new password against the address and to hash it
      // outside the transaction; the transaction checks the token again under lock.
      const peek = await store.findEmailToken(sql, tokenHash);
      const usable = (t: typeof peek): t is NonNullable<typeof peek> =>
        t !== undefined &&
        t.purpose === 'reset_password' &&
        t.usedAtMs === null &&
        nowMs < t.expiresAtMs;
      if (!usable(peek)) throw new IllegalStateError(badTokenMessage('password-reset'));
      throwIfViolations('password reset refused', [
        passwordViolation(req.newPassword, peek.email) === undefined
          ? undefined
          : { ...passwordViolation(req.newPassword, peek.email)!, field: 'new_password' },
      ]);
      const hash = await hasher.hash(req.newPassword);
      const revoked = await sql.transaction(async (tx) => {
        const token = await store.findEmailToken(tx, tokenHash, { forUpdate: true });
        if (!usable(token)) throw new IllegalStateError(badTokenMessage('password-reset'));
        const user = await existingUser(store, tx, token.userId, { forUpdate: true });
        if (user.email !== token.email) {
          throw new IllegalStateError(badTokenMessage('password-reset'));
        }
        await store.updatePasswordHash(tx, user.userId, hash);
        await store.useEmailTokens(tx, user.userId, 'reset_password', nowMs);
        await store.setEmailVerified(tx, user.userId, nowMs);
        const count = await store.revokeAllSessions(tx, user.userId, nowMs, 'password reset');
        await enqueueMail(
          tx,
          passwordChangedMail(
            {
              messageId: newId(nowMs),
              userId: user.userId,
              to: user.email,
              displayName: user.displayName,
              language: await notificationStore.languageOf(tx, user.userId),
            },
            'reset',
            count,
          ),
          nowMs,
        );
        return count;
      });
      mailQueued();
      return { revokedSessions: revoked };
    },

    async changePassword(req, ctx) {
      const caller = userCaller(ctx);
      throwIfViolations('password change refused', [
        req.currentPassword === ''
          ? { field: 'current_password', description: 'is required' }
          : undefined,
      ]);
      const nowMs = clock.now();
      const user = await existingUser(store, sql, caller.userId);
      const violation = passwordViolation(req.newPassword, user.email);
      throwIfViolations('password change refused', [
        violation === undefined ? undefined : { ...violation, field: 'new_password' },
      ]);
      refuse(
        await store.takeThrottle(
          sql,
          `change-password:${user.userId}`,
          nowMs,
          accountRecoveryThrottles.changePassword,
        ),
        'too many password-change attempts',
      );
      if (!(await hasher.verify(req.currentPassword, user.passwordHash))) {
        throw new ValidationError('password change refused', [
          { field: 'current_password', description: 'is not the password of this account' },
        ]);
      }
      await secondFactor.verify(user.userId, {
        field: 'second_factor_code',
        code: req.secondFactorCode,
        address: clientIpOf(ctx.requestHeader),
      });
      const hash = await hasher.hash(req.newPassword);
      const keep = caller.sessionId ?? '';
      const revoked = await sql.transaction(async (tx) => {
        const current = await existingUser(store, tx, caller.userId, { forUpdate: true });
        if (current.passwordHash !== user.passwordHash) {
          throw new IllegalStateError(
            'the password changed meanwhile; sign in with the new one and try again',
          );
        }
        await store.updatePasswordHash(tx, current.userId, hash);
        const count = await store.revokeOtherSessions(
          tx,
          current.userId,
          keep,
          nowMs,
          'password changed',
        );
        await enqueueMail(
          tx,
          passwordChangedMail(
            {
              messageId: newId(nowMs),
              userId: current.userId,
              to: current.email,
              displayName: current.displayName,
              language: await notificationStore.languageOf(tx, current.userId),
            },
            'change',
            count,
          ),
          nowMs,
        );
        return count;
      });
      mailQueued();
      return { revokedSessions: revoked };
    },

    async listSessions(req, ctx) {
      const caller = userCaller(ctx);
      const userId = targetUser(caller, req.userId, 'sessions');
      await existingUser(store, sql, userId);
      const sessions = await store.listLiveSessions(sql, userId, clock.now(), maxSessionsListed);
      return {
        sessions: sessions.map((s) =>
          create(SessionSchema, {
            sessionId: s.sessionId,
            deviceId: s.deviceId,
            clientApp: s.clientApp,
            place: s.place,
            createdAtMs: BigInt(s.createdAtMs),
            lastUsedAtMs: BigInt(s.lastUsedAtMs),
            current: s.sessionId === caller.sessionId,
          }),
        ),
      };
    },

    async revokeSession(req, ctx) {
      const caller = userCaller(ctx);
      requireUlid('session_id', req.sessionId);
      const nowMs = clock.now();
      const revoked = await sql.transaction(async (tx) => {
        if ((await store.sessionOwner(tx, req.sessionId)) !== caller.userId) {
          throw new NotFoundError('you have no session with this id');
        }
        return store.revokeSession(tx, req.sessionId, nowMs, 'revoked by the user');
      });
      return { revokedSessions: revoked };
    },

    async revokeSessions(req, ctx) {
      const caller = userCaller(ctx);
      const userId = targetUser(caller, req.userId, 'sessions');
      const own = userId === caller.userId;
      if (!own) throwIfViolations('revoking sessions refused', [reasonViolation(req.reason)]);
      const nowMs = clock.now();
      const revoked = await sql.transaction(async (tx) => {
        await existingUser(store, tx, userId, { forUpdate: true });
        if (own) {
          return req.keepCurrent && caller.sessionId !== undefined
            ? store.revokeOtherSessions(tx, userId, caller.sessionId, nowMs, 'revoked by the user')
            : store.revokeAllSessions(tx, userId, nowMs, 'revoked by the user');
        }
        return store.revokeAllSessions(
          tx,
          userId,
          nowMs,
          `revoked by admin ${caller.userId}: ${req.reason.trim()}`,
        );
      });
      return { revokedSessions: revoked };
    },
  };
}
