/**
 * Retroactive (latency-fair) locking, product.md "Markets": whoever locks may name the instant
 * the event really happened, up to 60 s back (default: now − the channel's broadcast delay);
 * bets the bet engine accepted strictly after that instant are voided in full. These helpers
 * are pure: the caller passes its own clock reading and the bets.
 */
import { ValidationError } from '@streambet/platform/errors/domain-errors';

/** How far back a lock may reach, ms (pool.proto LockMarketRequest.event_at_ms). */
export const MAX_RETROACTIVE_LOCK_MS = 60_000n;

/** The two sides of a retroactive lock. */
export interface LockSplit<T> {
  /** Bets accepted at or before the lock instant: they stand. */
  readonly kept: T[];
  /** Bets accepted strictly after it: voided in full (reason RETROACTIVE_LOCK). */
  readonly voided: T[];
}

/**
 * Splits bets by the lock instant, keeping their order. A bet accepted exactly at the instant
 * stands. Timestamps are ms since the epoch on the bet engine's clock, as bigint (the proto's
 * int64) or as an integer number. Throws ValidationError for a non-integer or negative instant.
 */
export function splitByLockInstant<T extends { readonly acceptedAtMs: bigint | number }>(
  bets: readonly T[],
  lockEffectiveAtMs: bigint | number,
): LockSplit<T> {
  const lockMs = toMs(lockEffectiveAtMs, 'lock_effective_at_ms');
  const kept: T[] = [];
  const voided: T[] = [];
  for (let i = 0; i < bets.length; i++) {
    const bet = bets[i]!;
    const acceptedAtMs = bet.acceptedAtMs;
    if (typeof acceptedAtMs === 'number' && !Number.isSafeInteger(acceptedAtMs)) {
      throw new ValidationError('bet timestamp is invalid', [
        {
          field: `bets[${i}].accepted_at_ms`,
          description: 'must be an integer number of ms since the epoch',
        },
      ]);
    }
    if (acceptedAtMs > lockMs) voided.push(bet);
    else kept.push(bet);
  }
  return { kept, voided };
}

/**
 * The lock instant for a LockMarket call (pool.proto LockMarketRequest.event_at_ms): the given
 * event instant, or now − broadcast delay when absent; refused if it reaches more than 60 s
 * back, clamped to now (client clock skew) and to the market's opening instant.
 */
export function resolveLockInstant(input: {
  /** The pool's server clock. */
  readonly nowMs: bigint;
  /** When the event happened on stream, if the locker said so. */
  readonly eventAtMs?: bigint | undefined;
  /** The channel's broadcast delay, 0–60 s. */
  readonly broadcastDelaySeconds: number;
  /** When the market opened. */
  readonly openedAtMs: bigint;
}): bigint {
  const { nowMs, openedAtMs, broadcastDelaySeconds } = input;
  if (
    !Number.isInteger(broadcastDelaySeconds) ||
    broadcastDelaySeconds < 0 ||
    broadcastDelaySeconds > 60
  ) {
    throw new ValidationError('broadcast delay out of range', [
      { field: 'broadcast_delay_seconds', description: 'must be an integer in 0..60' },
    ]);
  }
  const requested = input.eventAtMs ?? nowMs - BigInt(broadcastDelaySeconds) * 1000n;
  if (requested < nowMs - MAX_RETROACTIVE_LOCK_MS) {
    throw new ValidationError('lock instant too far back', [
      {
        field: 'event_at_ms',
        description: `must be at most ${MAX_RETROACTIVE_LOCK_MS} ms before now`,
      },
    ]);
  }
  const notAfterNow = requested > nowMs ? nowMs : requested;
  return notAfterNow < openedAtMs ? openedAtMs : notAfterNow;
}

function toMs(value: bigint | number, field: string): bigint | number {
  if (typeof value === 'number' ? !Number.isSafeInteger(value) || value < 0 : value < 0n) {
    throw new ValidationError('lock instant is invalid', [
      { field, description: 'must be a non-negative integer number of ms since the epoch' },
    ]);
  }
  return value;
}
