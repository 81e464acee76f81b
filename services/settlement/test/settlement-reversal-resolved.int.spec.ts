/**
 * Reversal of a settlement made on the market-level path (ResolveMarket: one resolution record
 * per market in the ledger) with more than 1000 claw-backs, on every SQL target, against the real
 * ledger. The two-phase reversal holds every claw-back (PAYOUT_REVERSAL holds naming the resolved
 * market) before posting any; the ledger refuses only new stake holds on a resolved market
 * (migration 0113), so the reversal completes: every wallet back to its funding, escrow and rake
 * at zero, the ledger balanced, and a repeat moves nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqlTargets } from '@streambet/testkit/sql';
import { CUR, createHarness, ulid, type Harness, type TestBet } from './harness.js';

const FUND = 1_000n;
const WINNERS = Array.from({ length: 1010 }, (_, i) => ulid(40_000 + i));
const LOSERS = Array.from({ length: 40 }, (_, i) => ulid(50_000 + i));
const wallet = (userId: string): string => `wallet:${userId}:${CUR}`;

for (const target of sqlTargets()) {
  describe(`reversal of a market resolved with ResolveMarket on ${target.name}`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await createHarness(target);
      await h.fundUsers([...WINNERS, ...LOSERS], FUND);
    }, 120_000);
    afterEach(async () => {
      await h.dispose();
    });

    it(
      'holds every claw-back on the resolved market, posts them, and ends fully reversed',
      { timeout: 180_000 },
      async () => {
        const market = await h.createMarket(1);
        const [win, lose] = market.outcomeIds as [string, string];
        const bets: TestBet[] = [
          ...WINNERS.map((userId, i) => ({
            betId: ulid(300_000 + i),
            userId,
            outcomeId: win,
            stakeMinor: 100n,
          })),
          ...LOSERS.map((userId, i) => ({
            betId: ulid(400_000 + i),
            userId,
            outcomeId: lose,
            stakeMinor: 500n,
          })),
        ];
        await h.placeBets(market, bets);
        await h.resolve(market, win);
        // Settled on the market-level path: the ledger resolves the market with one record.
        let resolutions = 0;
        const settled = await h
          .runnerWith({
            ledger: {
              ...h.runnerDeps.ledger,
              async resolveMarket(call) {
                resolutions += 1;
                return h.runnerDeps.ledger.resolveMarket(call);
              },
            },
          })
          .runOnce(market.marketId);
        expect(settled?.status, settled?.lastError).toBe('COMPLETED');
        expect(resolutions).toBeGreaterThanOrEqual(1);
        for (const user of WINNERS.slice(0, 3)) {
          expect(await h.balance(wallet(user))).toBeGreaterThan(FUND);
        }
        // A late bet on the resolved market is still refused by the ledger.
        const [late] = await h.runnerDeps.ledger.submit(
          [
            {
              transferId: `late:${market.marketId}`,
              kind: 'PENDING',
              debitAccountId: wallet(LOSERS[0]!),
              creditAccountId: `market:${market.marketId}:escrow`,
              amountMinor: 1n,
              pendingId: '',
              code: 'BET_STAKE',
              betId: ulid(999_999),
              linked: false,
            },
          ],
          { marketId: market.marketId, settlementId: settled!.settlementId, currency: CUR },
        );
        expect(late?.committed).toBe(false);
        expect(late?.detail).toMatch(/resolved/);

        // The reversal: more than one ledger call of claw-backs, so two phases (hold, then post).
        let clawBackHolds = 0;
        const reversed = await h
          .runnerWith({
            ledger: {
              ...h.runnerDeps.ledger,
              async submit(commands, context) {
                clawBackHolds += commands.filter(
                  (c) => c.kind === 'PENDING' && c.code === 'PAYOUT_REVERSAL',
                ).length;
                return h.runnerDeps.ledger.submit(commands, context);
              },
            },
          })
          .reverse(market.marketId, 'wrong winner', ulid(999));
        expect(reversed.status).toBe('REVERSED');
        // Every winner's claw-back, the commission and the streamer share were held first.
        expect(clawBackHolds).toBeGreaterThan(1000);
        for (const user of [...WINNERS, ...LOSERS]) {
          expect(await h.balance(wallet(user))).toBe(FUND);
          expect(await h.available(wallet(user))).toBe(FUND);
        }
        expect(await h.balance(`market:${market.marketId}:escrow`)).toBe(0n);
        expect(await h.balance(`rake:${CUR}`)).toBe(0n);
        await h.expectBalanced();

        // A repeat (through the RPC) moves nothing.
        const again = await h.internal.reverseSettlement(
          { marketId: market.marketId, reason: 'wrong winner', requestedByUserId: ulid(999) },
          await h.service('pool'),
        );
        expect(Number(again.settlement?.reversedAtMs)).toBe(reversed.reversedAtMs);
        for (const user of [WINNERS[0]!, LOSERS[0]!]) {
          expect(await h.balance(wallet(user))).toBe(FUND);
        }
        await h.expectBalanced();
      },
    );
  });
}
