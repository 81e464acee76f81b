/**
 * Reversal of a completed settlement bigger than one ledger call (more than 1000 claw-backs), on
 * every SQL target, against the real ledger: a winner who spends the winnings while the reversal is
 * taking them back (between its ledger calls) must not leave the market half reversed. The
 * reversal holds every claw-back before posting any: the spend makes a hold fail, the round's holds
 * are released and nothing moves; once the money is back, the next attempt reverses everything.
 */
import { ConnectError } from '@connectrpc/connect';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqlTargets } from '@streambet/testkit/sql';
import {
  CUR,
  command,
  createHarness,
  submitOk,
  ulid,
  type Harness,
  type TestBet,
  withoutMarketResolution,
} from './harness.js';

const FUND = 1_000n;
const WINNERS = Array.from({ length: 1010 }, (_, i) => ulid(20_000 + i));
const LOSERS = Array.from({ length: 40 }, (_, i) => ulid(30_000 + i));
const wallet = (userId: string): string => `wallet:${userId}:${CUR}`;

for (const target of sqlTargets()) {
  describe(`settlement reversal on ${target.name}`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await createHarness(target);
      await h.fundUsers([...WINNERS, ...LOSERS], FUND);
    }, 120_000);
    afterEach(async () => {
      await h.dispose();
    });

    it(
      'a winner spending between the reversal ledger calls leaves nothing half reversed',
      { timeout: 180_000 },
      async () => {
        const market = await h.createMarket(1);
        const [win, lose] = market.outcomeIds as [string, string];
        const bets: TestBet[] = [
          ...WINNERS.map((userId, i) => ({
            betId: ulid(100_000 + i),
            userId,
            outcomeId: win,
            stakeMinor: 100n,
          })),
          ...LOSERS.map((userId, i) => ({
            betId: ulid(200_000 + i),
            userId,
            outcomeId: lose,
            stakeMinor: 500n,
          })),
        ];
        await h.placeBets(market, bets);
        await h.resolve(market, win);
        // Settled on the older path (holds resolved one by one): the ledger in this tree refuses
        // any new hold naming a market resolved with ResolveMarket (MARKET_RESOLVED), claw-back
        // holds included, so the two-phase reversal of such markets waits for that rule to be
        // limited to bet stakes.
        const settled = await h
          .runnerWith({ ledger: withoutMarketResolution(h.runnerDeps.ledger) })
          .runOnce(market.marketId);
        expect(settled?.status, settled?.lastError).toBe('COMPLETED');
        const spender = WINNERS[WINNERS.length - 1]!;
        const afterSettlement = new Map<string, bigint>();
        for (const user of [...WINNERS, ...LOSERS]) {
          afterSettlement.set(user, await h.balance(wallet(user)));
        }
        expect(afterSettlement.get(spender)).toBeGreaterThan(FUND);

        // The spender withdraws everything right after the reversal's first ledger call.
        let calls = 0;
        const spendAll = async () => {
          await submitOk(h.ledger, [
            command({
              transferId: `spend:${spender}`,
              debitAccountId: wallet(spender),
              creditAccountId: `house:${CUR}`,
              amountMinor: await h.available(wallet(spender)),
              memo: 'withdrawn',
            }),
          ]);
        };
        const racing = h.runnerWith({
          ledger: {
            ...h.runnerDeps.ledger,
            async submit(commands, context) {
              const outcomes = await h.runnerDeps.ledger.submit(commands, context);
              calls += 1;
              if (calls === 1) await spendAll();
              return outcomes;
            },
          },
        });
        const refused = await racing.reverse(market.marketId, 'wrong winner', ulid(999)).then(
          () => undefined,
          (error: unknown) => ConnectError.from(error),
        );
        expect(refused?.message, String(refused)).toContain('nothing was moved');
        expect(calls, refused?.message).toBeGreaterThan(1);
        // Nothing moved: every wallet as the settlement left it (the spender: what they spent),
        // nothing held, the escrow empty, the settlement still COMPLETED.
        for (const user of [...WINNERS, ...LOSERS]) {
          const expected = user === spender ? 0n : afterSettlement.get(user)!;
          expect(await h.balance(wallet(user))).toBe(expected);
          expect(await h.available(wallet(user))).toBe(expected);
        }
        expect(await h.balance(`market:${market.marketId}:escrow`)).toBe(0n);
        expect((await h.store.get(market.marketId))?.status).toBe('COMPLETED');
        await h.expectBalanced();

        // The money comes back; the next attempt (a new round of holds) reverses everything.
        await submitOk(h.ledger, [
          command({
            transferId: `return:${spender}`,
            debitAccountId: `house:${CUR}`,
            creditAccountId: wallet(spender),
            amountMinor: afterSettlement.get(spender)!,
            memo: 'returned',
          }),
        ]);
        const reversed = await h.internal.reverseSettlement(
          { marketId: market.marketId, reason: 'wrong winner', requestedByUserId: ulid(999) },
          await h.service('pool'),
        );
        expect((await h.store.get(market.marketId))?.status).toBe('REVERSED');
        for (const user of [...WINNERS, ...LOSERS]) {
          expect(await h.balance(wallet(user))).toBe(FUND);
          expect(await h.available(wallet(user))).toBe(FUND);
        }
        expect(await h.balance(`market:${market.marketId}:escrow`)).toBe(0n);
        expect(await h.balance(`rake:${CUR}`)).toBe(0n);
        await h.expectBalanced();
        // A repeat moves nothing.
        const again = await h.internal.reverseSettlement(
          { marketId: market.marketId, reason: 'wrong winner', requestedByUserId: ulid(999) },
          await h.service('pool'),
        );
        expect(again.settlement?.reversedAtMs).toBe(reversed.settlement?.reversedAtMs);
        for (const user of [WINNERS[0]!, LOSERS[0]!]) {
          expect(await h.balance(wallet(user))).toBe(FUND);
        }
      },
    );
  });
}
