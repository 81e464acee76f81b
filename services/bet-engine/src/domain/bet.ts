/**
 * Pure rules of POOL bet placement, voids and settlement results. No I/O: the market, the clock
 * reading and the user's earlier stake come in as arguments, so the same rules run at the edge
 * (fast rejection) and again inside the group-commit transaction under the market's row lock.
 */
import type { DomainErrorKind } from '@streambet/platform/errors/domain-errors';
import { quoteInput } from '@streambet/platform/errors/quote-input';

/** Lifecycle state of a market as the bet engine projects it from the pool. */
export type MarketState = 'DRAFT' | 'OPEN' | 'LOCKED' | 'RESOLVED' | 'CANCELED';

/** POOL (parimutuel) or EXCHANGE; only POOL is accepted by this engine for now. */
export type MarketKind = 'POOL' | 'EXCHANGE';

/** Where a bet is in its life (mirrors BetStatus in bet_engine.proto). */
export type BetStatus = 'PENDING' | 'ACCEPTED' | 'VOIDED' | 'WON' | 'LOST' | 'REFUNDED';

/** Why a bet was voided (mirrors BetVoidReason; exchange-only reasons omitted). */
export type VoidReason = 'RETROACTIVE_LOCK' | 'MARKET_CANCELED' | 'MARKET_VOIDED' | 'HOLD_FAILED';

/** One outcome of a market, in display order. */
export interface MarketOutcome {
  readonly outcomeId: string;
  readonly title: string;
}

/** What the bet engine knows about a market: the pool's betting rules plus its own lock instant. */
export interface MarketView {
  readonly marketId: string;
  readonly channelId: string;
  /** May not bet on the market (streamer on own channel). */
  readonly channelOwnerUserId: string;
  readonly title: string;
  readonly kind: MarketKind;
  readonly currency: string;
  readonly outcomes: readonly MarketOutcome[];
  readonly minStakeMinor: bigint;
  readonly maxStakePerBetMinor: bigint;
  readonly maxStakePerUserMinor: bigint;
  readonly commissionBps: number;
  readonly state: MarketState;
  /** Bets at or after this instant are rejected; 0 while DRAFT. */
  readonly bettingClosesAtMs: number;
  /** The lock instant in force once fixed (VoidBetsAfter or MarketLocked); betting is closed then. */
  readonly lockEffectiveAtMs: number | undefined;
  /** The pool's market version these facts reflect. */
  readonly marketVersion: number;
}

/** Why a placement was refused (mirrors BetRejectionReason). */
export type RejectionReason =
  | 'INVALID_REQUEST'
  | 'UNKNOWN_OUTCOME'
  | 'CURRENCY_MISMATCH'
  | 'STAKE_BELOW_MIN'
  | 'STAKE_ABOVE_MAX'
  | 'ODDS_NOT_ON_LADDER'
  | 'MARKET_NOT_OPEN'
  | 'BETTING_CLOSED'
  | 'USER_MARKET_LIMIT'
  | 'INSUFFICIENT_FUNDS'
  | 'KYC_REQUIRED'
  | 'LOSS_LIMIT'
  | 'OWN_CHANNEL'
  | 'SELF_EXCLUDED'
  | 'COOL_OFF'
  | 'ACCOUNT_FROZEN'
  | 'UNDER_AGE'
  | 'CONFLICT_OF_INTEREST';

/**
 * What kind of refusal each reason is, which fixes the status the caller gets: the request itself
 * is wrong (validation), the market, the wallet or the user's limits forbid it for now
 * (illegal-state), or this user may not bet here at all (permission-denied).
 */
export type RejectionKind = Extract<
  DomainErrorKind,
  'validation' | 'illegal-state' | 'permission-denied'
>;

