/**
 * The pure placement rules: rejection order and figures, the per-user cap, betting-window edges,
 * eligibility mapping, and the POOL payout formula (product.md).
 */
import { describe, expect, it } from 'vitest';
import {
  bettingOpen,
  checkBettorRole,
  checkPlacement,
  poolPayoutMinor,
  rejectionFromIneligibility,
  type MarketView,
} from '../src/domain/bet.js';
import { oddsSnapshot } from '../src/domain/odds.js';

const market: MarketView = {
  marketId: 'M1',
  channelId: 'C1',
  channelOwnerUserId: 'streamer',
  title: 'T',
  kind: 'POOL',
  currency: 'PTS',
  outcomes: [
    { outcomeId: 'yes', title: 'Yes' },
    { outcomeId: 'no', title: 'No' },
  ],
  minStakeMinor: 10n,
  maxStakePerBetMinor: 500n,
  maxStakePerUserMinor: 800n,
  commissionBps: 500,
  state: 'OPEN',
  bettingClosesAtMs: 1_000,
  lockEffectiveAtMs: undefined,
  marketVersion: 2,
};
const request = {
  userId: 'u1',
  marketId: 'M1',
  outcomeId: 'yes',
  currency: 'PTS',
  stakeMinor: 100n,
};

describe('checkPlacement', () => {
  it('given a valid bet before the window closes, then it passes', () => {
    expect(checkPlacement(market, request, 999, 0n)).toBeUndefined();
  });

  it('given the window end or a fixed lock instant, then betting is closed', () => {
    expect(checkPlacement(market, request, 1_000, 0n)?.reason).toBe('BETTING_CLOSED');
    expect(bettingOpen({ ...market, lockEffectiveAtMs: 500 }, 10)).toBe(false);
    expect(checkPlacement({ ...market, state: 'LOCKED' }, request, 10, 0n)?.reason).toBe(
      'MARKET_NOT_OPEN',
    );
  });

  it('given shape problems, then the first one in contract order is reported with its figures', () => {
    expect(checkPlacement(market, { ...request, outcomeId: 'x' }, 0, 0n)?.reason).toBe(
      'UNKNOWN_OUTCOME',
    );
    expect(checkPlacement(market, { ...request, currency: 'BRL' }, 0, 0n)).toMatchObject({
      reason: 'CURRENCY_MISMATCH',
      currency: 'PTS',
    });
    expect(checkPlacement(market, { ...request, stakeMinor: 9n }, 0, 0n)).toMatchObject({
      reason: 'STAKE_BELOW_MIN',
      limitMinor: 10n,
    });
    expect(checkPlacement(market, { ...request, stakeMinor: 501n }, 0, 0n)).toMatchObject({
      reason: 'STAKE_ABOVE_MAX',
      limitMinor: 500n,
    });
    expect(checkPlacement(market, { ...request, userId: 'streamer' }, 0, 0n)?.reason).toBe(
      'OWN_CHANNEL',
    );
  });

  it('given earlier stakes, then the per-user cap reports what is left', () => {
    expect(checkPlacement(market, request, 0, 700n)).toBeUndefined();
    expect(checkPlacement(market, request, 0, 701n)).toMatchObject({
      reason: 'USER_MARKET_LIMIT',
      limitMinor: 800n,
      availableMinor: 99n,
    });
    expect(checkPlacement(market, request, 0, undefined)).toBeUndefined();
  });
});

describe('checkBettorRole', () => {
  it('given an admin, then betting is refused as a conflict of interest; viewers and streamers pass', () => {
    expect(checkBettorRole('admin')).toMatchObject({ reason: 'CONFLICT_OF_INTEREST' });
    expect(checkBettorRole('viewer')).toBeUndefined();
    expect(checkBettorRole('streamer')).toBeUndefined();
  });
});

describe('rejectionFromIneligibility', () => {
  it('given several reasons, then permission problems come first, with their end time', () => {
    expect(
      rejectionFromIneligibility(
        [
          { reason: 'LOSS_LIMIT_EXCEEDED', untilMs: 5, remainingMinor: 3n },
          { reason: 'COOLING_OFF', untilMs: 9, remainingMinor: undefined },
        ],
        'BRL',
      ),
    ).toMatchObject({ reason: 'COOL_OFF', untilMs: 9 });
    expect(
      rejectionFromIneligibility(
        [{ reason: 'LOSS_LIMIT_EXCEEDED', untilMs: 5, remainingMinor: 3n }],
        'BRL',
      ),
    ).toMatchObject({ reason: 'LOSS_LIMIT', availableMinor: 3n, currency: 'BRL', untilMs: 5 });
  });
});

describe('POOL payout and odds', () => {
  it('pays a winner s + floor(s × D / P_w) and a loser nothing', () => {
    const pay = (stakeMinor: bigint, won: boolean) =>
      poolPayoutMinor({ stakeMinor, won, distributableMinor: 180n, winningStakedMinor: 400n });
    expect([pay(300n, true), pay(100n, true), pay(200n, false)]).toEqual([435n, 145n, 0n]);
    expect(
      poolPayoutMinor({
        stakeMinor: 1n,
        won: true,
        distributableMinor: 1n,
        winningStakedMinor: 3n,
      }),
    ).toBe(1n);
  });

  it('computes the snapshot with empty odds while an outcome has no stake', () => {
    const snapshot = oddsSnapshot(
      {
        marketId: 'M1',
        kind: 'POOL',
        currency: 'PTS',
        commissionBps: 500,
        bettorCount: 1n,
        version: 7n,
        outcomes: [
          { outcomeId: 'yes', stakedMinor: 100n, betCount: 1n },
          { outcomeId: 'no', stakedMinor: 0n, betCount: 0n },
        ],
      },
      42,
    );
    expect(snapshot.outcomes.map((o) => o.decimalOdds)).toEqual(['1.00', '']);
    expect([snapshot.totalStakedMinor, snapshot.version, snapshot.computedAtMs]).toEqual([
      100n,
      7n,
      42,
    ]);
  });
});
