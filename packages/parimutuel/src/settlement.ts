/**
 * Parimutuel (POOL) settlement, exactly per product.md "Parimutuel (POOL) math" and
 * settlement.proto, in bigint only (no floats, no per-bet Decimal objects):
 *
 *   T all stakes, P_w stakes on the winner w, r commission bps, L = T − P_w,
 *   C = floor(L × r / 10000), D = L − C, winner i with stake s_i gets s_i + floor(s_i × D / P_w),
 *   B = D − Σ floor(s_i × D / P_w) to `house`, streamer share = floor(C × share_bps / 10000),
 *   rake = C − streamer share. Refund in full (every hold voided, no commission) when the market
 *   was canceled, when P_w = 0 (also: no bets at all) or when only one outcome has stakes.
 *
 * Every bet's hold is either posted in full into the market's escrow (PAYOUT) or voided
 * (REFUND); the escrow then pays out exactly what it received, so it ends at zero and
 * Σ payouts + C + B = T. Intermediate products are exact bigints; only totals the contracts
 * must carry (T, per-outcome and per-user sums) are checked against int64 and refused beyond it.
 *
 * Settling needs two passes over the bets (T and P_w must be known before any payout), so the
 * streaming API mirrors that: {@link createPoolTotalsAccumulator} over every batch (e.g. as
 * ListMarketBets streams them), {@link decidePoolSettlement}, then a
 * {@link createPoolPayoutCalculator} over the same batches again. {@link settlePool} (row
 * objects) and {@link settlePoolPayouts} (a BigInt64Array, no per-bet objects) do all of it for
 * an array. Everything is linear in the number of bets (a Map lookup per bet for the outcome
 * and one for the user), with no sorting; per-user sums live in int64 columns, not objects.
 */
import { IllegalStateError, ValidationError } from '@streambet/platform/errors/domain-errors';
import { BPS_DENOMINATOR, INT64_MAX_MINOR, assertFitsInt64, bpsToBigint } from './bounds.js';

/** A POOL bet as settlement needs it (bet_engine.proto MarketBet, POOL fields). */
export interface PoolBet {
  /** Opaque bet id, unique in the market. */
  readonly betId: string;
  /** Owner of the bet; payouts are aggregated per user. */
  readonly userId: string;
  /** The outcome backed; must be one of the market's outcomes. */
  readonly outcomeId: string;
  /** The stake s, minor units, 1..int64 max; equals the amount held for the bet. */
  readonly stakeMinor: bigint;
}

/** What settles a market, fixed when it was created and resolved. */
export interface PoolSettlementTerms {
  /** Every outcome of the market (unique, non-empty ids). */
  readonly outcomeIds: readonly string[];
  /** The resolved winner, one of outcomeIds; null when the market was canceled before resolution. */
  readonly winningOutcomeId: string | null;
  /** Commission rate r, 0..10000 bps (the pool service caps markets at 2000). */
  readonly commissionBps: number;
  /** The streamer's share of C, 0..10000 bps. */
  readonly streamerShareBps: number;
}

/** Why stakes are returned instead of paid out (settlement.proto RefundReason). */
export type PoolRefundReason = 'MARKET_CANCELED' | 'NO_WINNING_STAKES' | 'ONE_SIDED';

/** Result of the first pass: the pool's totals. */
export interface PoolTotals {
  /** T, minor units (≤ int64 max, else refused while accumulating). */
  readonly totalStakedMinor: bigint;
  /** P_o for every outcome of the market, zeros included, in the market's order. */
  readonly stakedByOutcome: ReadonlyMap<string, bigint>;
  /** Number of bets seen. */
  readonly betCount: number;
}

/**
 * First pass over a market's bets, batch by batch. Validates each bet (positive stake within
 * int64, known outcome, non-empty ids, bet id not seen before) and refuses a T beyond int64.
 */
export interface PoolTotalsAccumulator {
  /** Adds one batch; throws ValidationError naming the bet's position in the whole stream. */
  add(bets: readonly PoolBet[]): void;
  /** The totals of everything added so far. */
  totals(): PoolTotals;
}

