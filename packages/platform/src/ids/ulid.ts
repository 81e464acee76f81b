/**
 * ULIDs (26 chars of Crockford base32: 48-bit ms timestamp then 80 random bits), the id format the
 * contracts use for users, sessions, KYC cases, markets and outcomes. Shared by every service. Pure: time and randomness come in as arguments,
 * so the caller decides where entropy comes from and tests can fix both.
 */

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ulidPattern = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** Encodes a ULID from a timestamp (ms since epoch, 0 ≤ t < 2^48) and 10 random bytes. */
export function encodeUlid(timeMs: number, random: Uint8Array): string {
  if (!Number.isInteger(timeMs) || timeMs < 0 || timeMs >= 2 ** 48) {
    throw new RangeError(`ULID time must be an integer in [0, 2^48), got ${timeMs}`);
  }
  if (random.length < 10) throw new RangeError('ULID needs 10 random bytes');
  let time = '';
  let t = timeMs;
  for (let i = 0; i < 10; i += 1) {
    time = alphabet[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let bits = 0n;
  for (let i = 0; i < 10; i += 1) bits = (bits << 8n) | BigInt(random[i]!);
  let rand = '';
  for (let i = 0; i < 16; i += 1) {
    rand = alphabet[Number(bits & 31n)]! + rand;
    bits >>= 5n;
  }
  return time + rand;
}

/** True when `value` is a well-formed ULID (upper-case canonical form). */
export function isUlid(value: string): boolean {
  return ulidPattern.test(value);
}