const rejectionKinds: Readonly<Record<RejectionReason, RejectionKind>> = {
  INVALID_REQUEST: 'validation',
  UNKNOWN_OUTCOME: 'validation',
  CURRENCY_MISMATCH: 'validation',
  STAKE_BELOW_MIN: 'validation',
  STAKE_ABOVE_MAX: 'validation',
  ODDS_NOT_ON_LADDER: 'validation',
  MARKET_NOT_OPEN: 'illegal-state',
  BETTING_CLOSED: 'illegal-state',
  USER_MARKET_LIMIT: 'illegal-state',
  INSUFFICIENT_FUNDS: 'illegal-state',
  KYC_REQUIRED: 'illegal-state',
  LOSS_LIMIT: 'illegal-state',
  OWN_CHANNEL: 'permission-denied',
  SELF_EXCLUDED: 'permission-denied',
  COOL_OFF: 'permission-denied',
  ACCOUNT_FROZEN: 'permission-denied',
  UNDER_AGE: 'permission-denied',
  CONFLICT_OF_INTEREST: 'permission-denied',
};

/** A refused placement: the reason, a message a person can act on, and the figures of the detail. */
export interface Rejection {
  readonly reason: RejectionReason;
  /** What kind of refusal the reason is (see {@link RejectionKind}). */
  readonly kind: RejectionKind;
  readonly message: string;
  readonly limitMinor: bigint;
  readonly availableMinor: bigint;
  readonly untilMs: number;
  readonly currency: string;
}

/** Builds a {@link Rejection}; figures default to 0 / empty (not applicable). */
export function reject(
  reason: RejectionReason,
  message: string,
  figures: Partial<Omit<Rejection, 'reason' | 'kind' | 'message'>> = {},
): Rejection {
  return {
    reason,
    kind: rejectionKinds[reason],
    message,
    limitMinor: figures.limitMinor ?? 0n,
    availableMinor: figures.availableMinor ?? 0n,
    untilMs: figures.untilMs ?? 0,
    currency: figures.currency ?? '',
  };
}

/** A placement as the domain sees it (shape already checked at the edge). */
export interface PlacementRequest {
  readonly userId: string;
  readonly marketId: string;
  readonly outcomeId: string;
  readonly currency: string;
  readonly stakeMinor: bigint;
}

/**
 * Who may bet at all, by role: admins resolve (and void) every market, so under product.md's
 * conflict-of-interest rule they bet on none. Streamers are refused per market (OWN_CHANNEL).
 */
export function checkBettorRole(role: string): Rejection | undefined {
  if (role === 'admin') {
    return reject(
      'CONFLICT_OF_INTEREST',
      'admins may not bet: an admin can resolve every market; bet from a viewer account instead',
    );
  }
  return undefined;
}

/** True while the market takes bets at `nowMs` on the bet engine's clock. */
export function bettingOpen(market: MarketView, nowMs: number): boolean {
  return (
    market.state === 'OPEN' &&
    market.lockEffectiveAtMs === undefined &&
    (market.bettingClosesAtMs === 0 || nowMs < market.bettingClosesAtMs)
  );
}

/**
 * Checks a POOL placement against the market at `nowMs`. `userStakeMinor` is what the user
 * already has at risk on the market (PENDING and ACCEPTED bets), or undefined to skip the
 * per-user cap (the edge check; the group commit checks it under the market lock).
 * Returns the first rejection, in the order the contract lists them, or undefined.
 */
export function checkPlacement(
  market: MarketView,
  request: PlacementRequest,
  nowMs: number,
  userStakeMinor: bigint | undefined,
): Rejection | undefined {
  if (!market.outcomes.some((outcome) => outcome.outcomeId === request.outcomeId)) {
    return reject(
      'UNKNOWN_OUTCOME',
      `outcome ${request.outcomeId} is not an outcome of market ${market.marketId}`,
    );
  }
  if (request.currency !== market.currency) {
    return reject(
      'CURRENCY_MISMATCH',
      `market ${market.marketId} is in ${market.currency}, not ${request.currency}`,
      { currency: market.currency },
    );
  }
  if (request.stakeMinor < market.minStakeMinor) {
    return reject(
      'STAKE_BELOW_MIN',
      `stake must be at least ${market.minStakeMinor} minor units of ${market.currency}`,
      { limitMinor: market.minStakeMinor, currency: market.currency },
    );
  }
  if (request.stakeMinor > market.maxStakePerBetMinor) {
    return reject(
      'STAKE_ABOVE_MAX',
      `stake must be at most ${market.maxStakePerBetMinor} minor units of ${market.currency}`,
      { limitMinor: market.maxStakePerBetMinor, currency: market.currency },
    );
  }
  if (request.userId === market.channelOwnerUserId) {
    return reject('OWN_CHANNEL', 'streamers may not bet on the markets of their own channel');
  }
  if (market.state !== 'OPEN') {
    return reject(
      'MARKET_NOT_OPEN',
      `market ${market.marketId} is ${market.state.toLowerCase()}, not open for betting`,
    );
  }
  if (!bettingOpen(market, nowMs)) {
    return reject('BETTING_CLOSED', `betting on market ${market.marketId} has closed`);
  }
  if (userStakeMinor !== undefined) {
    const remaining = market.maxStakePerUserMinor - userStakeMinor;
    if (request.stakeMinor > remaining) {
      return reject(
        'USER_MARKET_LIMIT',
        `your total on this market may not exceed ${market.maxStakePerUserMinor} minor units of ${market.currency}`,
        {
          limitMinor: market.maxStakePerUserMinor,
          availableMinor: remaining > 0n ? remaining : 0n,
          currency: market.currency,
        },
      );
    }
  }
  return undefined;
}

