/**
 * EXCHANGE orders seen by their owners, per SQL target:
 * - per-order events in the bet engine's outbox (topic `bet`): BetPlaced for each accepted order,
 *   BetMatched for a fill (with each order's unmatched stake after it), OrderCanceled for a
 *   cancel, OrderLapsed for a remainder at lock;
 * - ListMyBets lists EXCHANGE orders next to POOL bets (newest first, one cursor), filters by
 *   status, and after settlement shows WON / LOST with the payout and net profit of the
 *   contract's Bet (before the per-market commission).
 */
import { fromBinary } from '@bufbuild/protobuf';
import { BetSide, BetStatus } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  BetMatchedSchema,
  BetPlacedSchema,
  OrderCanceledSchema,
  OrderLapsedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import {
  MarketLockedSchema,
  MarketResolvedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, newKey, type Harness, type TestMarket } from './harness.js';

const targets = sqlTargets();

describe.each(targets.map((t) => [t.name, t] as const))('EXCHANGE orders on %s', (_n, target) => {
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
    const answer = await h.betEngine.placeBet(
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
    return answer.bet!;
  }

  async function events(marketId: string) {
    const rows = await h.outbox(marketId, 'bet');
    return rows.map((row) => {
      switch (row.type) {
        case BetPlacedSchema.typeName:
          return { placed: fromBinary(BetPlacedSchema, row.payload) };
        case BetMatchedSchema.typeName:
          return { matched: fromBinary(BetMatchedSchema, row.payload) };
        case OrderCanceledSchema.typeName:
          return { canceled: fromBinary(OrderCanceledSchema, row.payload) };
        case OrderLapsedSchema.typeName:
          return { lapsed: fromBinary(OrderLapsedSchema, row.payload) };
        default:
          return { other: row.type };
      }
    });
  }

  it('announces placed, matched, canceled and lapsed orders in the outbox', async () => {
    const market = await h.addMarket({ kind: MarketKind.EXCHANGE, maxStakePerBetMinor: 100_000n });
    const [a, b, c] = await h.addUsers(3, 10_000n);
    const back = await order(a!, market, BetSide.BACK, '2.50', 1_000n);
    const lay = await order(b!, market, BetSide.LAY, '2.50', 400n);
    const resting = await order(c!, market, BetSide.LAY, '2.00', 300n);
    await h.betEngine.cancelOrder({ betId: resting.betId }, await h.as(c!));
    // A second cancel of the same order announces nothing more (checked below: one event).
    await h.betEngine.cancelOrder({ betId: resting.betId }, await h.as(c!));
    // a's back keeps 600 unmatched: it lapses at lock.
    market.version += 1;
    await h.marketEvent(MarketLockedSchema, {
      marketId: market.marketId,
      channelId: market.channelId,
      lockedAtMs: BigInt(h.clock.now()),
      lockEffectiveAtMs: BigInt(h.clock.now()),
      version: BigInt(market.version),
    });
    await h.internal.lapseUnmatched({ marketId: market.marketId }, await h.service('pool'));
    await h.exchange.exchange.drain();

    const seen = await events(market.marketId);
    const placed = seen.flatMap((e) => (e.placed === undefined ? [] : [e.placed]));
    expect(
      placed.map((p) => [p.betId, p.userId, p.side, p.stakeMinor, p.decimalOdds, p.heldMinor]),
    ).toEqual([
      [back.betId, a, BetSide.BACK, 1_000n, '2.50', 1_000n],
      [lay.betId, b, BetSide.LAY, 400n, '2.50', 600n],
      [resting.betId, c, BetSide.LAY, 300n, '2.00', 300n],
    ]);
    expect(placed.every((p) => p.kind === MarketKind.EXCHANGE)).toBe(true);
    expect(placed[0]!.holdTransferId).toMatch(new RegExp(`^xh:${market.marketId}:${a}:\\d+$`));
    const matched = seen.flatMap((e) => (e.matched === undefined ? [] : [e.matched]));
    expect(matched).toHaveLength(1);
    expect(matched[0]).toMatchObject({
      backBetId: back.betId,
      backUserId: a,
      layBetId: lay.betId,
      layUserId: b,
      decimalOdds: '2.50',
      matchedStakeMinor: 400n,
      liabilityMinor: 600n,
      takerSide: BetSide.LAY,
      backUnmatchedStakeMinor: 600n,
      layUnmatchedStakeMinor: 0n,
      outcomeId: market.outcomeIds[0],
    });
    const canceled = seen.flatMap((e) => (e.canceled === undefined ? [] : [e.canceled]));
    expect(canceled).toHaveLength(1);
    expect(canceled[0]).toMatchObject({
      betId: resting.betId,
      userId: c,
      canceledStakeMinor: 300n,
      releasedMinor: 300n,
      matchedStakeMinor: 0n,
      status: BetStatus.VOIDED,
      canceledByUserId: c,
    });
    const lapsed = seen.flatMap((e) => (e.lapsed === undefined ? [] : [e.lapsed]));
    expect(lapsed).toHaveLength(1);
    expect(lapsed[0]).toMatchObject({
      betId: back.betId,
      userId: a,
      lapsedStakeMinor: 600n,
      releasedMinor: 600n,
      matchedStakeMinor: 400n,
      status: BetStatus.MATCHED,
    });
  });

  it('lists EXCHANGE orders with POOL bets, filters them, and shows WON/LOST after settlement', async () => {
    const exchange = await h.addMarket({
      kind: MarketKind.EXCHANGE,
      outcomes: 2,
      maxStakePerBetMinor: 100_000n,
    });
    const pool = await h.addMarket({ kind: MarketKind.POOL });
    const [a, b] = await h.addUsers(2, 10_000n);
    h.clock.advance(1);
    const poolBet = await h.betEngine.placeBet(
      {
        idempotencyKey: newKey(),
        marketId: pool.marketId,
        outcomeId: pool.outcomeIds[0]!,
        currency: 'PTS',
        stakeMinor: 100n,
      },
      await h.as(a!),
    );
    h.clock.advance(1);
    const back = await order(a!, exchange, BetSide.BACK, '3.00', 500n, 0);
    h.clock.advance(1);
    await order(b!, exchange, BetSide.LAY, '3.00', 500n, 0);
    h.clock.advance(1);
    const open = await order(a!, exchange, BetSide.LAY, '1.50', 200n, 1);

    const all = await h.betEngine.listMyBets({}, await h.as(a!));
    expect(all.bets.map((x) => [x.betId, x.kind, x.status])).toEqual([
      [open.betId, MarketKind.EXCHANGE, BetStatus.ACCEPTED],
      [back.betId, MarketKind.EXCHANGE, BetStatus.MATCHED],
      [poolBet.bet!.betId, MarketKind.POOL, BetStatus.ACCEPTED],
    ]);
    // One row per page: the cursor walks across both kinds.
    const walked: string[] = [];
    let token = '';
    do {
      const page = await h.betEngine.listMyBets(
        { page: { pageSize: 1, pageToken: token } },
        await h.as(a!),
      );
      walked.push(...page.bets.map((x) => x.betId));
      token = page.page!.nextPageToken;
    } while (token !== '');
    expect(walked).toEqual(all.bets.map((x) => x.betId));
    const matchedOnly = await h.betEngine.listMyBets(
      { statuses: [BetStatus.MATCHED] },
      await h.as(a!),
    );
    expect(matchedOnly.bets.map((x) => x.betId)).toEqual([back.betId]);

    exchange.version += 1;
    await h.marketEvent(MarketLockedSchema, {
      marketId: exchange.marketId,
      channelId: exchange.channelId,
      lockedAtMs: BigInt(h.clock.now()),
      lockEffectiveAtMs: BigInt(h.clock.now()),
      version: BigInt(exchange.version),
    });
    exchange.version += 1;
    await h.marketEvent(MarketResolvedSchema, {
      marketId: exchange.marketId,
      channelId: exchange.channelId,
      winningOutcomeId: exchange.outcomeIds[1]!,
      kind: MarketKind.EXCHANGE,
      currency: 'PTS',
      commissionBps: 500,
      resolvedAtMs: BigInt(h.clock.now()),
      version: BigInt(exchange.version),
    });
    await h.exchange.exchange.drain();
    const settledA = await h.betEngine.listMyBets({ marketId: exchange.marketId }, await h.as(a!));
    // a's back on o0 lost (o1 won); a's lay on o1 never matched: its remainder lapsed.
    expect(
      settledA.bets.map((x) => [x.betId, x.status, x.payoutMinor, x.netProfitMinor, x.heldMinor]),
    ).toEqual([
      [open.betId, BetStatus.VOIDED, 0n, 0n, 0n],
      [back.betId, BetStatus.LOST, 0n, -500n, 0n],
    ]);
    const settledB = await h.betEngine.listMyBets({ marketId: exchange.marketId }, await h.as(b!));
    // b laid o0 at 3.00 for 500 (liability 1000): won the backer's stake.
    expect(settledB.bets.map((x) => [x.status, x.payoutMinor, x.netProfitMinor])).toEqual([
      [BetStatus.WON, 1_500n, 500n],
    ]);
    expect(settledB.bets[0]!.settledAtMs).toBeGreaterThan(0n);
    const won = await h.betEngine.listMyBets({ statuses: [BetStatus.WON] }, await h.as(b!));
    expect(won.bets).toHaveLength(1);
  });
});
