/**
 * ResolveMarketBets, per SQL target, on bets placed through the real placement path and ledger:
 * the market's resolution record and per-user aggregates computed set-based in SQL, checked against
 * product.md's formula written out here; every bet reads WON / LOST / REFUNDED with its own payout
 * from the moment the record commits, with no bet row rewritten; idempotent repeats, resume,
 * refusals; refunds (one-sided, canceled market); a void after resolution.
 */
import { Code } from '@connectrpc/connect';
import {
  BetStatus,
  BetVoidReason,
  MarketResolutionKind,
  ResolutionRefundReason,
  type Bet,
  type ResolveMarketBetsResponse,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ResolveMarketBetsRequestSchema } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  MarketCanceledSchema,
  MarketVoidedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHarness,
  failure,
  newKey,
  newUlid,
  type Harness,
  type TestMarket,
} from './harness.js';

const targets = sqlTargets();

/** product.md, written out: each winning bet s + floor(s × D / P_w), breakage B to the house. */
function oracle(
  bets: readonly { userId: string; outcomeId: string; stakeMinor: bigint }[],
  winner: string,
  commissionBps: bigint,
  shareBps: bigint,
) {
  const T = bets.reduce((sum, b) => sum + b.stakeMinor, 0n);
  const Pw = bets.filter((b) => b.outcomeId === winner).reduce((sum, b) => sum + b.stakeMinor, 0n);
  const L = T - Pw;
  const C = (L * commissionBps) / 10000n;
  const D = L - C;
  const payout = (b: { outcomeId: string; stakeMinor: bigint }) =>
    b.outcomeId === winner ? b.stakeMinor + (b.stakeMinor * D) / Pw : 0n;
  const floors = bets
    .filter((b) => b.outcomeId === winner)
    .reduce((sum, b) => sum + (b.stakeMinor * D) / Pw, 0n);
  const users = new Map<string, { staked: bigint; payout: bigint; bets: bigint }>();
  for (const b of bets) {
    const u = users.get(b.userId) ?? { staked: 0n, payout: 0n, bets: 0n };
    users.set(b.userId, {
      staked: u.staked + b.stakeMinor,
      payout: u.payout + payout(b),
      bets: u.bets + 1n,
    });
  }
  return { T, Pw, L, C, D, B: D - floors, share: (C * shareBps) / 10000n, payout, users };
}

