/**
 * The retroactive (latency-fair) lock rule, product.md "Markets": whoever locks may name the
 * instant the event really happened on stream, up to 60 s back (default: now − the channel's
 * broadcast delay); bets the bet engine accepted strictly after that instant are voided in full.
 * This is the one place that turns a lock request into its lock instant: every lock the pool
 * decides (a person's LockMarket, the stream going offline, a mirrored Twitch prediction) goes
 * through {@link lockInstant}. Pure: the caller passes its clock reading.
 */
import { ValidationError } from '@streambet/platform/errors/domain-errors';

/** How far back a retroactive lock may reach, ms (product.md: up to 60 s in the past). */
export const MAX_RETROACTIVE_LOCK_MS = 60_000;

/** What decides a lock instant. Times are ms since the epoch on the pool's clock. */
export interface LockInstantInput {
  /** The pool's server clock. */
  readonly nowMs: number;
  /** When the event happened on stream, if the locker said so; absent = now − broadcast delay. */
  readonly eventAtMs: number | undefined;
  /** The channel's broadcast delay, 0–60 s (channel-settings.ts): the default reach of a lock. */
  readonly broadcastDelaySeconds: number;
  /** When the market opened: nothing before it can be voided. */
  readonly openedAtMs: number;
  /** When betting closed (or closes): the bet engine accepts nothing after it anyway. */
  readonly bettingClosesAtMs: number;
  /**
   * A person naming an instant more than 60 s back is refused (INVALID_ARGUMENT: they can retry
   * with a valid one); the pool's own locks (an offline stream, a Twitch event that arrives late)
   * cannot be refused, so theirs is clamped to 60 s back instead.
   */
  readonly refuseTooFarBack: boolean;
}

/**
 * The lock instant: `eventAtMs` (or now − broadcast delay), clamped into
 * [max(opened_at, now − 60 s), min(now, betting_closes_at)]. A bet accepted exactly at the
 * instant stands. Throws ValidationError (`event_at_ms`) when `refuseTooFarBack` and the named
 * instant is more than 60 s before now. The delay's 0–60 s range is the channel settings' rule
 * (channel-settings.ts); the clamp keeps even a default lock within 60 s.
 */
export function lockInstant(input: LockInstantInput): number {
  const { nowMs, eventAtMs } = input;
  const earliest = nowMs - MAX_RETROACTIVE_LOCK_MS;
  if (input.refuseTooFarBack && eventAtMs !== undefined && eventAtMs < earliest) {
    throw new ValidationError('invalid lock instant', [
      {
        field: 'event_at_ms',
        description: `must be at most 60 s before now (≥ ${earliest}); got ${eventAtMs}, ${nowMs - eventAtMs} ms back`,
      },
    ]);
  }
  const requested = eventAtMs ?? nowMs - input.broadcastDelaySeconds * 1000;
  return Math.min(Math.max(requested, earliest, input.openedAtMs), nowMs, input.bettingClosesAtMs);
}
