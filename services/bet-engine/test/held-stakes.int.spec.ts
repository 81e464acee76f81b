/**
 * The held stakes per (market, user, outcome) (be_user_outcome_stakes, migration 0020), kept by
 * the transactions that accept and void bets, always equal a GROUP BY over the bets they stand for
 * (ACCEPTED, or voided with a canceled market), after random placements through the real
 * placement path followed by a retroactive lock, a cancel, or a resolution and a void after it;
 * and a resolution read from them pays each user exactly Σ over their bets of product.md's formula,
 * each bet floored on its own (an oracle written out here).
 */
import {
  MarketCanceledSchema,
  MarketVoidedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, newKey, newUlid, type Harness, type TestMarket } from './harness.js';

const targets = sqlTargets();

type Ending = 'none' | 'retroactive-lock' | 'cancel' | 'resolve-then-void';

interface Scenario {
  readonly bets: readonly { user: number; outcome: number; stakeMinor: number; gapMs: number }[];
  readonly ending: Ending;
  /** Which bet's instant the retroactive lock falls just before (index into bets). */
  readonly lockBefore: number;
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  bets: fc.array(
    fc.record({
      user: fc.nat({ max: 3 }),
      outcome: fc.nat({ max: 2 }),
      stakeMinor: fc.integer({ min: 10, max: 997 }),
      gapMs: fc.integer({ min: 0, max: 2_000 }),
    }),
    { minLength: 1, maxLength: 9 },
  ),
  ending: fc.constantFrom<Ending>('none', 'retroactive-lock', 'cancel', 'resolve-then-void'),
  lockBefore: fc.nat({ max: 8 }),
});

type Row = { market_id: string; user_id: string; outcome_id: string; n: string; staked: string };

describe.each(targets.map((t) => [t.name, t] as const))('held stakes on %s', (_name, target) => {
  let h: Harness;
  let users: string[];

  beforeAll(async () => {
    h = await createHarness(target);
    users = await h.addUsers(4, 100_000_000n);
  }, 180_000);
  afterAll(async () => {
    await h?.dispose();
  });

  async function heldRows(marketId: string): Promise<string[]> {
    const rows = await h.betSql.query<Row>(
      `SELECT market_id, user_id, outcome_id, bet_count::text AS n, staked_minor::text AS staked
       FROM be_user_outcome_stakes WHERE market_id = $1 AND bet_count <> 0 ORDER BY 2, 3`,
      [marketId],
    );
    return rows.rows.map((r) => `${r.user_id} ${r.outcome_id} ${r.n} ${r.staked}`);
  }

  async function groupedBets(marketId: string): Promise<string[]> {
    const rows = await h.betSql.query<Row>(
      `SELECT market_id, user_id, outcome_id, count(*)::text AS n, sum(stake_minor)::text AS staked
       FROM be_bets WHERE market_id = $1 AND (status = 'ACCEPTED'
         OR (status = 'VOIDED' AND void_reason = 'MARKET_CANCELED' AND payout_minor = 0))
       GROUP BY 1, 2, 3 ORDER BY 2, 3`,
      [marketId],
    );
    return rows.rows.map((r) => `${r.user_id} ${r.outcome_id} ${r.n} ${r.staked}`);
  }

  async function resolveWith(market: TestMarket, winner: string) {
    const users: { userId: string; stakedMinor: bigint; payoutMinor: bigint; betCount: bigint }[] =
      [];
    for await (const message of h.internal.resolveMarketBets(
      {
        marketId: market.marketId,
        settlementId: newUlid(),
        winningOutcomeId: winner,
        commissionBps: 500,
        streamerShareBps: 0,
      },
      await h.service('settlement'),
    )) {
      users.push(...message.users);
    }
    return users;
  }

  it('equal a GROUP BY over the bets after random placements and voids, and pay per-bet floors', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const market = await h.addMarket({ outcomes: 3, commissionBps: 500 });
        const placedAt: number[] = [];
        const placed: { userId: string; outcomeId: string; stakeMinor: bigint }[] = [];
        for (const bet of s.bets) {
          h.clock.advance(bet.gapMs + 1);
          placedAt.push(h.clock.now());
          const response = await h.betEngine.placeBet(
            {
              idempotencyKey: newKey(),
              marketId: market.marketId,
              outcomeId: market.outcomeIds[bet.outcome]!,
              currency: 'PTS',
              stakeMinor: BigInt(bet.stakeMinor),
            },
            await h.as(users[bet.user]!),
          );
          placed.push(response.bet!);
        }
        expect(await heldRows(market.marketId)).toEqual(await groupedBets(market.marketId));

        const lockAt =
          s.ending === 'retroactive-lock'
            ? placedAt[Math.min(s.lockBefore, placedAt.length - 1)]! - 1
            : h.clock.now();
        await h.internal.voidBetsAfter(
          { marketId: market.marketId, lockEffectiveAtMs: BigInt(lockAt) },
          await h.service('pool'),
        );
        expect(await heldRows(market.marketId)).toEqual(await groupedBets(market.marketId));

        if (s.ending === 'cancel') {
          await h.marketEvent(MarketCanceledSchema, {
            marketId: market.marketId,
            channelId: market.channelId,
            canceledAtMs: BigInt(h.clock.now()),
            currency: 'PTS',
            version: BigInt(market.version + 1),
          });
          // Voided with the market, the stakes stay held for the refund.
          expect(await heldRows(market.marketId)).toEqual(await groupedBets(market.marketId));
        }
        if (s.ending === 'resolve-then-void' || s.ending === 'none') {
          const winner = market.outcomeIds[0]!;
          const live = placed.filter((_, i) => placedAt[i]! <= lockAt);
          const T = live.reduce((sum, b) => sum + b.stakeMinor, 0n);
          const Pw = live
            .filter((b) => b.outcomeId === winner)
            .reduce((sum, b) => sum + b.stakeMinor, 0n);
          const L = T - Pw;
          const D = L - (L * 500n) / 10_000n;
          const oneSided = Pw === 0n || Pw === T;
          const want = new Map<string, bigint>();
          for (const b of live) {
            const pays = oneSided
              ? b.stakeMinor
              : b.outcomeId === winner
                ? b.stakeMinor + (b.stakeMinor * D) / Pw
                : 0n;
            want.set(b.userId, (want.get(b.userId) ?? 0n) + pays);
          }
          const got = await resolveWith(market, winner);
          expect(new Map(got.map((u) => [u.userId, u.payoutMinor]))).toEqual(want);
          if (s.ending === 'resolve-then-void') {
            await h.marketEvent(MarketVoidedSchema, {
              marketId: market.marketId,
              channelId: market.channelId,
              voidedAtMs: BigInt(h.clock.now()),
              version: BigInt(market.version + 5),
            });
            expect(await heldRows(market.marketId)).toEqual([]);
            expect(await heldRows(market.marketId)).toEqual(await groupedBets(market.marketId));
          }
        }
      }),
      { numRuns: 12, seed: 1212 },
    );
  }, 240_000);
});
