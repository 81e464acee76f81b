import { DomainError } from '@streambet/platform/errors/domain-errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createOrderBook,
  type Fill,
  type OrderBook,
  type SelfTradePrevention,
  type Side,
} from '../src/order-book.js';

type Command =
  | {
      kind: 'place';
      userId: number;
      side: Side;
      tick: number;
      sizeMinor: number;
      clientOrderId?: string;
    }
  | { kind: 'cancel'; target: number }
  | { kind: 'replace'; target: number; tick?: number; sizeMinor?: number }
  | { kind: 'lapse' };

/** Ticks in a narrow band so orders cross often; a few users so self-trades happen. */
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        kind: fc.constant('place' as const),
        userId: fc.nat(3),
        side: fc.constantFrom<Side>('back', 'lay'),
        tick: fc.integer({ min: 95, max: 105 }),
        sizeMinor: fc.integer({ min: 1, max: 500 }),
        clientOrderId: fc.constantFrom('a', 'b', 'c'),
      },
      { requiredKeys: ['kind', 'userId', 'side', 'tick', 'sizeMinor'] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), target: fc.nat(40) }) },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        kind: fc.constant('replace' as const),
        target: fc.nat(40),
        tick: fc.integer({ min: 95, max: 105 }),
        sizeMinor: fc.integer({ min: 1, max: 500 }),
      },
      { requiredKeys: ['kind', 'target'] },
    ),
  },
);

const withLapse: fc.Arbitrary<Command> = fc.oneof(
  { weight: 30, arbitrary: commandArb },
  { weight: 1, arbitrary: fc.constant({ kind: 'lapse' as const }) },
);

const policyArb = fc.constantFrom<SelfTradePrevention>('off', 'cancel-resting', 'cancel-incoming');

/** Applies commands in order; order i gets id i. Domain errors are part of the log, not failures. */
function run(
  policy: SelfTradePrevention,
  commands: readonly Command[],
  afterEach?: (book: OrderBook) => void,
): { book: OrderBook; fills: Fill[]; outcomes: string[] } {
  const book = createOrderBook({ selfTradePrevention: policy });
  const fills: Fill[] = [];
  const outcomes: string[] = [];
  let nextId = 0;
  for (const command of commands) {
    try {
      if (command.kind === 'place') {
        const result = book.place({ ...command, orderId: nextId });
        if (result.orderId === nextId) nextId += 1;
        fills.push(...result.fills);
        outcomes.push(result.status);
      } else if (command.kind === 'lapse') {
        const lapsed = book.lapseAll();
        outcomes.push(lapsed.map((entry) => `${entry.orderId}:${entry.cancelledMinor}`).join(','));
        expect(book.depth(350)).toEqual({ availableToBack: [], availableToLay: [] });
      } else if (command.kind === 'cancel') {
        outcomes.push(String(book.cancel(command.target).cancelledMinor));
      } else {
        const result = book.replace({
          orderId: command.target,
          ...(command.tick === undefined ? {} : { tick: command.tick }),
          ...(command.sizeMinor === undefined ? {} : { sizeMinor: command.sizeMinor }),
        });
        fills.push(...result.fills);
        outcomes.push(result.status);
      }
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      outcomes.push(error.name);
    }
    afterEach?.(book);
  }
  return { book, fills, outcomes };
}

const streamArb = fc.tuple(policyArb, fc.array(withLapse, { maxLength: 120 }));

describe('order book properties', () => {
  it('is never crossed after a command, and depth agrees with the resting orders', () => {
    fc.assert(
      fc.property(streamArb, ([policy, commands]) => {
        run(policy, commands, (book) => {
          const back = book.bestBackTick();
          const lay = book.bestLayTick();
          if (back !== undefined && lay !== undefined) expect(lay).toBeLessThan(back);
          const depth = book.depth(350);
          const resting = new Map<string, number>();
          for (const order of book.snapshot().orders) {
            if (order.remainingMinor > 0) {
              const key = `${order.side}:${order.tick}`;
              resting.set(key, (resting.get(key) ?? 0) + order.remainingMinor);
            }
          }
          const shown = new Map<string, number>();
          for (const level of depth.availableToBack)
            shown.set(`lay:${level.tick}`, level.sizeMinor);
          for (const level of depth.availableToLay)
            shown.set(`back:${level.tick}`, level.sizeMinor);
          expect(shown).toEqual(resting);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('conserves volume: matched back = matched lay = the fills, and every order adds up', () => {
    fc.assert(
      fc.property(streamArb, ([policy, commands]) => {
        const { book, fills } = run(policy, commands);
        const orders = book.snapshot().orders;
        const matched = (side: Side): number =>
          orders.filter((order) => order.side === side).reduce((sum, o) => sum + o.matchedMinor, 0);
        const filled = fills.reduce((sum, fill) => sum + fill.sizeMinor, 0);
        expect(matched('back')).toBe(filled);
        expect(matched('lay')).toBe(filled);
        for (const order of orders) {
          expect(order.matchedMinor + order.cancelledMinor + order.remainingMinor).toBe(
            order.sizeMinor,
          );
        }
        for (const fill of fills) {
          expect(fill.sizeMinor).toBeGreaterThan(0);
          if (policy !== 'off') expect(fill.makerUserId).not.toBe(fill.takerUserId);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('replaying the command log gives the same fills, outcomes and book', () => {
    fc.assert(
      fc.property(streamArb, ([policy, commands]) => {
        const first = run(policy, commands);
        const replay = run(policy, commands);
        expect(replay.fills).toEqual(first.fills);
        expect(replay.outcomes).toEqual(first.outcomes);
        expect(replay.book.snapshot()).toEqual(first.book.snapshot());
      }),
      { numRuns: 100 },
    );
  });
});