describe.each(targets.map((t) => [t.name, t] as const))(
  'market resolution on %s',
  (_name, target) => {
    let h: Harness;

    beforeAll(async () => {
      h = await createHarness(target);
    }, 180_000);
    afterAll(async () => {
      await h?.dispose();
    });

    async function place(market: TestMarket, userId: string, stakeMinor: bigint, outcome: number) {
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

    async function lock(market: TestMarket) {
      await h.internal.voidBetsAfter(
        { marketId: market.marketId, lockEffectiveAtMs: BigInt(h.clock.now()) },
        await h.service('pool'),
      );
    }

    async function resolve(
      init: MessageInitShape<typeof ResolveMarketBetsRequestSchema>,
    ): Promise<ResolveMarketBetsResponse[]> {
      const out: ResolveMarketBetsResponse[] = [];
      for await (const message of h.internal.resolveMarketBets(
        init,
        await h.service('settlement'),
      )) {
        out.push(message);
      }
      return out;
    }

    async function myBets(userId: string, marketId: string): Promise<Bet[]> {
      return (await h.betEngine.listMyBets({ marketId }, await h.as(userId))).bets;
    }

    async function storedStatuses(marketId: string): Promise<string[]> {
      const rows = await h.betSql.query<{ status: string }>(
        'SELECT DISTINCT status FROM be_bets WHERE market_id = $1 ORDER BY status',
        [marketId],
      );
      return rows.rows.map((r) => r.status);
    }

    it('records the resolution, streams per-user results equal to the formula, and every bet reads settled', async () => {
      const market = await h.addMarket({ outcomes: 3, commissionBps: 700 });
      const users = await h.addUsers(7, 100_000n);
      const placed: Bet[] = [];
      // Uneven stakes so floors and breakage are not trivial; several bets per user.
      for (let i = 0; i < 21; i += 1) {
        placed.push(await place(market, users[i % 7]!, BigInt(37 + ((i * 173) % 911)), i % 3));
      }
      await lock(market);
      const winner = market.outcomeIds[1]!;
      const expected = oracle(
        placed.map((b) => ({ userId: b.userId, outcomeId: b.outcomeId, stakeMinor: b.stakeMinor })),
        winner,
        700n,
        2500n,
      );
      const request = {
        marketId: market.marketId,
        settlementId: newUlid(),
        winningOutcomeId: winner,
        commissionBps: 700,
        streamerShareBps: 2500,
        batchSize: 3,
      };
      const messages = await resolve(request);
      expect(messages).toHaveLength(3);
      const resolution = messages[0]!.resolution!;
      expect(resolution).toMatchObject({
        marketId: market.marketId,
        kind: MarketResolutionKind.PAYOUT,
        refundReason: ResolutionRefundReason.UNSPECIFIED,
        winningOutcomeId: winner,
        currency: 'PTS',
        totalStakedMinor: expected.T,
        winningStakedMinor: expected.Pw,
        losingStakedMinor: expected.L,
        commissionMinor: expected.C,
        streamerShareMinor: expected.share,
        rakeMinor: expected.C - expected.share,
        distributableMinor: expected.D,
        breakageMinor: expected.B,
        payoutTotalMinor: expected.T - expected.C - expected.B,
        betCount: 21n,
        userCount: 7n,
      });
      const streamed = messages.flatMap((m) => m.users);
      expect(streamed.map((u) => u.userId)).toEqual([...users].sort());
      for (const u of streamed) {
        const want = expected.users.get(u.userId)!;
        expect([u.stakedMinor, u.payoutMinor, u.betCount]).toEqual([
          want.staked,
          want.payout,
          want.bets,
        ]);
      }
      expect(streamed.filter((u) => u.payoutMinor > u.stakedMinor).length).toBe(
        Number(resolution.winnerCount),
      );

      // Every bet reads settled at once, with its own payout; no row was rewritten.
      for (const bet of placed) {
        const now = (await myBets(bet.userId, market.marketId)).find((b) => b.betId === bet.betId)!;
        const payout = expected.payout(bet);
        expect([now.status, now.payoutMinor, now.netProfitMinor, now.heldMinor]).toEqual([
          bet.outcomeId === winner ? BetStatus.WON : BetStatus.LOST,
          payout,
          payout - bet.stakeMinor,
          0n,
        ]);
        expect(now.settledAtMs).toBe(resolution.resolvedAtMs);
      }
      expect(await storedStatuses(market.marketId)).toEqual(['ACCEPTED']);
      const won = await h.betEngine.listMyBets(
        { statuses: [BetStatus.WON], marketId: market.marketId },
        await h.as(users[1]!),
      );
      expect(won.bets.every((b) => b.status === BetStatus.WON && b.outcomeId === winner)).toBe(
        true,
      );

      // A repeat (another attempt, another settlement id) answers the first record; resume works.
      h.clock.advance(5_000);
      const again = await resolve({ ...request, settlementId: newUlid(), batchSize: 0 });
      expect(again).toHaveLength(1);
      expect(again[0]!.resolution).toEqual(resolution);
      expect(again[0]!.users).toEqual(streamed);
      const resumed = await resolve({ ...request, afterUserId: streamed[4]!.userId });
      expect(resumed.flatMap((m) => m.users)).toEqual(streamed.slice(5));
      // Resolved differently: refused, nothing changes.
      const other = await failure(resolve({ ...request, winningOutcomeId: market.outcomeIds[0]! }));
      expect(other.code).toBe(Code.FailedPrecondition);
      const canceled = await failure(resolve({ ...request, canceled: true, winningOutcomeId: '' }));
      expect(canceled.code).toBe(Code.FailedPrecondition);
    });

    it('computes each payout as s + floor(s × D / P_w), also where s × D overflows 64 bits', async () => {
      const payout = async (
        kind: string,
        stake: bigint,
        outcome: string,
        distributable: bigint,
        winning: bigint,
      ) =>
        BigInt(
          (
            await h.betSql.query<{ p: bigint | string }>(
              'SELECT be_pool_bet_payout($1, $2::bigint, $3, $4, $5::bigint, $6::bigint) AS p',
              [kind, stake, outcome, 'w', distributable, winning],
            )
          ).rows[0]!.p,
        );
      expect(await payout('PAYOUT', 300n, 'w', 792n, 1101n)).toBe(300n + 215n);
      expect(await payout('PAYOUT', 300n, 'l', 792n, 1101n)).toBe(0n);
      expect(await payout('REFUND', 300n, 'l', 0n, 0n)).toBe(300n);
      expect(await payout('PAYOUT', 300n, 'w', 0n, 1101n)).toBe(300n);
      // s × D = 2^62 × 6 > 2^63: the numeric path, same floor.
      const s = 2n ** 62n;
      expect(await payout('PAYOUT', s, 'w', 6n, 7n * 2n ** 40n)).toBe(
        s + (s * 6n) / (7n * 2n ** 40n),
      );
    });

    it('refuses bad requests, open markets, and other callers', async () => {
      const market = await h.addMarket();
      const user = await h.addUser(10_000n);
      await place(market, user, 100n, 0);
      const base = {
        marketId: market.marketId,
        settlementId: newUlid(),
        winningOutcomeId: market.outcomeIds[0]!,
      };
      expect((await failure(resolve(base))).code).toBe(Code.FailedPrecondition);
      await lock(market);
      expect((await failure(resolve({ ...base, settlementId: '' }))).code).toBe(
        Code.InvalidArgument,
      );
      expect((await failure(resolve({ ...base, winningOutcomeId: '' }))).code).toBe(
        Code.InvalidArgument,
      );
      expect((await failure(resolve({ ...base, winningOutcomeId: 'nope' }))).code).toBe(
        Code.InvalidArgument,
      );
      expect((await failure(resolve({ ...base, commissionBps: 10_001 }))).code).toBe(
        Code.InvalidArgument,
      );
      expect((await failure(resolve({ ...base, batchSize: 10_001 }))).code).toBe(
        Code.InvalidArgument,
      );
      expect((await failure(resolve({ ...base, marketId: 'unknown' }))).code).toBe(Code.NotFound);
      const pool = await failure(
        (async () => {
          for await (const _ of h.internal.resolveMarketBets(base, await h.service('pool'))) {
            // never reached
          }
        })(),
      );
      expect(pool.code).toBe(Code.PermissionDenied);
      // Nothing was recorded by the refusals.
      expect((await myBets(user, market.marketId))[0]!.status).toBe(BetStatus.ACCEPTED);
    });

    it('refunds a one-sided market and a canceled one: stakes back, bets REFUNDED or VOIDED with payout', async () => {
      const oneSided = await h.addMarket();
      const [a, b] = await h.addUsers(2, 10_000n);
      const betA = await place(oneSided, a!, 120n, 0);
      await place(oneSided, b!, 80n, 0);
      await lock(oneSided);
      const [message] = await resolve({
        marketId: oneSided.marketId,
        settlementId: newUlid(),
        winningOutcomeId: oneSided.outcomeIds[0]!,
        commissionBps: 500,
      });
      expect(message!.resolution).toMatchObject({
        kind: MarketResolutionKind.REFUND,
        refundReason: ResolutionRefundReason.ONE_SIDED,
        totalStakedMinor: 200n,
        commissionMinor: 0n,
        breakageMinor: 0n,
        payoutTotalMinor: 200n,
      });
      expect(message!.users.map((u) => [u.stakedMinor, u.payoutMinor])).toEqual(
        [a!, b!].sort().map((u) => (u === a ? [120n, 120n] : [80n, 80n])),
      );
      const mine = (await myBets(a!, oneSided.marketId))[0]!;
      expect([mine.betId, mine.status, mine.payoutMinor, mine.netProfitMinor]).toEqual([
        betA.betId,
        BetStatus.REFUNDED,
        120n,
        0n,
      ]);

      const canceled = await h.addMarket();
      const betC = await place(canceled, a!, 300n, 1);
      await h.marketEvent(MarketCanceledSchema, {
        marketId: canceled.marketId,
        channelId: canceled.channelId,
        canceledAtMs: BigInt(h.clock.now()),
        currency: 'PTS',
        version: 3n,
      });
      const before = (await myBets(a!, canceled.marketId))[0]!;
      expect([before.status, before.payoutMinor]).toEqual([BetStatus.VOIDED, 0n]);
      const [refund] = await resolve({
        marketId: canceled.marketId,
        settlementId: newUlid(),
        canceled: true,
      });
      expect(refund!.resolution).toMatchObject({
        kind: MarketResolutionKind.REFUND,
        refundReason: ResolutionRefundReason.MARKET_CANCELED,
        totalStakedMinor: 300n,
        payoutTotalMinor: 300n,
      });
      expect(refund!.users.map((u) => [u.userId, u.stakedMinor, u.payoutMinor])).toEqual([
        [a!, 300n, 300n],
      ]);
      const after = (await myBets(a!, canceled.marketId))[0]!;
      expect([after.betId, after.status, after.voidReason, after.payoutMinor]).toEqual([
        betC.betId,
        BetStatus.VOIDED,
        BetVoidReason.MARKET_CANCELED,
        300n,
      ]);
    });

    it('voids a resolved market: bets VOIDED with their stake, live totals not touched twice', async () => {
      const market = await h.addMarket();
      const [a, b] = await h.addUsers(2, 10_000n);
      const win = await place(market, a!, 200n, 0);
      await place(market, b!, 100n, 1);
      await lock(market);
      await resolve({
        marketId: market.marketId,
        settlementId: newUlid(),
        winningOutcomeId: market.outcomeIds[0]!,
        commissionBps: 1000,
      });
      // T = 300, L = 100, C = 10, D = 90: the winner 200 + 90.
      expect((await myBets(a!, market.marketId))[0]!.payoutMinor).toBe(290n);
      const odds = (await h.betEngine.getOdds({ marketId: market.marketId })).odds!;
      await h.marketEvent(MarketVoidedSchema, {
        marketId: market.marketId,
        channelId: market.channelId,
        voidedAtMs: BigInt(h.clock.now()),
        version: 6n,
      });
      const voided = (await myBets(a!, market.marketId))[0]!;
      expect([voided.betId, voided.status, voided.voidReason, voided.payoutMinor]).toEqual([
        win.betId,
        BetStatus.VOIDED,
        BetVoidReason.MARKET_VOIDED,
        200n,
      ]);
      // As before resolutions were records: settled bets are no longer live, a void moves no total.
      const after = (await h.betEngine.getOdds({ marketId: market.marketId })).odds!;
      expect([odds.totalStakedMinor, after.totalStakedMinor]).toEqual([300n, 300n]);
    });
  },
);