/** How the market settles, from its totals and terms alone (before any payout is computed). */
export type PoolSettlementDecision =
  | {
      readonly kind: 'REFUND';
      readonly reason: PoolRefundReason;
      readonly outcomeIds: readonly string[];
      readonly winningOutcomeId: string | null;
      /** T. */
      readonly totalStakedMinor: bigint;
      /** P_w (0 when canceled). */
      readonly winningStakedMinor: bigint;
      readonly betCount: number;
    }
  | {
      readonly kind: 'PAYOUT';
      readonly outcomeIds: readonly string[];
      readonly winningOutcomeId: string;
      /** T. */
      readonly totalStakedMinor: bigint;
      /** P_w > 0. */
      readonly winningStakedMinor: bigint;
      /** L = T − P_w > 0. */
      readonly losingStakedMinor: bigint;
      /** C = floor(L × r / 10000). */
      readonly commissionMinor: bigint;
      /** D = L − C, shared by the winners pro rata. */
      readonly distributableMinor: bigint;
      /** floor(C × share_bps / 10000), to the streamer's revenue account. */
      readonly streamerShareMinor: bigint;
      /** C − streamer share, to `rake`. */
      readonly rakeMinor: bigint;
      readonly betCount: number;
    };

/** What one bet gets (Bet.status, payout_minor, net_profit_minor) and what to do with its hold. */
export interface PoolBetSettlement {
  readonly betId: string;
  readonly userId: string;
  readonly stakeMinor: bigint;
  /** The bet's final status (BetStatus WON, LOST or REFUNDED). */
  readonly result: 'WON' | 'LOST' | 'REFUNDED';
  /** Gross amount returned to the wallet, stake included: s + floor(s × D / P_w), 0, or s. */
  readonly payoutMinor: bigint;
  /** payout − stake: ≥ 0 for a winner, −s for a loser, 0 when refunded. */
  readonly netProfitMinor: bigint;
  /** POST_IN_FULL: post the pending hold for its whole stake into escrow; VOID: release it. */
  readonly holdAction: PoolHoldAction;
}

/** What settlement does with a bet's pending hold (wallet → market escrow). */
export type PoolHoldAction = 'POST_IN_FULL' | 'VOID';

/** One user's result on the market (settlement.proto Payout row, POOL). */
export interface PoolUserPayout {
  readonly userId: string;
  /** SETTLEMENT for a resolved market, REFUND when stakes are returned. */
  readonly kind: 'SETTLEMENT' | 'REFUND';
  /** Σ of the user's stakes on the market. */
  readonly stakeMinor: bigint;
  /** Σ of the user's bet payouts (may be 0). */
  readonly payoutMinor: bigint;
  /** payout − stake, signed. */
  readonly netMinor: bigint;
}

/**
 * A single-phase transfer out of the market's escrow, after every hold was posted into it. The
 * codes are the ledger's TransferCode names.
 */
export type PoolEscrowTransfer =
  /** escrow → the user's wallet: the user's total payout (> 0). */
  | { readonly code: 'PAYOUT'; readonly userId: string; readonly amountMinor: bigint }
  /** escrow → `rake`: the commission not shared with the streamer (> 0). */
  | { readonly code: 'COMMISSION'; readonly amountMinor: bigint }
  /** escrow → the streamer's revenue account (> 0). */
  | { readonly code: 'STREAMER_SHARE'; readonly amountMinor: bigint }
  /** escrow → `house`: the breakage B (> 0). */
  | { readonly code: 'BREAKAGE'; readonly amountMinor: bigint };

/**
 * The ledger-facing plan: first every bet's hold gets `holdAction` (per bet in
 * PoolBetSettlement), then the escrow transfers run; escrow = postedToEscrowMinor − Σ transfers
 * = 0. Zero amounts are left out (the ledger requires amount > 0).
 */
export interface PoolLedgerPlan {
  /** The action for every bet's hold: all posted in full (PAYOUT) or all voided (REFUND). */
  readonly holdAction: PoolHoldAction;
  /** What the posted holds put into escrow: T for PAYOUT, 0 for REFUND. */
  readonly postedToEscrowMinor: bigint;
  /** Payouts per user (order of first appearance), then COMMISSION, STREAMER_SHARE, BREAKAGE. */
  readonly escrowTransfers: readonly PoolEscrowTransfer[];
}

