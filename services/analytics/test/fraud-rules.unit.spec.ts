/** Each fraud rule alone: it raises a flag with its evidence at its threshold, and nothing below. */
import { describe, expect, it } from 'vitest';
import {
  depositWithdrawCycling,
  lateBetCluster,
  repeatedRetroactiveVoids,
  streamerAltBetting,
  velocitySpike,
  type FraudThresholds,
} from '../src/domain/fraud.js';

const t: FraudThresholds = {
  lateBetWindowMs: 10_000,
  lateBetMinAccounts: 3,
  cyclingLookbackMs: 72 * 3_600_000,
  cyclingMinDepositMinor: 10_000n,
  cyclingMaxStakeBps: 2000,
  cyclingMinWithdrawBps: 8000,
  velocityWindowMs: 60_000,
  velocityMaxBets: 5,
  retroVoidLookbackMs: 168 * 3_600_000,
  retroVoidMinCount: 3,
};

describe('STREAMER_ALT_BETTING', () => {
  const base = {
    betId: 'b1',
    bettorId: 'alt',
    marketId: 'm1',
    channelId: 'c1',
    ownerUserId: 'streamer',
    stakeMinor: 500n,
    ownerLinks: [
      { kind: 'device' as const, id: 'd-1' },
      { kind: 'network' as const, id: 'n-1' },
    ],
  };
  it('flags a bettor sharing the owner’s device, with the shared link as evidence', () => {
    const [flag, ...rest] = streamerAltBetting({
      ...base,
      bettorLinks: [
        { kind: 'device', id: 'd-1' },
        { kind: 'network', id: 'n-9' },
      ],
    });
    expect(rest).toEqual([]);
    expect(flag).toMatchObject({
      rule: 'STREAMER_ALT_BETTING',
      userIds: ['alt', 'streamer'],
      marketId: 'm1',
      evidence: { betId: 'b1', sharedLinks: [{ kind: 'device', id: 'd-1' }] },
      dedupeKey: 'alt:m1:alt',
    });
  });
  it('leaves strangers, the owner and unknown owners alone', () => {
    expect(streamerAltBetting({ ...base, bettorLinks: [{ kind: 'device', id: 'd-2' }] })).toEqual(
      [],
    );
    expect(
      streamerAltBetting({ ...base, bettorId: 'streamer', bettorLinks: base.ownerLinks }),
    ).toEqual([]);
    expect(streamerAltBetting({ ...base, ownerUserId: '', bettorLinks: base.ownerLinks })).toEqual(
      [],
    );
  });
});

describe('LATE_BET_CLUSTER', () => {
  const lock = 1_000_000;
  const bet = (userId: string, secondsBefore: number, networkId = 'n-1', deviceId = '') => ({
    betId: `b-${userId}-${secondsBefore}`,
    userId,
    placedAtMs: lock - secondsBefore * 1000,
    deviceId,
    networkId,
  });
  const input = (bets: ReturnType<typeof bet>[]) => ({
    marketId: 'm1',
    channelId: 'c1',
    lockEffectiveAtMs: lock,
    lockedAtMs: lock + 5000,
    bets,
  });
  it('flags 3 accounts on one network betting 2–5 s before the lock', () => {
    const flags = lateBetCluster(input([bet('a', 5), bet('b', 3), bet('c', 2), bet('c', 2.5)]), t);
    expect(flags).toHaveLength(1);
    expect(flags[0]).toMatchObject({
      rule: 'LATE_BET_CLUSTER',
      userIds: ['a', 'b', 'c'],
      evidence: { networkId: 'n-1' },
    });
    expect(flags[0]?.summary).toBe('3 accounts on network n-1 bet 2–5 s before the lock');
  });
  it('needs the minimum of distinct accounts inside the window', () => {
    expect(lateBetCluster(input([bet('a', 5), bet('b', 3), bet('b', 2)]), t)).toEqual([]);
    expect(lateBetCluster(input([bet('a', 11), bet('b', 3), bet('c', 2)]), t)).toEqual([]);
    expect(
      lateBetCluster(input([bet('a', 5, 'n-1'), bet('b', 3, 'n-2'), bet('c', 2, 'n-3')]), t),
    ).toEqual([]);
  });
});

describe('DEPOSIT_WITHDRAW_CYCLING', () => {
  const input = (stakedMinor: bigint, withdrawalMinor: bigint) => ({
    userId: 'u',
    paymentId: 'p-9',
    withdrawalMinor,
    atMs: 100 * 3_600_000,
    deposits: [
      { amountMinor: 30_000n, atMs: 90 * 3_600_000 },
      { amountMinor: 20_000n, atMs: 95 * 3_600_000 },
      { amountMinor: 99_999n, atMs: 1 * 3_600_000 }, // outside the lookback
    ],
    stakedMinor,
  });
  it('flags taking most of the deposits back out after little betting', () => {
    expect(depositWithdrawCycling(input(9_999n, 40_000n), t)).toMatchObject([
      {
        rule: 'DEPOSIT_WITHDRAW_CYCLING',
        userIds: ['u'],
        evidence: { depositedMinor: '50000', stakedMinor: '9999', withdrawalMinor: '40000' },
        dedupeKey: 'cycle:p-9',
      },
    ]);
  });
  it('leaves real betting, small withdrawals and small deposits alone', () => {
    expect(depositWithdrawCycling(input(10_000n, 40_000n), t)).toEqual([]);
    expect(depositWithdrawCycling(input(0n, 39_999n), t)).toEqual([]);
    expect(
      depositWithdrawCycling(
        { ...input(0n, 9_000n), deposits: [{ amountMinor: 9_999n, atMs: 99 * 3_600_000 }] },
        t,
      ),
    ).toEqual([]);
  });
});

describe('VELOCITY_SPIKE', () => {
  it('flags the 5th bet within a minute, not the 4th', () => {
    const times = [1000, 11_000, 21_000, 31_000, 41_000];
    expect(velocitySpike({ userId: 'u', atMs: 41_000, betTimesMs: times.slice(0, 4) }, t)).toEqual(
      [],
    );
    expect(velocitySpike({ userId: 'u', atMs: 41_000, betTimesMs: times }, t)).toMatchObject([
      { rule: 'VELOCITY_SPIKE', userIds: ['u'], evidence: { bets: 5 } },
    ]);
    expect(velocitySpike({ userId: 'u', atMs: 61_500, betTimesMs: times }, t)).toEqual([]);
  });
});

describe('REPEATED_RETROACTIVE_VOIDS', () => {
  it('flags voids on 3 markets within the lookback; several on one market count once', () => {
    const voids = [
      { betId: 'b1', marketId: 'm1', atMs: 1000 },
      { betId: 'b2', marketId: 'm1', atMs: 2000 },
      { betId: 'b3', marketId: 'm2', atMs: 3000 },
    ];
    expect(repeatedRetroactiveVoids({ userId: 'u', atMs: 3000, voids }, t)).toEqual([]);
    expect(
      repeatedRetroactiveVoids(
        { userId: 'u', atMs: 4000, voids: [...voids, { betId: 'b4', marketId: 'm3', atMs: 4000 }] },
        t,
      ),
    ).toMatchObject([{ rule: 'REPEATED_RETROACTIVE_VOIDS', userIds: ['u'] }]);
  });
});
