import { describe, expect, it } from 'vitest';
import { IllegalStateError, ValidationError } from '@streambet/platform/errors/domain-errors';
import { INT64_MAX_MINOR } from '../src/bounds.js';
import {
  createPoolPayoutCalculator,
  createPoolTotalsAccumulator,
  decidePoolSettlement,
  settlePool,
  settlePoolPayouts,
  type PoolBet,
  type PoolSettlementTerms,
} from '../src/settlement.js';

const terms = (overrides: Partial<PoolSettlementTerms> = {}): PoolSettlementTerms => ({
  outcomeIds: ['a', 'b', 'c'],
  winningOutcomeId: 'a',
  commissionBps: 0,
  streamerShareBps: 0,
  ...overrides,
});

let nextBet = 0;
const bet = (userId: string, outcomeId: string, stakeMinor: bigint): PoolBet => ({
  betId: `bet-${String(++nextBet).padStart(6, '0')}`,
  userId,
  outcomeId,
  stakeMinor,
});

function payoutsByBet(result: ReturnType<typeof settlePool>): bigint[] {
  return result.bets.map((b) => b.payoutMinor);
}

describe('pool settlement: payout', () => {
  it('given the worked example (T=100, P_w=60, 5% commission, half to the streamer), when settled, then every figure follows the formula', () => {
    const result = settlePool(
      [bet('u1', 'a', 40n), bet('u2', 'a', 20n), bet('u3', 'b', 40n)],
      terms({ commissionBps: 500, streamerShareBps: 5000 }),
    );
    // L = 40, C = floor(40 × 0.05) = 2, D = 38; 40×38/60 = 25.33 → 25; 20×38/60 = 12.66 → 12.
    expect(result.kind).toBe('PAYOUT');
    expect(result.figures).toEqual({
      totalStakedMinor: 100n,
      winningStakedMinor: 60n,
      losingStakedMinor: 40n,
      commissionMinor: 2n,
      streamerShareMinor: 1n,
      rakeMinor: 1n,
      distributableMinor: 38n,
      breakageMinor: 1n,
      payoutTotalMinor: 97n,
      betCount: 3,
      payoutCount: 3,
      winnerCount: 2,
    });
    expect(
      result.bets.map((b) => [b.result, b.payoutMinor, b.netProfitMinor, b.holdAction]),
    ).toEqual([
      ['WON', 65n, 25n, 'POST_IN_FULL'],
      ['WON', 32n, 12n, 'POST_IN_FULL'],
      ['LOST', 0n, -40n, 'POST_IN_FULL'],
    ]);
    expect(result.ledger).toEqual({
      holdAction: 'POST_IN_FULL',
      postedToEscrowMinor: 100n,
      escrowTransfers: [
        { code: 'PAYOUT', userId: 'u1', amountMinor: 65n },
        { code: 'PAYOUT', userId: 'u2', amountMinor: 32n },
        { code: 'COMMISSION', amountMinor: 1n },
        { code: 'STREAMER_SHARE', amountMinor: 1n },
        { code: 'BREAKAGE', amountMinor: 1n },
      ],
    });
    expect(result.users).toEqual([
      { userId: 'u1', kind: 'SETTLEMENT', stakeMinor: 40n, payoutMinor: 65n, netMinor: 25n },
      { userId: 'u2', kind: 'SETTLEMENT', stakeMinor: 20n, payoutMinor: 32n, netMinor: 12n },
      { userId: 'u3', kind: 'SETTLEMENT', stakeMinor: 40n, payoutMinor: 0n, netMinor: -40n },
    ]);
  });

  it('given a user with bets on several outcomes, when settled, then their payout row sums every bet and the ledger pays them once', () => {
    const result = settlePool(
      [bet('u1', 'a', 30n), bet('u2', 'b', 50n), bet('u1', 'b', 20n), bet('u1', 'a', 20n)],
      terms(),
    );
    // P_w = 50, L = 70, D = 70: 30 → 30 + 42 = 72; 20 → 20 + 28 = 48.
    expect(payoutsByBet(result)).toEqual([72n, 0n, 0n, 48n]);
    expect(result.users).toEqual([
      { userId: 'u1', kind: 'SETTLEMENT', stakeMinor: 70n, payoutMinor: 120n, netMinor: 50n },
      { userId: 'u2', kind: 'SETTLEMENT', stakeMinor: 50n, payoutMinor: 0n, netMinor: -50n },
    ]);
    expect(result.ledger.escrowTransfers).toEqual([
      { code: 'PAYOUT', userId: 'u1', amountMinor: 120n },
    ]);
  });

  it('given one-unit stakes that do not divide, when settled, then every winner gets exactly the stake back and the rest is breakage', () => {
    const result = settlePool(
      [bet('u1', 'a', 1n), bet('u2', 'a', 1n), bet('u3', 'a', 1n), bet('u4', 'b', 1n)],
      terms(),
    );
    // D = 1, each floor(1 × 1 / 3) = 0.
    expect(payoutsByBet(result)).toEqual([1n, 1n, 1n, 0n]);
    expect(result.figures.breakageMinor).toBe(1n);
    expect(result.figures.winnerCount).toBe(0);
    expect(result.bets.filter((b) => b.result === 'WON')).toHaveLength(3);
    expect(result.ledger.escrowTransfers.at(-1)).toEqual({ code: 'BREAKAGE', amountMinor: 1n });
  });

  it('given a commission that does not divide, when settled, then C is rounded down (never up)', () => {
    const result = settlePool(
      [bet('u1', 'a', 1n), bet('u2', 'b', 3n)],
      terms({ commissionBps: 5000, streamerShareBps: 5000 }),
    );
    // L = 3, C = floor(1.5) = 1, D = 2, share = floor(0.5) = 0, rake = 1.
    expect(result.figures).toMatchObject({
      commissionMinor: 1n,
      distributableMinor: 2n,
      streamerShareMinor: 0n,
      rakeMinor: 1n,
    });
    expect(payoutsByBet(result)).toEqual([3n, 0n]);
    expect(result.ledger.escrowTransfers).toEqual([
      { code: 'PAYOUT', userId: 'u1', amountMinor: 3n },
      { code: 'COMMISSION', amountMinor: 1n },
    ]);
  });

  it('given no commission, when settled, then all losing stakes go to the winners', () => {
    const result = settlePool(
      [bet('u1', 'a', 10n), bet('u2', 'b', 5n), bet('u3', 'c', 5n)],
      terms({ streamerShareBps: 10_000 }),
    );
    expect(result.figures).toMatchObject({
      commissionMinor: 0n,
      streamerShareMinor: 0n,
      rakeMinor: 0n,
      breakageMinor: 0n,
    });
    expect(payoutsByBet(result)).toEqual([20n, 0n, 0n]);
    expect(result.ledger.escrowTransfers).toEqual([
      { code: 'PAYOUT', userId: 'u1', amountMinor: 20n },
    ]);
  });

  it('given a 100% commission, when settled, then winners get exactly their stakes and the streamer share splits C', () => {
    const result = settlePool(
      [bet('u1', 'a', 7n), bet('u2', 'a', 3n), bet('u3', 'b', 11n)],
      terms({ commissionBps: 10_000, streamerShareBps: 10_000 }),
    );
    expect(result.figures).toMatchObject({
      commissionMinor: 11n,
      distributableMinor: 0n,
      breakageMinor: 0n,
      streamerShareMinor: 11n,
      rakeMinor: 0n,
    });
    expect(payoutsByBet(result)).toEqual([7n, 3n, 0n]);
    expect(result.ledger.escrowTransfers).toEqual([
      { code: 'PAYOUT', userId: 'u1', amountMinor: 7n },
      { code: 'PAYOUT', userId: 'u2', amountMinor: 3n },
      { code: 'STREAMER_SHARE', amountMinor: 11n },
    ]);
  });

  it('given stakes whose total is exactly int64 max, when settled, then payouts are exact (s × D is computed beyond int64)', () => {
    const big = INT64_MAX_MINOR - 1n;
    const onBig = settlePool([bet('u1', 'a', big), bet('u2', 'b', 1n)], terms());
    expect(onBig.figures.totalStakedMinor).toBe(INT64_MAX_MINOR);
    expect(payoutsByBet(onBig)).toEqual([INT64_MAX_MINOR, 0n]);

    const onSmall = settlePool(
      [bet('u1', 'a', big), bet('u2', 'b', 1n)],
      terms({ winningOutcomeId: 'b', commissionBps: 500, streamerShareBps: 3000 }),
    );
    const commissionMinor = (big * 500n) / 10_000n;
    expect(onSmall.figures.commissionMinor).toBe(commissionMinor);
    expect(payoutsByBet(onSmall)).toEqual([0n, 1n + big - commissionMinor]);
    expect(onSmall.figures.payoutTotalMinor + commissionMinor + onSmall.figures.breakageMinor).toBe(
      INT64_MAX_MINOR,
    );

    // Three winners sharing a D near int64: s × D ≈ 2^124, far beyond int64, still exact.
    const third = (INT64_MAX_MINOR - 3n) / 6n;
    const many = settlePool(
      [
        bet('u1', 'a', third),
        bet('u2', 'a', third),
        bet('u3', 'a', third + 1n),
        bet('u4', 'b', 3n * third + 2n),
      ],
      terms({ commissionBps: 1 }),
    );
    expect(
      many.figures.payoutTotalMinor + many.figures.commissionMinor + many.figures.breakageMinor,
    ).toBe(many.figures.totalStakedMinor);
  });

  it('given stakes whose sum overflows int64, when settled, then the market is refused with a ValidationError (not wrapped)', () => {
    expect(() =>
      settlePool([bet('u1', 'a', INT64_MAX_MINOR), bet('u2', 'b', 1n)], terms()),
    ).toThrow(ValidationError);
    expect(() =>
      settlePool([bet('u1', 'a', INT64_MAX_MINOR), bet('u2', 'b', 1n)], terms()),
    ).toThrow(/total_staked_minor: 9223372036854775808 exceeds the int64 maximum/);
  });
});

