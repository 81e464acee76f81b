import { describe, expect, it } from 'vitest';
import {
  adulthoodStartsAtMs,
  isAdultAt,
  isRealDate,
} from '../../src/identity/domain/accounts/age.js';
import { normalizeRoles, primaryRole } from '../../src/identity/domain/accounts/roles.js';
import { decideRefresh } from '../../src/identity/domain/accounts/session.js';
import { encodeUlid, isUlid } from '@streambet/platform/ids/ulid';
import { validateRegistration } from '../../src/identity/domain/accounts/validation.js';

const now = Date.UTC(2026, 10, 20, 12);

describe('age', () => {
  it('given a birth date, when the 18th birthday starts (00:00 UTC), then the user is an adult', () => {
    const dob = { year: 2008, month: 11, day: 20 };
    expect(adulthoodStartsAtMs(dob)).toBe(Date.UTC(2026, 10, 20));
    expect(isAdultAt(dob, Date.UTC(2026, 10, 20) - 1)).toBe(false);
    expect(isAdultAt(dob, Date.UTC(2026, 10, 20))).toBe(true);
  });

  it('counts a 29 February birthday from 1 March in common years', () => {
    expect(adulthoodStartsAtMs({ year: 2008, month: 2, day: 29 })).toBe(Date.UTC(2026, 2, 1));
    expect(adulthoodStartsAtMs({ year: 2006, month: 2, day: 28 })).toBe(Date.UTC(2024, 1, 28));
  });

  it('knows real dates', () => {
    expect(isRealDate({ year: 2000, month: 2, day: 29 })).toBe(true);
    expect(isRealDate({ year: 1900, month: 2, day: 29 })).toBe(false);
    expect(isRealDate({ year: 2001, month: 4, day: 31 })).toBe(false);
    expect(isRealDate({ year: 2001, month: 0, day: 1 })).toBe(false);
  });
});

describe('registration validation', () => {
  const valid = {
    email: ' Name@Example.com ',
    password: 'long enough',
    dateOfBirth: { year: 1990, month: 1, day: 1 },
    displayName: 'name_1',
    deviceId: '',
  };

  it('normalizes a valid registration', () => {
    expect(validateRegistration(valid, now)).toMatchObject({
      email: 'name@example.com',
      displayName: 'name_1',
    });
  });

  it('lists every broken field at once', () => {
    expect(() =>
      validateRegistration(
        {
          email: 'nope',
          password: '1234567',
          dateOfBirth: undefined,
          displayName: 'xx',
          deviceId: 'd'.repeat(129),
        },
        now,
      ),
    ).toThrow(
      /registration refused: email: .*; password: must be 8–128 characters; date_of_birth: is required; display_name: .*; device_id: /,
    );
  });

  it('counts password length in code points, not UTF-16 units', () => {
    expect(() => validateRegistration({ ...valid, password: '😀'.repeat(7) }, now)).toThrow(
      /password/,
    );
    expect(validateRegistration({ ...valid, password: '😀'.repeat(8) }, now).password).toBe(
      '😀'.repeat(8),
    );
  });
});

describe('roles', () => {
  it('always includes viewer, in canonical order, and the token carries the strongest', () => {
    expect(normalizeRoles(['admin', 'viewer', 'admin'])).toEqual(['viewer', 'admin']);
    expect(primaryRole(normalizeRoles(['streamer']))).toBe('streamer');
    expect(primaryRole(normalizeRoles(['streamer', 'admin']))).toBe('admin');
    expect(primaryRole(normalizeRoles([]))).toBe('viewer');
  });
});

describe('refresh decision', () => {
  const live = { usedAtMs: null, expiresAtMs: now + 1000, sessionRevokedAtMs: null };
  it('rotates a live token, detects reuse of a used one, rejects revoked and expired ones', () => {
    expect(decideRefresh(live, now)).toEqual({ kind: 'rotate' });
    expect(decideRefresh({ ...live, usedAtMs: now - 1 }, now)).toEqual({ kind: 'reuse' });
    expect(decideRefresh({ ...live, sessionRevokedAtMs: now - 1 }, now).kind).toBe('reject');
    expect(decideRefresh({ ...live, usedAtMs: now - 1, sessionRevokedAtMs: now }, now).kind).toBe(
      'reject',
    );
    expect(decideRefresh(live, now + 1000)).toEqual({
      kind: 'reject',
      reason: 'refresh token expired; sign in again',
    });
  });
});

describe('ULID', () => {
  it('encodes time first so ids sort by creation time', () => {
    const a = encodeUlid(now, new Uint8Array(10).fill(255));
    const b = encodeUlid(now + 1, new Uint8Array(10));
    expect(isUlid(a) && isUlid(b)).toBe(true);
    expect(a < b).toBe(true);
    expect(encodeUlid(0, new Uint8Array(10))).toBe('0'.repeat(26));
    expect(isUlid('01ARZ3NDEKTSV4RRFFQ69G5FAV')).toBe(true);
    expect(isUlid('01arz3ndektsv4rrffq69g5fav')).toBe(false);
  });
});

describe('login throttle', () => {
  const window = { maxFailures: 3, windowMs: 60_000 };
  const policy = {
    perAddress: window,
    perEmail: { maxFailures: 10, windowMs: 3_600_000 },
    knownAddressMs: 86_400_000,
  };
  it('refuses attempts once a window holds the maximum failures, until the window ends', async () => {
    const { loginRetryAfterMs } = await import('../../src/identity/domain/accounts/throttle.js');
    expect(loginRetryAfterMs(undefined, now, window)).toBe(0);
    expect(loginRetryAfterMs({ windowStartedAtMs: now - 10_000, failures: 2 }, now, window)).toBe(
      0,
    );
    expect(loginRetryAfterMs({ windowStartedAtMs: now - 10_000, failures: 3 }, now, window)).toBe(
      50_000,
    );
    expect(loginRetryAfterMs({ windowStartedAtMs: now - 60_000, failures: 9 }, now, window)).toBe(
      0,
    );
  });

  it('refuses per address first, then per email unless the address logged in recently', async () => {
    const { decideLoginAttempt } = await import('../../src/identity/domain/accounts/throttle.js');
    const full = { windowStartedAtMs: now - 10_000, failures: 3 };
    const emailFull = { windowStartedAtMs: now - 600_000, failures: 10 };
    const fresh = {
      fromAddress: undefined,
      forEmail: undefined,
      lastSuccessFromAddressAtMs: undefined,
    };
    expect(decideLoginAttempt(fresh, now, policy)).toBeUndefined();
    expect(decideLoginAttempt({ ...fresh, fromAddress: full }, now, policy)).toEqual({
      scope: 'address',
      retryAfterMs: 50_000,
    });
    expect(decideLoginAttempt({ ...fresh, forEmail: emailFull }, now, policy)).toEqual({
      scope: 'email',
      retryAfterMs: 3_000_000,
    });
    // A known address is exempt from the per-email ceiling, not from its own budget.
    const known = { ...fresh, forEmail: emailFull, lastSuccessFromAddressAtMs: now - 3_600_000 };
    expect(decideLoginAttempt(known, now, policy)).toBeUndefined();
    expect(decideLoginAttempt({ ...known, fromAddress: full }, now, policy)?.scope).toBe('address');
    // Known only for knownAddressMs.
    expect(
      decideLoginAttempt({ ...known, lastSuccessFromAddressAtMs: now - 86_400_000 }, now, policy)
        ?.scope,
    ).toBe('email');
  });
});