/** What makes two placements with the same idempotency key the same bet. */
export type PlacementContent = Pick<
  PlacementRequest,
  'marketId' | 'outcomeId' | 'currency' | 'stakeMinor'
>;

/** True when a repeat of a placement carries the same content as the bet stored for its key. */
export function samePlacement(bet: PlacementContent, request: PlacementContent): boolean {
  return (
    bet.marketId === request.marketId &&
    bet.outcomeId === request.outcomeId &&
    bet.currency === request.currency &&
    bet.stakeMinor === request.stakeMinor
  );
}

/** One placement of a group-commit batch. */
export interface BatchPlacement extends PlacementRequest {
  readonly idempotencyKey: string;
}

/** What the group commit read for a batch, under its markets' row locks. */
export interface BatchFacts<Bet extends PlacementContent> {
  /** The batch's markets by id (a missing one does not exist). */
  readonly markets: ReadonlyMap<string, MarketView>;
  /** Bets already stored for the batch's keys, by `${userId} ${idempotencyKey}`. */
  readonly betsByKey: ReadonlyMap<string, Bet>;
  /** What each user has at risk (PENDING and ACCEPTED), by `${marketId} ${userId}`. */
  readonly stakeMinorByMarketUser: ReadonlyMap<string, bigint>;
}

/** The group commit's verdict on one placement. */
export type BatchVerdict<Bet> =
  /** A new bet: write it as an intent (`bet` is what `newBet` built). */
  | { readonly kind: 'intent'; readonly bet: Bet }
  /** A repeat of a key: the same content answers with its bet; other content is a conflict. */
  | { readonly kind: 'existing' | 'conflict'; readonly bet: Bet }
  | { readonly kind: 'rejected'; readonly rejection: Rejection };

/**
 * Decides a group-commit batch in request order at `nowMs`: a key already used answers with its
 * bet (or conflicts), a placement on an unknown market or one {@link checkPlacement} refuses is
 * rejected, and every other becomes a new bet (`newBet`). Placements accepted earlier in the batch
 * count like stored ones — their stake against the user's per-market cap, their key as used — so a
 * batch can never together pass a limit that each passes alone.
 */
export function decideBatch<Placement extends BatchPlacement, Bet extends PlacementContent>(
  placements: readonly Placement[],
  facts: BatchFacts<Bet>,
  nowMs: number,
  newBet: (placement: Placement) => Bet,
): BatchVerdict<Bet>[] {
  const betsByKey = new Map(facts.betsByKey);
  const stakes = new Map(facts.stakeMinorByMarketUser);
  return placements.map((placement): BatchVerdict<Bet> => {
    const key = `${placement.userId} ${placement.idempotencyKey}`;
    const prior = betsByKey.get(key);
    if (prior !== undefined) {
      return { kind: samePlacement(prior, placement) ? 'existing' : 'conflict', bet: prior };
    }
    const market = facts.markets.get(placement.marketId);
    if (market === undefined) {
      return {
        kind: 'rejected',
        rejection: reject(
          'INVALID_REQUEST',
          `market ${quoteInput(placement.marketId)} does not exist`,
        ),
      };
    }
    const stakeKey = `${placement.marketId} ${placement.userId}`;
    const already = stakes.get(stakeKey) ?? 0n;
    const rejection = checkPlacement(market, placement, nowMs, already);
    if (rejection !== undefined) return { kind: 'rejected', rejection };
    stakes.set(stakeKey, already + placement.stakeMinor);
    const bet = newBet(placement);
    betsByKey.set(key, bet);
    return { kind: 'intent', bet };
  });
}

