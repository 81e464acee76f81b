/**
 * One EXCHANGE market in memory: a back/lay book per outcome (packages/exchange) and what each
 * user has on the market (open orders, standing fills, the hold in the ledger), so the exposure a
 * user needs held is computed without SQL. It is a cache of the be_x* rows: built from them
 * ({@link rebuildMarketBook}), changed only by the market's writer inside its transactions, and
 * thrown away and rebuilt whenever a change could not be committed.
 */
import {
  createOrderBook,
  type Fill,
  type OrderBook,
  type PlaceResult,
  type Side,
} from '@streambet/exchange/order-book';
import {
  fillLiabilityMinor,
  requiredHoldMinor,
  type OpenOrder,
  type PositionFill,
} from '@streambet/exchange/exposure';

/** An order as the engine keeps it (amounts in minor units of the backer's stake). */
export interface XOrder {
  readonly orderId: string;
  readonly marketId: string;
  readonly orderNo: number;
  readonly userId: string;
  readonly idempotencyKey: string;
  readonly outcomeId: string;
  readonly outcomeIndex: number;
  readonly side: Side;
  readonly oddsHundredths: number;
  readonly tick: number;
  readonly currency: string;
  readonly stakeMinor: bigint;
  matchedMinor: bigint;
  canceledMinor: bigint;
  lapsedMinor: bigint;
  voidedMinor: bigint;
  status: 'PENDING' | 'OPEN' | 'VOIDED';
  voidReason: '' | 'CANCELED' | 'LAPSED' | 'HOLD_FAILED' | 'RETROACTIVE_LOCK' | 'MARKET_CANCELED';
  readonly placedAtMs: number;
  updatedAtMs: number;
}

/** A match between a back and a lay order. */
export interface XFill {
  readonly matchId: string;
  readonly marketId: string;
  readonly outcomeIndex: number;
  readonly oddsHundredths: number;
  readonly stakeMinor: bigint;
  readonly liabilityMinor: bigint;
  readonly backOrderId: string;
  readonly layOrderId: string;
  readonly backUserId: string;
  readonly layUserId: string;
  readonly makerOrderId: string;
  readonly matchedAtMs: number;
  voided: boolean;
}

/** A user's open hold on the market and the replacement being submitted, if any. */
export interface XHold {
  readonly userId: string;
  version: number;
  amountMinor: bigint;
  betId: string;
  pendingVersion: number;
  pendingAmountMinor: bigint;
  pendingBetId: string;
}

/** The unmatched remainder of an order. */
export function remainingMinor(order: XOrder): bigint {
  if (order.status !== 'OPEN') return 0n;
  return (
    order.stakeMinor -
    order.matchedMinor -
    order.canceledMinor -
    order.lapsedMinor -
    order.voidedMinor
  );
}

/** What one place command did, in the engine's terms. */
export interface PlaceOutcome {
  readonly fills: XFill[];
  /** Resting orders of the same user removed by self-trade prevention (cancel-resting). */
  readonly selfTradeCanceled: XOrder[];
  /** Every order whose amounts changed (the taker included). */
  readonly touched: XOrder[];
}

/** One EXCHANGE market's books and positions. */
export class MarketBook {
  readonly books: OrderBook[];
  /** Orders with a remainder in the book, and PENDING intents, by order_no. */
  readonly live = new Map<number, XOrder>();
  /** Standing (not voided) fills per user. */
  readonly fillsByUser = new Map<string, XFill[]>();
  readonly holds = new Map<string, XHold>();
  /** Backer's stake matched per outcome and the latest matched price (GetBook). */
  readonly matchedByOutcome: bigint[];
  readonly lastPriceByOutcome: number[];
  /** Users whose required hold may have fallen below their hold (released by the next batch). */
  readonly shrinkDue = new Set<string>();
  /** True when this replica holds the market's writer lease and built this picture for writing. */
  writer = false;
  /** The be_xbooks.seq this picture reflects. */
  seq = 0;
  nextOrderNo = 1;

  constructor(
    readonly marketId: string,
    readonly outcomeCount: number,
  ) {
    this.books = Array.from({ length: outcomeCount }, () =>
      createOrderBook({ selfTradePrevention: 'cancel-resting' }),
    );
    this.matchedByOutcome = new Array<bigint>(outcomeCount).fill(0n);
    this.lastPriceByOutcome = new Array<number>(outcomeCount).fill(0);
  }

  /** Records a standing fill in both users' positions and the outcome's figures. */
  addFill(fill: XFill): void {
    if (fill.voided) return;
    for (const userId of [fill.backUserId, fill.layUserId]) {
      const list = this.fillsByUser.get(userId) ?? [];
      list.push(fill);
      this.fillsByUser.set(userId, list);
    }
    this.matchedByOutcome[fill.outcomeIndex] =
      this.matchedByOutcome[fill.outcomeIndex]! + fill.stakeMinor;
    this.lastPriceByOutcome[fill.outcomeIndex] = fill.oddsHundredths;
  }

  /** Puts an accepted order's remainder in its book without matching (a rebuild). */
  restOrder(order: XOrder): void {
    const rest = remainingMinor(order);
    this.live.set(order.orderNo, order);
    if (rest <= 0n) return;
    const result = this.books[order.outcomeIndex]!.place({
      orderId: order.orderNo,
      userId: order.userId,
      side: order.side,
      tick: order.tick,
      sizeMinor: Number(rest),
    });
    if (result.fills.length > 0 || result.selfTradeCancels.length > 0) {
      throw new Error(`resting order ${order.orderId} crossed the book while rebuilding`);
    }
  }

