/** Ids for tests: deterministic where a test compares them, ordered where the code sorts them. */
import { encodeUlid } from '@streambet/platform/ids/ulid';
import { testEpochMs } from './clock.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID-shaped id (26 Crockford characters) spelling `n`: distinct per `n`, ascending with it. */
export function ulidOf(n: number): string {
  let out = '';
  let value = BigInt(n);
  for (let i = 0; i < 26; i += 1) {
    out = CROCKFORD[Number(value % 32n)]! + out;
    value /= 32n;
  }
  return out;
}

let counter = 0;

/**
 * A fresh real ULID that sorts after every earlier one of this process: its time part is a day
 * before {@link testEpochMs} plus a counter, so it also sorts before anything a manual clock
 * stamps.
 */
export function nextUlid(): string {
  counter += 1;
  const random = new Uint8Array(10);
  random[9] = counter & 0xff;
  random[8] = (counter >> 8) & 0xff;
  return encodeUlid(testEpochMs - 86_400_000 + counter, random);
}