describe('pool settlement: refund', () => {
  it('given a single bettor, when resolved for their outcome, then the market is refunded as one-sided', () => {
    const result = settlePool([bet('u1', 'a', 500n)], terms());
    expect(result.kind).toBe('REFUND');
    expect(result.refundReason).toBe('ONE_SIDED');
    expect(result.bets).toEqual([
      expect.objectContaining({
        result: 'REFUNDED',
        payoutMinor: 500n,
        netProfitMinor: 0n,
        holdAction: 'VOID',
      }),
    ]);
  });

  it('given a single bettor, when resolved against them, then nobody backed the winner and the stake is refunded', () => {
    const result = settlePool([bet('u1', 'b', 500n)], terms({ commissionBps: 1000 }));
    expect(result.refundReason).toBe('NO_WINNING_STAKES');
    expect(payoutsByBet(result)).toEqual([500n]);
    expect(result.figures.commissionMinor).toBe(0n);
  });

  it('given everyone on the winner, when settled, then every hold is voided and no commission is taken', () => {
    const result = settlePool(
      [bet('u1', 'a', 10n), bet('u2', 'a', 20n), bet('u1', 'a', 5n)],
      terms({ commissionBps: 2000, streamerShareBps: 5000 }),
    );
    expect(result.refundReason).toBe('ONE_SIDED');
    expect(result.figures).toEqual({
      totalStakedMinor: 35n,
      winningStakedMinor: 35n,
      losingStakedMinor: 0n,
      commissionMinor: 0n,
      streamerShareMinor: 0n,
      rakeMinor: 0n,
      distributableMinor: 0n,
      breakageMinor: 0n,
      payoutTotalMinor: 35n,
      betCount: 3,
      payoutCount: 2,
      winnerCount: 0,
    });
    expect(result.ledger).toEqual({
      holdAction: 'VOID',
      postedToEscrowMinor: 0n,
      escrowTransfers: [],
    });
    expect(result.users).toEqual([
      { userId: 'u1', kind: 'REFUND', stakeMinor: 15n, payoutMinor: 15n, netMinor: 0n },
      { userId: 'u2', kind: 'REFUND', stakeMinor: 20n, payoutMinor: 20n, netMinor: 0n },
    ]);
  });

  it('given nobody on the winner but several losing outcomes, when settled, then the market is refunded (no payout out of nothing)', () => {
    const result = settlePool(
      [bet('u1', 'b', 10n), bet('u2', 'c', 20n)],
      terms({ commissionBps: 500 }),
    );
    expect(result.refundReason).toBe('NO_WINNING_STAKES');
    expect(payoutsByBet(result)).toEqual([10n, 20n]);
    expect(result.figures.payoutTotalMinor).toBe(30n);
  });

  it('given no bets at all, when resolved, then it is a refund of nothing', () => {
    const result = settlePool([], terms());
    expect(result.refundReason).toBe('NO_WINNING_STAKES');
    expect(result.figures.totalStakedMinor).toBe(0n);
    expect(result.users).toEqual([]);
    expect(result.bets).toEqual([]);
  });

  it('given a canceled market (no winner), when settled, then everything is refunded with reason MARKET_CANCELED', () => {
    const result = settlePool(
      [bet('u1', 'a', 10n), bet('u2', 'b', 20n)],
      terms({ winningOutcomeId: null, commissionBps: 500 }),
    );
    expect(result.refundReason).toBe('MARKET_CANCELED');
    expect(result.winningOutcomeId).toBeNull();
    expect(result.figures).toMatchObject({
      winningStakedMinor: 0n,
      losingStakedMinor: 30n,
      payoutTotalMinor: 30n,
      commissionMinor: 0n,
    });
  });
});