  /** The ledger amount `userId` needs held now (extra: orders not in the book yet, e.g. intents). */
  requiredHold(userId: string, extra: readonly XOrder[] = []): bigint {
    // Self-trade prevention is on (cancel-resting), so a fill never has the same user on both sides.
    const positions: PositionFill[] = (this.fillsByUser.get(userId) ?? []).map((fill) => ({
      outcomeIndex: fill.outcomeIndex,
      side: fill.backUserId === userId ? 'back' : 'lay',
      stakeMinor: fill.stakeMinor,
      liabilityMinor: fill.liabilityMinor,
    }));
    const open: OpenOrder[] = [];
    for (const order of [...this.live.values(), ...extra]) {
      if (order.userId !== userId) continue;
      const rest = order.status === 'PENDING' ? order.stakeMinor : remainingMinor(order);
      if (rest > 0n) {
        open.push({
          outcomeIndex: order.outcomeIndex,
          side: order.side,
          remainingMinor: rest,
          oddsHundredths: order.oddsHundredths,
        });
      }
    }
    return requiredHoldMinor(this.outcomeCount, positions, open);
  }

  /**
   * Matches an accepted order (status OPEN, nothing matched yet) against its outcome's book at
   * `nowMs`; its remainder rests. Fills are at the resting order's price.
   */
  place(order: XOrder, nowMs: number): PlaceOutcome {
    this.live.set(order.orderNo, order);
    const book = this.books[order.outcomeIndex]!;
    const result: PlaceResult = book.place({
      orderId: order.orderNo,
      userId: order.userId,
      side: order.side,
      tick: order.tick,
      sizeMinor: Number(order.stakeMinor),
    });
    const touched = new Map<string, XOrder>([[order.orderId, order]]);
    const fills = result.fills.map((fill: Fill, index) => {
      const maker = this.live.get(fill.makerOrderId);
      if (maker === undefined) throw new Error(`maker ${fill.makerOrderId} is not in memory`);
      const stake = BigInt(fill.sizeMinor);
      maker.matchedMinor += stake;
      maker.updatedAtMs = nowMs;
      order.matchedMinor += stake;
      touched.set(maker.orderId, maker);
      const back = order.side === 'back' ? order : maker;
      const lay = order.side === 'back' ? maker : order;
      const xfill: XFill = {
        matchId: `${order.orderId}.${index}`,
        marketId: this.marketId,
        outcomeIndex: order.outcomeIndex,
        oddsHundredths: maker.oddsHundredths,
        stakeMinor: stake,
        liabilityMinor: fillLiabilityMinor(stake, maker.oddsHundredths),
        backOrderId: back.orderId,
        layOrderId: lay.orderId,
        backUserId: back.userId,
        layUserId: lay.userId,
        makerOrderId: maker.orderId,
        matchedAtMs: nowMs,
        voided: false,
      };
      this.addFill(xfill);
      if (remainingMinor(maker) === 0n) this.live.delete(maker.orderNo);
      return xfill;
    });
    const selfTradeCanceled = result.selfTradeCancels.map((cancel) => {
      const resting = this.live.get(cancel.orderId);
      if (resting === undefined) throw new Error(`order ${cancel.orderId} is not in memory`);
      resting.canceledMinor += BigInt(cancel.cancelledMinor);
      resting.voidReason = 'CANCELED';
      resting.updatedAtMs = nowMs;
      touched.set(resting.orderId, resting);
      this.live.delete(resting.orderNo);
      return resting;
    });
    if (result.cancelledMinor > 0) {
      order.canceledMinor += BigInt(result.cancelledMinor);
      order.voidReason = 'CANCELED';
    }
    if (remainingMinor(order) === 0n) this.live.delete(order.orderNo);
    return { fills, selfTradeCanceled, touched: [...touched.values()] };
  }

  /** Cancels an order's remainder; returns the stake canceled (0 when nothing was left). */
  cancel(order: XOrder, nowMs: number): bigint {
    const rest = remainingMinor(order);
    if (rest === 0n) return 0n;
    this.books[order.outcomeIndex]!.cancel(order.orderNo);
    order.canceledMinor += rest;
    order.voidReason = 'CANCELED';
    order.updatedAtMs = nowMs;
    this.live.delete(order.orderNo);
    return rest;
  }

  /** Lapses every remainder (at lock); returns the orders changed. */
  lapseAll(nowMs: number): XOrder[] {
    const lapsed: XOrder[] = [];
    for (const order of [...this.live.values()]) {
      const rest = remainingMinor(order);
      if (rest === 0n) continue;
      order.lapsedMinor += rest;
      order.voidReason = 'LAPSED';
      order.updatedAtMs = nowMs;
      lapsed.push(order);
    }
    for (const book of this.books) book.lapseAll();
    this.live.clear();
    return lapsed;
  }

  /** Best `levels` prices per side of one outcome. */
  depth(outcomeIndex: number, levels: number) {
    return this.books[outcomeIndex]!.depth(levels);
  }

  /** Every user with a position or an open order on the market. */
  users(): Set<string> {
    const users = new Set<string>(this.holds.keys());
    for (const userId of this.fillsByUser.keys()) users.add(userId);
    for (const order of this.live.values()) users.add(order.userId);
    return users;
  }
}
