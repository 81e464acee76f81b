import { randomFillSync } from 'node:crypto';

/**
 * Creates event ids: UUID version 7 (RFC 9562) strings. The first 48 bits are the millisecond
 * timestamp and the next 12 a counter that keeps ids from one generator strictly increasing even
 * within one millisecond or when the clock steps back, so ids sort by creation time as text — handy
 * in logs and queries. They are not the delivery order: the outbox orders by its commit-side `seq`.
 * 74 random bits make collisions between replicas negligible; consumers dedupe on the id.
 */
export function createEventIdGenerator(clock: () => number = Date.now): () => string {
  let lastMs = -1;
  let counter = 0;
  return () => {
    let ms = Math.max(0, Math.floor(clock()));
    if (ms <= lastMs) {
      ms = lastMs;
      counter += 1;
      if (counter > 0xfff) {
        ms = lastMs + 1;
        counter = randomCounterStart();
      }
    } else {
      counter = randomCounterStart();
    }
    lastMs = ms;

    const bytes = randomBytes(16);
    const high = Math.floor(ms / 2 ** 16);
    bytes.writeUInt32BE(high >>> 0, 0);
    bytes.writeUInt16BE(ms % 2 ** 16, 4);
    bytes[6] = 0x70 | (counter >> 8);
    bytes[7] = counter & 0xff;
    bytes[8] = 0x80 | (bytes[8]! & 0x3f);
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}

/** Start each millisecond's counter at a random point in its lower half: room to count up, no guessable sequence. */
function randomCounterStart(): number {
  return randomBytes(2).readUInt16BE(0) & 0x7ff;
}

/**
 * Random bytes for ids from a pool refilled by the CSPRNG 4 KiB at a time (one call per 256 ids
 * instead of one per id, as the `uuid` package does); each call returns fresh, unshared bytes.
 */
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomBytes(size: number): Buffer {
  if (poolOffset + size > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = Buffer.allocUnsafe(size);
  pool.copy(bytes, 0, poolOffset, poolOffset + size);
  poolOffset += size;
  return bytes;
}

/** The process-wide generator used by {@link appendToOutbox} when none is given. */
export const newEventId: () => string = createEventIdGenerator();