/** The figures of settlement.proto Settlement for a POOL market. */
export interface PoolSettlementFigures {
  /** T. */
  readonly totalStakedMinor: bigint;
  /** P_w (0 when canceled). */
  readonly winningStakedMinor: bigint;
  /** L = T − P_w (T when canceled). */
  readonly losingStakedMinor: bigint;
  /** C; 0 when refunded. */
  readonly commissionMinor: bigint;
  /** floor(C × share_bps / 10000); 0 when refunded. */
  readonly streamerShareMinor: bigint;
  /** C − streamer share; 0 when refunded. */
  readonly rakeMinor: bigint;
  /** D = L − C; 0 when refunded (nothing is distributed). */
  readonly distributableMinor: bigint;
  /** B = D − Σ floor(s × D / P_w); 0 when refunded. */
  readonly breakageMinor: bigint;
  /** Σ payouts over bets: T − C − B (PAYOUT) or T (REFUND). */
  readonly payoutTotalMinor: bigint;
  /** Bets settled. */
  readonly betCount: number;
  /** Users with a payout row (every bettor). */
  readonly payoutCount: number;
  /** Users whose payout exceeds their stake. */
  readonly winnerCount: number;
}

/** Everything a settlement run needs except the per-bet rows (returned batch by batch). */
export interface PoolSettlementResult {
  readonly kind: 'PAYOUT' | 'REFUND';
  /** Why it is a refund; null for PAYOUT. */
  readonly refundReason: PoolRefundReason | null;
  readonly winningOutcomeId: string | null;
  readonly figures: PoolSettlementFigures;
  /** One row per user, in order of first appearance. */
  readonly users: readonly PoolUserPayout[];
  readonly ledger: PoolLedgerPlan;
}

/** A whole settlement computed from an array of bets. */
export interface PoolSettlementWithBets extends PoolSettlementResult {
  /** One row per bet, in input order. */
  readonly bets: readonly PoolBetSettlement[];
}

/**
 * Second pass: per-bet payouts, batch by batch over the same bets as the first pass (any
 * order, any batching; use either payouts() or settle() per batch). finish() checks that the second pass saw the same bets (count, T, P_w)
 * and that the conservation invariants hold, and returns the users' rows and the ledger plan.
 */
export interface PoolPayoutCalculator {
  /**
   * Settles one batch without per-bet objects: element i is the payout of bets[i] (fits int64
   * by construction). Use this for large markets; a bet's result follows from the market
   * (REFUNDED when refunded, else WON on the winning outcome, LOST otherwise).
   */
  payouts(bets: readonly PoolBet[]): BigInt64Array;
  /** Settles one batch; returns one row object per bet in the batch's order. */
  settle(bets: readonly PoolBet[]): PoolBetSettlement[];
  /** Completes the run; throws IllegalStateError if the passes disagree. Call once. */
  finish(): PoolSettlementResult;
}

/**
 * How bet ids are checked for uniqueness (a bet counted twice would be paid twice).
 * `ascending`: the ids must arrive in strictly ascending order (JavaScript string order, which
 * for ULIDs is ListMarketBets' bet_id order); that proves uniqueness without remembering any id,
 * and also catches a resumed stream that overlaps. `any`: any order, checked with a Set of every
 * id (memory and time grow with the market; slower at 1,000,000 bets).
 */
export type BetIdOrder = 'ascending' | 'any';

/**
 * Starts the first pass for a market with these outcomes. Bet ids must arrive in ascending order
 * unless `betIdOrder: 'any'` is given.
 */
