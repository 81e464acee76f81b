/**
 * Loss limits from PayoutsMade pages (issue 12: settlement publishes a market's payout rows in
 * pages of up to 2,000): every real-money SETTLEMENT row of a page counts for its own user exactly
 * as one PayoutMade would; refunds, play money and unknown users are skipped; a redelivered page,
 * or a row already counted from a PayoutMade, counts once.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  PayoutMadeSchema,
  PayoutsMadeSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { PayoutKind } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import {
  EligibilityAction,
  IneligibilityReason,
  LimitPeriod,
} from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { as, createHarness, startMs, type Harness } from '../identity/harness.js';

const targets = sqlTargets();
const brl = (amountMinor: bigint) => ({ amountMinor, currency: 'BRL' });

for (const target of targets) {
  describe(`loss limits from payout pages on ${target.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    });
    afterAll(async () => {
      await h?.dispose();
    });
    beforeEach(() => h.clock.set(startMs));

    async function remaining(userId: string, amountMinor: bigint) {
      const res = await h.internal.checkEligibility(
        {
          checks: [
            { userId, action: EligibilityAction.BET, amount: { amountMinor, currency: 'BRL' } },
          ],
        },
        await h.service('bet-engine'),
      );
      return res.results[0]!.result!;
    }

    it('counts each real-money settled row of a page for its own user, once', async () => {
      const a = await h.register('page_loss_a');
      const b = await h.register('page_loss_b');
      for (const { tokens } of [a, b]) {
        await h.users.setLossLimit({ period: LimitPeriod.DAILY, amount: brl(1_000n) }, as(tokens));
      }
      const row = (payoutId: string, userId: string, netMinor: bigint, extra = {}) => ({
        payoutId,
        marketId: 'm-page',
        userId,
        kind: PayoutKind.SETTLEMENT,
        currency: 'BRL',
        stakeMinor: 800n,
        payoutMinor: 800n + netMinor,
        netMinor,
        paidAtMs: BigInt(startMs),
        ...extra,
      });
      const rowA = row('pg-a', a.user.userId, -800n);
      // B's row first arrived alone as a PayoutMade (an event published before pages).
      const alone = {
        id: 'page-b-alone',
        type: PayoutMadeSchema.typeName,
        topic: 'settlement',
        key: 'm-page',
        headers: {},
        occurredAtMs: startMs,
        payload: toBinary(
          PayoutMadeSchema,
          create(PayoutMadeSchema, { payout: row('pg-b', b.user.userId, -300n) }),
        ),
      };
      expect(await h.applySettlementEvent(alone)).toBe('applied');
      const page = {
        ...alone,
        id: 'page-1',
        type: PayoutsMadeSchema.typeName,
        payload: toBinary(
          PayoutsMadeSchema,
          create(PayoutsMadeSchema, {
            marketId: 'm-page',
            payouts: [
              rowA,
              row('pg-b', b.user.userId, -300n),
              row('pg-a-pts', a.user.userId, -500n, { currency: 'PTS' }),
              row('pg-a-refund', a.user.userId, 0n, { kind: PayoutKind.REFUND }),
              row('pg-nobody', '01ARZ3NDEKTSV4RRFFQ69G5FAV', -900n),
            ],
          }),
        ),
      };
      expect(await h.applySettlementEvent(page)).toBe('applied');
      expect(await h.applySettlementEvent(page)).toBe('duplicate');
      const refusedA = await remaining(a.user.userId, 300n);
      expect(refusedA.reasons[0]).toMatchObject({
        reason: IneligibilityReason.LOSS_LIMIT_EXCEEDED,
        remaining: brl(200n),
      });
      // B's -300 counted once (from the PayoutMade), not again from the page.
      expect((await remaining(b.user.userId, 700n)).allowed).toBe(true);
      expect((await remaining(b.user.userId, 701n)).allowed).toBe(false);
    });
  });
}
