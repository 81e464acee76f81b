/**
 * Platform tokens at rest: AES-256-GCM with the key from INTEGRATION_TOKEN_KEY, a fresh 96-bit nonce
 * per value, the channel id as associated data (a ciphertext copied to another row does not
 * decrypt). Stored as `v1.<nonce>.<tag>.<ciphertext>` in base64url.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Encrypts and decrypts tokens for one channel. */
export interface TokenCipher {
  encrypt(plain: string, channelId: string): string;
  decrypt(sealed: string, channelId: string): string;
}

/** A cipher with a 32-byte key (base64 in the config). */
export function createTokenCipher(keyBase64: string): TokenCipher {
  const key = Buffer.from(keyBase64, 'base64');
  if (key.length !== 32) throw new Error('the token key must be 32 bytes (base64)');
  return {
    encrypt(plain, channelId) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(Buffer.from(channelId));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', nonce, cipher.getAuthTag(), body]
        .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
        .join('.');
    },
    decrypt(sealed, channelId) {
      const [version, nonce, tag, body] = sealed.split('.');
      if (version !== 'v1' || nonce === undefined || tag === undefined || body === undefined) {
        throw new Error('not a sealed token');
      }
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
      decipher.setAAD(Buffer.from(channelId));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(body, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    },
  };
}