export function createPoolTotalsAccumulator(
  outcomeIds: readonly string[],
  options: { readonly betIdOrder?: BetIdOrder } = {},
): PoolTotalsAccumulator {
  const stakedByOutcome = outcomeMap(outcomeIds);
  const seenIds = options.betIdOrder === 'any' ? new Set<string>() : undefined;
  let lastBetId: string | undefined;
  let totalStakedMinor = 0n;
  let betCount = 0;
  return {
    add(bets) {
      for (let i = 0; i < bets.length; i++) {
        const bet = bets[i]!;
        const position = betCount + i;
        const outcomeTotal = stakedByOutcome.get(bet.outcomeId);
        assertBet(bet, position, outcomeTotal !== undefined);
        if (seenIds === undefined) {
          if (lastBetId !== undefined && !(bet.betId > lastBetId)) {
            throw invalidBet(
              position,
              'bet_id',
              `${bet.betId} does not follow ${lastBetId}: bets must arrive in ascending bet_id order without repeats (or use betIdOrder 'any')`,
            );
          }
          lastBetId = bet.betId;
        } else {
          if (seenIds.has(bet.betId))
            throw invalidBet(position, 'bet_id', `bet ${bet.betId} appears twice`);
          seenIds.add(bet.betId);
        }
        stakedByOutcome.set(bet.outcomeId, outcomeTotal! + bet.stakeMinor);
        totalStakedMinor += bet.stakeMinor;
      }
      betCount += bets.length;
      assertFitsInt64(totalStakedMinor, 'total_staked_minor');
    },
    totals() {
      return { totalStakedMinor, stakedByOutcome: new Map(stakedByOutcome), betCount };
    },
  };
}

/**
 * Decides refund or payout and computes every market-level figure except B (which needs the
 * per-bet floors). Throws ValidationError for bad terms: unknown winner, rates out of range.
 */
export function decidePoolSettlement(
  totals: PoolTotals,
  terms: PoolSettlementTerms,
): PoolSettlementDecision {
  const outcomeIds = [...outcomeMap(terms.outcomeIds).keys()];
  const commissionBps = bpsToBigint(terms.commissionBps, 'commission_bps');
  const streamerShareBps = bpsToBigint(terms.streamerShareBps, 'streamer_revenue_share_bps');
  let sumOfOutcomesMinor = 0n;
  for (const [outcomeId, stakedMinor] of totals.stakedByOutcome) {
    if (!outcomeIds.includes(outcomeId) || stakedMinor < 0n) {
      throw new ValidationError('totals do not match the market', [
        {
          field: 'outcome_id',
          description: `${outcomeId} is not an outcome of the market or its total is negative`,
        },
      ]);
    }
    sumOfOutcomesMinor += stakedMinor;
  }
  if (sumOfOutcomesMinor !== totals.totalStakedMinor) {
    throw new ValidationError('totals do not match the market', [
      {
        field: 'total_staked_minor',
        description: `must equal the sum of the outcomes' totals, ${sumOfOutcomesMinor}`,
      },
    ]);
  }
  assertFitsInt64(totals.totalStakedMinor, 'total_staked_minor');
  const totalStakedMinor = totals.totalStakedMinor;
  const base = { outcomeIds, totalStakedMinor, betCount: totals.betCount };
  if (terms.winningOutcomeId === null) {
    return {
      kind: 'REFUND',
      reason: 'MARKET_CANCELED',
      winningOutcomeId: null,
      winningStakedMinor: 0n,
      ...base,
    };
  }
  if (!outcomeIds.includes(terms.winningOutcomeId)) {
    throw new ValidationError('winning outcome is invalid', [
      {
        field: 'winning_outcome_id',
        description: `${terms.winningOutcomeId} is not an outcome of the market`,
      },
    ]);
  }
  const winningOutcomeId = terms.winningOutcomeId;
  const winningStakedMinor = totals.stakedByOutcome.get(winningOutcomeId) ?? 0n;
  if (winningStakedMinor === 0n) {
    return {
      kind: 'REFUND',
      reason: 'NO_WINNING_STAKES',
      winningOutcomeId,
      winningStakedMinor,
      ...base,
    };
  }
  const losingStakedMinor = totalStakedMinor - winningStakedMinor;
  if (losingStakedMinor === 0n) {
    return { kind: 'REFUND', reason: 'ONE_SIDED', winningOutcomeId, winningStakedMinor, ...base };
  }
  const commissionMinor = (losingStakedMinor * commissionBps) / BPS_DENOMINATOR;
  const streamerShareMinor = (commissionMinor * streamerShareBps) / BPS_DENOMINATOR;
  return {
    kind: 'PAYOUT',
    winningOutcomeId,
    winningStakedMinor,
    losingStakedMinor,
    commissionMinor,
    distributableMinor: losingStakedMinor - commissionMinor,
    streamerShareMinor,
    rakeMinor: commissionMinor - streamerShareMinor,
    ...base,
  };
}

