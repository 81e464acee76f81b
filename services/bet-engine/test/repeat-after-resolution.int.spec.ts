/**
 * A PlaceBet repeated with the same idempotency key after its market was resolved answers the bet
 * as every other read shows it: WON / LOST with its payout derived from the market's resolution
 * record (view be_bets_resolved), not the stored row's ACCEPTED. Per SQL target, through the real
 * placement path, ledger and resolution.
 */
import {
  BetStatus,
  type ResolveMarketBetsResponse,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, newKey, newUlid, type Harness } from './harness.js';

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'a repeated PlaceBet after resolution on %s',
  (_name, target) => {
    let h: Harness;

    beforeAll(async () => {
      h = await createHarness(target);
    }, 180_000);
    afterAll(async () => {
      await h?.dispose();
    });

    it('answers WON / LOST with the payout, not ACCEPTED', async () => {
      const market = await h.addMarket({ outcomes: 2, commissionBps: 700 });
      const [winner, loser] = await h.addUsers(2, 10_000n);
      const requests = [
        { userId: winner!, key: newKey(), outcome: 0, stakeMinor: 100n },
        { userId: loser!, key: newKey(), outcome: 1, stakeMinor: 300n },
      ];
      const placeBet = async (r: (typeof requests)[number]) =>
        (
          await h.betEngine.placeBet(
            {
              idempotencyKey: r.key,
              marketId: market.marketId,
              outcomeId: market.outcomeIds[r.outcome]!,
              currency: 'PTS',
              stakeMinor: r.stakeMinor,
            },
            await h.as(r.userId),
          )
        ).bet!;
      const placed = [];
      for (const r of requests) placed.push(await placeBet(r));
      expect(placed.map((b) => b.status)).toEqual([BetStatus.ACCEPTED, BetStatus.ACCEPTED]);
      // Before the resolution a repeat answers the same accepted bet.
      const early = await placeBet(requests[0]!);
      expect([early.betId, early.status]).toEqual([placed[0]!.betId, BetStatus.ACCEPTED]);

      await h.internal.voidBetsAfter(
        { marketId: market.marketId, lockEffectiveAtMs: BigInt(h.clock.now()) },
        await h.service('pool'),
      );
      const messages: ResolveMarketBetsResponse[] = [];
      for await (const message of h.internal.resolveMarketBets(
        {
          marketId: market.marketId,
          settlementId: newUlid(),
          winningOutcomeId: market.outcomeIds[0]!,
          commissionBps: 700,
          streamerShareBps: 2500,
          batchSize: 10,
        },
        await h.service('settlement'),
      )) {
        messages.push(message);
      }
      const resolvedAtMs = messages[0]!.resolution!.resolvedAtMs;

      // product.md: L = 300, C = floor(300 × 7%) = 21, D = 279; the winner's bet pays
      // 100 + floor(100 × 279 / 100) = 379, the loser's 0.
      const repeats = [];
      for (const r of requests) repeats.push(await placeBet(r));
      expect(repeats.map((b) => b.betId)).toEqual(placed.map((b) => b.betId));
      expect(
        repeats.map((b) => [b.status, b.payoutMinor, b.netProfitMinor, b.heldMinor, b.settledAtMs]),
      ).toEqual([
        [BetStatus.WON, 379n, 279n, 0n, resolvedAtMs],
        [BetStatus.LOST, 0n, -300n, 0n, resolvedAtMs],
      ]);
      // The same as ListMyBets shows.
      for (const bet of repeats) {
        const listed = await h.betEngine.listMyBets(
          { marketId: market.marketId },
          await h.as(bet.userId),
        );
        const got = listed.bets.find((b) => b.betId === bet.betId)!;
        expect([got.status, got.payoutMinor]).toEqual([bet.status, bet.payoutMinor]);
      }
      // The stored rows were not rewritten: the answer is derived.
      const stored = await h.betSql.query<{ status: string }>(
        'SELECT DISTINCT status FROM be_bets WHERE market_id = $1',
        [market.marketId],
      );
      expect(stored.rows.map((r) => r.status)).toEqual(['ACCEPTED']);
    });
  },
);