/** One reason the user service gave for refusing a bet. */
export interface Ineligibility {
  readonly reason:
    | 'ACCOUNT_FROZEN'
    | 'SELF_EXCLUDED'
    | 'COOLING_OFF'
    | 'UNDER_AGE'
    | 'KYC_REQUIRED'
    | 'LOSS_LIMIT_EXCEEDED'
    | 'OTHER';
  readonly untilMs: number;
  /** For limit reasons: what still fits now. */
  readonly remainingMinor: bigint | undefined;
}

/**
 * Turns the user service's ineligibility reasons into the one rejection shown: permission
 * problems (frozen, self-excluded, cooling off, under age) before preconditions (KYC, loss limit).
 */
export function rejectionFromIneligibility(
  reasons: readonly Ineligibility[],
  currency: string,
): Rejection {
  const order: ReadonlyArray<Ineligibility['reason']> = [
    'ACCOUNT_FROZEN',
    'SELF_EXCLUDED',
    'COOLING_OFF',
    'UNDER_AGE',
    'KYC_REQUIRED',
    'LOSS_LIMIT_EXCEEDED',
  ];
  const first =
    [...reasons].sort((a, b) => rank(a.reason) - rank(b.reason))[0] ??
    ({ reason: 'OTHER', untilMs: 0, remainingMinor: undefined } satisfies Ineligibility);
  function rank(reason: Ineligibility['reason']): number {
    const index = order.indexOf(reason);
    return index === -1 ? order.length : index;
  }
  switch (first.reason) {
    case 'ACCOUNT_FROZEN':
      return reject('ACCOUNT_FROZEN', 'your account is frozen; contact support');
    case 'SELF_EXCLUDED':
      return reject('SELF_EXCLUDED', 'you are self-excluded from betting', {
        untilMs: first.untilMs,
      });
    case 'COOLING_OFF':
      return reject('COOL_OFF', 'you are in a cool-off period', { untilMs: first.untilMs });
    case 'UNDER_AGE':
      return reject('UNDER_AGE', 'real-money betting is only for verified adults', {
        untilMs: first.untilMs,
      });
    case 'KYC_REQUIRED':
      return reject('KYC_REQUIRED', 'verify your identity (KYC) to keep betting real money');
    case 'LOSS_LIMIT_EXCEEDED':
      return reject('LOSS_LIMIT', 'this bet would exceed your loss limit', {
        untilMs: first.untilMs,
        availableMinor: first.remainingMinor ?? 0n,
        currency,
      });
    case 'OTHER':
      return reject('ACCOUNT_FROZEN', 'your account may not bet now; contact support');
  }
}

/**
 * POOL payout of one bet on a settled market (product.md): a bet of stake s on the winner is
 * paid s + floor(s × D / P_w); any other bet is paid 0. P_w = 0 cannot have winners.
 */
export function poolPayoutMinor(input: {
  readonly stakeMinor: bigint;
  readonly won: boolean;
  readonly distributableMinor: bigint;
  readonly winningStakedMinor: bigint;
}): bigint {
  if (!input.won || input.winningStakedMinor <= 0n) return 0n;
  return (
    input.stakeMinor + (input.stakeMinor * input.distributableMinor) / input.winningStakedMinor
  );
}

/** Ledger transfer id of a bet's stake hold: derived from the bet id, so a resubmission is idempotent. */
export function holdTransferId(betId: string): string {
  return `bet:${betId}:stake`;
}

/** Ledger transfer id of the release of a bet's hold by the bet engine (retroactive void). */
export function voidTransferId(betId: string): string {
  return `bet:${betId}:void`;
}

/** Canonical ledger id of a user's wallet in one currency. */
export function walletAccountId(userId: string, currency: string): string {
  return `wallet:${userId}:${currency}`;
}

/** Canonical ledger id of a market's escrow account. */
export function escrowAccountId(marketId: string): string {
  return `market:${marketId}:escrow`;
}
