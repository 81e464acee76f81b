/**
 * Issue 17, TOTP secrets sealed at rest (AES-256-GCM, user id as associated data), per SQL target:
 * the stored value is not the secret, codes still work through VerifySecondFactor, a wrong key
 * or a sealed value moved to another user fails closed (no code accepted), and a row written
 * before sealing (bare base32) keeps working and is sealed by the start-up sweep.
 */
import { randomBytes } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import * as OTPAuth from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@streambet/platform/config/load-config';
import { sqlTargets } from '@streambet/testkit/sql';
import { loadUserConfig } from '../../src/config.js';
import { createSecondFactorVerifier, sealBareTotpSecrets } from '../../src/identity/two-step.js';
import {
  createTotpSecretCipher,
  isSealedTotpSecret,
} from '../../src/identity/totp-secret-cipher.js';
import { as, createHarness, failure, password, type Harness } from './harness.js';

/** The harness's settings: the key is derived from its DEVICE_ID_HASH_KEY. */
const harnessKeys = { deviceIdHashKey: 'device-key-test' };

function codeAt(secret: string, atMs: number): string {
  return OTPAuth.TOTP.generate({ secret: OTPAuth.Secret.fromBase32(secret), timestamp: atMs });
}

describe('TOTP secret cipher', () => {
  const key = randomBytes(32).toString('base64');
  const cipher = createTotpSecretCipher({ totpSecretKey: key });
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

  it('given a sealed secret, then it is not the secret, differs each time and opens for its user only', () => {
    const a = cipher.seal(secret, 'user-a');
    const b = cipher.seal(secret, 'user-a');
    expect(isSealedTotpSecret(a)).toBe(true);
    expect(a).not.toContain(secret);
    expect(a).not.toBe(b);
    expect(cipher.open(a, 'user-a')).toBe(secret);
    expect(() => cipher.open(a, 'user-b')).toThrow();
  });

  it('given another key, a tampered value or no key, then opening throws', () => {
    const sealed = cipher.seal(secret, 'user-a');
    expect(() =>
      createTotpSecretCipher({ totpSecretKey: randomBytes(32).toString('base64') }).open(
        sealed,
        'user-a',
      ),
    ).toThrow();
    const flipped = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'B' : 'A') + sealed.slice(-1);
    expect(() => cipher.open(flipped, 'user-a')).toThrow();
    expect(() => createTotpSecretCipher({}).seal(secret, 'user-a')).toThrow(/USER_TOTP_SECRET_KEY/);
    expect(() => createTotpSecretCipher({ totpSecretKey: 'c2hvcnQ=' })).toThrow(/32 bytes/);
  });

  it('given USER_TOTP_SECRET_KEY, then the config takes 32 bytes of base64 or empty and refuses others', () => {
    const env = {
      STREAMBET_MODE: 'embedded',
      SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify({ kty: 'OKP', kid: 's' }),
      SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify({ keys: [{ kty: 'OKP', kid: 's' }] }),
      USER_TOKEN_PRIVATE_JWK: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', d: 'd', kid: 'k' }),
      KYC_WEBHOOK_SECRET: 'whsec_unit_0123456789',
      DEVICE_ID_HASH_KEY: 'device-key-unit-0123',
    };
    expect(loadUserConfig(env).USER_TOTP_SECRET_KEY).toBe('');
    expect(loadUserConfig({ ...env, USER_TOTP_SECRET_KEY: key }).USER_TOTP_SECRET_KEY).toBe(key);
    expect(() => loadUserConfig({ ...env, USER_TOTP_SECRET_KEY: 'c2hvcnQ=' })).toThrow(ConfigError);
  });

  it('given no USER_TOTP_SECRET_KEY, then the key derived from DEVICE_ID_HASH_KEY is not that key', () => {
    const derived = createTotpSecretCipher(harnessKeys);
    const sealed = derived.seal(secret, 'user-a');
    expect(derived.open(sealed, 'user-a')).toBe(secret);
    expect(() =>
      createTotpSecretCipher({ deviceIdHashKey: 'another-device-key' }).open(sealed, 'user-a'),
    ).toThrow();
  });
});

