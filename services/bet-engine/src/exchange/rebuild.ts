/**
 * The writer's side of a market's picture: rebuilding it from SQL when this replica takes the
 * market over (or its picture is stale), and planning a user's hold replacement.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { HoldChange } from './ledger.js';
import { MarketBook, type XHold, type XOrder } from './market-book.js';
import type { ExchangeStore } from './store.js';

/** Builds the market's picture from SQL; PENDING intents of a dead batch are voided HOLD_FAILED. */
export async function rebuildForWriting(
  store: ExchangeStore,
  tx: SqlExecutor,
  marketId: string,
  outcomeCount: number,
  seq: number,
  nowMs: number,
) {
  const book = new MarketBook(marketId, outcomeCount);
  const orders = await store.marketOrders(tx, marketId);
  const abandoned: XOrder[] = [];
  for (const order of orders) {
    book.nextOrderNo = Math.max(book.nextOrderNo, order.orderNo + 1);
    if (order.status === 'PENDING') {
      order.status = 'VOIDED';
      order.voidReason = 'HOLD_FAILED';
      order.voidedMinor = order.stakeMinor;
      order.updatedAtMs = nowMs;
      abandoned.push(order);
    }
  }
  await store.updateOrders(tx, abandoned);
  for (const fill of await store.marketFills(tx, marketId)) book.addFill(fill);
  for (const order of orders) if (order.status === 'OPEN') book.restOrder(order);
  for (const hold of await store.marketHolds(tx, marketId)) book.holds.set(hold.userId, hold);
  for (const userId of book.users()) book.shrinkDue.add(userId);
  book.seq = seq;
  return book;
}

/** The hold change that brings `userId` to `requiredMinor`, recorded as pending on the hold. */
export function planHoldChange(
  holdTimeoutSeconds: number,
  book: MarketBook,
  currency: string,
  userId: string,
  requiredMinor: bigint,
  betId: string,
): HoldChange | undefined {
  const hold: XHold = book.holds.get(userId) ?? {
    userId,
    version: 0,
    amountMinor: 0n,
    betId: '',
    pendingVersion: 0,
    pendingAmountMinor: 0n,
    pendingBetId: '',
  };
  book.holds.set(userId, hold);
  if (hold.pendingVersion === 0 && hold.amountMinor === requiredMinor) return undefined;
  if (hold.pendingVersion === 0) {
    hold.pendingVersion = hold.version + 1;
    hold.pendingAmountMinor = requiredMinor;
    hold.pendingBetId = betId === '' ? hold.betId : betId;
  }
  return {
    marketId: book.marketId,
    userId,
    currency,
    fromVersion: hold.version,
    fromBetId: hold.betId,
    fromAmountMinor: hold.amountMinor,
    toVersion: hold.pendingVersion,
    toAmountMinor: hold.pendingAmountMinor,
    toBetId: hold.pendingBetId,
    timeoutSeconds: holdTimeoutSeconds,
  };
}
