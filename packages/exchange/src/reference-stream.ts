/**
 * The command stream of the Rust reference book (`shared/bench/orderbook-ref`): one command a
 * line, `P <id> <B|L> <tick> <size> <user>` places a limit order, `C <id>` cancels what remains
 * of one. Parsed into flat typed arrays so a benchmark's timed loop touches no strings, and
 * replayed through an {@link OrderBook}. Also the reference's trade checksum: the wrapping
 * 64-bit sum over trades of `(maker*31) ^ (taker*17) ^ (tick*7) ^ (size*1000003)`, independent
 * of the order trades are recorded in.
 */
import { ValidationError } from '@streambet/platform/errors/domain-errors';
import type { OrderBook } from './order-book.js';

/** Command kinds in {@link ReferenceStream.kinds}. */
export const PLACE = 0;
export const CANCEL = 1;

/** A parsed stream; command i is described by index i of every array. */
export interface ReferenceStream {
  readonly length: number;
  /** {@link PLACE} or {@link CANCEL}. */
  readonly kinds: Uint8Array;
  readonly orderIds: Float64Array;
  /** 0 = back, 1 = lay (places only). */
  readonly sides: Uint8Array;
  readonly ticks: Uint16Array;
  readonly sizes: Float64Array;
  readonly users: Int32Array;
}

/** What a replay produced: the reference prints the same three figures. */
export interface ReplaySummary {
  readonly trades: number;
  readonly volume: number;
  /** Unsigned 64-bit checksum, as the reference prints it. */
  readonly checksum: bigint;
}

/** Parses the reference's text format; a malformed line is a ValidationError naming it. */
export function parseReferenceStream(text: string): ReferenceStream {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const length = lines.length;
  const kinds = new Uint8Array(length);
  const orderIds = new Float64Array(length);
  const sides = new Uint8Array(length);
  const ticks = new Uint16Array(length);
  const sizes = new Float64Array(length);
  const users = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    const parts = lines[i]!.split(' ');
    const bad = (): ValidationError =>
      new ValidationError(`line ${i + 1} of the stream is not a command: "${lines[i]}"`);
    if (parts[0] === 'P' && parts.length === 6) {
      kinds[i] = PLACE;
      orderIds[i] = Number(parts[1]);
      if (parts[2] !== 'B' && parts[2] !== 'L') throw bad();
      sides[i] = parts[2] === 'B' ? 0 : 1;
      ticks[i] = Number(parts[3]);
      sizes[i] = Number(parts[4]);
      users[i] = Number(parts[5]);
      if (!Number.isSafeInteger(orderIds[i]) || !Number.isSafeInteger(sizes[i])) throw bad();
    } else if (parts[0] === 'C' && parts.length === 2) {
      kinds[i] = CANCEL;
      orderIds[i] = Number(parts[1]);
      if (!Number.isSafeInteger(orderIds[i])) throw bad();
    } else {
      throw bad();
    }
  }
  return { length, kinds, orderIds, sides, ticks, sizes, users };
}

const U64 = (1n << 64n) - 1n;

/** One trade's term of the reference checksum (unsigned 64-bit). */
export function checksumTerm(maker: number, taker: number, tick: number, size: number): bigint {
  return (
    ((BigInt(maker) * 31n) & U64) ^
    ((BigInt(taker) * 17n) & U64) ^
    ((BigInt(tick) * 7n) & U64) ^
    ((BigInt(size) * 1_000_003n) & U64)
  );
}

/** Adds a term to a running checksum, wrapping at 64 bits like the reference. */
export function addChecksum(checksum: bigint, term: bigint): bigint {
  return (checksum + term) & U64;
}

/** Replays a stream through `book` (use self-trade prevention `off` to compare with the reference). */
export function replayReferenceStream(stream: ReferenceStream, book: OrderBook): ReplaySummary {
  let trades = 0;
  let volume = 0;
  let checksum = 0n;
  for (let i = 0; i < stream.length; i++) {
    if (stream.kinds[i] === CANCEL) {
      book.cancel(stream.orderIds[i]!);
      continue;
    }
    const result = book.place({
      orderId: stream.orderIds[i]!,
      userId: stream.users[i]!,
      side: stream.sides[i] === 0 ? 'back' : 'lay',
      tick: stream.ticks[i]!,
      sizeMinor: stream.sizes[i]!,
    });
    for (const fill of result.fills) {
      trades += 1;
      volume += fill.sizeMinor;
      checksum = addChecksum(
        checksum,
        checksumTerm(fill.makerOrderId, fill.takerOrderId, fill.tick, fill.sizeMinor),
      );
    }
  }
  return { trades, volume, checksum };
}