for (const target of sqlTargets()) {
  describe(`TOTP secrets at rest on ${target.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    });
    afterAll(async () => {
      await h.dispose();
    });

    async function storedSecretOf(userId: string): Promise<string> {
      const result = await h.db.sql.query<{ secret_base32: string }>(
        'SELECT secret_base32 FROM two_step_secrets WHERE user_id = $1',
        [userId],
      );
      return result.rows[0]!.secret_base32;
    }

    async function enrolled(name: string) {
      const { user, tokens } = await h.register(name);
      const begun = await h.users.beginTwoStep({ currentPassword: password }, as(tokens));
      await h.users.confirmTwoStep({ code: codeAt(begun.secretBase32, h.clock.now()) }, as(tokens));
      h.clock.advance(30_000);
      return { user, tokens, secret: begun.secretBase32 };
    }

    it('given two-step turned on, then the stored value is sealed and codes still pass', async () => {
      const { user, secret } = await enrolled('sealed');
      const stored = await storedSecretOf(user.userId);
      expect(stored).toMatch(/^v1\./);
      expect(stored).not.toContain(secret);
      const payment = await h.service('payment');
      expect(
        await h.internal.verifySecondFactor(
          { userId: user.userId, code: codeAt(secret, h.clock.now()) },
          payment,
        ),
      ).toMatchObject({ required: true });
    });

    it('given a different key, then a right code is not accepted (fails closed, nothing spent)', async () => {
      const { user, secret } = await enrolled('wrongkey');
      const verifier = createSecondFactorVerifier({
        sql: h.db.sql,
        store: h.store,
        clock: h.clock,
        settings: { totpSecretKey: randomBytes(32).toString('base64') },
      });
      const code = codeAt(secret, h.clock.now());
      await expect(
        verifier.verify(user.userId, { field: 'code', code, address: '' }),
      ).rejects.toThrow(/does not open/);
      // The right key still accepts that very code: the failed check spent nothing.
      const payment = await h.service('payment');
      expect(
        await h.internal.verifySecondFactor({ userId: user.userId, code }, payment),
      ).toMatchObject({ required: true });
    });

    it("given a sealed secret copied onto another user's row, then no code of it passes there", async () => {
      const { user: victim, secret } = await enrolled('victim');
      const { user: other } = await enrolled('copier');
      await h.db.sql.query('UPDATE two_step_secrets SET secret_base32 = $2 WHERE user_id = $1', [
        other.userId,
        await storedSecretOf(victim.userId),
      ]);
      const payment = await h.service('payment');
      const refused = await failure(
        h.internal.verifySecondFactor(
          { userId: other.userId, code: codeAt(secret, h.clock.now()) },
          payment,
        ),
      );
      expect(refused.code).toBe(Code.Internal);
    });

    it('given a secret stored bare before sealing, then it still works and the start-up sweep seals it once', async () => {
      const { user } = await h.register('legacy');
      const secret = new OTPAuth.Secret({ size: 20 }).base32;
      const nowMs = h.clock.now();
      await h.store.putPendingTwoStep(h.db.sql, user.userId, secret, nowMs, nowMs + 60_000);
      await h.store.enableTwoStep(h.db.sql, user.userId, nowMs, []);
      const payment = await h.service('payment');
      expect(
        await h.internal.verifySecondFactor(
          { userId: user.userId, code: codeAt(secret, h.clock.now()) },
          payment,
        ),
      ).toMatchObject({ required: true });
      h.clock.advance(30_000);

      const sweep = { sql: h.db.sql, store: h.store, settings: harnessKeys };
      expect(await sealBareTotpSecrets(sweep, 2)).toBeGreaterThanOrEqual(1);
      expect(await sealBareTotpSecrets(sweep, 2)).toBe(0);
      const stored = await storedSecretOf(user.userId);
      expect(stored).toMatch(/^v1\./);
      expect(stored).not.toContain(secret);
      expect(
        await h.internal.verifySecondFactor(
          { userId: user.userId, code: codeAt(secret, h.clock.now()) },
          payment,
        ),
      ).toMatchObject({ required: true });
    });
  });
}