describe('pool settlement: validation', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['a zero stake', () => settlePool([bet('u1', 'a', 0n)], terms()), /bets\[0\]\.stake_minor/],
    [
      'a negative stake',
      () => settlePool([bet('u1', 'a', 5n), bet('u1', 'b', -5n)], terms()),
      /bets\[1\]\.stake_minor/,
    ],
    [
      'a stake beyond int64',
      () => settlePool([bet('u1', 'a', INT64_MAX_MINOR + 1n)], terms()),
      /bets\[0\]\.stake_minor/,
    ],
    [
      'a float stake',
      () => settlePool([{ ...bet('u1', 'a', 1n), stakeMinor: 1.5 as unknown as bigint }], terms()),
      /stake_minor/,
    ],
    [
      'a bet on an unknown outcome',
      () => settlePool([bet('u1', 'z', 1n)], terms()),
      /bets\[0\]\.outcome_id: z is not an outcome/,
    ],
    ['an empty user id', () => settlePool([bet('', 'a', 1n)], terms()), /bets\[0\]\.user_id/],
    [
      'a duplicate bet id',
      () =>
        settlePool(
          [
            { ...bet('u1', 'a', 1n), betId: 'x' },
            { ...bet('u2', 'b', 1n), betId: 'x' },
          ],
          terms(),
        ),
      /bets\[1\]\.bet_id: bet x appears twice/,
    ],
    [
      'an unknown winning outcome',
      () => settlePool([bet('u1', 'a', 1n)], terms({ winningOutcomeId: 'z' })),
      /winning_outcome_id/,
    ],
    [
      'a commission above 10000 bps',
      () => settlePool([], terms({ commissionBps: 10_001 })),
      /commission_bps/,
    ],
    ['a negative commission', () => settlePool([], terms({ commissionBps: -1 })), /commission_bps/],
    [
      'a fractional streamer share',
      () => settlePool([], terms({ streamerShareBps: 0.5 })),
      /streamer_revenue_share_bps/,
    ],
    [
      'a streamer share above 10000 bps',
      () => settlePool([], terms({ streamerShareBps: 10_001 })),
      /streamer_revenue_share_bps/,
    ],
    ['no outcomes', () => settlePool([], terms({ outcomeIds: [] })), /outcome_ids/],
    [
      'duplicate outcomes',
      () => settlePool([], terms({ outcomeIds: ['a', 'a'] })),
      /outcome_ids\[1\]/,
    ],
  ];
  for (const [what, run, field] of cases) {
    it(`given ${what}, when settling, then a ValidationError names the field`, () => {
      expect(run).toThrow(ValidationError);
      expect(run).toThrow(field);
    });
  }
});