/** Starts the second pass for a decided market. */
export function createPoolPayoutCalculator(decision: PoolSettlementDecision): PoolPayoutCalculator {
  const outcomes = new Set(decision.outcomeIds);
  const refund = decision.kind === 'REFUND';
  const winningOutcomeId = decision.kind === 'PAYOUT' ? decision.winningOutcomeId : null;
  const distributableMinor = decision.kind === 'PAYOUT' ? decision.distributableMinor : 0n;
  const winningStakedMinor = decision.winningStakedMinor;
  const totalStakedMinor = decision.totalStakedMinor;
  const holdAction: PoolHoldAction = refund ? 'VOID' : 'POST_IN_FULL';
  const users = createUserTotals();
  let seenBets = 0;
  let seenTotalMinor = 0n;
  let seenWinningMinor = 0n;
  let sharesMinor = 0n;
  let finished = false;

  function payouts(bets: readonly PoolBet[]): BigInt64Array {
    if (finished) throw new IllegalStateError('settlement already finished');
    const payoutsMinor = new BigInt64Array(bets.length);
    for (let i = 0; i < bets.length; i++) {
      const bet = bets[i]!;
      assertBet(bet, seenBets + i, outcomes.has(bet.outcomeId));
      const stakeMinor = bet.stakeMinor;
      // Running checks keep every payout ≤ T ≤ int64 max, so BigInt64Array never wraps.
      seenTotalMinor += stakeMinor;
      if (seenTotalMinor > totalStakedMinor) throw passesDisagree();
      let payoutMinor: bigint;
      if (refund) {
        payoutMinor = stakeMinor;
      } else if (bet.outcomeId === winningOutcomeId) {
        seenWinningMinor += stakeMinor;
        if (seenWinningMinor > winningStakedMinor) throw passesDisagree();
        const shareMinor = (stakeMinor * distributableMinor) / winningStakedMinor;
        sharesMinor += shareMinor;
        payoutMinor = stakeMinor + shareMinor;
      } else {
        payoutMinor = 0n;
      }
      users.add(bet.userId, stakeMinor, payoutMinor);
      payoutsMinor[i] = payoutMinor;
    }
    seenBets += bets.length;
    return payoutsMinor;
  }

  function passesDisagree(): IllegalStateError {
    return new IllegalStateError(
      `the payout pass saw ${seenBets} bets staking ${seenTotalMinor} (winner ${seenWinningMinor}), ` +
        `the totals pass ${decision.betCount} staking ${totalStakedMinor} (winner ${winningStakedMinor}); ` +
        'the bets changed between the passes, settle again from the start',
    );
  }

  return {
    payouts,
    settle(bets) {
      const payoutsMinor = payouts(bets);
      const rows = new Array<PoolBetSettlement>(bets.length);
      for (let i = 0; i < bets.length; i++) {
        const bet = bets[i]!;
        const payoutMinor = payoutsMinor[i]!;
        rows[i] = {
          betId: bet.betId,
          userId: bet.userId,
          stakeMinor: bet.stakeMinor,
          result: refund ? 'REFUNDED' : bet.outcomeId === winningOutcomeId ? 'WON' : 'LOST',
          payoutMinor,
          netProfitMinor: payoutMinor - bet.stakeMinor,
          holdAction,
        };
      }
      return rows;
    },
    finish() {
      if (finished) throw new IllegalStateError('settlement already finished');
      finished = true;
      if (
        seenBets !== decision.betCount ||
        seenTotalMinor !== totalStakedMinor ||
        (!refund && seenWinningMinor !== winningStakedMinor)
      ) {
        throw passesDisagree();
      }
      return buildResult(decision, users, sharesMinor);
    },
  };
}

/**
 * Settles a market whose bets are all in memory: both passes over the array, linear time, one
 * row object per bet. Bet ids may come in any order (uniqueness is checked either way).
 * Throws ValidationError for invalid bets or terms (see the accumulator and the decision).
 */
