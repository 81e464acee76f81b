/**
 * EXCHANGE markets end to end against the real ledger of the user service, per SQL target:
 * orders match at the resting price and rest, each user's ONE market hold is their worst-case
 * loss (netted, raised before an order rests, lowered after matches and cancels), bad input and
 * insufficient funds change nothing, cancel and lapse release, group commit, and the book rebuilt
 * by a new engine (a crash: the old one is abandoned, never stopped) equals the book before.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import {
  BetRejectionReason,
  BetRejectionSchema,
  BetSide,
  BetStatus,
  BetVoidReason,
  type GetBookResponse,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXCHANGE_LEASE_MS } from '../src/exchange/index.js';
import { createHarness, failure, newKey, type Harness, type TestMarket } from './harness.js';

const targets = sqlTargets();

async function rejection(call: Promise<unknown>) {
  const failed = await failure(call);
  return { code: failed.code, reason: failed.error.findDetails(BetRejectionSchema)[0]?.reason };
}

/** The book as comparable data (levels per side per outcome). */
function levels(book: GetBookResponse) {
  return book.outcomes.map((o) => ({
    outcomeId: o.outcomeId,
    back: o.availableToBack.map((l) => [l.decimalOdds, l.availableStakeMinor]),
    lay: o.availableToLay.map((l) => [l.decimalOdds, l.availableStakeMinor]),
    matched: o.matchedStakeMinor,
    last: o.lastMatchedDecimalOdds,
  }));
}

