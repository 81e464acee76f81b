/**
 * The vocabulary of the exchange matching core (`order-book.ts`): commands, results and views of
 * one outcome's back/lay book. Sizes are integer minor units of the backer's stake held in
 * JavaScript numbers, bounded by {@link MAX_ORDER_MINOR}; ticks index the ladder (`ladder.ts`).
 */

/** Largest single order, in minor units (10 000 000 000.00 in a two-decimal currency). */
export const MAX_ORDER_MINOR = 1_000_000_000_000;

/** Which side an order is on: a back bets the outcome happens, a lay that it does not. */
export type Side = 'back' | 'lay';

/** What the book does when an incoming order would match a resting order of the same user. */
export type SelfTradePrevention = 'off' | 'cancel-resting' | 'cancel-incoming';

/** Who placed an order: any value compared with `===` (a user id string or a small integer). */
export type UserKey = string | number;

/** Options of one book. */
export interface OrderBookOptions {
  /** Self-trade prevention policy; default `cancel-resting`. */
  readonly selfTradePrevention?: SelfTradePrevention;
  /** Smallest size a new order (or a replaced order at a new price) may have; default 1. */
  readonly minSizeMinor?: number;
}

/** Places a limit order. */
export interface PlaceOrder {
  /** Caller-chosen id, unique in this book: a safe non-negative integer (e.g. a sequence). */
  readonly orderId: number;
  readonly userId: UserKey;
  readonly side: Side;
  /** Ladder tick of the limit price (0 = 1.01 … 349 = 1000). */
  readonly tick: number;
  /** Backer's stake in minor units, an integer in minSizeMinor..MAX_ORDER_MINOR. */
  readonly sizeMinor: number;
  /** Optional idempotency key, unique per user. */
  readonly clientOrderId?: string;
}

/** One trade between a resting (maker) order and an incoming (taker) order. */
export interface Fill {
  readonly makerOrderId: number;
  readonly takerOrderId: number;
  readonly makerUserId: UserKey;
  readonly takerUserId: UserKey;
  /** The side of the taker; the maker is on the other side. */
  readonly takerSide: Side;
  /** The resting order's tick, the price of the trade. */
  readonly tick: number;
  readonly sizeMinor: number;
}

/** A resting order cancelled by self-trade prevention while another order was matching. */
export interface SelfTradeCancel {
  readonly orderId: number;
  readonly cancelledMinor: number;
}

/** Where an order stands after a command. */
export type OrderStatus = 'resting' | 'filled' | 'cancelled';

/** The outcome of a place (or of a replace that re-entered the book). */
export interface PlaceResult {
  readonly orderId: number;
  /** `resting` when something rests, `filled` when nothing is left, `cancelled` otherwise. */
  readonly status: OrderStatus;
  /** Matched by this command, in minor units. */
  readonly matchedMinor: number;
  /** Left resting after this command. */
  readonly remainingMinor: number;
  /** Cancelled by this command (self-trade prevention `cancel-incoming`). */
  readonly cancelledMinor: number;
  /** Trades in the order they happened. */
  readonly fills: readonly Fill[];
  /** Resting orders of the same user cancelled by `cancel-resting`, in order. */
  readonly selfTradeCancels: readonly SelfTradeCancel[];
}

/** The outcome of a cancel. */
export interface CancelResult {
  readonly orderId: number;
  /** What was removed from the book; 0 when nothing remained. */
  readonly cancelledMinor: number;
}

/** Cancel-and-replace: a new size for the unmatched remainder, a new price, or both. */
export interface ReplaceOrder {
  readonly orderId: number;
  /** When given, only this user's order may be replaced. */
  readonly userId?: UserKey;
  /** New tick; the current one when omitted. */
  readonly tick?: number;
  /** New unmatched size in minor units; the current remainder when omitted. */
  readonly sizeMinor?: number;
}

/** The outcome of a replace. */
export interface ReplaceResult extends PlaceResult {
  /** True when the order kept its place in the queue (same price, size not raised). */
  readonly keptPriority: boolean;
}

/** One price level of the ladder depth. */
export interface DepthLevel {
  readonly tick: number;
  /** Resting volume at this tick, in minor units of the backer's stake. */
  readonly sizeMinor: number;
  /** Number of resting orders at this tick. */
  readonly orders: number;
}

/**
 * Best-N depth in Betfair's terms: `availableToBack` are resting lays a backer can take
 * (highest price first); `availableToLay` are resting backs a layer can take (lowest first).
 */
export interface BookDepth {
  readonly availableToBack: readonly DepthLevel[];
  readonly availableToLay: readonly DepthLevel[];
}

/** Everything the book knows about one order; sizeMinor = matched + cancelled + remaining. */
export interface OrderView {
  readonly orderId: number;
  readonly userId: UserKey;
  readonly side: Side;
  readonly tick: number;
  /** Everything ever committed to this order (raised by a size-up replace). */
  readonly sizeMinor: number;
  readonly matchedMinor: number;
  readonly cancelledMinor: number;
  readonly remainingMinor: number;
}

/** A canonical, comparable picture of the whole book (queues in priority order). */
export interface BookSnapshot {
  /** Resting orders per tick, front of the queue first: `[tick, orderIds...]`. */
  readonly backQueues: readonly (readonly number[])[];
  readonly layQueues: readonly (readonly number[])[];
  /** Every order the book has seen, in the order it first saw them. */
  readonly orders: readonly OrderView[];
}