export function settlePool(
  bets: readonly PoolBet[],
  terms: PoolSettlementTerms,
): PoolSettlementWithBets {
  const calculator = createPoolPayoutCalculator(decideFromArray(bets, terms));
  const rows = calculator.settle(bets);
  return { ...calculator.finish(), bets: rows };
}

/**
 * Like {@link settlePool} but without per-bet objects: payoutsMinor[i] is the payout of bets[i]
 * (its result follows from the market: REFUNDED when refunded, else WON on the winning outcome
 * and LOST otherwise). The form to use for very large markets.
 */
export function settlePoolPayouts(
  bets: readonly PoolBet[],
  terms: PoolSettlementTerms,
): PoolSettlementResult & { readonly payoutsMinor: BigInt64Array } {
  const calculator = createPoolPayoutCalculator(decideFromArray(bets, terms));
  const payoutsMinor = calculator.payouts(bets);
  return { ...calculator.finish(), payoutsMinor };
}

function decideFromArray(
  bets: readonly PoolBet[],
  terms: PoolSettlementTerms,
): PoolSettlementDecision {
  let ascending = true;
  for (let i = 1; i < bets.length && ascending; i++)
    ascending = bets[i]!.betId > bets[i - 1]!.betId;
  const accumulator = createPoolTotalsAccumulator(terms.outcomeIds, {
    betIdOrder: ascending ? 'ascending' : 'any',
  });
  accumulator.add(bets);
  return decidePoolSettlement(accumulator.totals(), terms);
}

/** Per-user sums without one object per user: an index per id and two growable int64 columns. */
function createUserTotals() {
  const indexOf = new Map<string, number>();
  const userIds: string[] = [];
  let stakes = new BigInt64Array(1024);
  let payouts = new BigInt64Array(1024);
  return {
    userIds,
    stakeOf: (index: number): bigint => stakes[index]!,
    payoutOf: (index: number): bigint => payouts[index]!,
    add(userId: string, stakeMinor: bigint, payoutMinor: bigint): void {
      let index = indexOf.get(userId);
      if (index === undefined) {
        index = userIds.length;
        if (index === stakes.length) {
          const grownStakes = new BigInt64Array(index * 2);
          grownStakes.set(stakes);
          stakes = grownStakes;
          const grownPayouts = new BigInt64Array(index * 2);
          grownPayouts.set(payouts);
          payouts = grownPayouts;
        }
        indexOf.set(userId, index);
        userIds.push(userId);
      }
      // Both sums stay ≤ T ≤ int64 max (checked per bet by the caller), so no wrap.
      stakes[index] = stakes[index]! + stakeMinor;
      payouts[index] = payouts[index]! + payoutMinor;
    },
  };
}

