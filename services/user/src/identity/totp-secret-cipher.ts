/**
 * TOTP secrets at rest (issue 17): AES-256-GCM with a 32-byte key from USER_TOTP_SECRET_KEY, a
 * fresh 96-bit nonce per value and the user id as associated data, so a sealed secret copied onto
 * another user's row does not open. Stored as `v1.<nonce>.<tag>.<ciphertext>` (base64url), the
 * format of the integration service's platform tokens (token-crypto.ts there).
 *
 * Without USER_TOTP_SECRET_KEY the key is derived from DEVICE_ID_HASH_KEY by HKDF-SHA256 with its
 * own label (a separate key, never the same bytes), so a deployment that has not set the new
 * variable still seals; setting it is what lets the two secrets be rotated apart.
 *
 * A row written before sealing holds the bare base32 secret ({@link isSealedTotpSecret} false):
 * it is still read, and the start-up sweep (two-step-sealing.ts) seals it.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** Seals and opens TOTP secrets, bound to their user. */
export interface TotpSecretCipher {
  seal(secretBase32: string, userId: string): string;
  /** The base32 secret; throws when the value was sealed with another key or for another user. */
  open(stored: string, userId: string): string;
}

/** The key settings the cipher is built from (UserServiceSettings). */
export interface TotpSecretKeySettings {
  /** USER_TOTP_SECRET_KEY: base64 of 32 bytes; empty or absent = derived from the next one. */
  readonly totpSecretKey?: string;
  /** DEVICE_ID_HASH_KEY, the fallback's input keying material. */
  readonly deviceIdHashKey?: string;
}

const sealedPrefix = 'v1.';
const bareBase32 = /^[A-Z2-7]+=*$/;

/** True for a value written by {@link TotpSecretCipher.seal}; false for a legacy bare secret. */
export function isSealedTotpSecret(stored: string): boolean {
  return stored.startsWith(sealedPrefix);
}

/** The 32-byte key of `settings`, or undefined when neither variable is set. */
export function totpSecretKeyOf(settings: TotpSecretKeySettings): Buffer | undefined {
  if (settings.totpSecretKey !== undefined && settings.totpSecretKey !== '') {
    const key = Buffer.from(settings.totpSecretKey, 'base64');
    if (key.length !== 32) throw new Error('USER_TOTP_SECRET_KEY must be base64 of 32 bytes');
    return key;
  }
  if (settings.deviceIdHashKey === undefined || settings.deviceIdHashKey === '') return undefined;
  return Buffer.from(
    hkdfSync('sha256', settings.deviceIdHashKey, 'streambet', 'user/totp-secret-key/v1', 32),
  );
}

/**
 * The cipher of `settings`. Without any key, sealing and opening throw (fail closed): a test kit
 * without keys can still answer "two-step is off" but never reads a secret.
 */
export function createTotpSecretCipher(settings: TotpSecretKeySettings): TotpSecretCipher {
  const key = totpSecretKeyOf(settings);
  const requireKey = (): Buffer => {
    if (key === undefined) {
      throw new Error('no TOTP secret key: set USER_TOTP_SECRET_KEY (or DEVICE_ID_HASH_KEY)');
    }
    return key;
  };
  return {
    seal(secretBase32, userId) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', requireKey(), nonce);
      cipher.setAAD(Buffer.from(`totp:${userId}`));
      const body = Buffer.concat([cipher.update(secretBase32, 'utf8'), cipher.final()]);
      return `${sealedPrefix}${[nonce, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.')}`;
    },
    open(stored, userId) {
      if (!isSealedTotpSecret(stored)) {
        // A row from before sealing (the start-up sweep seals it).
        if (!bareBase32.test(stored)) throw new Error('not a TOTP secret');
        return stored;
      }
      const [nonce, tag, body] = stored.slice(sealedPrefix.length).split('.');
      if (nonce === undefined || tag === undefined || body === undefined) {
        throw new Error('not a sealed TOTP secret');
      }
      const decipher = createDecipheriv(
        'aes-256-gcm',
        requireKey(),
        Buffer.from(nonce, 'base64url'),
      );
      decipher.setAAD(Buffer.from(`totp:${userId}`));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(body, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    },
  };
}
