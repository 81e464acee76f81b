/**
 * Money of one user on one EXCHANGE market, pure: what a matched fill is worth in each outcome
 * scenario, the worst-case loss that must be held in the ledger (net of offsetting positions),
 * and settlement per user per market with commission on positive net winnings (Betfair's rule).
 *
 * Amounts are bigint minor units; prices are hundredths of decimal odds (250 = 2.50). Outcomes
 * are indexed 0..outcomeCount − 1 and exactly one of them wins (a canceled or voided market is
 * the "nobody loses" scenario and needs no hold).
 */
import type { Side } from './types.js';

/** One standing matched bet (a fill seen from one side). */
export interface PositionFill {
  readonly outcomeIndex: number;
  readonly side: Side;
  /** Backer's stake matched. */
  readonly stakeMinor: bigint;
  /** floor(stake × (odds − 1)): the backer's winnings and the layer's liability. */
  readonly liabilityMinor: bigint;
}

/** The unmatched remainder of an order, still resting (or about to rest). */
export interface OpenOrder {
  readonly outcomeIndex: number;
  readonly side: Side;
  readonly remainingMinor: bigint;
  readonly oddsHundredths: number;
}

/** A fill's liability: floor(stake × (odds − 1)), identical for both sides so escrow balances. */
export function fillLiabilityMinor(stakeMinor: bigint, oddsHundredths: number): bigint {
  return (stakeMinor * BigInt(oddsHundredths - 100)) / 100n;
}

/**
 * What an unmatched lay of `stakeMinor` may lose: ceil(stake × (odds − 1)) as the contract states
 * for a LAY's reservation. Never less than the sum of the floored liabilities of the fills it may
 * be split into, so holding it is always enough.
 */
export function layReserveMinor(stakeMinor: bigint, oddsHundredths: number): bigint {
  const numerator = stakeMinor * BigInt(oddsHundredths - 100);
  return (numerator + 99n) / 100n;
}

/** A matched fill's result when `winner` wins: BACK +liability / −stake, LAY the opposite. */
export function fillResultMinor(fill: PositionFill, winner: number): bigint {
  const won = fill.outcomeIndex === winner;
  if (fill.side === 'back') return won ? fill.liabilityMinor : -fill.stakeMinor;
  return won ? -fill.liabilityMinor : fill.stakeMinor;
}

/** What an open order would lose in scenario `winner` if it matched in full at its price (≥ 0). */
function openOrderLossMinor(order: OpenOrder, winner: number): bigint {
  const won = order.outcomeIndex === winner;
  if (order.side === 'back') return won ? 0n : order.remainingMinor;
  return won ? layReserveMinor(order.remainingMinor, order.oddsHundredths) : 0n;
}

/** The matched profit (+) or loss (−) of a user per outcome scenario, index = winning outcome. */
export function matchedProfitByOutcome(
  outcomeCount: number,
  fills: readonly PositionFill[],
): bigint[] {
  const profit = new Array<bigint>(outcomeCount).fill(0n);
  for (let winner = 0; winner < outcomeCount; winner += 1) {
    let total = 0n;
    for (const fill of fills) total += fillResultMinor(fill, winner);
    profit[winner] = total;
  }
  return profit;
}

/**
 * The amount the ledger must hold for a user on a market: the worst loss over every outcome
 * scenario, where matched bets net against each other exactly and every open order counts as if
 * it matched in full at its own price whenever that hurts (an adversary chooses which orders
 * match; an order that would help is never credited, because it may never match).
 *
 *   required = max(0, max over winner w of ( −Σ fills result(w) + Σ open orders loss(w) ))
 *
 * So a back and a lay of the same stake on the same outcome at the same price, both matched,
 * hold nothing; backing every outcome of a market holds the worst single scenario, not the sum of
 * the stakes. Matching never raises the figure (a taker matches at its price or better; a maker
 * at its own price), so holding it before an order enters the book covers every fill it makes.
 */
export function requiredHoldMinor(
  outcomeCount: number,
  fills: readonly PositionFill[],
  openOrders: readonly OpenOrder[],
): bigint {
  const profit = matchedProfitByOutcome(outcomeCount, fills);
  let worst = 0n;
  for (let winner = 0; winner < outcomeCount; winner += 1) {
    let loss = -profit[winner]!;
    for (const order of openOrders) loss += openOrderLossMinor(order, winner);
    if (loss > worst) worst = loss;
  }
  return worst;
}

/** One user's settlement on a resolved market. */
export interface UserSettlement {
  /** Σ fill results with the winner: positive = net winnings, negative = net loss. */
  readonly netMinor: bigint;
  /** floor(netMinor × bps / 10 000) when netMinor > 0, else 0. */
  readonly commissionMinor: bigint;
  /** What escrow pays the user on top of releasing the hold: netMinor − commission when > 0. */
  readonly creditMinor: bigint;
  /** What moves from the user's hold into escrow: −netMinor when the user lost, else 0. */
  readonly debitMinor: bigint;
}

/**
 * Settles a user's matched bets on a market won by `winner`: net winnings over every standing
 * fill; commission only on a positive net (Betfair's rule), floored to minor units.
 */
export function settleUser(
  fills: readonly PositionFill[],
  winner: number,
  commissionBps: number,
): UserSettlement {
  let netMinor = 0n;
  for (const fill of fills) netMinor += fillResultMinor(fill, winner);
  if (netMinor <= 0n) {
    return { netMinor, commissionMinor: 0n, creditMinor: 0n, debitMinor: -netMinor };
  }
  const commissionMinor = (netMinor * BigInt(commissionBps)) / 10_000n;
  return { netMinor, commissionMinor, creditMinor: netMinor - commissionMinor, debitMinor: 0n };
}