function buildResult(
  decision: PoolSettlementDecision,
  users: ReturnType<typeof createUserTotals>,
  sharesMinor: bigint,
): PoolSettlementResult {
  const kind = decision.kind === 'REFUND' ? 'REFUND' : 'SETTLEMENT';
  const rows: PoolUserPayout[] = new Array<PoolUserPayout>(users.userIds.length);
  const escrowTransfers: PoolEscrowTransfer[] = [];
  let payoutTotalMinor = 0n;
  let winnerCount = 0;
  for (let index = 0; index < users.userIds.length; index++) {
    const userId = users.userIds[index]!;
    const stakeMinor = users.stakeOf(index);
    const payoutMinor = users.payoutOf(index);
    rows[index] = { userId, kind, stakeMinor, payoutMinor, netMinor: payoutMinor - stakeMinor };
    payoutTotalMinor += payoutMinor;
    if (payoutMinor > stakeMinor) winnerCount++;
    if (decision.kind === 'PAYOUT' && payoutMinor > 0n) {
      escrowTransfers.push({ code: 'PAYOUT', userId, amountMinor: payoutMinor });
    }
  }
  const common = {
    betCount: decision.betCount,
    payoutCount: rows.length,
    winnerCount,
    payoutTotalMinor,
  };

  if (decision.kind === 'REFUND') {
    assertInvariant(payoutTotalMinor === decision.totalStakedMinor, 'refund returns T');
    return {
      kind: 'REFUND',
      refundReason: decision.reason,
      winningOutcomeId: decision.winningOutcomeId,
      figures: {
        totalStakedMinor: decision.totalStakedMinor,
        winningStakedMinor: decision.winningStakedMinor,
        losingStakedMinor: decision.totalStakedMinor - decision.winningStakedMinor,
        commissionMinor: 0n,
        streamerShareMinor: 0n,
        rakeMinor: 0n,
        distributableMinor: 0n,
        breakageMinor: 0n,
        ...common,
      },
      users: rows,
      ledger: { holdAction: 'VOID', postedToEscrowMinor: 0n, escrowTransfers },
    };
  }

  const breakageMinor = decision.distributableMinor - sharesMinor;
  if (decision.rakeMinor > 0n)
    escrowTransfers.push({ code: 'COMMISSION', amountMinor: decision.rakeMinor });
  if (decision.streamerShareMinor > 0n) {
    escrowTransfers.push({ code: 'STREAMER_SHARE', amountMinor: decision.streamerShareMinor });
  }
  if (breakageMinor > 0n) escrowTransfers.push({ code: 'BREAKAGE', amountMinor: breakageMinor });
  let paidOutOfEscrowMinor = 0n;
  for (const transfer of escrowTransfers) paidOutOfEscrowMinor += transfer.amountMinor;
  assertInvariant(breakageMinor >= 0n, 'B ≥ 0');
  assertInvariant(
    payoutTotalMinor + decision.commissionMinor + breakageMinor === decision.totalStakedMinor,
    'Σ payouts + C + B = T',
  );
  assertInvariant(paidOutOfEscrowMinor === decision.totalStakedMinor, 'escrow ends at zero');
  return {
    kind: 'PAYOUT',
    refundReason: null,
    winningOutcomeId: decision.winningOutcomeId,
    figures: {
      totalStakedMinor: decision.totalStakedMinor,
      winningStakedMinor: decision.winningStakedMinor,
      losingStakedMinor: decision.losingStakedMinor,
      commissionMinor: decision.commissionMinor,
      streamerShareMinor: decision.streamerShareMinor,
      rakeMinor: decision.rakeMinor,
      distributableMinor: decision.distributableMinor,
      breakageMinor,
      ...common,
    },
    users: rows,
    ledger: {
      holdAction: 'POST_IN_FULL',
      postedToEscrowMinor: decision.totalStakedMinor,
      escrowTransfers,
    },
  };
}

function outcomeMap(outcomeIds: readonly string[]): Map<string, bigint> {
  const map = new Map<string, bigint>();
  if (outcomeIds.length === 0) {
    throw new ValidationError('market has no outcomes', [
      { field: 'outcome_ids', description: 'must list every outcome of the market' },
    ]);
  }
  outcomeIds.forEach((outcomeId, index) => {
    if (typeof outcomeId !== 'string' || outcomeId === '' || map.has(outcomeId)) {
      throw new ValidationError('market outcomes are invalid', [
        {
          field: `outcome_ids[${index}]`,
          description: 'must be a non-empty id, unique in the market',
        },
      ]);
    }
    map.set(outcomeId, 0n);
  });
  return map;
}

function assertBet(bet: PoolBet, position: number, knownOutcome: boolean): void {
  const stake = bet.stakeMinor;
  if (typeof stake !== 'bigint' || stake <= 0n || stake > INT64_MAX_MINOR) {
    throw invalidBet(
      position,
      'stake_minor',
      `must be a bigint in 1..${INT64_MAX_MINOR}, got ${String(stake)}`,
    );
  }
  if (!knownOutcome) {
    throw invalidBet(
      position,
      'outcome_id',
      `${String(bet.outcomeId)} is not an outcome of the market`,
    );
  }
  if (typeof bet.betId !== 'string' || bet.betId === '') {
    throw invalidBet(position, 'bet_id', 'must be a non-empty id');
  }
  if (typeof bet.userId !== 'string' || bet.userId === '') {
    throw invalidBet(position, 'user_id', 'must be a non-empty id');
  }
}

function invalidBet(position: number, field: string, description: string): ValidationError {
  return new ValidationError('bet cannot be settled', [
    { field: `bets[${position}].${field}`, description },
  ]);
}

function assertInvariant(holds: boolean, name: string): void {
  if (!holds) throw new IllegalStateError(`settlement invariant violated: ${name}`);
}
