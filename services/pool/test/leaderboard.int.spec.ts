import { Code } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  UserProfileUpdatedSchema,
  UserRegisteredSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import {
  PayoutMadeSchema,
  PayoutReversedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import {
  LeaderboardPeriod,
  LeaderboardScope,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { PayoutKind } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { boardAt } from '../src/domain/leaderboard.js';
import { createLeaderboards } from '../src/leaderboards.js';
import { createHarness, failure, startMs, type Harness } from './harness.js';

const targets = sqlTargets();
const DAY = 86_400_000;

function payout(
  userId: string,
  channelId: string,
  netMinor: bigint,
  paidAtMs: number,
  kind = PayoutKind.SETTLEMENT,
) {
  const stakeMinor = 100n;
  return {
    payout: {
      payoutId: `${channelId}-${userId}-${paidAtMs}`,
      marketId: `M-${channelId}`,
      channelId,
      userId,
      kind,
      currency: 'PTS',
      stakeMinor,
      payoutMinor: stakeMinor + netMinor,
      netMinor,
      paidAtMs: BigInt(paidAtMs),
    },
  };
}

describe.each(targets.map((t) => [t.name, t] as const))('leaderboards on %s', (_name, target) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(target);
    await h.linkChannel('CHL1', 'owner-1');
    await h.linkChannel('CHL2', 'owner-2');
    await h.linkChannel('CHL3', 'owner-3');
    const today = startMs - 3_600_000;
    const results = [
      await h.settlementEvent('e-alice', PayoutMadeSchema, payout('alice', 'CHL1', 300n, today)),
      await h.settlementEvent('e-bob', PayoutMadeSchema, payout('bob', 'CHL1', 100n, today)),
      await h.settlementEvent('e-carol', PayoutMadeSchema, payout('carol', 'CHL2', 100n, today)),
      await h.settlementEvent('e-dave', PayoutMadeSchema, payout('dave', 'CHL1', -50n, today)),
      await h.settlementEvent('e-erin', PayoutMadeSchema, payout('erin', 'CHL1', 100n, today)),
      // Yesterday was a Sunday: it counts all-time only (not today, not this ISO week).
      await h.settlementEvent(
        'e-frank',
        PayoutMadeSchema,
        payout('frank', 'CHL1', 1000n, startMs - DAY),
      ),
      // Refunds and revenue shares are not results: ignored.
      await h.settlementEvent(
        'e-refund',
        PayoutMadeSchema,
        payout('gina', 'CHL1', 0n, today, PayoutKind.REFUND),
      ),
      await h.settlementEvent(
        'e-share',
        PayoutMadeSchema,
        payout('owner-1', 'CHL1', 40n, today, PayoutKind.STREAMER_REVENUE_SHARE),
      ),
    ];
    expect(results.every(Boolean)).toBe(true);
    await h.projectionEvent('u-alice', UserRegisteredSchema, {
      userId: 'alice',
      displayName: 'Alice',
    });
    await h.projectionEvent('u-alice-2', UserProfileUpdatedSchema, {
      userId: 'alice',
      displayName: 'Alice A.',
    });
  });
  afterAll(async () => {
    await h.dispose();
  });

  const request = (
    scope: LeaderboardScope,
    period: LeaderboardPeriod,
    channelId = '',
    pageSize = 0,
    pageToken = '',
  ) => ({
    scope,
    period,
    channelId,
    currency: 'PTS',
    page: { pageSize, pageToken },
  });

  function rows(entries: ReadonlyArray<{ rank: bigint; userId: string; netProfitMinor: bigint }>) {
    return entries.map((e) => [Number(e.rank), e.userId, Number(e.netProfitMinor)]);
  }

  it('given settled payouts, then boards rank by net profit with competition ranks and ties by user id', async () => {
    const channel = await h.pool.getLeaderboard(
      request(LeaderboardScope.CHANNEL, LeaderboardPeriod.DAILY, 'CHL1'),
    );
    expect(rows(channel.entries)).toEqual([
      [1, 'alice', 300],
      [2, 'bob', 100],
      [2, 'erin', 100],
      [4, 'dave', -50],
    ]);
    expect(channel.periodStartsAtMs).toBe(BigInt(Date.UTC(2026, 10, 23)));
    expect(channel.periodEndsAtMs).toBe(BigInt(Date.UTC(2026, 10, 24)));
    expect(channel.callerEntry).toBeUndefined();
    const allTime = await h.pool.getLeaderboard(
      request(LeaderboardScope.GLOBAL, LeaderboardPeriod.ALL_TIME),
    );
    expect(rows(allTime.entries)).toEqual([
      [1, 'frank', 1000],
      [2, 'alice', 300],
      [3, 'bob', 100],
      [3, 'carol', 100],
      [3, 'erin', 100],
      [6, 'dave', -50],
    ]);
    expect(allTime.entries[0]!.settledMarketCount).toBe(1n);
    expect(allTime.entries.map((e) => e.displayName).slice(0, 3)).toEqual(['', 'Alice A.', '']);
    const weekly = await h.pool.getLeaderboard(
      request(LeaderboardScope.GLOBAL, LeaderboardPeriod.WEEKLY),
    );
    expect(weekly.entries.map((e) => e.userId)).not.toContain('frank');
  });

  it('given pages that start inside a tie, then ranks stay competition ranks; the caller sees their own entry', async () => {
    const erin = await h.as('erin', 'viewer');
    const first = await h.pool.getLeaderboard(
      request(LeaderboardScope.GLOBAL, LeaderboardPeriod.DAILY, '', 2),
      erin,
    );
    expect(rows(first.entries)).toEqual([
      [1, 'alice', 300],
      [2, 'bob', 100],
    ]);
    expect(rows([first.callerEntry!])).toEqual([[2, 'erin', 100]]);
    const second = await h.pool.getLeaderboard(
      request(LeaderboardScope.GLOBAL, LeaderboardPeriod.DAILY, '', 2, first.page!.nextPageToken),
    );
    expect(rows(second.entries)).toEqual([
      [2, 'carol', 100],
      [2, 'erin', 100],
    ]);
    const third = await h.pool.getLeaderboard(
      request(LeaderboardScope.GLOBAL, LeaderboardPeriod.DAILY, '', 2, second.page!.nextPageToken),
    );
    expect(rows(third.entries)).toEqual([[5, 'dave', -50]]);
    expect(third.page!.nextPageToken).toBe('');
    const otherBoard = await failure(
      h.pool.getLeaderboard(
        request(
          LeaderboardScope.GLOBAL,
          LeaderboardPeriod.WEEKLY,
          '',
          2,
          first.page!.nextPageToken,
        ),
      ),
    );
    expect(otherBoard).toMatchObject({
      code: Code.InvalidArgument,
      message: expect.stringContaining('page.page_token') as string,
    });
  });

  it('given a net profit beyond 2^53 minor units, then the board shows it exactly (bigint to the wire)', async () => {
    // On its own currency's boards so the other cases' rankings stay as they are.
    const huge = 2n ** 53n + 1n; // Number(huge) === 2 ** 53: one minor unit lost in a double
    const made = payout('whale', 'CHL3', huge, startMs - 3_600_000);
    expect(
      await h.settlementEvent('e-whale', PayoutMadeSchema, {
        payout: { ...made.payout, currency: 'BRL' },
      }),
    ).toBe(true);
    const brlBoard = {
      ...request(LeaderboardScope.CHANNEL, LeaderboardPeriod.ALL_TIME, 'CHL3'),
      currency: 'BRL',
    };
    const board = await h.pool.getLeaderboard(brlBoard, await h.as('whale', 'viewer'));
    expect(board.entries.map((e) => [e.userId, e.netProfitMinor])).toEqual([['whale', huge]]);
    expect(board.callerEntry?.netProfitMinor).toBe(huge);
  });

  it('given the same settlement event delivered twice, then it counts once', async () => {
    expect(
      await h.settlementEvent(
        'e-alice',
        PayoutMadeSchema,
        payout('alice', 'CHL1', 300n, startMs - 3_600_000),
      ),
    ).toBe(false);
    const board = await h.pool.getLeaderboard(
      request(LeaderboardScope.CHANNEL, LeaderboardPeriod.ALL_TIME, 'CHL1'),
    );
    expect(board.entries.find((e) => e.userId === 'alice')).toMatchObject({
      netProfitMinor: 300n,
      settledMarketCount: 1n,
    });
  });

  it('given a cache loss, then the sorted sets are rebuilt from SQL with the same ranking', async () => {
    const fresh = createLeaderboards({
      sql: h.db.sql,
      cache: createMemoryCache({ now: () => h.clock.now() }),
    });
    const board = boardAt('GLOBAL', '', 'ALL_TIME', 'PTS', h.clock.now());
    const rebuilt = await fresh.read(
      board,
      { pageSize: 50, pageToken: '', callerUserId: undefined },
      h.clock.now(),
    );
    const served = await h.leaderboards.read(
      board,
      { pageSize: 50, pageToken: '', callerUserId: undefined },
      h.clock.now(),
    );
    expect(rebuilt.entries).toEqual(served.entries);
    expect(rebuilt.entries).toHaveLength(6);
  });

  it('given a payout reversed by a void, then the market is removed from every board it counted on (once, even if redelivered)', async () => {
    const reversal = {
      ...payout('bob', 'CHL1', 100n, startMs - 3_600_000),
      adjustmentMinor: -100n,
      reversedAtMs: BigInt(startMs),
    };
    expect(await h.settlementEvent('r-bob', PayoutReversedSchema, reversal)).toBe(true);
    expect(await h.settlementEvent('r-bob', PayoutReversedSchema, reversal)).toBe(false);
    const global = await h.pool.getLeaderboard(
      request(LeaderboardScope.GLOBAL, LeaderboardPeriod.ALL_TIME),
    );
    expect(global.entries.map((e) => e.userId)).toEqual([
      'frank',
      'alice',
      'carol',
      'erin',
      'dave',
    ]);
    const channel = await h.pool.getLeaderboard(
      request(LeaderboardScope.CHANNEL, LeaderboardPeriod.DAILY, 'CHL1'),
    );
    expect(rows(channel.entries)).toEqual([
      [1, 'alice', 300],
      [2, 'erin', 100],
      [3, 'dave', -50],
    ]);
  });

  it('given bad requests, then INVALID_ARGUMENT naming the field, or NOT_FOUND for an unknown channel', async () => {
    const cases: Array<[ReturnType<typeof request>, string]> = [
      [request(LeaderboardScope.UNSPECIFIED, LeaderboardPeriod.DAILY), 'scope'],
      [request(LeaderboardScope.GLOBAL, LeaderboardPeriod.UNSPECIFIED), 'period'],
      [request(LeaderboardScope.CHANNEL, LeaderboardPeriod.DAILY), 'channel_id'],
      [request(LeaderboardScope.GLOBAL, LeaderboardPeriod.DAILY, 'CHL1'), 'channel_id'],
      [
        { ...request(LeaderboardScope.GLOBAL, LeaderboardPeriod.DAILY), currency: 'EUR' },
        'currency',
      ],
      [request(LeaderboardScope.GLOBAL, LeaderboardPeriod.DAILY, '', 500), 'page.page_size'],
    ];
    for (const [req, field] of cases) {
      const error = await failure(h.pool.getLeaderboard(req));
      expect(error.code, field).toBe(Code.InvalidArgument);
      expect(error.message).toContain(`${field}:`);
    }
    expect(
      (
        await failure(
          h.pool.getLeaderboard(request(LeaderboardScope.CHANNEL, LeaderboardPeriod.DAILY, 'NOPE')),
        )
      ).code,
    ).toBe(Code.NotFound);
  });
});

if (!targets.some((t) => t.name === 'postgres')) {
  describe.skip(`leaderboards on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs the same cases on real PostgreSQL', () => {});
  });
}
