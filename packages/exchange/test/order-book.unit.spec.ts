import {
  AlreadyExistsError,
  IllegalStateError,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import { describe, expect, it } from 'vitest';
import {
  MAX_ORDER_MINOR,
  createOrderBook,
  sizeFromBigint,
  type OrderBook,
  type Side,
} from '../src/order-book.js';

let nextId = 0;
function place(
  book: OrderBook,
  userId: string,
  side: Side,
  tick: number,
  sizeMinor: number,
  orderId = nextId++,
) {
  return book.place({ orderId, userId, side, tick, sizeMinor });
}

describe('matching', () => {
  it('rests an order that meets nothing', () => {
    const book = createOrderBook();
    const result = place(book, 'ann', 'back', 100, 500, 1);
    expect(result).toMatchObject({ status: 'resting', matchedMinor: 0, remainingMinor: 500 });
    expect(result.fills).toEqual([]);
    expect(book.bestBackTick()).toBe(100);
    expect(book.bestLayTick()).toBeUndefined();
  });

  it('an incoming back takes lays at its tick or higher, highest first, at the resting tick', () => {
    const book = createOrderBook();
    place(book, 'lee', 'lay', 100, 300, 1);
    place(book, 'lou', 'lay', 105, 200, 2);
    place(book, 'liz', 'lay', 99, 400, 3); // below the back's limit: never taken
    const result = place(book, 'ben', 'back', 100, 450, 4);
    expect(result.fills.map((fill) => [fill.makerOrderId, fill.tick, fill.sizeMinor])).toEqual([
      [2, 105, 200],
      [1, 100, 250],
    ]);
    expect(result).toMatchObject({ status: 'filled', matchedMinor: 450, remainingMinor: 0 });
    expect(book.order(1)).toMatchObject({ matchedMinor: 250, remainingMinor: 50 });
    expect(book.bestLayTick()).toBe(100);
  });

  it('an incoming lay takes backs at its tick or lower, lowest first, and the rest rests', () => {
    const book = createOrderBook();
    place(book, 'ben', 'back', 50, 100, 1);
    place(book, 'bea', 'back', 40, 100, 2);
    place(book, 'bob', 'back', 51, 100, 3); // above the lay's limit
    const result = place(book, 'lee', 'lay', 50, 500, 4);
    expect(result.fills.map((fill) => [fill.makerOrderId, fill.tick, fill.sizeMinor])).toEqual([
      [2, 40, 100],
      [1, 50, 100],
    ]);
    expect(result).toMatchObject({ status: 'resting', matchedMinor: 200, remainingMinor: 300 });
    expect(book.bestLayTick()).toBe(50);
    expect(book.bestBackTick()).toBe(51);
  });

  it('within a tick, the order that came first fills first', () => {
    const book = createOrderBook();
    place(book, 'lee', 'lay', 100, 100, 1);
    place(book, 'lou', 'lay', 100, 100, 2);
    place(book, 'liz', 'lay', 100, 100, 3);
    const result = place(book, 'ben', 'back', 100, 150, 4);
    expect(result.fills.map((fill) => [fill.makerOrderId, fill.sizeMinor])).toEqual([
      [1, 100],
      [2, 50],
    ]);
    expect(result.fills[0]).toMatchObject({
      takerOrderId: 4,
      makerUserId: 'lee',
      takerUserId: 'ben',
      takerSide: 'back',
    });
  });

  it('refuses bad input and changes nothing', () => {
    const book = createOrderBook({ minSizeMinor: 100 });
    place(book, 'lee', 'lay', 100, 500, 1);
    const before = book.snapshot();
    const bad = [
      { orderId: 2, userId: 'ben', side: 'back' as const, tick: 350, sizeMinor: 100 },
      { orderId: 2, userId: 'ben', side: 'back' as const, tick: 1.5, sizeMinor: 100 },
      { orderId: 2, userId: 'ben', side: 'back' as const, tick: 100, sizeMinor: 99 },
      { orderId: 2, userId: 'ben', side: 'back' as const, tick: 100, sizeMinor: 100.5 },
      {
        orderId: 2,
        userId: 'ben',
        side: 'back' as const,
        tick: 100,
        sizeMinor: MAX_ORDER_MINOR + 1,
      },
      { orderId: -1, userId: 'ben', side: 'back' as const, tick: 100, sizeMinor: 100 },
      { orderId: 2, userId: 'ben', side: 'both' as Side, tick: 100, sizeMinor: 100 },
    ];
    for (const command of bad) {
      expect(() => book.place(command)).toThrow(ValidationError);
    }
    expect(() =>
      book.place({ orderId: 1, userId: 'ben', side: 'back', tick: 100, sizeMinor: 100 }),
    ).toThrow(AlreadyExistsError);
    expect(book.snapshot()).toEqual(before);
  });

  it('converts wire sizes from bigint and refuses those out of range', () => {
    expect(sizeFromBigint(2500n)).toBe(2500);
    expect(() => sizeFromBigint(0n)).toThrow(ValidationError);
    expect(() => sizeFromBigint(BigInt(MAX_ORDER_MINOR) + 1n)).toThrow(ValidationError);
  });

  it('accepts any order ids, not only a 0, 1, 2 … sequence', () => {
    const book = createOrderBook();
    place(book, 'lee', 'lay', 100, 100, 0);
    place(book, 'lou', 'lay', 100, 100, 9_000_000_001);
    const result = place(book, 'ben', 'back', 100, 200, 42);
    expect(result.fills.map((fill) => fill.makerOrderId)).toEqual([0, 9_000_000_001]);
    expect(book.order(42)).toMatchObject({ matchedMinor: 200 });
    expect(book.order(1)).toBeUndefined();
    expect(() => book.cancel(1)).toThrow(NotFoundError);
  });
});

describe('cancel', () => {
  it('removes what remains and counts it as cancelled; a second cancel is a no-op', () => {
    const book = createOrderBook();
    place(book, 'lee', 'lay', 100, 300, 1);
    place(book, 'ben', 'back', 100, 100, 2);
    expect(book.cancel(1)).toEqual({ orderId: 1, cancelledMinor: 200 });
    expect(book.order(1)).toMatchObject({
      sizeMinor: 300,
      matchedMinor: 100,
      cancelledMinor: 200,
      remainingMinor: 0,
    });
    expect(book.bestLayTick()).toBeUndefined();
    expect(book.cancel(1)).toEqual({ orderId: 1, cancelledMinor: 0 });
  });

  it('refuses an unknown order and someone else’s order', () => {
    const book = createOrderBook();
    place(book, 'lee', 'lay', 100, 300, 1);
    expect(() => book.cancel(7)).toThrow(NotFoundError);
    expect(() => book.cancel(1, 'ben')).toThrow(PermissionDeniedError);
    expect(book.order(1)).toMatchObject({ remainingMinor: 300 });
    expect(book.cancel(1, 'lee')).toEqual({ orderId: 1, cancelledMinor: 300 });
  });

  it('from the middle of a queue keeps the others in order, and best prices move', () => {
    const book = createOrderBook();
    place(book, 'b1', 'back', 10, 100, 1);
    place(book, 'b2', 'back', 10, 100, 2);
    place(book, 'b3', 'back', 10, 100, 3);
    place(book, 'b4', 'back', 20, 100, 4);
    book.cancel(2);
    expect(book.snapshot().backQueues).toEqual([
      [10, 1, 3],
      [20, 4],
    ]);
    book.cancel(1);
    book.cancel(3);
    expect(book.bestBackTick()).toBe(20);
  });

  it('lapseAll cancels every remainder at lock', () => {
    const book = createOrderBook();
    place(book, 'lee', 'lay', 100, 300, 1);
    place(book, 'ben', 'back', 200, 100, 2);
    place(book, 'bea', 'back', 100, 100, 3); // fills against order 1
    expect(book.lapseAll()).toEqual([
      { orderId: 1, cancelledMinor: 200 },
      { orderId: 2, cancelledMinor: 100 },
    ]);
    expect(book.depth(5)).toEqual({ availableToBack: [], availableToLay: [] });
  });
});

describe('cancel-and-replace', () => {
  it('a smaller size at the same tick keeps the order’s place in the queue', () => {
    const book = createOrderBook();
    place(book, 'lee', 'lay', 100, 300, 1);
    place(book, 'lou', 'lay', 100, 300, 2);
    const replaced = book.replace({ orderId: 1, sizeMinor: 100 });
    expect(replaced).toMatchObject({
      keptPriority: true,
      remainingMinor: 100,
      cancelledMinor: 200,
    });
    const taken = place(book, 'ben', 'back', 100, 150, 3);
    expect(taken.fills.map((fill) => [fill.makerOrderId, fill.sizeMinor])).toEqual([
      [1, 100],
      [2, 50],
    ]);
    expect(book.order(1)).toMatchObject({ sizeMinor: 300, matchedMinor: 100, cancelledMinor: 200 });
  });

  it('a new price loses priority: the order goes to the back of its new tick and may match', () => {
    const book = createOrderBook();
    place(book, 'lee', 'lay', 101, 100, 1);
    place(book, 'lou', 'lay', 100, 100, 2);
    place(book, 'ben', 'back', 110, 100, 3);
    const moved = book.replace({ orderId: 1, tick: 100 });
    expect(moved).toMatchObject({ keptPriority: false, status: 'resting', remainingMinor: 100 });
    expect(book.snapshot().layQueues).toEqual([[100, 2, 1]]);
    const crossing = book.replace({ orderId: 3, tick: 100 });
    expect(crossing).toMatchObject({ keptPriority: false, status: 'filled', matchedMinor: 100 });
    expect(crossing.fills.map((fill) => fill.makerOrderId)).toEqual([2]);
  });

  it('a larger size at the same tick re-enters at the back of the queue', () => {
    const book = createOrderBook();
    place(book, 'lee', 'lay', 100, 100, 1);
    place(book, 'lou', 'lay', 100, 100, 2);
    expect(book.replace({ orderId: 1, sizeMinor: 250 })).toMatchObject({ keptPriority: false });
    expect(book.snapshot().layQueues).toEqual([[100, 2, 1]]);
    expect(book.order(1)).toMatchObject({
      sizeMinor: 350,
      cancelledMinor: 100,
      remainingMinor: 250,
    });
  });

  it('refuses an order with nothing left, someone else’s order and bad values, changing nothing', () => {
    const book = createOrderBook({ minSizeMinor: 50 });
    place(book, 'lee', 'lay', 100, 100, 1);
    place(book, 'ben', 'back', 200, 100, 2);
    place(book, 'bea', 'back', 100, 100, 3);
    const before = book.snapshot();
    expect(() => book.replace({ orderId: 1, sizeMinor: 50 })).toThrow(IllegalStateError);
    expect(() => book.replace({ orderId: 2, userId: 'lee', sizeMinor: 50 })).toThrow(
      PermissionDeniedError,
    );
    expect(() => book.replace({ orderId: 2, tick: 400 })).toThrow(ValidationError);
    expect(() => book.replace({ orderId: 2, sizeMinor: 0 })).toThrow(ValidationError);
    expect(() => book.replace({ orderId: 2, tick: 150, sizeMinor: 10 })).toThrow(ValidationError);
    expect(() => book.replace({ orderId: 9 })).toThrow(NotFoundError);
    expect(book.snapshot()).toEqual(before);
    // A size reduction below the minimum is allowed: it only gives money back.
    expect(book.replace({ orderId: 2, sizeMinor: 10 })).toMatchObject({ keptPriority: true });
  });
});

describe('self-trade prevention', () => {
  function bookWith(policy: 'off' | 'cancel-resting' | 'cancel-incoming') {
    const book = createOrderBook({ selfTradePrevention: policy });
    place(book, 'ann', 'lay', 105, 100, 1);
    place(book, 'lee', 'lay', 105, 100, 2);
    place(book, 'ann', 'lay', 100, 100, 3);
    return book;
  }

  it('off: a user’s orders match each other', () => {
    const result = place(bookWith('off'), 'ann', 'back', 100, 300, 4);
    expect(result.fills.map((fill) => fill.makerOrderId)).toEqual([1, 2, 3]);
    expect(result.selfTradeCancels).toEqual([]);
  });

  it('cancel-resting: the user’s resting orders are cancelled and matching goes on', () => {
    const book = bookWith('cancel-resting');
    const result = place(book, 'ann', 'back', 100, 300, 4);
    expect(result.fills.map((fill) => fill.makerOrderId)).toEqual([2]);
    expect(result.selfTradeCancels).toEqual([
      { orderId: 1, cancelledMinor: 100 },
      { orderId: 3, cancelledMinor: 100 },
    ]);
    expect(result).toMatchObject({ status: 'resting', matchedMinor: 100, remainingMinor: 200 });
    expect(book.bestLayTick()).toBeUndefined();
    expect(book.bestBackTick()).toBe(100);
  });

  it('cancel-incoming: matching stops at the user’s own order, fills so far stay', () => {
    const book = createOrderBook({ selfTradePrevention: 'cancel-incoming' });
    place(book, 'lee', 'lay', 105, 100, 1);
    place(book, 'ann', 'lay', 105, 100, 2);
    place(book, 'lou', 'lay', 105, 100, 3);
    const result = place(book, 'ann', 'back', 100, 300, 4);
    expect(result.fills.map((fill) => fill.makerOrderId)).toEqual([1]);
    expect(result).toMatchObject({
      status: 'cancelled',
      matchedMinor: 100,
      remainingMinor: 0,
      cancelledMinor: 200,
    });
    expect(book.snapshot().layQueues).toEqual([[105, 2, 3]]);
    expect(book.order(4)).toMatchObject({ sizeMinor: 300, matchedMinor: 100, cancelledMinor: 200 });
  });
});

describe('client order ids', () => {
  it('the same id and content returns the first result and changes nothing', () => {
    const book = createOrderBook();
    place(book, 'lee', 'lay', 100, 100, 1);
    const command = {
      orderId: 2,
      userId: 'ben',
      side: 'back' as const,
      tick: 100,
      sizeMinor: 300,
      clientOrderId: 'c-1',
    };
    const first = book.place(command);
    const before = book.snapshot();
    const again = book.place({ ...command, orderId: 3 });
    expect(again).toBe(first);
    expect(book.snapshot()).toEqual(before);
  });

  it('the same id with different content is refused', () => {
    const book = createOrderBook();
    book.place({
      orderId: 1,
      userId: 'ben',
      side: 'back',
      tick: 100,
      sizeMinor: 300,
      clientOrderId: 'c-1',
    });
    const before = book.snapshot();
    expect(() =>
      book.place({
        orderId: 2,
        userId: 'ben',
        side: 'back',
        tick: 101,
        sizeMinor: 300,
        clientOrderId: 'c-1',
      }),
    ).toThrow(AlreadyExistsError);
    expect(book.snapshot()).toEqual(before);
  });

  it('is scoped per user', () => {
    const book = createOrderBook();
    book.place({
      orderId: 1,
      userId: 'ben',
      side: 'back',
      tick: 100,
      sizeMinor: 300,
      clientOrderId: 'c-1',
    });
    const other = book.place({
      orderId: 2,
      userId: 'bea',
      side: 'lay',
      tick: 90,
      sizeMinor: 10,
      clientOrderId: 'c-1',
    });
    expect(other.orderId).toBe(2);
  });
});

describe('depth (GetBook)', () => {
  it('lists the best N levels per side, best first, with volume and order count', () => {
    const book = createOrderBook();
    place(book, 'l1', 'lay', 100, 100, 1);
    place(book, 'l2', 'lay', 100, 50, 2);
    place(book, 'l3', 'lay', 98, 70, 3);
    place(book, 'l4', 'lay', 90, 10, 4);
    place(book, 'b1', 'back', 110, 30, 5);
    place(book, 'b2', 'back', 120, 40, 6);
    expect(book.depth(2)).toEqual({
      availableToBack: [
        { tick: 100, sizeMinor: 150, orders: 2 },
        { tick: 98, sizeMinor: 70, orders: 1 },
      ],
      availableToLay: [
        { tick: 110, sizeMinor: 30, orders: 1 },
        { tick: 120, sizeMinor: 40, orders: 1 },
      ],
    });
    expect(() => book.depth(0)).toThrow(ValidationError);
  });
});
