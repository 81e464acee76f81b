/**
 * Provider signatures with node:crypto: Twitch EventSub's HMAC-SHA256 and Kick's RSA-SHA256
 * (PKCS#1 v1.5), both over the raw body as received; and the PKCE S256 challenge. What the bytes
 * are is decided in `../domain/webhook.ts`.
 */
import { createHash, createHmac, createVerify, timingSafeEqual, type KeyObject } from 'node:crypto';
import { kickSignedBytes, twitchSignedBytes } from '../domain/webhook.js';

/** `sha256=` + hex HMAC-SHA256 with `secret` over message id + timestamp + raw body. */
export function twitchSignature(
  secret: string,
  messageId: string,
  timestamp: string,
  body: Uint8Array,
): string {
  return `sha256=${createHmac('sha256', secret)
    .update(twitchSignedBytes(messageId, timestamp, body))
    .digest('hex')}`;
}

/** True when `signature` is the Twitch signature of the delivery; compared in constant time. */
export function verifyTwitchSignature(
  secret: string,
  messageId: string,
  timestamp: string,
  body: Uint8Array,
  signature: string,
): boolean {
  const expected = Buffer.from(twitchSignature(secret, messageId, timestamp, body));
  const given = Buffer.from(signature);
  // Equal lengths first: timingSafeEqual throws otherwise; the length itself is not secret.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** True when base64 `signature` is Kick's RSA-SHA256 PKCS#1 v1.5 signature of the delivery. */
export function verifyKickSignature(
  publicKey: KeyObject | string,
  messageId: string,
  timestamp: string,
  body: Uint8Array,
  signature: string,
): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return createVerify('RSA-SHA256')
      .update(kickSignedBytes(messageId, timestamp, body))
      .verify(publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** PKCE S256 code challenge of a verifier: base64url(SHA-256(verifier)) (RFC 7636 §4.2). */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}
