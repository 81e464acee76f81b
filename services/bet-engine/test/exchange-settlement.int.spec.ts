/**
 * EXCHANGE settlement and money conservation against the real ledger, per SQL target:
 * - a resolved market pays each user their net winnings minus commission on a positive net
 *   (checked against Betfair's rule computed here from the raw prices), escrow ends empty;
 * - a canceled market returns every reservation;
 * - property: random order / cancel sequences, then lock and settle (or cancel): money is
 *   conserved (wallets + escrow + house), no wallet's available balance ever goes below zero,
 *   and the book rebuilt by a fresh engine equals the live one at every check.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import {
  BetSide,
  type GetBookResponse,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  MarketCanceledSchema,
  MarketLockedSchema,
  MarketResolvedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, failure, newKey, type Harness, type TestMarket } from './harness.js';

const targets = sqlTargets();

function levels(book: GetBookResponse) {
  return book.outcomes.map((o) => ({
    back: o.availableToBack.map((l) => [l.decimalOdds, l.availableStakeMinor]),
    lay: o.availableToLay.map((l) => [l.decimalOdds, l.availableStakeMinor]),
    matched: o.matchedStakeMinor,
  }));
}

/** Betfair's rule from the raw fills: per user net over fills, commission on a positive net. */
function expectedNet(
  fills: ReadonlyArray<{ outcome: number; odds: number; stake: number; back: string; lay: string }>,
  winner: number,
  bps: number,
): Map<string, number> {
  const net = new Map<string, number>();
  for (const f of fills) {
    const winnings = Math.floor((f.stake * (f.odds - 100)) / 100);
    const backWins = f.outcome === winner;
    net.set(f.back, (net.get(f.back) ?? 0) + (backWins ? winnings : -f.stake));
    net.set(f.lay, (net.get(f.lay) ?? 0) + (backWins ? -winnings : f.stake));
  }
  const paid = new Map<string, number>();
  for (const [user, n] of net) paid.set(user, n > 0 ? n - Math.floor((n * bps) / 10_000) : n);
  return paid;
}

