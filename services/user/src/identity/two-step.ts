/**
 * The second factor (issue 17): TOTP (RFC 6238: SHA-1, 6 digits, 30 s, one step of clock drift
 * either way) through `otpauth`, a maintained, dependency-free implementation that is also usable
 * in the browser and React Native (the web test computes codes with it), and single-use recovery
 * codes stored by SHA-256 (50 random bits each, so a fast hash is enough, as for emailed tokens).
 *
 * {@link createSecondFactorVerifier} is what every protected action calls (CompleteLogin,
 * ChangePassword, RequestEmailChange, DisableTwoStep, and withdrawals through
 * VerifySecondFactor). Each check runs in its own statements, outside the caller's transaction:
 * a wrong code is counted even when the action then fails, and an accepted code is spent (its
 * time step, or the recovery code) by one conditional UPDATE, so a code works once even under
 * concurrent use. Lockout rules: domain/accounts/two-step.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';
import {
  IllegalStateError,
  ResourceExhaustedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql } from '@streambet/platform/sql/types';
import {
  decideSecondFactorAttempt,
  defaultSecondFactorLockout,
  formatRecoveryCode,
  parseSecondFactorCode,
  recoveryCodeCount,
  type SecondFactorLockoutPolicy,
} from './domain/accounts/two-step.js';
import type { IdentityStore, TwoStepRecord } from './store/index.js';
import {
  createTotpSecretCipher,
  isSealedTotpSecret,
  type TotpSecretCipher,
  type TotpSecretKeySettings,
} from './totp-secret-cipher.js';

/** The issuer name authenticator apps show. */
export const totpIssuer = 'StreamBet';
const totpPeriodSeconds = 30;

/** How long an unconfirmed secret (BeginTwoStep) can still be confirmed. */
export const twoStepEnrollTtlMs = 15 * 60_000;

function totpOf(secretBase32: string, label: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer: totpIssuer,
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: totpPeriodSeconds,
    secret: OTPAuth.Secret.fromBase32(secretBase32),
  });
}

/** A new 160-bit secret (RFC 4226's recommended size), its otpauth URI and its QR code (SVG). */
export async function newTotpEnrolment(
  accountLabel: string,
): Promise<{ secretBase32: string; uri: string; qrSvg: string }> {
  const secretBase32 = new OTPAuth.Secret({ size: 20 }).base32;
  const uri = totpOf(secretBase32, accountLabel).toString();
  const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { secretBase32, uri, qrSvg };
}

/** The time step a 6-digit code matches at `nowMs` (±1 step), or undefined. */
export function matchTotpStep(
  secretBase32: string,
  digits: string,
  nowMs: number,
): number | undefined {
  const totp = totpOf(secretBase32, 'check');
  const delta = totp.validate({ token: digits, timestamp: nowMs, window: 1 });
  if (delta === null) return undefined;
  return totp.counter({ timestamp: nowMs }) + delta;
}

/** What is stored of a recovery code (normalized: lower case, no dash). */
export function hashRecoveryCode(normalized: string): string {
  return createHash('sha256').update(`recovery:${normalized}`).digest('hex');
}

/** 10 new recovery codes, as shown to the user, and their hashes. */
export function newRecoveryCodes(
  random: (size: number) => Uint8Array = (size) => randomBytes(size),
): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: recoveryCodeCount }, () => formatRecoveryCode(random(10)));
  return { codes, hashes: codes.map((c) => hashRecoveryCode(c.replace('-', ''))) };
}

/** How long the second step of Login waits for its code. */
export const secondStepTtlMs = 5 * 60_000;

/** A new LoginResponse.second_step_token (256 random bits). */
export function newSecondStepToken(): string {
  return `sbls_${randomBytes(32).toString('base64url')}`;
}

export function isWellFormedSecondStepToken(token: string): boolean {
  return /^sbls_[A-Za-z0-9_-]{43}$/.test(token);
}

/** What is stored of a second-step token. */
export function hashSecondStepToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Where a code comes from: the request field to name in errors, and the client network. */
export interface CodeAttempt {
  readonly field: string;
  readonly code: string;
  /** The client network (clientIpOf), '' when unknown. */
  readonly address: string;
}

export interface SecondFactorVerifier {
  /**
   * Checks the code of a protected action for `userId`: returns false when two-step verification
   * is off (nothing to check), true when the code was accepted and spent; throws
   * INVALID_ARGUMENT (missing or wrong), RESOURCE_EXHAUSTED (locked out).
   */
  verify(userId: string, attempt: CodeAttempt): Promise<boolean>;
  /** Checks a first code of the pending (unconfirmed) secret of ConfirmTwoStep and spends it. */
  verifyEnrolment(userId: string, attempt: CodeAttempt): Promise<TwoStepRecord>;
}

export interface SecondFactorVerifierDeps {
  readonly sql: Sql;
  readonly store: IdentityStore;
  readonly clock: Clock;
  readonly lockout?: SecondFactorLockoutPolicy;
  /** The key of the secrets at rest (USER_TOTP_SECRET_KEY, or derived: totp-secret-cipher.ts). */
  readonly settings: TotpSecretKeySettings;
}

/**
 * Opens a stored secret; a value that does not open (another key, another user's row, tampered)
 * fails closed with an error naming the likely cause, never as an accepted code.
 */
