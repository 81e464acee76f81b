/**
 * The EXCHANGE lane's vocabulary at its edge: order requests and results, the ladder price
 * parser of PlaceBet's decimal_odds, and what makes a repeated idempotency key the same order.
 */
import { oddsHundredthsToTick, tickToOddsHundredths } from '@streambet/exchange/ladder';
import { reject, type Rejection } from '../domain/bet.js';
import type { MarketRecord } from '../store/index.js';
import type { XFill, XOrder } from './market-book.js';

/** A new order, checked at the edge. */
export interface OrderRequest {
  readonly userId: string;
  readonly idempotencyKey: string;
  readonly market: MarketRecord;
  readonly outcomeId: string;
  readonly side: 'back' | 'lay';
  readonly oddsHundredths: number;
  readonly stakeMinor: bigint;
}

/** What became of an order. */
export type OrderResult =
  | {
      readonly kind: 'placed';
      readonly order: XOrder;
      /** The order's fills when the lane knows them (a new order: its batch's); else read. */
      readonly fills?: readonly XFill[];
    }
  | { readonly kind: 'rejected'; readonly rejection: Rejection }
  | { readonly kind: 'conflict' };

/** What a cancel did. */
export interface CancelResult {
  readonly order: XOrder;
  readonly canceledMinor: bigint;
}

/** What a lapse did (the first one's figures on a repeat). */
export interface LapseResult {
  readonly lapsedOrderCount: bigint;
  readonly lapsedStakeMinor: bigint;
}

/** Parses a decimal price ("2.5", "2.50") into hundredths on the ladder, or a rejection. */
export function parseLadderPrice(
  text: string,
): { oddsHundredths: number; tick: number } | Rejection {
  const match = /^([0-9]{1,4})(?:\.([0-9]{1,2}))?$/.exec(text);
  if (match === null) {
    return reject(
      'ODDS_NOT_ON_LADDER',
      `decimal_odds ${JSON.stringify(text.slice(0, 20))} is not a price like "2.50"`,
    );
  }
  const hundredths = Number(match[1]) * 100 + Number((match[2] ?? '0').padEnd(2, '0'));
  try {
    const tick = oddsHundredthsToTick(hundredths);
    return { oddsHundredths: tickToOddsHundredths(tick), tick };
  } catch (error) {
    const description =
      (error as { violations?: Array<{ description: string }> }).violations?.[0]?.description ??
      'is not on the price ladder';
    return reject('ODDS_NOT_ON_LADDER', `decimal_odds ${description}`);
  }
}

/** What makes two orders with the same idempotency key the same order. */
export type OrderContent = Pick<
  XOrder,
  'marketId' | 'outcomeId' | 'side' | 'oddsHundredths' | 'stakeMinor' | 'currency'
>;

/** Same content as the stored order for its key. */
export function sameOrder(a: OrderContent, b: OrderContent): boolean {
  return (
    a.marketId === b.marketId &&
    a.outcomeId === b.outcomeId &&
    a.side === b.side &&
    a.oddsHundredths === b.oddsHundredths &&
    a.stakeMinor === b.stakeMinor &&
    a.currency === b.currency
  );
}
