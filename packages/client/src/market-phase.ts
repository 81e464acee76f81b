/**
 * Where a market is in its life as a viewer should see it now. The pool's state lags the clock:
 * a market stays OPEN on the server until its auto-lock runs after `betting_closes_at_ms`, and a
 * bet in between is refused (BETTING_CLOSED). So the screen derives the phase from the state and
 * the closes-at time, and shows "Betting closed" — and no bet slip — the moment the window ends.
 */
import { MarketState, type Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { countdownText } from './view-logic.js';

/**
 * - `open`: bets are taken;
 * - `closed`: OPEN on the server but its betting window has ended (the lock is on its way);
 * - `locked`, `resolved`, `canceled`, `draft`: the pool's states.
 */
export type MarketPhase = 'draft' | 'open' | 'closed' | 'locked' | 'resolved' | 'canceled';

/** The fields the phase depends on. */
export type PhaseInput = Pick<Market, 'state' | 'bettingClosesAtMs'>;

/** The phase of `market` at `nowMs` (wall clock, ms since the epoch). */
export function marketPhase(market: PhaseInput, nowMs: number): MarketPhase {
  switch (market.state) {
    case MarketState.OPEN:
      return market.bettingClosesAtMs !== 0n &&
        BigInt(Math.floor(nowMs)) >= market.bettingClosesAtMs
        ? 'closed'
        : 'open';
    case MarketState.LOCKED:
      return 'locked';
    case MarketState.RESOLVED:
      return 'resolved';
    case MarketState.CANCELED:
      return 'canceled';
    default:
      return 'draft';
  }
}

/** True while a bet on `market` can be accepted. */
export function isBettable(market: PhaseInput, nowMs: number): boolean {
  return marketPhase(market, nowMs) === 'open';
}

/** Words for a phase, as the badge on a market shows them. */
export function marketPhaseLabel(phase: MarketPhase): string {
  switch (phase) {
    case 'open':
      return 'Open';
    case 'closed':
      return 'Betting closed';
    case 'locked':
      return 'Locked';
    case 'resolved':
      return 'Resolved';
    case 'canceled':
      return 'Canceled';
    case 'draft':
      return 'Draft';
  }
}

/**
 * The line under a market's title about its betting window: "closes in 1:05" while open,
 * "waiting for the lock" once the window has ended, empty otherwise.
 */
export function bettingWindowText(market: PhaseInput, nowMs: number): string {
  switch (marketPhase(market, nowMs)) {
    case 'open': {
      const left = countdownText(market.bettingClosesAtMs, nowMs);
      return left === '' ? '' : `closes in ${left}`;
    }
    case 'closed':
      return 'betting closed, locking…';
    default:
      return '';
  }
}

const phaseRank: Readonly<Record<MarketPhase, number>> = {
  open: 0,
  closed: 1,
  locked: 2,
  resolved: 3,
  canceled: 4,
  draft: 5,
};

/**
 * Markets in the order a viewer wants them: bettable first (the one closing soonest on top), then
 * closed, locked and settled ones (newest first).
 */
export function orderMarkets<M extends PhaseInput & Pick<Market, 'createdAtMs'>>(
  markets: readonly M[],
  nowMs: number,
): M[] {
  const closesAt = (m: M) =>
    m.bettingClosesAtMs === 0n ? Number.MAX_SAFE_INTEGER : Number(m.bettingClosesAtMs);
  return [...markets].sort((a, b) => {
    const pa = marketPhase(a, nowMs);
    const pb = marketPhase(b, nowMs);
    if (pa !== pb) return phaseRank[pa] - phaseRank[pb];
    if (pa === 'open') return closesAt(a) - closesAt(b) || Number(b.createdAtMs - a.createdAtMs);
    return Number(b.createdAtMs - a.createdAtMs);
  });
}
