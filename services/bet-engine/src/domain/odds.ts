/**
 * Live POOL odds snapshots: the per-market totals the bet engine keeps in SQL, turned into the
 * figures GetOdds serves and OddsChanged publishes, through the product's formula in
 * packages/parimutuel (two decimals rounded down, empty while P_o = 0).
 */
import { computePoolOdds } from '@streambet/parimutuel/odds';
import type { MarketKind } from './bet.js';

/** Totals of one outcome, as stored. */
export interface OutcomeTotals {
  readonly outcomeId: string;
  /** P_o: stakes of live (ACCEPTED) bets on the outcome, minor units. */
  readonly stakedMinor: bigint;
  /** Live bets on the outcome. */
  readonly betCount: bigint;
}

/** Totals of one market, as stored, with the version of the bet engine's public state. */
export interface MarketTotals {
  readonly marketId: string;
  readonly kind: MarketKind;
  readonly currency: string;
  readonly commissionBps: number;
  /** Distinct users with at least one live bet. */
  readonly bettorCount: bigint;
  /** Strictly increasing per market; bumped in every transaction that changes the totals. */
  readonly version: bigint;
  /** In the market's display order. */
  readonly outcomes: readonly OutcomeTotals[];
}

/** A market's odds snapshot (MarketOdds). */
export interface OddsSnapshot {
  readonly marketId: string;
  readonly kind: MarketKind;
  readonly currency: string;
  readonly totalStakedMinor: bigint;
  readonly bettorCount: bigint;
  readonly outcomes: ReadonlyArray<OutcomeTotals & { readonly decimalOdds: string }>;
  readonly version: bigint;
  readonly computedAtMs: number;
}

/** Computes the snapshot of `totals` at `nowMs`. */
export function oddsSnapshot(totals: MarketTotals, nowMs: number): OddsSnapshot {
  const odds = computePoolOdds({
    outcomes: totals.outcomes.map((o) => ({ outcomeId: o.outcomeId, stakedMinor: o.stakedMinor })),
    commissionBps: totals.commissionBps,
  });
  return {
    marketId: totals.marketId,
    kind: totals.kind,
    currency: totals.currency,
    totalStakedMinor: odds.totalStakedMinor,
    bettorCount: totals.bettorCount,
    outcomes: totals.outcomes.map((outcome, index) => ({
      ...outcome,
      decimalOdds: odds.outcomes[index]?.decimalOdds ?? '',
    })),
    version: totals.version,
    computedAtMs: nowMs,
  };
}
