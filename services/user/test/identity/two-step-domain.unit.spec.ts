/**
 * The pure rules of two-step verification: code shapes, recovery-code format, and the lockout that
 * spares recovery codes once the account-wide budget of authenticator codes is spent.
 */
import { describe, expect, it } from 'vitest';
import {
  decideSecondFactorAttempt,
  defaultSecondFactorLockout,
  formatRecoveryCode,
  parseSecondFactorCode,
} from '../../src/identity/domain/accounts/two-step.js';

const none = { count: 0, windowEndsAtMs: 0 };

describe('two-step rules', () => {
  it('given typed codes, then 6 digits are TOTP, xxxxx-xxxxx is a recovery code, the rest is refused', () => {
    expect(parseSecondFactorCode(' 123 456 ')).toEqual({ kind: 'totp', digits: '123456' });
    expect(parseSecondFactorCode('ABCDE-FG234')).toEqual({
      kind: 'recovery',
      normalized: 'abcdefg234',
    });
    expect(parseSecondFactorCode('abcdefg234')).toEqual({
      kind: 'recovery',
      normalized: 'abcdefg234',
    });
    for (const bad of ['', '12345', '1234567', 'abcde-fg231', 'abcde_fg234']) {
      expect(parseSecondFactorCode(bad)).toBeUndefined();
    }
  });

  it('given 10 random bytes, then a recovery code of base32 letters in two groups of 5', () => {
    const code = formatRecoveryCode(Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 31, 32, 255]));
    expect(code).toBe('abcde-fg7a7');
    expect(parseSecondFactorCode(code)?.kind).toBe('recovery');
    expect(() => formatRecoveryCode(new Uint8Array(9))).toThrow(RangeError);
  });

  it('given failures, then the network lock blocks every code and the account lock only authenticator codes', () => {
    const policy = defaultSecondFactorLockout;
    const nowMs = 1_000_000;
    const lockedNetwork = {
      network: { count: policy.perNetwork.max, windowEndsAtMs: nowMs + 60_000 },
      account: none,
    };
    expect(decideSecondFactorAttempt('totp', lockedNetwork, nowMs)).toEqual({
      scope: 'network',
      retryAfterMs: 60_000,
    });
    expect(decideSecondFactorAttempt('recovery', lockedNetwork, nowMs)?.scope).toBe('network');
    const lockedAccount = {
      network: { count: policy.perNetwork.max - 1, windowEndsAtMs: nowMs + 1 },
      account: { count: policy.perAccount.max, windowEndsAtMs: nowMs + 120_000 },
    };
    expect(decideSecondFactorAttempt('totp', lockedAccount, nowMs)).toEqual({
      scope: 'account',
      retryAfterMs: 120_000,
    });
    expect(decideSecondFactorAttempt('recovery', lockedAccount, nowMs)).toBeUndefined();
    expect(
      decideSecondFactorAttempt('totp', { network: none, account: none }, nowMs),
    ).toBeUndefined();
  });
});