describe('pool settlement: streaming', () => {
  const bets = [
    bet('u1', 'a', 13n),
    bet('u2', 'b', 7n),
    bet('u3', 'a', 5n),
    bet('u1', 'c', 11n),
    bet('u4', 'a', 2n),
  ];
  const marketTerms = terms({ commissionBps: 750, streamerShareBps: 2500 });

  it('given bets streamed in batches, when settled in two passes, then the result equals the whole-array settlement', () => {
    const totals = createPoolTotalsAccumulator(marketTerms.outcomeIds);
    totals.add(bets.slice(0, 2));
    totals.add(bets.slice(2));
    const calculator = createPoolPayoutCalculator(
      decidePoolSettlement(totals.totals(), marketTerms),
    );
    const rows = [
      ...calculator.settle(bets.slice(0, 3)),
      ...calculator.settle([]),
      ...calculator.settle(bets.slice(3)),
    ];
    const whole = settlePool(bets, marketTerms);
    expect({ ...calculator.finish(), bets: rows }).toEqual(whole);
  });

  it('given a validation error in a later batch, when accumulating, then it names the position in the whole stream', () => {
    const totals = createPoolTotalsAccumulator(marketTerms.outcomeIds);
    totals.add(bets.slice(0, 3));
    expect(() => totals.add([bet('u9', 'a', 1n), bet('u9', 'a', 0n)])).toThrow(
      /bets\[4\]\.stake_minor/,
    );
  });

  it('given a payout pass that misses a bet, when finishing, then it refuses (IllegalStateError) instead of paying a wrong pool', () => {
    const totals = createPoolTotalsAccumulator(marketTerms.outcomeIds);
    totals.add(bets);
    const calculator = createPoolPayoutCalculator(
      decidePoolSettlement(totals.totals(), marketTerms),
    );
    calculator.settle(bets.slice(1));
    expect(() => calculator.finish()).toThrow(IllegalStateError);
  });

  it('given a stream out of bet_id order or repeating a bet, when accumulating, then it is refused unless any order is allowed', () => {
    const [first, second] = bets;
    expect(() =>
      createPoolTotalsAccumulator(marketTerms.outcomeIds).add([second!, first!]),
    ).toThrow(/ascending bet_id order/);
    const resumedWithOverlap = createPoolTotalsAccumulator(marketTerms.outcomeIds);
    resumedWithOverlap.add([first!, second!]);
    expect(() => resumedWithOverlap.add([second!])).toThrow(/bets\[2\]\.bet_id/);
    const anyOrder = createPoolTotalsAccumulator(marketTerms.outcomeIds, { betIdOrder: 'any' });
    anyOrder.add([second!, first!]);
    expect(anyOrder.totals().betCount).toBe(2);
    expect(() => anyOrder.add([first!])).toThrow(/appears twice/);
  });

  it('given a payout pass with more stake than the totals pass, when settling the batch, then it refuses at once (before any payout is handed out)', () => {
    const totals = createPoolTotalsAccumulator(marketTerms.outcomeIds);
    totals.add(bets);
    const calculator = createPoolPayoutCalculator(
      decidePoolSettlement(totals.totals(), marketTerms),
    );
    expect(() => calculator.payouts([...bets, bet('u9', 'a', 1n)])).toThrow(IllegalStateError);
  });

  it('given the compact form, when settling, then payoutsMinor carries the same payouts as the row objects', () => {
    const compact = settlePoolPayouts(bets, marketTerms);
    const { bets: rows, ...whole } = settlePool(bets, marketTerms);
    expect([...compact.payoutsMinor]).toEqual(rows.map((r) => r.payoutMinor));
    const { payoutsMinor: _payouts, ...rest } = compact;
    expect(rest).toEqual(whole);
  });

  it('given a finished calculator, when used again, then it refuses', () => {
    const totals = createPoolTotalsAccumulator(marketTerms.outcomeIds);
    totals.add(bets);
    const calculator = createPoolPayoutCalculator(
      decidePoolSettlement(totals.totals(), marketTerms),
    );
    calculator.settle(bets);
    calculator.finish();
    expect(() => calculator.finish()).toThrow(IllegalStateError);
    expect(() => calculator.settle(bets)).toThrow(IllegalStateError);
  });

  it('given hand-made totals that do not add up, when deciding, then they are refused', () => {
    const totals = {
      totalStakedMinor: 10n,
      stakedByOutcome: new Map([
        ['a', 4n],
        ['b', 5n],
      ]),
      betCount: 2,
    };
    expect(() => decidePoolSettlement(totals, marketTerms)).toThrow(
      /total_staked_minor: must equal the sum/,
    );
    const unknown = {
      totalStakedMinor: 9n,
      stakedByOutcome: new Map([
        ['a', 4n],
        ['z', 5n],
      ]),
      betCount: 2,
    };
    expect(() => decidePoolSettlement(unknown, marketTerms)).toThrow(ValidationError);
  });

  it('given the totals, when deciding, then T, P_w, L, C, D and the split are known before any payout', () => {
    const totals = createPoolTotalsAccumulator(marketTerms.outcomeIds);
    totals.add(bets);
    expect(totals.totals()).toEqual({
      totalStakedMinor: 38n,
      stakedByOutcome: new Map([
        ['a', 20n],
        ['b', 7n],
        ['c', 11n],
      ]),
      betCount: 5,
    });
    // L = 18, C = floor(18 × 0.075) = 1, share = floor(0.25) = 0.
    expect(decidePoolSettlement(totals.totals(), marketTerms)).toMatchObject({
      kind: 'PAYOUT',
      winningStakedMinor: 20n,
      losingStakedMinor: 18n,
      commissionMinor: 1n,
      distributableMinor: 17n,
      streamerShareMinor: 0n,
      rakeMinor: 1n,
    });
  });
});
