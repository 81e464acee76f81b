/**
 * The lock of an EXCHANGE market, applied by its writer in one transaction: fills matched after
 * the lock instant are voided (both orders lose that matched stake, reason RETROACTIVE_LOCK),
 * remainders of orders placed after it are voided, every other remainder lapses (LAPSED), and
 * every user's hold is queued to shrink to what their standing fills can lose.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { LapseResult } from './orders.js';
import { remainingMinor, type MarketBook, type XOrder } from './market-book.js';
import type { ExchangeStore } from './store.js';

/**
 * The lock: every fill matched after the lock instant and every order placed after it are
 * voided (RETROACTIVE_LOCK), then every remainder lapses (LAPSED).
 */
export async function lapseMarket(
  store: ExchangeStore,
  tx: SqlExecutor,
  book: MarketBook,
  lockMs: number,
  nowMs: number,
  touchedOrders: XOrder[],
): Promise<LapseResult> {
  const orders = new Map((await store.marketOrders(tx, book.marketId)).map((o) => [o.orderId, o]));
  const inMemory = (id: string): XOrder => {
    for (const o of book.live.values()) if (o.orderId === id) return o;
    return orders.get(id)!;
  };
  const late = (await store.marketFills(tx, book.marketId)).filter(
    (f) => !f.voided && f.matchedAtMs > lockMs,
  );
  for (const fill of late) {
    fill.voided = true;
    book.matchedByOutcome[fill.outcomeIndex] =
      book.matchedByOutcome[fill.outcomeIndex]! - fill.stakeMinor;
    for (const id of [fill.backOrderId, fill.layOrderId]) {
      const order = inMemory(id);
      order.matchedMinor -= fill.stakeMinor;
      order.voidedMinor += fill.stakeMinor;
      order.voidReason = 'RETROACTIVE_LOCK';
      order.updatedAtMs = nowMs;
      touchedOrders.push(order);
    }
  }
  await store.voidFills(
    tx,
    late.map((f) => f.matchId),
  );
  if (late.length > 0) {
    const voided = new Set(late.map((f) => f.matchId));
    for (const [userId, list] of book.fillsByUser) {
      book.fillsByUser.set(
        userId,
        list.filter((f) => !voided.has(f.matchId)),
      );
    }
  }
  // Orders placed after the lock: their remainder is voided, not lapsed.
  for (const order of book.live.values()) {
    if (order.placedAtMs > lockMs && remainingMinor(order) > 0n) {
      const rest = remainingMinor(order);
      book.books[order.outcomeIndex]!.cancel(order.orderNo);
      order.voidedMinor += rest;
      order.voidReason = 'RETROACTIVE_LOCK';
      order.updatedAtMs = nowMs;
      touchedOrders.push(order);
    }
  }
  const lapsed = book.lapseAll(nowMs);
  touchedOrders.push(...lapsed);
  const result = {
    lapsedOrderCount: BigInt(lapsed.length),
    lapsedStakeMinor: lapsed.reduce((sum, o) => sum + o.lapsedMinor, 0n),
  };
  for (const userId of book.users()) book.shrinkDue.add(userId);
  await store.markLapsed(tx, book.marketId, {
    orderCount: result.lapsedOrderCount,
    stakeMinor: result.lapsedStakeMinor,
    voidedFills: BigInt(late.length),
  });
  return result;
}
