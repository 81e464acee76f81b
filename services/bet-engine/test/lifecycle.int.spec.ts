/**
 * The bet engine around placement, per SQL target, against the real ledger: odds (served from the
 * cache, rebuilt from SQL after a cache loss, OddsChanged conflated to ≤ 10/s per market with a
 * manual clock and scheduler), VoidBetsAfter (retroactive lock, idempotent, before or after
 * MarketLocked), ListMarketBets (preconditions, order, batches, resume), market cancel, settlement
 * events → bet statuses, the POOL answers of the exchange RPCs, access policy, and reconciliation
 * of PENDING intents after a crash in either direction.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import {
  BetStatus,
  BetVoidReason,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { BetVoidedSchema } from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import {
  MarketCanceledSchema,
  MarketLockedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import {
  MarketRefundedSchema,
  SettlementCompletedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oddsCacheKey } from '../src/odds.js';
import { createHarness, failure, newKey, type Harness, type TestMarket } from './harness.js';

const targets = sqlTargets();

describe.each(targets.map((t) => [t.name, t] as const))('bet engine on %s', (_name, target) => {
  let h: Harness;

  beforeAll(async () => {
    h = await createHarness(target);
  }, 180_000);
  afterAll(async () => {
    await h?.dispose();
  });

  async function place(market: TestMarket, userId: string, stakeMinor = 100n, outcome = 0) {
    const response = await h.betEngine.placeBet(
      {
        idempotencyKey: newKey(),
        marketId: market.marketId,
        outcomeId: market.outcomeIds[outcome]!,
        currency: 'PTS',
        stakeMinor,
      },
      await h.as(userId),
    );
    return response.bet!;
  }

  async function streamAll(marketId: string, batchSize = 0, afterBetId = '') {
    const batches = [];
    for await (const batch of h.internal.listMarketBets(
      { marketId, batchSize, afterBetId },
      await h.service('settlement'),
    )) {
      batches.push(batch);
    }
    return batches;
  }

  it('serves odds from the cache, rebuilds them from SQL after a cache loss, versions increasing', async () => {
    const market = await h.addMarket({ commissionBps: 1000 });
    const [a, b] = [await h.addUser(), await h.addUser()];
    await place(market, a, 300n, 0);
    await place(market, b, 100n, 1);
    const cached = (await h.betEngine.getOdds({ marketId: market.marketId })).odds!;
    // T = 400, r = 10%: o0 = 1 + 100 × 0.9 / 300 = 1.30; o1 = 1 + 300 × 0.9 / 100 = 3.70
    expect(cached.outcomes.map((o) => [o.stakedMinor, o.betCount, o.decimalOdds])).toEqual([
      [300n, 1n, '1.30'],
      [100n, 1n, '3.70'],
    ]);
    expect(cached).toMatchObject({
      totalStakedMinor: 400n,
      bettorCount: 2n,
      kind: MarketKind.POOL,
    });
    await h.cache.del(oddsCacheKey(market.marketId));
    const rebuilt = (await h.betEngine.getOdds({ marketId: market.marketId })).odds!;
    expect({ ...rebuilt, computedAtMs: 0n }).toEqual({ ...cached, computedAtMs: 0n });
    expect(await h.cache.getVersioned(oddsCacheKey(market.marketId))).not.toBeNull();
    await place(market, a, 100n, 1);
    const after = (await h.betEngine.getOdds({ marketId: market.marketId })).odds!;
    expect(after.version).toBeGreaterThan(cached.version);
    expect(after.bettorCount).toBe(2n);
    // Anonymous callers may read odds; unknown and DRAFT markets are NOT_FOUND.
    expect((await failure(h.betEngine.getOdds({ marketId: 'nope' }))).code).toBe(Code.NotFound);
    const draft = await h.addMarket({ draft: true });
    expect((await failure(h.betEngine.getOdds({ marketId: draft.marketId }))).code).toBe(
      Code.NotFound,
    );
  });

  it('conflates OddsChanged to at most one per 100 ms per market, always the latest snapshot', async () => {
    // Flushes left armed by earlier tests fire first.
    h.clock.advance(1_000);
    h.scheduler.runDue();
    await h.odds.idle();
    const market = await h.addMarket();
    const users = [await h.addUser(), await h.addUser(), await h.addUser()];
    const oddsEvents = async () =>
      (await h.outbox(market.marketId, 'odds')).map((e) =>
        fromBinary(OddsChangedSchema, e.payload),
      );
    await place(market, users[0]!);
    await h.odds.idle();
    expect(await oddsEvents()).toHaveLength(1);
    h.clock.advance(10);
    await place(market, users[1]!);
    h.clock.advance(10);
    await place(market, users[2]!, 200n, 1);
    await h.odds.idle();
    expect(await oddsEvents()).toHaveLength(1);
    expect(h.scheduler.pending()).toBe(1);
    h.clock.advance(50);
    expect(h.scheduler.runDue()).toBe(0);
    h.clock.advance(30);
    expect(h.scheduler.runDue()).toBe(1);
    await h.odds.idle();
    const events = await oddsEvents();
    expect(events).toHaveLength(2);
    expect(events[1]!.odds).toMatchObject({ totalStakedMinor: 400n, bettorCount: 3n });
    expect(events[1]!.odds!.version).toBeGreaterThan(events[0]!.odds!.version);
    expect(events[1]!.channelId).toBe(market.channelId);
    const latest = (await h.betEngine.getOdds({ marketId: market.marketId })).odds!;
    expect(events[1]!.odds!.version).toBe(latest.version);
    // After a quiet interval the next change is published at once.
    h.clock.advance(500);
    await place(market, users[0]!, 50n);
    await h.odds.idle();
    expect(await oddsEvents()).toHaveLength(3);
  });

  it('VoidBetsAfter closes betting, voids late bets in full through the ledger, and is idempotent', async () => {
    const market = await h.addMarket();
    const early = await h.addUser(1_000n);
    const late = await h.addUser(1_000n);
    const t0 = h.clock.now();
    const kept = await place(market, early, 100n, 0);
    h.clock.advance(10_000);
    const voided1 = await place(market, late, 200n, 1);
    h.clock.advance(10_000);
    const voided2 = await place(market, late, 300n, 0);
    expect(await h.available(`wallet:${late}:PTS`)).toBe(500n);

    const lock = t0 + 5_000;
    const first = await h.internal.voidBetsAfter(
      { marketId: market.marketId, lockEffectiveAtMs: BigInt(lock) },
      await h.service('pool'),
    );
    expect(first).toMatchObject({
      lockEffectiveAtMs: BigInt(lock),
      voidedBetCount: 2n,
      voidedStakeMinor: 500n,
    });
    expect(await h.available(`wallet:${late}:PTS`)).toBe(1_000n);
    expect(await h.pending(`wallet:${late}:PTS`)).toBe(0n);
    expect(await h.pending(`wallet:${early}:PTS`)).toBe(100n);
    const voidedEvents = (await h.outbox(market.marketId, 'bet'))
      .filter((e) => e.type === BetVoidedSchema.typeName)
      .map((e) => fromBinary(BetVoidedSchema, e.payload));
    expect(
      voidedEvents.map((e) => [e.betId, e.reason, e.releasedMinor, e.lockEffectiveAtMs]),
    ).toEqual(
      [
        [voided1.betId, BetVoidReason.RETROACTIVE_LOCK, 200n, BigInt(lock)],
        [voided2.betId, BetVoidReason.RETROACTIVE_LOCK, 300n, BigInt(lock)],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    const mine = await h.betEngine.listMyBets({ marketId: market.marketId }, await h.as(late));
    expect(mine.bets.map((b) => [b.status, b.voidReason, b.heldMinor, b.voidedStakeMinor])).toEqual(
      [
        [BetStatus.VOIDED, BetVoidReason.RETROACTIVE_LOCK, 0n, 300n],
        [BetStatus.VOIDED, BetVoidReason.RETROACTIVE_LOCK, 0n, 200n],
      ],
    );
    const odds = (await h.betEngine.getOdds({ marketId: market.marketId })).odds!;
    expect(odds).toMatchObject({ totalStakedMinor: 100n, bettorCount: 1n });

    // Betting is closed at once, before any MarketLocked.
    const closed = await failure(place(market, early));
    expect(closed.code).toBe(Code.FailedPrecondition);
    // A repeat (or a later instant) returns the first result and moves nothing.
    const again = await h.internal.voidBetsAfter(
      { marketId: market.marketId, lockEffectiveAtMs: BigInt(lock + 60_000) },
      await h.service('pool'),
    );
    expect(again).toEqual(first);
    await h.marketEvent(MarketLockedSchema, {
      marketId: market.marketId,
      channelId: market.channelId,
      lockedAtMs: BigInt(h.clock.now()),
      lockEffectiveAtMs: BigInt(lock + 1_000),
      version: 3n,
    });
    const stored = await h.store.getMarket(market.marketId);
    expect([stored?.state, stored?.lockEffectiveAtMs, stored?.voidedBetCount]).toEqual([
      'LOCKED',
      lock,
      2n,
    ]);
    expect(kept.status).toBe(BetStatus.ACCEPTED);
    expect(
      (
        await failure(
          h.internal.voidBetsAfter(
            { marketId: market.marketId, lockEffectiveAtMs: 0n },
            await h.service('pool'),
          ),
        )
      ).code,
    ).toBe(Code.InvalidArgument);
    expect(
      (
        await failure(
          h.internal.voidBetsAfter(
            { marketId: 'unknown', lockEffectiveAtMs: 1n },
            await h.service('pool'),
          ),
        )
      ).code,
    ).toBe(Code.NotFound);
  });

  it('voids late bets from MarketLocked alone, and VoidBetsAfter afterwards keeps that instant', async () => {
    const market = await h.addMarket();
    const user = await h.addUser(1_000n);
    const t0 = h.clock.now();
    h.clock.advance(2_000);
    await place(market, user, 100n);
    await h.marketEvent(MarketLockedSchema, {
      marketId: market.marketId,
      channelId: market.channelId,
      lockedAtMs: BigInt(h.clock.now()),
      lockEffectiveAtMs: BigInt(t0 + 1_000),
      version: 3n,
    });
    expect(await h.available(`wallet:${user}:PTS`)).toBe(1_000n);
    const result = await h.internal.voidBetsAfter(
      { marketId: market.marketId, lockEffectiveAtMs: BigInt(t0 + 9_000) },
      await h.service('pool'),
    );
    expect(result).toMatchObject({
      lockEffectiveAtMs: BigInt(t0 + 1_000),
      voidedBetCount: 1n,
      voidedStakeMinor: 100n,
    });
  });

  it('streams the bets of a closed market to settlement in bet_id order, in batches, resumable', async () => {
    const market = await h.addMarket();
    const users = [await h.addUser(), await h.addUser(), await h.addUser()];
    const placed = [];
    for (const [i, user] of users.entries())
      placed.push(await place(market, user, 100n + BigInt(i), i % 2));
    placed.push(await place(market, users[0]!, 50n, 1));
    expect((await failure(streamAll(market.marketId))).code).toBe(Code.FailedPrecondition);
    expect(
      (
        await failure(
          (async () => {
            for await (const _ of h.internal.listMarketBets(
              { marketId: market.marketId },
              await h.as(users[0]!),
            ));
          })(),
        )
      ).code,
    ).toBe(Code.PermissionDenied);
    await h.internal.voidBetsAfter(
      { marketId: market.marketId, lockEffectiveAtMs: BigInt(h.clock.now()) },
      await h.service('pool'),
    );
    const batches = await streamAll(market.marketId, 3);
    expect(batches.map((b) => b.bets.length)).toEqual([3, 1]);
    expect(batches[0]).toMatchObject({ currency: 'PTS', kind: MarketKind.POOL });
    const ids = batches.flatMap((b) => b.bets.map((bet) => bet.betId));
    expect(ids).toEqual(placed.map((b) => b.betId).sort());
    const first = batches[0]!.bets[0]!;
    const source = placed.find((b) => b.betId === first.betId)!;
    expect(first).toMatchObject({
      userId: source.userId,
      outcomeId: source.outcomeId,
      status: BetStatus.ACCEPTED,
      stakeMinor: source.stakeMinor,
      heldMinor: source.stakeMinor,
      holdTransferId: `bet:${source.betId}:stake`,
    });
    const resumed = await streamAll(market.marketId, 0, ids[1]);
    expect(resumed.flatMap((b) => b.bets.map((bet) => bet.betId))).toEqual(ids.slice(2));

    // A PENDING bet (hold not yet confirmed) makes the set non-final: UNAVAILABLE.
    const other = await h.addMarket();
    const user = await h.addUser();
    await place(other, user);
    await h.store.insertIntents(
      [
        {
          betId: '01KZZZZZZZZZZZZZZZZZZZZZZZ',
          idempotencyKey: newKey(),
          userId: user,
          marketId: other.marketId,
          outcomeId: other.outcomeIds[0]!,
          currency: 'PTS',
          stakeMinor: 10n,
          client: { networkId: '', deviceId: '', app: '' },
        },
      ],
      h.clock.now(),
      60,
    );
    await h.betSql.query(
      'UPDATE be_markets SET lock_effective_at_ms = $2, late_void_pending = false WHERE market_id = $1',
      [other.marketId, BigInt(h.clock.now() + 1)],
    );
    expect((await failure(streamAll(other.marketId))).code).toBe(Code.Unavailable);
    await h.placement.reconcile(0);
    expect((await streamAll(other.marketId)).flatMap((b) => b.bets)).toHaveLength(2);
  });

  it('applies settlement results: WON with payout, LOST, then REFUNDED on a refunded market', async () => {
    const market = await h.addMarket({ commissionBps: 1000 });
    const [a, b, c] = [await h.addUser(), await h.addUser(), await h.addUser()];
    const winA = await place(market, a, 300n, 0);
    const winB = await place(market, b, 100n, 0);
    const lose = await place(market, c, 200n, 1);
    await h.internal.voidBetsAfter(
      { marketId: market.marketId, lockEffectiveAtMs: BigInt(h.clock.now()) },
      await h.service('pool'),
    );
    // T = 600, P_w = 400, L = 200, C = 20, D = 180: 300 → 300 + 135; 100 → 100 + 45.
    const settlement = {
      marketId: market.marketId,
      channelId: market.channelId,
      kind: MarketKind.POOL,
      currency: 'PTS',
      winningOutcomeId: market.outcomeIds[0]!,
      totalStakedMinor: 600n,
      winningStakedMinor: 400n,
      losingStakedMinor: 200n,
      commissionMinor: 20n,
      distributableMinor: 180n,
      completedAtMs: BigInt(h.clock.now()),
    };
    expect(await h.settlementEvent('settle-1', SettlementCompletedSchema, { settlement })).toBe(
      true,
    );
    expect(await h.settlementEvent('settle-1', SettlementCompletedSchema, { settlement })).toBe(
      false,
    );
    const byId = new Map(
      [
        ...(await h.betEngine.listMyBets({}, await h.as(a))).bets,
        ...(await h.betEngine.listMyBets({}, await h.as(b))).bets,
        ...(await h.betEngine.listMyBets({}, await h.as(c))).bets,
      ].map((bet) => [bet.betId, bet]),
    );
    expect(
      [winA, winB, lose].map((bet) => {
        const now = byId.get(bet.betId)!;
        return [now.status, now.payoutMinor, now.netProfitMinor, now.heldMinor];
      }),
    ).toEqual([
      [BetStatus.WON, 435n, 135n, 0n],
      [BetStatus.WON, 145n, 45n, 0n],
      [BetStatus.LOST, 0n, -200n, 0n],
    ]);
    const won = await h.betEngine.listMyBets({ statuses: [BetStatus.WON] }, await h.as(a));
    expect(won.bets.map((bet) => bet.betId)).toEqual([winA.betId]);

    const refunded = await h.addMarket();
    const bet = await place(refunded, a, 70n);
    await h.internal.voidBetsAfter(
      { marketId: refunded.marketId, lockEffectiveAtMs: BigInt(h.clock.now()) },
      await h.service('pool'),
    );
    await h.settlementEvent('refund-1', MarketRefundedSchema, {
      marketId: refunded.marketId,
      channelId: refunded.channelId,
      currency: 'PTS',
      refundedTotalMinor: 70n,
      refundedBetCount: 1n,
      refundedAtMs: BigInt(h.clock.now()),
    });
    const after = (await h.betEngine.listMyBets({ marketId: refunded.marketId }, await h.as(a)))
      .bets[0]!;
    expect([after.betId, after.status, after.payoutMinor, after.netProfitMinor]).toEqual([
      bet.betId,
      BetStatus.REFUNDED,
      70n,
      0n,
    ]);
  });

  it('voids every bet of a canceled market (settlement releases the holds) and lists them for it', async () => {
    const market = await h.addMarket();
    const user = await h.addUser(1_000n);
    const bet = await place(market, user, 250n);
    await h.marketEvent(MarketCanceledSchema, {
      marketId: market.marketId,
      channelId: market.channelId,
      canceledAtMs: BigInt(h.clock.now()),
      currency: 'PTS',
      version: 3n,
    });
    const mine = (await h.betEngine.listMyBets({ marketId: market.marketId }, await h.as(user)))
      .bets[0]!;
    expect([mine.status, mine.voidReason, mine.heldMinor]).toEqual([
      BetStatus.VOIDED,
      BetVoidReason.MARKET_CANCELED,
      250n,
    ]);
    const event = (await h.outbox(market.marketId, 'bet'))
      .filter((e) => e.type === BetVoidedSchema.typeName)
      .map((e) => fromBinary(BetVoidedSchema, e.payload));
    expect(event.map((e) => [e.betId, e.reason, e.releasedMinor, e.voidedStakeMinor])).toEqual([
      [bet.betId, BetVoidReason.MARKET_CANCELED, 0n, 250n],
    ]);
    // The hold is still there for settlement to void: ListMarketBets includes the bet.
    expect(await h.pending(`wallet:${user}:PTS`)).toBe(250n);
    const listed = (await streamAll(market.marketId)).flatMap((b) => b.bets);
    expect(listed.map((b) => [b.betId, b.status, b.heldMinor])).toEqual([
      [bet.betId, BetStatus.VOIDED, 250n],
    ]);
    // A repeated event changes nothing.
    await h.marketEvent(MarketCanceledSchema, {
      marketId: market.marketId,
      channelId: market.channelId,
      version: 3n,
    });
    expect(
      (await h.outbox(market.marketId, 'bet')).filter((e) => e.type === BetVoidedSchema.typeName),
    ).toHaveLength(1);
    expect((await failure(place(market, user))).code).toBe(Code.FailedPrecondition);
  });

  it('answers the exchange RPCs for POOL markets and enforces the access policy', async () => {
    const market = await h.addMarket();
    const user = await h.addUser();
    const bet = await place(market, user);
    expect((await failure(h.betEngine.getBook({ marketId: market.marketId }))).code).toBe(
      Code.FailedPrecondition,
    );
    expect(
      (await failure(h.betEngine.cancelOrder({ betId: bet.betId }, await h.as(user)))).code,
    ).toBe(Code.FailedPrecondition);
    expect((await failure(h.betEngine.cancelOrder({ betId: 'nope' }, await h.as(user)))).code).toBe(
      Code.NotFound,
    );
    expect(
      (
        await failure(
          h.internal.lapseUnmatched({ marketId: market.marketId }, await h.service('pool')),
        )
      ).code,
    ).toBe(Code.FailedPrecondition);
    await h.internal.voidBetsAfter(
      { marketId: market.marketId, lockEffectiveAtMs: BigInt(h.clock.now()) },
      await h.service('pool'),
    );
    expect(
      await h.internal.lapseUnmatched({ marketId: market.marketId }, await h.service('pool')),
    ).toMatchObject({
      lapsedOrderCount: 0n,
      lapsedStakeMinor: 0n,
    });
    expect(
      (
        await failure(
          h.internal.voidBetsAfter(
            { marketId: market.marketId, lockEffectiveAtMs: 1n },
            await h.as(user, 'admin'),
          ),
        )
      ).code,
    ).toBe(Code.PermissionDenied);
    expect(
      (
        await failure(
          h.betEngine.placeBet({ idempotencyKey: newKey(), marketId: market.marketId }, {}),
        )
      ).code,
    ).toBe(Code.Unauthenticated);
    expect((await failure(h.betEngine.listMyBets({}))).code).toBe(Code.Unauthenticated);
  });

  it('reconciles PENDING intents after a crash: before the hold (hold placed) and after it (no double hold)', async () => {
    const market = await h.addMarket();
    const [beforeHold, afterHold, broke] = [
      await h.addUser(1_000n),
      await h.addUser(1_000n),
      await h.addUser(5n),
    ];
    const intent = (userId: string, betId: string) => ({
      betId,
      idempotencyKey: newKey(),
      userId,
      marketId: market.marketId,
      outcomeId: market.outcomeIds[0]!,
      currency: 'PTS',
      stakeMinor: 100n,
      client: { networkId: '', deviceId: '', app: '' },
    });
    // Crash 1: the intent committed, the process died before SubmitTransfers.
    // Crash 2: the hold committed in the ledger, the process died before the accept commit.
    // Crash 3: the intent of a user who cannot pay.
    const ids = [
      '01KAAAAAAAAAAAAAAAAAAAAAA1',
      '01KAAAAAAAAAAAAAAAAAAAAAA2',
      '01KAAAAAAAAAAAAAAAAAAAAAA3',
    ];
    const written = await h.store.insertIntents(
      [intent(beforeHold, ids[0]!), intent(afterHold, ids[1]!), intent(broke, ids[2]!)],
      h.clock.now(),
      2_592_000,
    );
    expect(written.map((o) => o.kind)).toEqual(['intent', 'intent', 'intent']);
    const bets = await h.store.getBets([ids[1]!]);
    expect((await h.ledgerPort.hold([...bets.values()])).map((o) => o.result)).toEqual(['held']);
    expect(await h.pending(`wallet:${afterHold}:PTS`)).toBe(100n);
    expect(await h.pending(`wallet:${beforeHold}:PTS`)).toBe(0n);

    const restarted = await h.restart();
    expect(await restarted.placement.reconcile(0)).toEqual({ accepted: 2, voided: 1 });
    const after = await restarted.store.getBets(ids);
    expect(ids.map((id) => [after.get(id)?.status, after.get(id)?.voidReason])).toEqual([
      ['ACCEPTED', undefined],
      ['ACCEPTED', undefined],
      ['VOIDED', 'HOLD_FAILED'],
    ]);
    expect(await h.pending(`wallet:${beforeHold}:PTS`)).toBe(100n);
    expect(await h.pending(`wallet:${afterHold}:PTS`)).toBe(100n);
    expect(await h.available(`wallet:${broke}:PTS`)).toBe(5n);
    const events = (await h.outbox(market.marketId, 'bet')).map((e) => e.type);
    expect(events.filter((t) => t.endsWith('BetPlaced'))).toHaveLength(2);
    expect(events.filter((t) => t.endsWith('BetVoided'))).toHaveLength(1);
    const odds = (await restarted.betEngine.getOdds({ marketId: market.marketId })).odds!;
    expect(odds).toMatchObject({ totalStakedMinor: 200n, bettorCount: 2n });
    // Running it again finds nothing to do.
    expect(await restarted.placement.reconcile(0)).toEqual({ accepted: 0, voided: 0 });
  });
});

describe.each(targets.map((t) => [t.name, t] as const))(
  'bet engine with a lost ledger answer on %s',
  (_name, target) => {
    it('answers PENDING, keeps settlement waiting, and reconciliation accepts the bet with its one hold', async () => {
      const fault = { holdsLost: true };
      const h = await createHarness(target, undefined, { ledgerFault: fault });
      try {
        const market = await h.addMarket();
        const user = await h.addUser(1_000n);
        const response = await h.betEngine.placeBet(
          {
            idempotencyKey: 'lost-answer',
            marketId: market.marketId,
            outcomeId: market.outcomeIds[0]!,
            currency: 'PTS',
            stakeMinor: 100n,
          },
          await h.as(user),
        );
        expect([response.bet?.status, response.bet?.heldMinor]).toEqual([BetStatus.PENDING, 0n]);
        expect(await h.pending(`wallet:${user}:PTS`)).toBe(100n);
        // The lock instant is fixed at once, but the void cannot finish while the bet is PENDING.
        const lockAtMs = BigInt(h.clock.now() + 1);
        const voidCall = () =>
          h
            .service('pool')
            .then((options) =>
              h.internal.voidBetsAfter(
                { marketId: market.marketId, lockEffectiveAtMs: lockAtMs },
                options,
              ),
            );
        expect((await failure(voidCall())).code).toBe(Code.Unavailable);
        expect((await h.store.getMarket(market.marketId))?.lockEffectiveAtMs).toBe(
          Number(lockAtMs),
        );
        const waiting = await failure(
          (async () => {
            for await (const _ of h.internal.listMarketBets(
              { marketId: market.marketId },
              await h.service('settlement'),
            ));
          })(),
        );
        expect(waiting.code).toBe(Code.Unavailable);

        fault.holdsLost = false;
        expect(await h.placement.reconcile(0)).toEqual({ accepted: 1, voided: 0 });
        expect(await voidCall()).toMatchObject({ lockEffectiveAtMs: lockAtMs, voidedBetCount: 0n });
        const listed = [];
        for await (const batch of h.internal.listMarketBets(
          { marketId: market.marketId },
          await h.service('settlement'),
        )) {
          listed.push(...batch.bets);
        }
        expect(listed.map((b) => [b.betId, b.status])).toEqual([
          [response.bet!.betId, BetStatus.ACCEPTED],
        ]);
        expect(await h.pending(`wallet:${user}:PTS`)).toBe(100n);
        // The repeat of the placement now returns the accepted bet.
        const repeat = await h.betEngine.placeBet(
          {
            idempotencyKey: 'lost-answer',
            marketId: market.marketId,
            outcomeId: market.outcomeIds[0]!,
            currency: 'PTS',
            stakeMinor: 100n,
          },
          await h.as(user),
        );
        expect(repeat.bet?.status).toBe(BetStatus.ACCEPTED);
      } finally {
        await h.dispose();
      }
    });
  },
);
