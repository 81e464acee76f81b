/**
 * The exchange matching core: one back/lay order book for one outcome (runner), pure and
 * I/O-free (no clock, no ids of its own, no randomness), so the same commands always give the
 * same trades and the same book.
 *
 * Rules (product.md, "Exchange (EXCHANGE) math"):
 * - Prices are integer ticks on the 350-step ladder (`ladder.ts`); sizes are integer minor
 *   units of the backer's stake.
 * - Price-time priority. An incoming back at tick t takes resting lays at ticks ≥ t, highest
 *   first; an incoming lay at t takes resting backs at ticks ≤ t, lowest first; within a tick,
 *   first come first served. Every trade happens at the resting order's tick (price improvement
 *   goes to the taker). What is not filled rests.
 * - The book is never crossed after a command: every resting lay sits below every resting back.
 * - Cancel removes what remains of an order; cancelling an order with nothing left is a no-op.
 * - Cancel-and-replace follows Betfair's rules as we understand them: reducing the size at the
 *   same price keeps the order's place in its queue (Betfair's "cancel with sizeReduction");
 *   changing the price (Betfair's replaceOrders) — and, here, raising the size — cancels the
 *   remainder and enters it again at the back of the queue of its new price, where it may match
 *   at once.
 * - Self-trade prevention, per book: `off` (a user's orders may match each other, as in the
 *   reference), `cancel-resting` (the user's resting order is cancelled and matching goes on) or
 *   `cancel-incoming` (matching stops and the incoming remainder is cancelled; fills made
 *   before it stay).
 * - Client order ids make a place idempotent per user: the same id with the same content returns
 *   the first result again and changes nothing; with different content it is refused.
 *
 * Numbers: sizes are JavaScript numbers holding integers (faster than bigint in the hot path).
 * An order is at most {@link MAX_ORDER_MINOR} minor units and a price level's resting volume
 * never exceeds Number.MAX_SAFE_INTEGER (an order that could push it past is refused before
 * anything changes), so every sum here is exact. Convert int64 wire values with
 * {@link sizeFromBigint}.
 *
 * Layout, for speed: orders live in growable typed arrays indexed by an internal slot; each
 * price level is an intrusive doubly-linked FIFO list threaded through those arrays, so placing,
 * matching and cancelling allocate nothing per order beyond the result returned to the caller.
 * Memory grows with the number of orders ever placed in the book (about 60 bytes each), which a
 * market's lifetime bounds.
 */
