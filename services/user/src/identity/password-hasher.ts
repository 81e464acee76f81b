/**
 * Password hashing with scrypt (memory-hard, in node:crypto). Hashes are self-describing
 * (`scrypt$<logN>$<r>$<p>$<salt>$<hash>`), so raising the cost later keeps old hashes verifiable
 * and `needsRehash` tells the caller when to upgrade one after a successful login.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost parameters. Memory used ≈ 128 × 2^logN × r bytes. */
export interface ScryptCost {
  /** log2 of N (CPU/memory cost). */
  readonly logN: number;
  /** Block size. */
  readonly r: number;
  /** Parallelisation. */
  readonly p: number;
}

/**
 * Production default: N = 2^15, r = 8, p = 1 (32 MiB per hash), the interactive-login parameters
 * the Go x/crypto scrypt docs recommend; measured ≈ 240 ms per hash on these 2-core machines.
 * OWASP's cheat sheet asks for more (N = 2^17, or 2^15 with p = 3): raise `logN` or `p` through
 * config (USER_SCRYPT_LOG_N / USER_SCRYPT_P) when login capacity allows; old hashes stay valid and
 * are upgraded on the next successful login (`needsRehash`).
 */
export const defaultScryptCost: ScryptCost = Object.freeze({ logN: 15, r: 8, p: 1 });

/** Cheap parameters for tests only (2^10 × 8 = 1 MiB, ≈ 5 ms here). Never in production. */
export const testScryptCost: ScryptCost = Object.freeze({ logN: 10, r: 8, p: 1 });

/** Hashes and verifies passwords. */
export interface PasswordHasher {
  /** A new salted hash of `password`. */
  hash(password: string): Promise<string>;
  /** True when `password` matches `stored`; constant-time comparison. False for malformed hashes. */
  verify(password: string, stored: string): Promise<boolean>;
  /** Burns the time of one verification, so an unknown email answers as slowly as a wrong password. */
  dummyVerify(password: string): Promise<void>;
  /** True when `stored` was made with other parameters than the current ones. */
  needsRehash(stored: string): boolean;
}

const keyLength = 32;
const saltLength = 16;

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** cost.logN,
    r: cost.r,
    p: cost.p,
    maxmem: 256 * 2 ** cost.logN * cost.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, options, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

function parse(stored: string): { cost: ScryptCost; salt: Buffer; hash: Buffer } | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [logN, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0) || logN > 20) return undefined;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const hash = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length === 0 || hash.length !== keyLength) return undefined;
  return { cost: { logN, r, p }, salt, hash };
}

/** Creates the hasher with the given cost (default {@link defaultScryptCost}). */
export function createPasswordHasher(cost: ScryptCost = defaultScryptCost): PasswordHasher {
  const dummySalt = randomBytes(saltLength);
  return {
    async hash(password) {
      const salt = randomBytes(saltLength);
      const key = await derive(password, salt, cost);
      return `scrypt$${cost.logN}$${cost.r}$${cost.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
    },
    async verify(password, stored) {
      const parsed = parse(stored);
      if (parsed === undefined) return false;
      const key = await derive(password, parsed.salt, parsed.cost);
      return timingSafeEqual(key, parsed.hash);
    },
    async dummyVerify(password) {
      await derive(password, dummySalt, cost);
    },
    needsRehash(stored) {
      const parsed = parse(stored);
      return (
        parsed === undefined ||
        parsed.cost.logN !== cost.logN ||
        parsed.cost.r !== cost.r ||
        parsed.cost.p !== cost.p
      );
    },
  };
}
