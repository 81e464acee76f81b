/**
 * The group commit's decision over a batch (decideBatch): idempotent repeats, unknown markets,
 * the per-user cap counting earlier placements of the same batch, and each rejection's kind.
 */
import { describe, expect, it } from 'vitest';
import {
  decideBatch,
  reject,
  type BatchPlacement,
  type MarketView,
  type PlacementContent,
} from '../src/domain/bet.js';

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

const placement = (key: string, stakeMinor: bigint, userId = 'u1'): BatchPlacement => ({
  userId,
  marketId: 'M1',
  outcomeId: 'yes',
  currency: 'PTS',
  stakeMinor,
  idempotencyKey: key,
});

type Bet = PlacementContent & { readonly id: string };
const newBet = (p: BatchPlacement): Bet => ({ ...p, id: `bet-${p.idempotencyKey}` });

describe('decideBatch', () => {
  it('given earlier stakes of the batch, then the per-user cap counts them and other users are apart', () => {
    const verdicts = decideBatch(
      [
        placement('a', 400n),
        placement('b', 300n),
        placement('c', 200n),
        placement('d', 500n, 'u2'),
      ],
      {
        markets: new Map([['M1', market]]),
        betsByKey: new Map(),
        stakeMinorByMarketUser: new Map([['M1 u1', 50n]]),
      },
      10,
      newBet,
    );
    expect(verdicts.map((v) => v.kind)).toEqual(['intent', 'intent', 'rejected', 'intent']);
    expect(verdicts[2]).toMatchObject({
      rejection: { reason: 'USER_MARKET_LIMIT', kind: 'illegal-state', availableMinor: 50n },
    });
    expect(verdicts[0]).toEqual({ kind: 'intent', bet: newBet(placement('a', 400n)) });
  });

  it('given a key used before or earlier in the batch, then the same content is that bet and other content a conflict', () => {
    const stored: Bet = { ...placement('old', 100n), id: 'stored' };
    const verdicts = decideBatch(
      [
        placement('old', 100n),
        placement('old', 200n),
        placement('new', 20n),
        placement('new', 20n),
      ],
      {
        markets: new Map([['M1', market]]),
        betsByKey: new Map([['u1 old', stored]]),
        stakeMinorByMarketUser: new Map(),
      },
      10,
      newBet,
    );
    expect(verdicts).toEqual([
      { kind: 'existing', bet: stored },
      { kind: 'conflict', bet: stored },
      { kind: 'intent', bet: newBet(placement('new', 20n)) },
      { kind: 'existing', bet: newBet(placement('new', 20n)) },
    ]);
  });

  it('given an unknown market or a closed window, then rejected with the kind the reason has', () => {
    const verdicts = decideBatch(
      [{ ...placement('x', 20n), marketId: 'nope' }, placement('y', 20n), placement('z', 5n)],
      {
        markets: new Map([['M1', { ...market, bettingClosesAtMs: 5 }]]),
        betsByKey: new Map(),
        stakeMinorByMarketUser: new Map(),
      },
      10,
      newBet,
    );
    expect(verdicts.slice(0, 2)).toEqual([
      { kind: 'rejected', rejection: reject('INVALID_REQUEST', 'market nope does not exist') },
      {
        kind: 'rejected',
        rejection: reject('BETTING_CLOSED', 'betting on market M1 has closed'),
      },
    ]);
    expect(verdicts[0]).toMatchObject({ rejection: { kind: 'validation' } });
    expect(verdicts[1]).toMatchObject({ rejection: { kind: 'illegal-state' } });
    expect(verdicts[2]).toMatchObject({
      rejection: { reason: 'STAKE_BELOW_MIN', kind: 'validation' },
    });
    expect(reject('OWN_CHANNEL', 'x').kind).toBe('permission-denied');
  });
});