export function openTotpSecret(cipher: TotpSecretCipher, record: TwoStepRecord): string {
  try {
    return cipher.open(record.storedSecret, record.userId);
  } catch (cause) {
    throw new Error(
      `the two-step secret of user ${record.userId} does not open: USER_TOTP_SECRET_KEY (or DEVICE_ID_HASH_KEY) differs from the key that sealed it`,
      { cause },
    );
  }
}

/**
 * Seals every secret still stored bare (rows from before sealing), a page at a time; answers how
 * many were sealed. Run at start-up; a row rewritten meanwhile is left to its new value.
 */
export async function sealBareTotpSecrets(
  deps: Pick<SecondFactorVerifierDeps, 'sql' | 'store' | 'settings'>,
  pageSize = 500,
): Promise<number> {
  const cipher = createTotpSecretCipher(deps.settings);
  let sealed = 0;
  for (;;) {
    const page = await deps.store.listUnsealedTwoStep(deps.sql, pageSize);
    let progressed = false;
    for (const row of page) {
      if (isSealedTotpSecret(row.storedSecret)) continue;
      const secret = cipher.open(row.storedSecret, row.userId);
      if (
        await deps.store.sealTwoStepSecret(
          deps.sql,
          row.userId,
          row.storedSecret,
          cipher.seal(secret, row.userId),
        )
      ) {
        sealed += 1;
        progressed = true;
      }
    }
    if (page.length < pageSize || !progressed) return sealed;
  }
}

/** True when two-step verification is on for this record at `nowMs`. */
export function twoStepEnabled(record: TwoStepRecord | undefined): record is TwoStepRecord {
  return record !== undefined && record.enabledAtMs !== null;
}

export function createSecondFactorVerifier(deps: SecondFactorVerifierDeps): SecondFactorVerifier {
  const { sql, store, clock } = deps;
  const policy = deps.lockout ?? defaultSecondFactorLockout;
  const cipher = createTotpSecretCipher(deps.settings);
  const keys = (userId: string, address: string) => ({
    network: `2fa:network:${userId}:${address === '' ? 'unknown' : address}`,
    account: `2fa:account:${userId}`,
  });

  async function check(
    record: TwoStepRecord,
    attempt: CodeAttempt,
    allowRecovery: boolean,
  ): Promise<void> {
    const nowMs = clock.now();
    const parsed = parseSecondFactorCode(attempt.code);
    if (parsed === undefined || (!allowRecovery && parsed.kind === 'recovery')) {
      throw new ValidationError('second factor refused', [
        {
          field: attempt.field,
          description:
            attempt.code.trim() === ''
              ? 'is required: two-step verification is on; enter the 6-digit code from your authenticator app or a recovery code'
              : allowRecovery
                ? 'is not a 6-digit code or a recovery code (xxxxx-xxxxx)'
                : 'is not a 6-digit code',
        },
      ]);
    }
    const key = keys(record.userId, attempt.address);
    const lockout = decideSecondFactorAttempt(
      parsed.kind,
      {
        network: await store.peekThrottle(sql, key.network, nowMs, policy.perNetwork.windowMs),
        account: await store.peekThrottle(sql, key.account, nowMs, policy.perAccount.windowMs),
      },
      nowMs,
      policy,
    );
    if (lockout !== undefined) {
      throw new ResourceExhaustedError(
        lockout.scope === 'network'
          ? 'too many wrong codes from this network; wait and try again'
          : 'too many wrong authenticator codes for this account; use a recovery code or wait',
        { retryAfterMs: lockout.retryAfterMs },
      );
    }
    let accepted: boolean;
    let reused = false;
    if (parsed.kind === 'totp') {
      const step = matchTotpStep(openTotpSecret(cipher, record), parsed.digits, nowMs);
      accepted = step !== undefined && (await store.advanceTotpStep(sql, record.userId, step));
      reused = step !== undefined && !accepted;
    } else {
      accepted = await store.useRecoveryCode(
        sql,
        record.userId,
        hashRecoveryCode(parsed.normalized),
        nowMs,
      );
    }
    if (accepted) return;
    await store.takeThrottle(sql, key.network, nowMs, policy.perNetwork);
    await store.takeThrottle(sql, key.account, nowMs, policy.perAccount);
    throw new ValidationError('second factor refused', [
      {
        field: attempt.field,
        description: reused
          ? 'was already used; wait for the next code of your authenticator app'
          : parsed.kind === 'totp'
            ? 'is not the current code of your authenticator app'
            : 'is not an unused recovery code of this account',
      },
    ]);
  }

  return {
    async verify(userId, attempt) {
      const record = await store.getTwoStep(sql, userId);
      if (!twoStepEnabled(record)) return false;
      await check(record, attempt, true);
      return true;
    },

    async verifyEnrolment(userId, attempt) {
      const record = await store.getTwoStep(sql, userId);
      if (record === undefined) {
        throw new IllegalStateError('start turning two-step verification on first (BeginTwoStep)');
      }
      if (record.enabledAtMs !== null) {
        throw new IllegalStateError('two-step verification is already on');
      }
      if (clock.now() >= record.enrollExpiresAtMs) {
        throw new IllegalStateError(
          'this two-step set-up expired; start again and scan the new QR code',
        );
      }
      await check(record, attempt, false);
      return record;
    },
  };
}
