/**
 * Rules of two-step verification (issue 17), pure: the shape of codes, and the lockout after wrong
 * codes. The lockout is designed so a stranger cannot lock the owner out:
 *
 * - per account and client network: 5 wrong codes in 15 minutes lock THAT network out of that
 *   account (every code kind) until the 15-minute window ends; other networks are unaffected;
 * - per account across networks: 30 wrong codes in an hour stop authenticator codes everywhere for
 *   the rest of the hour (a distributed guess of 6 digits), while recovery codes (50 bits each,
 *   not guessable) keep working, so the owner can still get in.
 */

/** Lockout windows of wrong second-factor codes. */
export interface SecondFactorLockoutPolicy {
  readonly perNetwork: { readonly max: number; readonly windowMs: number };
  readonly perAccount: { readonly max: number; readonly windowMs: number };
}

export const defaultSecondFactorLockout: SecondFactorLockoutPolicy = {
  perNetwork: { max: 5, windowMs: 15 * 60_000 },
  perAccount: { max: 30, windowMs: 3_600_000 },
};

/** A code as typed: a 6-digit authenticator code or a recovery code. */
export type SecondFactorCode =
  | { readonly kind: 'totp'; readonly digits: string }
  | { readonly kind: 'recovery'; readonly normalized: string };

/** Alphabet of recovery codes (RFC 4648 base32, lower case: no 0/1/8/9 to confuse). */
export const recoveryCodeAlphabet = 'abcdefghijklmnopqrstuvwxyz234567';

/** Number of recovery codes given when two-step verification is turned on. */
export const recoveryCodeCount = 10;

/** Reads a typed code (spaces ignored; recovery codes with or without their dash, any case). */
export function parseSecondFactorCode(input: string): SecondFactorCode | undefined {
  const compact = input.replace(/\s+/g, '');
  if (/^\d{6}$/.test(compact)) return { kind: 'totp', digits: compact };
  const lower = compact.toLowerCase();
  if (/^[a-z2-7]{5}-?[a-z2-7]{5}$/.test(lower)) {
    return { kind: 'recovery', normalized: lower.replace('-', '') };
  }
  return undefined;
}

/** A recovery code from 10 random bytes ("xxxxx-xxxxx", 50 bits). */
export function formatRecoveryCode(random: Uint8Array): string {
  if (random.length < 10) throw new RangeError('a recovery code needs 10 random bytes');
  let code = '';
  for (let i = 0; i < 10; i += 1) code += recoveryCodeAlphabet[random[i]! % 32];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** Failures counted so far in the current windows (0 when a window ended). */
export interface SecondFactorFailures {
  readonly network: { readonly count: number; readonly windowEndsAtMs: number };
  readonly account: { readonly count: number; readonly windowEndsAtMs: number };
}

/** Why a code is not even checked, with when to retry. */
export interface SecondFactorLockout {
  readonly scope: 'network' | 'account';
  readonly retryAfterMs: number;
}

/**
 * Whether a code of `kind` may be checked now: refused while the network is locked out, and
 * authenticator codes while the account's cross-network budget is spent (recovery codes pass).
 */
export function decideSecondFactorAttempt(
  kind: SecondFactorCode['kind'],
  failures: SecondFactorFailures,
  nowMs: number,
  policy: SecondFactorLockoutPolicy = defaultSecondFactorLockout,
): SecondFactorLockout | undefined {
  if (failures.network.count >= policy.perNetwork.max) {
    return { scope: 'network', retryAfterMs: Math.max(1, failures.network.windowEndsAtMs - nowMs) };
  }
  if (kind === 'totp' && failures.account.count >= policy.perAccount.max) {
    return { scope: 'account', retryAfterMs: Math.max(1, failures.account.windowEndsAtMs - nowMs) };
  }
  return undefined;
}