import {
  AlreadyExistsError,
  IllegalStateError,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import { TICK_COUNT, isTick } from './ladder.js';
import {
  MAX_ORDER_MINOR,
  type BookDepth,
  type BookSnapshot,
  type CancelResult,
  type DepthLevel,
  type Fill,
  type OrderBookOptions,
  type OrderStatus,
  type OrderView,
  type PlaceOrder,
  type PlaceResult,
  type ReplaceOrder,
  type ReplaceResult,
  type SelfTradeCancel,
  type SelfTradePrevention,
  type Side,
  type UserKey,
} from './types.js';

export * from './types.js';

const NONE = -1;
const BACK = 0;
const LAY = 1;
const EMPTY_FILLS: readonly Fill[] = Object.freeze([]);
const EMPTY_CANCELS: readonly SelfTradeCancel[] = Object.freeze([]);

interface ClientOrderRecord {
  readonly side: Side;
  readonly tick: number;
  readonly sizeMinor: number;
  readonly result: PlaceResult;
}

/** Converts an int64 amount from the wire to a size this book accepts, or refuses it. */
export function sizeFromBigint(sizeMinor: bigint, field = 'size_minor'): number {
  if (sizeMinor < 1n || sizeMinor > BigInt(MAX_ORDER_MINOR)) {
    throw new ValidationError('order size out of range', [
      { field, description: `must be between 1 and ${MAX_ORDER_MINOR} minor units` },
    ]);
  }
  return Number(sizeMinor);
}

/** Creates an empty book for one outcome. */
export function createOrderBook(options: OrderBookOptions = {}): OrderBook {
  return new OrderBook(options);
}

/** One outcome's order book. Not safe to share between concurrent writers (there are none in JS). */
export class OrderBook {
  /** The self-trade prevention policy this book applies. */
  readonly selfTradePrevention: SelfTradePrevention;
  /** Smallest size of a new order. */
  readonly minSizeMinor: number;

  private capacity = 1024;
  private count = 0;
  private orderIds = new Float64Array(this.capacity);
  private sizes = new Float64Array(this.capacity);
  private matched = new Float64Array(this.capacity);
  private cancelled = new Float64Array(this.capacity);
  private remaining = new Float64Array(this.capacity);
  private ticks = new Int16Array(this.capacity);
  private sides = new Uint8Array(this.capacity);
  private next = new Int32Array(this.capacity);
  private prev = new Int32Array(this.capacity);
  private users: UserKey[] = [];
  /**
   * Order id → slot. While every order id equals its slot (ids 0, 1, 2, … as a per-book sequence
   * gives them) the map stays empty and a lookup is an array bound check.
   */
  private readonly slotOf = new Map<number, number>();
  private denseIds = true;
  private readonly clientOrders = new Map<string, ClientOrderRecord>();

  /** Per side and tick (index side × TICK_COUNT + tick): queue head and tail slots. */
  private readonly head = new Int32Array(2 * TICK_COUNT).fill(NONE);
  private readonly tail = new Int32Array(2 * TICK_COUNT).fill(NONE);
  /** Per side and tick: resting volume and number of resting orders. */
  private readonly volume = new Float64Array(2 * TICK_COUNT);
  private readonly levelOrders = new Int32Array(2 * TICK_COUNT);
  /** Lowest tick holding a resting back, TICK_COUNT when none. */
  private minBack = TICK_COUNT;
  /** Highest tick holding a resting lay, NONE when none. */
  private maxLay = NONE;

  constructor(options: OrderBookOptions = {}) {
    this.selfTradePrevention = options.selfTradePrevention ?? 'cancel-resting';
    const minSize = options.minSizeMinor ?? 1;
    if (!Number.isSafeInteger(minSize) || minSize < 1 || minSize > MAX_ORDER_MINOR) {
      throw new ValidationError('minimum order size out of range', [
        { field: 'min_size_minor', description: `must be an integer in 1..${MAX_ORDER_MINOR}` },
      ]);
    }
    this.minSizeMinor = minSize;
  }

  /** Best resting back (what a layer takes first), or undefined when there is none. */
  bestBackTick(): number | undefined {
    return this.minBack < TICK_COUNT ? this.minBack : undefined;
  }

  /** Best resting lay (what a backer takes first), or undefined when there is none. */
  bestLayTick(): number | undefined {
    return this.maxLay >= 0 ? this.maxLay : undefined;
  }

  /** Places a limit order: matches what it can, rests the rest. Refused input changes nothing. */
  place(command: PlaceOrder): PlaceResult {
    const { orderId, userId, side, tick, sizeMinor, clientOrderId } = command;
    let clientKey: string | undefined;
    if (clientOrderId !== undefined) {
      clientKey = `${typeof userId}:${String(userId)}\u0000${clientOrderId}`;
      const first = this.clientOrders.get(clientKey);
      if (first !== undefined) {
        if (first.side === side && first.tick === tick && first.sizeMinor === sizeMinor) {
          return first.result;
        }
        throw new AlreadyExistsError(
          `client order id "${clientOrderId}" was already used for a different order ` +
            `(${first.side} ${first.sizeMinor} at tick ${first.tick}); use a new client order id`,
        );
      }
    }
    this.validateNew(orderId, side, tick, sizeMinor);
    const sideCode = side === 'back' ? BACK : LAY;
    if (this.volume[sideCode * TICK_COUNT + tick]! + sizeMinor > Number.MAX_SAFE_INTEGER) {
      throw new IllegalStateError(
        `the book holds too much at tick ${tick} to take another ${sizeMinor} minor units`,
      );
    }
    const slot = this.allocate(orderId, userId, sideCode, tick, sizeMinor);
    const result = this.execute(slot, sizeMinor);
    if (clientKey !== undefined && clientOrderId !== undefined) {
      this.clientOrders.set(clientKey, { side, tick, sizeMinor, result });
    }
    return result;
  }

  /** Cancels what remains of an order (a no-op when nothing does). */
  cancel(orderId: number, userId?: UserKey): CancelResult {
    const slot = this.findOwned(orderId, userId);
    return { orderId, cancelledMinor: this.cancelSlot(slot) };
  }

  /**
   * Cancel-and-replace. Same tick and a smaller (or equal) size keeps the queue position; a new
   * tick or a larger size re-enters at the back of the new tick's queue and may match at once.
   */
  replace(command: ReplaceOrder): ReplaceResult {
    const slot = this.findOwned(command.orderId, command.userId);
    const remaining = this.remaining[slot]!;
    if (remaining === 0) {
      throw new IllegalStateError(
        `order ${command.orderId} has nothing unmatched left to replace; place a new order`,
      );
    }
    const currentTick = this.ticks[slot]!;
    const tick = command.tick ?? currentTick;
    const sizeMinor = command.sizeMinor ?? remaining;
    if (!isTick(tick)) {
      throw new ValidationError('price is off the ladder', [
        { field: 'tick', description: `must be an integer in 0..${TICK_COUNT - 1}` },
      ]);
    }
    if (!Number.isSafeInteger(sizeMinor) || sizeMinor < 1 || sizeMinor > MAX_ORDER_MINOR) {
      throw new ValidationError('order size out of range', [
        {
          field: 'size_minor',
          description: `must be a whole number of minor units in 1..${MAX_ORDER_MINOR}; cancel instead of replacing with 0`,
        },
      ]);
    }
    const sideCode = this.sides[slot]!;
    if (tick === currentTick && sizeMinor <= remaining) {
      const reducedBy = remaining - sizeMinor;
      this.remaining[slot] = sizeMinor;
      this.cancelled[slot] = this.cancelled[slot]! + reducedBy;
      const at = sideCode * TICK_COUNT + tick;
      this.volume[at] = this.volume[at]! - reducedBy;
      return {
        orderId: command.orderId,
        status: 'resting',
        matchedMinor: 0,
        remainingMinor: sizeMinor,
        cancelledMinor: reducedBy,
        fills: EMPTY_FILLS,
        selfTradeCancels: EMPTY_CANCELS,
        keptPriority: true,
      };
    }
    if (sizeMinor < this.minSizeMinor) {
      throw new ValidationError('order size below the minimum', [
        { field: 'size_minor', description: `must be at least ${this.minSizeMinor} minor units` },
      ]);
    }
    const levelAfter =
      this.volume[sideCode * TICK_COUNT + tick]! -
      (tick === currentTick ? remaining : 0) +
      sizeMinor;
    if (levelAfter > Number.MAX_SAFE_INTEGER) {
      throw new IllegalStateError(
        `the book holds too much at tick ${tick} to take another ${sizeMinor} minor units`,
      );
    }
    this.cancelSlot(slot);
    this.ticks[slot] = tick;
    this.sizes[slot] = this.sizes[slot]! + sizeMinor;
    return { ...this.execute(slot, sizeMinor), keptPriority: false };
  }

  /** Cancels every remainder (lapse at lock), returning what each order lost, in slot order. */
  lapseAll(): CancelResult[] {
    const lapsed: CancelResult[] = [];
    for (let slot = 0; slot < this.count; slot++) {
      if (this.remaining[slot]! > 0) {
        lapsed.push({ orderId: this.orderIds[slot]!, cancelledMinor: this.cancelSlot(slot) });
      }
    }
    return lapsed;
  }

  /** The best `levels` prices on each side (GetBook). */
  depth(levels: number): BookDepth {
    if (!Number.isInteger(levels) || levels < 1 || levels > TICK_COUNT) {
      throw new ValidationError('depth out of range', [
        { field: 'depth', description: `must be an integer in 1..${TICK_COUNT}` },
      ]);
    }
    const availableToBack: DepthLevel[] = [];
    for (let tick = this.maxLay; tick >= 0 && availableToBack.length < levels; tick--) {
      if (this.head[LAY * TICK_COUNT + tick] !== NONE) {
        availableToBack.push(this.level(LAY, tick));
      }
    }
    const availableToLay: DepthLevel[] = [];
    for (let tick = this.minBack; tick < TICK_COUNT && availableToLay.length < levels; tick++) {
      if (this.head[BACK * TICK_COUNT + tick] !== NONE) {
        availableToLay.push(this.level(BACK, tick));
      }
    }
    return { availableToBack, availableToLay };
  }

  /** One order as the book sees it, or undefined when the book never saw it. */
  order(orderId: number): OrderView | undefined {
    const slot = this.slotFor(orderId);
    return slot === undefined ? undefined : this.view(slot);
  }

  /** A canonical picture of the book, equal for two books that went through the same commands. */
  snapshot(): BookSnapshot {
    const queues = (sideCode: number): number[][] => {
      const out: number[][] = [];
      for (let tick = 0; tick < TICK_COUNT; tick++) {
        let slot = this.head[sideCode * TICK_COUNT + tick]!;
        if (slot === NONE) continue;
        const queue = [tick];
        while (slot !== NONE) {
          queue.push(this.orderIds[slot]!);
          slot = this.next[slot]!;
        }
        out.push(queue);
      }
      return out;
    };
    const orders: OrderView[] = [];
    for (let slot = 0; slot < this.count; slot++) orders.push(this.view(slot));
    return { backQueues: queues(BACK), layQueues: queues(LAY), orders };
  }

  private level(sideCode: number, tick: number): DepthLevel {
    return {
      tick,
      sizeMinor: this.volume[sideCode * TICK_COUNT + tick]!,
      orders: this.levelOrders[sideCode * TICK_COUNT + tick]!,
    };
  }

  private view(slot: number): OrderView {
    return {
      orderId: this.orderIds[slot]!,
      userId: this.users[slot]!,
      side: this.sides[slot] === BACK ? 'back' : 'lay',
      tick: this.ticks[slot]!,
      sizeMinor: this.sizes[slot]!,
      matchedMinor: this.matched[slot]!,
      cancelledMinor: this.cancelled[slot]!,
      remainingMinor: this.remaining[slot]!,
    };
  }

  private validateNew(orderId: number, side: Side, tick: number, sizeMinor: number): void {
    if (!Number.isSafeInteger(orderId) || orderId < 0) {
      throw new ValidationError('invalid order id', [
        { field: 'order_id', description: 'must be a non-negative safe integer' },
      ]);
    }
    if (side !== 'back' && side !== 'lay') {
      throw new ValidationError('invalid side', [
        { field: 'side', description: 'must be back or lay' },
      ]);
    }
    if (!isTick(tick)) {
      throw new ValidationError('price is off the ladder', [
        {
          field: 'tick',
          description: `must be an integer in 0..${TICK_COUNT - 1}, got ${String(tick)}`,
        },
      ]);
    }
    if (!Number.isSafeInteger(sizeMinor)) {
      throw new ValidationError('order size must be a whole number of minor units', [
        { field: 'size_minor', description: `got ${String(sizeMinor)}` },
      ]);
    }
    if (sizeMinor < this.minSizeMinor || sizeMinor > MAX_ORDER_MINOR) {
      throw new ValidationError('order size out of range', [
        {
          field: 'size_minor',
          description: `must be between ${this.minSizeMinor} and ${MAX_ORDER_MINOR} minor units, got ${sizeMinor}`,
        },
      ]);
    }
    if (this.slotFor(orderId) !== undefined) {
      throw new AlreadyExistsError(`order ${orderId} already exists in this book`);
    }
  }

  private slotFor(orderId: number): number | undefined {
    if (this.denseIds) {
      return Number.isInteger(orderId) && orderId >= 0 && orderId < this.count
        ? orderId
        : undefined;
    }
    return this.slotOf.get(orderId);
  }

  private findOwned(orderId: number, userId: UserKey | undefined): number {
    const slot = this.slotFor(orderId);
    if (slot === undefined) {
      throw new NotFoundError(`order ${orderId} is not in this book`);
    }
    if (userId !== undefined && this.users[slot] !== userId) {
      throw new PermissionDeniedError(`order ${orderId} belongs to another user`);
    }
    return slot;
  }

  private allocate(
    orderId: number,
    userId: UserKey,
    sideCode: number,
    tick: number,
    sizeMinor: number,
  ): number {
    if (this.count === this.capacity) this.grow();
    const slot = this.count++;
    this.orderIds[slot] = orderId;
    this.sizes[slot] = sizeMinor;
    this.matched[slot] = 0;
    this.cancelled[slot] = 0;
    this.remaining[slot] = 0;
    this.ticks[slot] = tick;
    this.sides[slot] = sideCode;
    this.next[slot] = NONE;
    this.prev[slot] = NONE;
    this.users[slot] = userId;
    if (this.denseIds && orderId !== slot) {
      this.denseIds = false;
      for (let earlier = 0; earlier < slot; earlier++) this.slotOf.set(earlier, earlier);
    }
    if (!this.denseIds) this.slotOf.set(orderId, slot);
    return slot;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const copy = <T extends Float64Array | Int32Array | Int16Array | Uint8Array>(
      from: T,
      make: (n: number) => T,
    ): T => {
      const to = make(capacity);
      to.set(from);
      return to;
    };
    this.orderIds = copy(this.orderIds, (n) => new Float64Array(n));
    this.sizes = copy(this.sizes, (n) => new Float64Array(n));
    this.matched = copy(this.matched, (n) => new Float64Array(n));
    this.cancelled = copy(this.cancelled, (n) => new Float64Array(n));
    this.remaining = copy(this.remaining, (n) => new Float64Array(n));
    this.ticks = copy(this.ticks, (n) => new Int16Array(n));
    this.sides = copy(this.sides, (n) => new Uint8Array(n));
    this.next = copy(this.next, (n) => new Int32Array(n));
    this.prev = copy(this.prev, (n) => new Int32Array(n));
    this.capacity = capacity;
  }

  /** Matches `size` of the order in `slot` as a taker at its tick, then rests what is left. */
  private execute(slot: number, size: number): PlaceResult {
    const sideCode = this.sides[slot]!;
    const tick = this.ticks[slot]!;
    const userId = this.users[slot]!;
    const takerOrderId = this.orderIds[slot]!;
    const makerSide = sideCode === BACK ? LAY : BACK;
    const heads = this.head;
    const volumes = this.volume;
    const counts = this.levelOrders;
    const base = makerSide * TICK_COUNT;
    const policy = this.selfTradePrevention;
    let fills: Fill[] | undefined;
    let stpCancels: SelfTradeCancel[] | undefined;
    let left = size;
    let stopped = false;
    // A back takes lays from the highest tick down to its own; a lay takes backs upwards.
    const step = sideCode === BACK ? -1 : 1;
    let price = sideCode === BACK ? this.maxLay : this.minBack;
    while (left > 0 && (sideCode === BACK ? price >= tick : price <= tick)) {
      let maker = heads[base + price]!;
      while (left > 0 && maker !== NONE) {
        const makerUser = this.users[maker]!;
        if (policy !== 'off' && makerUser === userId) {
          if (policy === 'cancel-incoming') {
            stopped = true;
            break;
          }
          const nextMaker = this.next[maker]!;
          const cancelledMinor = this.cancelSlotAt(maker, makerSide, price);
          (stpCancels ??= []).push({ orderId: this.orderIds[maker]!, cancelledMinor });
          maker = nextMaker;
          continue;
        }
        const makerLeft = this.remaining[maker]!;
        const quantity = makerLeft < left ? makerLeft : left;
        left -= quantity;
        this.remaining[maker] = makerLeft - quantity;
        this.matched[maker] = this.matched[maker]! + quantity;
        volumes[base + price] = volumes[base + price]! - quantity;
        (fills ??= []).push({
          makerOrderId: this.orderIds[maker]!,
          takerOrderId,
          makerUserId: makerUser,
          takerUserId: userId,
          takerSide: sideCode === BACK ? 'back' : 'lay',
          tick: price,
          sizeMinor: quantity,
        });
        if (makerLeft === quantity) {
          const nextMaker = this.next[maker]!;
          heads[base + price] = nextMaker;
          if (nextMaker === NONE) this.tail[base + price] = NONE;
          else this.prev[nextMaker] = NONE;
          this.next[maker] = NONE;
          counts[base + price] = counts[base + price]! - 1;
          maker = nextMaker;
        }
      }
      if (stopped) break;
      if (heads[base + price] === NONE) {
        price += step;
        while (price >= 0 && price < TICK_COUNT && heads[base + price] === NONE) price += step;
        if (sideCode === BACK) this.maxLay = price;
        else this.minBack = price >= TICK_COUNT ? TICK_COUNT : price;
        if (price < 0 || price >= TICK_COUNT) break;
      } else if (left > 0) {
        // Only reachable when every order left at this price is the taker's own (cancel-resting
        // removes those, so this is cancel-incoming's stop) — handled by `stopped` above.
        break;
      }
    }
    const matchedNow = size - left;
    this.matched[slot] = this.matched[slot]! + matchedNow;
    let cancelledNow = 0;
    let status: OrderStatus;
    if (left === 0) {
      status = 'filled';
    } else if (stopped) {
      cancelledNow = left;
      this.cancelled[slot] = this.cancelled[slot]! + left;
      status = 'cancelled';
    } else {
      this.rest(slot, sideCode, tick, left);
      status = 'resting';
    }
    return {
      orderId: takerOrderId,
      status,
      matchedMinor: matchedNow,
      remainingMinor: status === 'resting' ? left : 0,
      cancelledMinor: cancelledNow,
      fills: fills ?? EMPTY_FILLS,
      selfTradeCancels: stpCancels ?? EMPTY_CANCELS,
    };
  }

  private rest(slot: number, sideCode: number, tick: number, size: number): void {
    this.remaining[slot] = size;
    const at = sideCode * TICK_COUNT + tick;
    const last = this.tail[at]!;
    this.prev[slot] = last;
    this.next[slot] = NONE;
    if (last === NONE) this.head[at] = slot;
    else this.next[last] = slot;
    this.tail[at] = slot;
    this.volume[at] = this.volume[at]! + size;
    this.levelOrders[at] = this.levelOrders[at]! + 1;
    if (sideCode === BACK) {
      if (tick < this.minBack) this.minBack = tick;
    } else if (tick > this.maxLay) {
      this.maxLay = tick;
    }
  }

  private cancelSlot(slot: number): number {
    if (this.remaining[slot] === 0) return 0;
    return this.cancelSlotAt(slot, this.sides[slot]!, this.ticks[slot]!);
  }

  /** Unlinks a resting order and counts its remainder as cancelled; keeps best prices right. */
  private cancelSlotAt(slot: number, sideCode: number, tick: number): number {
    const left = this.remaining[slot]!;
    const at = sideCode * TICK_COUNT + tick;
    const before = this.prev[slot]!;
    const after = this.next[slot]!;
    if (before === NONE) this.head[at] = after;
    else this.next[before] = after;
    if (after === NONE) this.tail[at] = before;
    else this.prev[after] = before;
    this.prev[slot] = NONE;
    this.next[slot] = NONE;
    this.remaining[slot] = 0;
    this.cancelled[slot] = this.cancelled[slot]! + left;
    this.volume[at] = this.volume[at]! - left;
    this.levelOrders[at] = this.levelOrders[at]! - 1;
    if (this.head[at] === NONE) {
      if (sideCode === BACK && tick === this.minBack) {
        let price = tick + 1;
        while (price < TICK_COUNT && this.head[BACK * TICK_COUNT + price] === NONE) price++;
        this.minBack = price;
      } else if (sideCode === LAY && tick === this.maxLay) {
        let price = tick - 1;
        while (price >= 0 && this.head[LAY * TICK_COUNT + price] === NONE) price--;
        this.maxLay = price;
      }
    }
    return left;
  }
}