describe.each(targets.map((t) => [t.name, t] as const))(
  'EXCHANGE orders on %s',
  (_name, target) => {
    let h: Harness;

    beforeAll(async () => {
      h = await createHarness(target);
    }, 180_000);
    afterAll(async () => {
      await h?.dispose();
    });

    function exchangeMarket(outcomes = 2): Promise<TestMarket> {
      return h.addMarket({ kind: MarketKind.EXCHANGE, outcomes, maxStakePerBetMinor: 1_000_000n });
    }

    async function order(
      userId: string,
      market: TestMarket,
      fields: { side: BetSide; odds: string; stake: bigint; outcome?: number; key?: string },
      engine: Harness = h,
    ) {
      return engine.betEngine.placeBet(
        {
          idempotencyKey: fields.key ?? newKey(),
          marketId: market.marketId,
          outcomeId: market.outcomeIds[fields.outcome ?? 0]!,
          currency: 'PTS',
          stakeMinor: fields.stake,
          side: fields.side,
          decimalOdds: fields.odds,
        },
        await engine.as(userId),
      );
    }

    const held = (userId: string) => h.pending(`wallet:${userId}:PTS`);
    const book = (market: TestMarket, engine: Harness = h) =>
      engine.betEngine.getBook({ marketId: market.marketId });

    it('matches at the resting price, rests the remainder and holds each user their worst case', async () => {
      const market = await exchangeMarket();
      const [backer, layer] = await h.addUsers(2, 1_000n);
      const back = await order(backer!, market, { side: BetSide.BACK, odds: '2.5', stake: 100n });
      expect(back.bet).toMatchObject({
        status: BetStatus.ACCEPTED,
        requestedDecimalOdds: '2.50',
        unmatchedStakeMinor: 100n,
        heldMinor: 100n,
      });
      expect(await held(backer!)).toBe(100n);

      // A lay at 3.00 takes resting backs priced ≤ 3.00, at the back's price 2.50.
      const lay = await order(layer!, market, { side: BetSide.LAY, odds: '3.00', stake: 60n });
      expect(lay.bet).toMatchObject({
        status: BetStatus.MATCHED,
        matchedStakeMinor: 60n,
        unmatchedStakeMinor: 0n,
        averageMatchedDecimalOdds: '2.50',
      });
      expect(lay.bet!.fills).toHaveLength(1);
      expect(lay.bet!.fills[0]).toMatchObject({
        decimalOdds: '2.50',
        matchedStakeMinor: 60n,
        liabilityMinor: 90n,
        maker: false,
      });
      await h.exchange.exchange.drain();
      // The layer was held ceil(60 × 2.00) = 120 before matching; matched at 2.50 they risk 90.
      expect(await held(layer!)).toBe(90n);
      // The backer: −60 matched + −40 unmatched if outcome 0 loses.
      expect(await held(backer!)).toBe(100n);

      const current = await book(market);
      expect(levels(current)[0]).toEqual({
        outcomeId: market.outcomeIds[0],
        back: [],
        lay: [['2.50', 40n]],
        matched: 60n,
        last: '2.50',
      });
      // Viewers get the book with the odds: OddsChanged on the `odds` topic, conflated (the
      // second order came within 100 ms on the bet engine's clock; a later change publishes it).
      const published = (await h.outbox(market.marketId, 'odds')).map(
        (row) => fromBinary(OddsChangedSchema, row.payload).odds!,
      );
      expect(published).toHaveLength(1);
      expect(published[0]!.books[0]!.availableToLay.map((l) => l.availableStakeMinor)).toEqual([
        100n,
      ]);
      const snapshots = async () =>
        (await h.outbox(market.marketId, 'odds')).map(
          (row) => fromBinary(OddsChangedSchema, row.payload).odds!,
        );
      const ladders = (odds: Awaited<ReturnType<typeof snapshots>>[number]) =>
        odds.books.map((b) => ({
          outcomeId: b.outcomeId,
          back: b.availableToBack.map((l) => [l.decimalOdds, l.availableStakeMinor]),
          lay: b.availableToLay.map((l) => [l.decimalOdds, l.availableStakeMinor]),
          matched: b.matchedStakeMinor,
        }));
      const live = async () =>
        levels(await book(market)).map(({ outcomeId, back, lay, matched }) => ({
          outcomeId,
          back,
          lay,
          matched,
        }));
      // The trailing publication of the match, once the interval has passed.
      h.clock.advance(200);
      h.scheduler.runDue();
      await h.exchange.exchange.drain();
      let latest = await snapshots();
      expect(latest).toHaveLength(2);
      expect(latest[1]!.version).toBeGreaterThan(latest[0]!.version);
      expect(ladders(latest[1]!)).toEqual(await live());
      expect(latest[1]!.outcomes[0]).toMatchObject({ stakedMinor: 60n, layDecimalOdds: '2.50' });
      // A change after the interval is published at once, in the batch's own commit.
      h.clock.advance(200);
      await order(backer!, market, { side: BetSide.BACK, odds: '4.00', stake: 10n, outcome: 1 });
      latest = await snapshots();
      expect(latest).toHaveLength(3);
      expect(ladders(latest[2]!)).toEqual(await live());
    });

    it('holds the net worst case: backs on every outcome hold one scenario, a hedge releases', async () => {
      const market = await exchangeMarket(2);
      const [user, other] = await h.addUsers(2, 1_000n);
      await order(user!, market, { side: BetSide.BACK, odds: '2.00', stake: 100n, outcome: 0 });
      await order(user!, market, { side: BetSide.BACK, odds: '2.00', stake: 100n, outcome: 1 });
      // Whichever outcome wins, one back at most loses 100 (the other might win): 100, not 200.
      expect(await held(user!)).toBe(100n);

      // Fully matched both ways at 2.00: a perfect hedge risks nothing.
      await order(other!, market, { side: BetSide.LAY, odds: '2.00', stake: 100n, outcome: 0 });
      await order(other!, market, { side: BetSide.LAY, odds: '2.00', stake: 100n, outcome: 1 });
      await h.exchange.exchange.drain();
      expect(await held(user!)).toBe(0n);
      expect(await held(other!)).toBe(0n);
    });

    it('refuses bad input and insufficient funds before anything rests', async () => {
      const market = await exchangeMarket();
      const [poor] = await h.addUsers(1, 50n);
      const before = await book(market);
      expect(
        await rejection(order(poor!, market, { side: BetSide.LAY, odds: '2.00', stake: 60n })),
      ).toEqual({ code: Code.FailedPrecondition, reason: BetRejectionReason.INSUFFICIENT_FUNDS });
      expect(
        await rejection(order(poor!, market, { side: BetSide.BACK, odds: '2.01', stake: 10n })),
      ).toEqual({ code: Code.InvalidArgument, reason: BetRejectionReason.ODDS_NOT_ON_LADDER });
      expect(
        await rejection(
          order(poor!, market, { side: BetSide.UNSPECIFIED, odds: '2.00', stake: 10n }),
        ),
      ).toEqual({ code: Code.InvalidArgument, reason: BetRejectionReason.INVALID_REQUEST });
      expect(
        await rejection(order(poor!, market, { side: BetSide.BACK, odds: '2.00', stake: 5n })),
      ).toEqual({ code: Code.InvalidArgument, reason: BetRejectionReason.STAKE_BELOW_MIN });
      expect(await held(poor!)).toBe(0n);
      expect(levels(await book(market))).toEqual(levels(before));
    });

    it('refuses orders of users who may not bet (one eligibility check per batch)', async () => {
      const market = await exchangeMarket();
      const [frozen, excluded] = await h.addUsers(2, 1_000n);
      await h.identity.setStatus(h.userSql, frozen!, 'frozen', 'test');
      await h.identity.setSelfExclusion(h.userSql, excluded!, {
        duration: 'PERMANENT',
        startedAtMs: h.clock.now(),
        untilMs: null,
      });
      expect(
        await rejection(order(frozen!, market, { side: BetSide.BACK, odds: '2.00', stake: 10n })),
      ).toEqual({ code: Code.PermissionDenied, reason: BetRejectionReason.ACCOUNT_FROZEN });
      expect(
        await rejection(order(excluded!, market, { side: BetSide.LAY, odds: '2.00', stake: 10n })),
      ).toEqual({ code: Code.PermissionDenied, reason: BetRejectionReason.SELF_EXCLUDED });
      expect([await held(frozen!), await held(excluded!)]).toEqual([0n, 0n]);
      expect(levels(await book(market))[0]).toMatchObject({ back: [], lay: [] });
    });

    it('answers a repeated key with the first order and refuses other content', async () => {
      const market = await exchangeMarket();
      const [user] = await h.addUsers(1, 1_000n);
      const key = newKey();
      const first = await order(user!, market, {
        side: BetSide.BACK,
        odds: '4.00',
        stake: 50n,
        key,
      });
      const again = await order(user!, market, { side: BetSide.BACK, odds: '4', stake: 50n, key });
      expect(again.bet!.betId).toBe(first.bet!.betId);
      expect(await held(user!)).toBe(50n);
      const other = await failure(
        order(user!, market, { side: BetSide.BACK, odds: '4.10', stake: 50n, key }),
      );
      expect(other.code).toBe(Code.AlreadyExists);
    });

    it("cancels the caller's own remainder only, and releases its hold", async () => {
      const market = await exchangeMarket();
      const [owner, stranger] = await h.addUsers(2, 1_000n);
      const placed = await order(owner!, market, { side: BetSide.LAY, odds: '1.50', stake: 200n });
      expect(await held(owner!)).toBe(100n);
      const denied = await failure(
        h.betEngine.cancelOrder({ betId: placed.bet!.betId }, await h.as(stranger!)),
      );
      expect(denied.code).toBe(Code.NotFound);
      const unknown = await failure(
        h.betEngine.cancelOrder({ betId: '01J0000000000000000000000X' }, await h.as(owner!)),
      );
      expect(unknown.code).toBe(Code.NotFound);
      const canceled = await h.betEngine.cancelOrder(
        { betId: placed.bet!.betId },
        await h.as(owner!),
      );
      expect(canceled).toMatchObject({ canceledStakeMinor: 200n, releasedMinor: 100n });
      expect(canceled.bet).toMatchObject({
        status: BetStatus.VOIDED,
        canceledStakeMinor: 200n,
        unmatchedStakeMinor: 0n,
      });
      expect(await held(owner!)).toBe(0n);
      // A repeat is safe: nothing left to cancel.
      const repeat = await h.betEngine.cancelOrder(
        { betId: placed.bet!.betId },
        await h.as(owner!),
      );
      expect(repeat.canceledStakeMinor).toBe(0n);
      // A released hold (0) is not voided again when the next order raises it.
      await order(owner!, market, { side: BetSide.BACK, odds: '2.00', stake: 50n });
      expect(await held(owner!)).toBe(50n);
    });

    it('lapses remainders at lock, voids fills after the lock instant and shrinks holds', async () => {
      const market = await exchangeMarket();
      const [a, b, c] = await h.addUsers(3, 1_000n);
      await order(a!, market, { side: BetSide.BACK, odds: '2.00', stake: 100n });
      await order(b!, market, { side: BetSide.LAY, odds: '2.00', stake: 40n });
      const lockMs = h.clock.now();
      h.clock.advance(1_000);
      // Matched after the (retroactive) lock instant: voided at lapse.
      await order(c!, market, { side: BetSide.LAY, odds: '2.00', stake: 30n });
      const pool = await h.service('pool');
      await h.internal.voidBetsAfter(
        { marketId: market.marketId, lockEffectiveAtMs: BigInt(lockMs) },
        pool,
      );
      // a's back: 40 matched with b, 30 matched with c after the lock (voided), 30 lapse.
      const lapsed = await h.internal.lapseUnmatched({ marketId: market.marketId }, pool);
      expect(lapsed).toMatchObject({ lapsedOrderCount: 1n, lapsedStakeMinor: 30n });
      expect(await h.internal.lapseUnmatched({ marketId: market.marketId }, pool)).toMatchObject({
        lapsedOrderCount: 1n,
        lapsedStakeMinor: 30n,
      });
      await h.exchange.exchange.drain();
      expect(await held(a!)).toBe(40n);
      expect(await held(b!)).toBe(40n);
      expect(await held(c!)).toBe(0n);
      const mine = await h.betEngine.listMyBets({ marketId: market.marketId }, await h.as(c!));
      // c's lay matched after the lock instant: listed, its fill voided with the lock.
      expect(
        mine.bets.map((b) => [b.status, b.voidReason, b.voidedStakeMinor, b.matchedStakeMinor]),
      ).toEqual([[BetStatus.VOIDED, BetVoidReason.RETROACTIVE_LOCK, 30n, 0n]]);
      const closed = await rejection(
        order(a!, market, { side: BetSide.BACK, odds: '2.00', stake: 10n }),
      );
      expect(closed.code).toBe(Code.FailedPrecondition);
    });

    it('group-commits: 200 concurrent clients × 3 orders stay under 0.1 commits per order', async () => {
      const market = await exchangeMarket();
      const users = await h.addUsers(200, 100_000n);
      await h.exchange.exchange.drain();
      const commitsBefore = h.betCommits.count + h.userCommits.count;
      const betCommitsBefore = h.betCommits.count;
      const userCallsBefore = new Map(h.userCalls);
      const callsBefore = h.exchange.exchangeLedger.calls.count;
      const batchesBefore = h.exchange.exchange.stats.batches;
      const startedAt = performance.now();
      const placed = (
        await Promise.all(
          users.map(async (u, i) => {
            const mine = [];
            for (let round = 0; round < 3; round += 1) {
              mine.push(
                await order(u, market, {
                  side: (i + round) % 2 === 0 ? BetSide.BACK : BetSide.LAY,
                  odds: (i + round) % 2 === 0 ? '2.00' : '2.20',
                  stake: 100n,
                }),
              );
            }
            return mine;
          }),
        )
      ).flat();
      const elapsedMs = performance.now() - startedAt;
      await h.exchange.exchange.drain();
      expect(placed).toHaveLength(600);
      expect(placed.every((p) => p.bet!.status !== BetStatus.PENDING)).toBe(true);
      // Both databases: the bet engine's and the user service's (ledger).
      const commits = h.betCommits.count + h.userCommits.count - commitsBefore;
      const calls = h.exchange.exchangeLedger.calls.count - callsBefore;
      const batches = h.exchange.exchange.stats.batches - batchesBefore;
      const betCommits = h.betCommits.count - betCommitsBefore;
      const userCalls = [...h.userCalls].map(
        ([m, n]) => `${m}=${n - (userCallsBefore.get(m) ?? 0)}`,
      );
      console.info(`bet-engine commits ${betCommits}; user-service calls ${userCalls.join(' ')}`);
      console.info(
        `exchange group commit: 600 orders, ${commits} commits (${(commits / 600).toFixed(3)}/order), ` +
          `${calls} ledger calls, ${batches} batches, ${elapsedMs.toFixed(0)} ms`,
      );
      expect(commits / 600).toBeLessThanOrEqual(0.1);
    }, 120_000);

    it('rebuilds the same book after a crash; the old writer keeps the market until its lease lapses', async () => {
      const market = await exchangeMarket(3);
      const users = await h.addUsers(6, 10_000n);
      const prices = ['1.80', '1.90', '2.00', '2.10', '2.20', '2.30'];
      for (const [i, u] of users.entries()) {
        await order(u, market, {
          side: i % 2 === 0 ? BetSide.BACK : BetSide.LAY,
          odds: prices[(i * 7) % prices.length]!,
          stake: BigInt(50 + i * 13),
          outcome: i % 3,
        });
      }
      await h.exchange.exchange.drain();
      const before = await book(market);
      const heldBefore = await Promise.all(users.map(held));

      // A new engine on the same databases; the old one is simply abandoned (no stop).
      const restarted = await h.restart();
      expect(levels(await book(market, restarted))).toEqual(levels(before));
      const refused = await failure(
        order(users[0]!, market, { side: BetSide.BACK, odds: '5.00', stake: 20n }, restarted),
      );
      expect(refused.code).toBe(Code.Unavailable);
      h.clock.advance(DEFAULT_EXCHANGE_LEASE_MS + 1);
      await order(users[0]!, market, { side: BetSide.BACK, odds: '5.00', stake: 20n }, restarted);
      const after = levels(await book(market, restarted));
      expect(after[0]!.lay).toEqual(
        [['5.00', 20n], ...levels(before)[0]!.lay].sort((x, y) => Number(x[0]) - Number(y[0])),
      );
      expect(await Promise.all(users.slice(1).map(held))).toEqual(heldBefore.slice(1));
    });
  },
);
