/**
 * Leaderboards from PayoutsMade pages (issue 12: settlement publishes a market's payout rows in
 * pages of up to 2,000): every SETTLEMENT row of a page counts exactly as one PayoutMade would,
 * refunds and revenue shares are ignored, and a redelivered page counts once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayoutsMadeSchema } from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import {
  LeaderboardPeriod,
  LeaderboardScope,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { PayoutKind } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import { createHarness, startMs, type Harness } from './harness.js';

const targets = sqlTargets();

function row(userId: string, netMinor: bigint, kind = PayoutKind.SETTLEMENT) {
  return {
    payoutId: `PAGE-${userId}-${kind}`,
    marketId: 'M-PAGE',
    channelId: 'CHP',
    userId,
    kind,
    currency: 'PTS',
    stakeMinor: 100n,
    payoutMinor: 100n + netMinor,
    netMinor,
    paidAtMs: BigInt(startMs - 3_600_000),
  };
}

describe.each(targets.map((t) => [t.name, t] as const))(
  'leaderboard pages on %s',
  (_name, target) => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
      await h.linkChannel('CHP', 'owner-p');
    });
    afterAll(async () => {
      await h.dispose();
    });

    it('given a PayoutsMade page, then each SETTLEMENT row ranks as one PayoutMade, once', async () => {
      const page = {
        marketId: 'M-PAGE',
        payouts: [
          row('pa', 250n),
          row('pb', -100n),
          row('pc', 0n, PayoutKind.REFUND),
          row('owner-p', 30n, PayoutKind.STREAMER_REVENUE_SHARE),
          row('pd', 40n),
        ],
      };
      expect(await h.settlementEvent('page-1', PayoutsMadeSchema, page)).toBe(true);
      expect(await h.settlementEvent('page-1', PayoutsMadeSchema, page)).toBe(false);
      const board = await h.pool.getLeaderboard({
        scope: LeaderboardScope.CHANNEL,
        period: LeaderboardPeriod.DAILY,
        channelId: 'CHP',
        currency: 'PTS',
        page: { pageSize: 0, pageToken: '' },
      });
      expect(
        board.entries.map((e) => [Number(e.rank), e.userId, Number(e.netProfitMinor)]),
      ).toEqual([
        [1, 'pa', 250],
        [2, 'pd', 40],
        [3, 'pb', -100],
      ]);
    });
  },
);