describe.each(targets.map((t) => [t.name, t] as const))(
  'EXCHANGE settlement on %s',
  (_n, target) => {
    let h: Harness;

    beforeAll(async () => {
      h = await createHarness(target);
    }, 180_000);
    afterAll(async () => {
      await h?.dispose();
    });

    async function order(
      userId: string,
      market: TestMarket,
      side: BetSide,
      odds: string,
      stake: bigint,
      outcome = 0,
    ) {
      return h.betEngine.placeBet(
        {
          idempotencyKey: newKey(),
          marketId: market.marketId,
          outcomeId: market.outcomeIds[outcome]!,
          currency: 'PTS',
          stakeMinor: stake,
          side,
          decimalOdds: odds,
        },
        await h.as(userId),
      );
    }

    async function lock(market: TestMarket) {
      market.version += 1;
      await h.marketEvent(MarketLockedSchema, {
        marketId: market.marketId,
        channelId: market.channelId,
        lockedAtMs: BigInt(h.clock.now()),
        lockEffectiveAtMs: BigInt(h.clock.now()),
        version: BigInt(market.version),
      });
      await h.internal.lapseUnmatched({ marketId: market.marketId }, await h.service('pool'));
    }

    async function resolve(market: TestMarket, winner: number, bps: number) {
      market.version += 1;
      await h.marketEvent(MarketResolvedSchema, {
        marketId: market.marketId,
        channelId: market.channelId,
        winningOutcomeId: market.outcomeIds[winner]!,
        kind: MarketKind.EXCHANGE,
        currency: 'PTS',
        commissionBps: bps,
        resolvedAtMs: BigInt(h.clock.now()),
        version: BigInt(market.version),
      });
    }

    async function cancel(market: TestMarket) {
      market.version += 1;
      await h.marketEvent(MarketCanceledSchema, {
        marketId: market.marketId,
        channelId: market.channelId,
        canceledAtMs: BigInt(h.clock.now()),
        currency: 'PTS',
        version: BigInt(market.version),
      });
    }

    const balance = async (userId: string) => h.available(`wallet:${userId}:PTS`);

    it('pays net winnings minus commission on a positive net only; escrow ends empty', async () => {
      const market = await h.addMarket({
        kind: MarketKind.EXCHANGE,
        outcomes: 2,
        commissionBps: 500,
        maxStakePerBetMinor: 100_000n,
      });
      const [a, b, c] = await h.addUsers(3, 10_000n);
      await order(a!, market, BetSide.BACK, '3.00', 1_000n, 0); // a backs o0
      await order(b!, market, BetSide.LAY, '3.50', 600n, 0); // b lays 600 of it at 3.00
      await order(c!, market, BetSide.LAY, '3.00', 300n, 0); // c lays 300 at 3.00
      await order(a!, market, BetSide.LAY, '1.50', 500n, 1); // a lays o1 (rests)
      await order(c!, market, BetSide.BACK, '1.40', 333n, 1); // c backs o1 at 1.50 (a's price)
      await lock(market);
      await resolve(market, 0, 500);
      await h.exchange.exchange.drain();

      const paid = expectedNet(
        [
          { outcome: 0, odds: 300, stake: 600, back: a!, lay: b! },
          { outcome: 0, odds: 300, stake: 300, back: a!, lay: c! },
          { outcome: 1, odds: 150, stake: 333, back: c!, lay: a! },
        ],
        0,
        500,
      );
      for (const user of [a!, b!, c!]) {
        expect(await balance(user)).toBe(10_000n + BigInt(paid.get(user)!));
        expect(await h.pending(`wallet:${user}:PTS`)).toBe(0n);
      }
      expect(await h.available(`market:${market.marketId}:escrow`)).toBe(0n);
      // A repeat (redelivered event) moves nothing.
      await resolve(market, 0, 500);
      expect(await balance(a!)).toBe(10_000n + BigInt(paid.get(a!)!));
    });

    it('returns every reservation when the market is canceled', async () => {
      const market = await h.addMarket({
        kind: MarketKind.EXCHANGE,
        maxStakePerBetMinor: 100_000n,
      });
      const [a, b] = await h.addUsers(2, 5_000n);
      await order(a!, market, BetSide.BACK, '2.00', 1_000n);
      await order(b!, market, BetSide.LAY, '2.00', 400n);
      await cancel(market);
      await h.exchange.exchange.drain();
      expect([await balance(a!), await balance(b!)]).toEqual([5_000n, 5_000n]);
      expect([await h.pending(`wallet:${a!}:PTS`), await h.pending(`wallet:${b!}:PTS`)]).toEqual([
        0n,
        0n,
      ]);
      const closed = await failure(order(a!, market, BetSide.BACK, '2.00', 100n));
      expect(closed.code).toBe(Code.FailedPrecondition);
    });

    it('conserves money and never overdraws across random orders, cancels, lock and settle', async () => {
      type Step =
        | {
            kind: 'order';
            user: number;
            side: BetSide;
            tick: number;
            stake: number;
            outcome: number;
          }
        | { kind: 'cancel'; pick: number };
      const step: fc.Arbitrary<Step> = fc.oneof(
        {
          weight: 5,
          arbitrary: fc.record({
            kind: fc.constant('order' as const),
            user: fc.nat(3),
            side: fc.constantFrom(BetSide.BACK, BetSide.LAY),
            tick: fc.integer({ min: 0, max: 5 }),
            stake: fc.integer({ min: 10, max: 900 }),
            outcome: fc.nat(1),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
        },
      );
      const prices = ['1.80', '1.90', '2.00', '2.10', '2.20', '2.50'];
      const funded = 2_000n;
      await fc.assert(
        fc.asyncProperty(
          fc.array(step, { minLength: 4, maxLength: 14 }),
          fc.nat(2),
          fc.integer({ min: 0, max: 1000 }),
          async (steps, ending, bps) => {
            const market = await h.addMarket({
              kind: MarketKind.EXCHANGE,
              outcomes: 2,
              maxStakePerBetMinor: 100_000n,
            });
            const users = await h.addUsers(4, funded);
            const houseBefore = await h.available('house:PTS');
            const placed: Array<{ betId: string; user: string }> = [];
            for (const s of steps) {
              if (s.kind === 'order') {
                const user = users[s.user]!;
                try {
                  const r = await order(
                    user,
                    market,
                    s.side,
                    prices[s.tick]!,
                    BigInt(s.stake),
                    s.outcome,
                  );
                  placed.push({ betId: r.bet!.betId, user });
                } catch (error) {
                  // Only a lack of funds may refuse a well-formed order.
                  expect(ConnectError.from(error).code).toBe(Code.FailedPrecondition);
                }
              } else if (placed.length > 0) {
                const target = placed[s.pick % placed.length]!;
                await h.betEngine.cancelOrder({ betId: target.betId }, await h.as(target.user));
              }
              await h.exchange.exchange.drain();
              for (const user of users) expect(await balance(user)).toBeGreaterThanOrEqual(0n);
            }
            const restarted = await h.restart();
            const live = levels(await h.betEngine.getBook({ marketId: market.marketId }));
            expect(
              levels(await restarted.betEngine.getBook({ marketId: market.marketId })),
            ).toEqual(live);

            await lock(market);
            if (ending === 2) await cancel(market);
            else await resolve(market, ending, bps);
            await h.exchange.exchange.drain();
            let total = 0n;
            for (const user of users) {
              expect(await h.pending(`wallet:${user}:PTS`)).toBe(0n);
              total += await balance(user);
            }
            const commission = (await h.available('house:PTS')) - houseBefore;
            // No order ever reached the book: no escrow account either.
            const escrow = await h.available(`market:${market.marketId}:escrow`).catch(() => 0n);
            expect(escrow).toBe(0n);
            expect(total + commission).toBe(funded * 4n);
            if (ending === 2) expect(total).toBe(funded * 4n);
          },
        ),
        { numRuns: 6 },
      );
    }, 300_000);
  },
);
