/**
 * Two-step verification RPCs of UserService (issue 17): GetTwoStepStatus, BeginTwoStep (password,
 * then a new secret shown once with its QR code), ConfirmTwoStep (a first code turns it on and
 * yields the recovery codes, shown once) and DisableTwoStep (a current code). The checks of codes
 * and the lockout: two-step.ts.
 */
import {
  IllegalStateError,
  ResourceExhaustedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import { enqueueMail } from '../mail/mail-outbox.js';
import { notificationStore } from '../notifications/store.js';
import { twoStepChangedMail } from './account-mail.js';
import { accountRecoveryThrottles } from './account-recovery-routes.js';
import { throwIfViolations } from './domain/accounts/validation.js';
import { createTotpSecretCipher } from './totp-secret-cipher.js';
import { clientIpOf, existingUser, userCaller } from './requests.js';
import type { UserServiceDeps, UserServiceImpl } from './routes.js';
import {
  createSecondFactorVerifier,
  newRecoveryCodes,
  newTotpEnrolment,
  twoStepEnabled,
  twoStepEnrollTtlMs,
} from './two-step.js';

export function createTwoStepRoutes(
  deps: UserServiceDeps,
  newId: (nowMs: number) => string,
): Pick<
  UserServiceImpl,
  'getTwoStepStatus' | 'beginTwoStep' | 'confirmTwoStep' | 'disableTwoStep'
> {
  const { sql, store, clock, hasher } = deps;
  const secrets = createTotpSecretCipher(deps.settings);
  const verifier = createSecondFactorVerifier({
    sql,
    store,
    clock,
    settings: deps.settings,
    ...(deps.secondFactorLockout === undefined ? {} : { lockout: deps.secondFactorLockout }),
  });

  return {
    async getTwoStepStatus(_req, ctx) {
      const caller = userCaller(ctx);
      const record = await store.getTwoStep(sql, caller.userId);
      if (!twoStepEnabled(record)) return { enabled: false, enabledAtMs: 0n, recoveryCodesLeft: 0 };
      return {
        enabled: true,
        enabledAtMs: BigInt(record.enabledAtMs!),
        recoveryCodesLeft: await store.countRecoveryCodesLeft(sql, caller.userId),
      };
    },

    async beginTwoStep(req, ctx) {
      const caller = userCaller(ctx);
      throwIfViolations('two-step set-up refused', [
        req.currentPassword === ''
          ? { field: 'current_password', description: 'is required' }
          : undefined,
      ]);
      const nowMs = clock.now();
      const user = await existingUser(store, sql, caller.userId);
      if (twoStepEnabled(await store.getTwoStep(sql, user.userId))) {
        throw new IllegalStateError('two-step verification is already on; turn it off first');
      }
      // The password attempts share ChangePassword's budget: both are guesses of the password
      // from a stolen access token.
      const decision = await store.takeThrottle(
        sql,
        `change-password:${user.userId}`,
        nowMs,
        accountRecoveryThrottles.changePassword,
      );
      if (!decision.allowed) {
        throw new ResourceExhaustedError('too many password attempts', {
          retryAfterMs: decision.retryAfterMs,
        });
      }
      if (!(await hasher.verify(req.currentPassword, user.passwordHash))) {
        throw new ValidationError('two-step set-up refused', [
          { field: 'current_password', description: 'is not the password of this account' },
        ]);
      }
      const enrolment = await newTotpEnrolment(user.email);
      const expiresAtMs = nowMs + twoStepEnrollTtlMs;
      await sql.transaction(async (tx) => {
        await existingUser(store, tx, user.userId, { forUpdate: true });
        if (twoStepEnabled(await store.getTwoStep(tx, user.userId, { forUpdate: true }))) {
          throw new IllegalStateError('two-step verification is already on; turn it off first');
        }
        await store.putPendingTwoStep(
          tx,
          user.userId,
          secrets.seal(enrolment.secretBase32, user.userId),
          nowMs,
          expiresAtMs,
        );
      });
      return {
        secretBase32: enrolment.secretBase32,
        otpauthUri: enrolment.uri,
        qrSvg: enrolment.qrSvg,
        expiresAtMs: BigInt(expiresAtMs),
      };
    },

    async confirmTwoStep(req, ctx) {
      const caller = userCaller(ctx);
      const pending = await verifier.verifyEnrolment(caller.userId, {
        field: 'code',
        code: req.code,
        address: clientIpOf(ctx.requestHeader),
      });
      const nowMs = clock.now();
      const recovery = newRecoveryCodes(deps.randomBytes);
      await sql.transaction(async (tx) => {
        const user = await existingUser(store, tx, caller.userId, { forUpdate: true });
        const current = await store.getTwoStep(tx, user.userId, { forUpdate: true });
        if (current?.storedSecret !== pending.storedSecret || current.enabledAtMs !== null) {
          throw new IllegalStateError('two-step set-up changed meanwhile; start again');
        }
        await store.enableTwoStep(tx, user.userId, nowMs, recovery.hashes);
        await enqueueMail(
          tx,
          twoStepChangedMail(
            {
              messageId: newId(nowMs),
              userId: user.userId,
              to: user.email,
              displayName: user.displayName,
              language: await notificationStore.languageOf(tx, user.userId),
            },
            true,
          ),
          nowMs,
        );
      });
      deps.onMailQueued?.();
      return { recoveryCodes: recovery.codes };
    },

    async disableTwoStep(req, ctx) {
      const caller = userCaller(ctx);
      const on = await verifier.verify(caller.userId, {
        field: 'code',
        code: req.code,
        address: clientIpOf(ctx.requestHeader),
      });
      if (!on) throw new IllegalStateError('two-step verification is not on');
      const nowMs = clock.now();
      await sql.transaction(async (tx) => {
        const user = await existingUser(store, tx, caller.userId, { forUpdate: true });
        await store.deleteTwoStep(tx, user.userId);
        await enqueueMail(
          tx,
          twoStepChangedMail(
            {
              messageId: newId(nowMs),
              userId: user.userId,
              to: user.email,
              displayName: user.displayName,
              language: await notificationStore.languageOf(tx, user.userId),
            },
            false,
          ),
          nowMs,
        );
      });
      deps.onMailQueued?.();
      return {};
    },
  };
}
