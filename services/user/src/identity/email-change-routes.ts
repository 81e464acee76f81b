/**
 * Change of email (issue 17): RequestEmailChange re-authenticates (password, and the second factor
 * when two-step verification is on) and mails a single-use link to the new address;
 * ConfirmEmailChange, with that link's token, moves the account to the new address (confirmed)
 * and tells the old one.
 *
 * No enumeration: RequestEmailChange answers the same whether or not another account has the new
 * address; the link is only written and mailed when the address is free at that moment. If it is
 * taken by the time the link is opened (two accounts claiming one free address), the unique index
 * on users.email lets exactly one confirmation win; the other gets FAILED_PRECONDITION, which only
 * the holder of the new mailbox can see.
 */
import {
  IllegalStateError,
  ResourceExhaustedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import { enqueueMail } from '../mail/mail-outbox.js';
import { notificationStore } from '../notifications/store.js';
import {
  emailChangeMail,
  emailChangedMail,
  emailTokenTtlMs,
  hashEmailToken,
  isWellFormedEmailToken,
  newEmailToken,
} from './account-mail.js';
import { defaultMailLinkBaseUrl } from './account-recovery-routes.js';
import { emailViolation, normalizeEmail, throwIfViolations } from './domain/accounts/validation.js';
import { userProto } from './proto-codec.js';
import { clientIpOf, existingUser, userCaller } from './requests.js';
import type { UserServiceDeps, UserServiceImpl } from './routes.js';
import { createSecondFactorVerifier } from './two-step.js';

/** RequestEmailChange: at most 5 per account per hour (each may mail a stranger's address). */
export const emailChangeThrottle = { max: 5, windowMs: 3_600_000 } as const;

const badLink = 'this email-change link is invalid, already used or expired; ask for a new one';

export function createEmailChangeRoutes(
  deps: UserServiceDeps,
  newId: (nowMs: number) => string,
): Pick<UserServiceImpl, 'requestEmailChange' | 'confirmEmailChange'> {
  const { sql, store, clock, hasher } = deps;
  const linkBase = deps.settings.mailLinkBaseUrl ?? defaultMailLinkBaseUrl;
  const verifier = createSecondFactorVerifier({
    sql,
    store,
    clock,
    settings: deps.settings,
    ...(deps.secondFactorLockout === undefined ? {} : { lockout: deps.secondFactorLockout }),
  });

  return {
    async requestEmailChange(req, ctx) {
      const caller = userCaller(ctx);
      const violation = emailViolation(req.newEmail);
      throwIfViolations('email change refused', [
        violation === undefined ? undefined : { ...violation, field: 'new_email' },
        req.currentPassword === ''
          ? { field: 'current_password', description: 'is required' }
          : undefined,
      ]);
      const newEmail = normalizeEmail(req.newEmail);
      const nowMs = clock.now();
      const user = await existingUser(store, sql, caller.userId);
      if (newEmail === user.email) {
        throw new ValidationError('email change refused', [
          { field: 'new_email', description: 'is already the address of this account' },
        ]);
      }
      const decision = await store.takeThrottle(
        sql,
        `change-email:${user.userId}`,
        nowMs,
        emailChangeThrottle,
      );
      if (!decision.allowed) {
        throw new ResourceExhaustedError('too many email-change requests for this account', {
          retryAfterMs: decision.retryAfterMs,
        });
      }
      if (!(await hasher.verify(req.currentPassword, user.passwordHash))) {
        throw new ValidationError('email change refused', [
          { field: 'current_password', description: 'is not the password of this account' },
        ]);
      }
      await verifier.verify(user.userId, {
        field: 'second_factor_code',
        code: req.secondFactorCode,
        address: clientIpOf(ctx.requestHeader),
      });
      const sent = await sql.transaction(async (tx) => {
        const current = await existingUser(store, tx, user.userId, { forUpdate: true });
        if ((await store.getUserByEmail(tx, newEmail)) !== undefined) return false;
        const token = newEmailToken('change_email');
        await store.insertEmailChangeToken(tx, {
          tokenHash: hashEmailToken(token),
          userId: current.userId,
          newEmail,
          previousEmail: current.email,
          createdAtMs: nowMs,
          expiresAtMs: nowMs + emailTokenTtlMs.change_email,
        });
        await enqueueMail(
          tx,
          emailChangeMail(
            {
              messageId: newId(nowMs),
              userId: current.userId,
              to: newEmail,
              displayName: current.displayName,
              language: await notificationStore.languageOf(tx, current.userId),
            },
            token,
            linkBase,
          ),
          nowMs,
        );
        return true;
      });
      if (sent) deps.onMailQueued?.();
      return {};
    },

    async confirmEmailChange(req) {
      if (!isWellFormedEmailToken(req.token, 'change_email')) {
        throw new ValidationError('email change refused', [
          { field: 'token', description: 'is not a token from an email-change email' },
        ]);
      }
      const nowMs = clock.now();
      const user = await sql.transaction(async (tx) => {
        const token = await store.findEmailChangeToken(tx, hashEmailToken(req.token));
        if (token === undefined || token.usedAtMs !== null || nowMs >= token.expiresAtMs) {
          throw new IllegalStateError(badLink);
        }
        const current = await existingUser(store, tx, token.userId, { forUpdate: true });
        if (current.email !== token.previousEmail) throw new IllegalStateError(badLink);
        if ((await store.changeEmail(tx, current.userId, token.newEmail, nowMs)) === 'taken') {
          throw new IllegalStateError(
            'another account uses this address now; the change cannot be made',
          );
        }
        await store.useEmailTokens(tx, current.userId, 'change_email', nowMs);
        await enqueueMail(
          tx,
          emailChangedMail(
            {
              messageId: newId(nowMs),
              userId: current.userId,
              to: current.email,
              displayName: current.displayName,
              language: await notificationStore.languageOf(tx, current.userId),
            },
            token.newEmail,
          ),
          nowMs,
        );
        return { ...current, email: token.newEmail, emailVerifiedAtMs: nowMs };
      });
      deps.onMailQueued?.();
      return { user: userProto(user, nowMs, false) };
    },
  };
}
