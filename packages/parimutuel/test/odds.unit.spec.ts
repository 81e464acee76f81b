import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '@streambet/platform/errors/domain-errors';
import { INT64_MAX_MINOR } from '../src/bounds.js';
import {
  NO_ODDS_DISPLAY,
  computePoolOdds,
  formatDecimalOddsHundredths,
  poolOutcomeOdds,
} from '../src/odds.js';

/** Independent oracle: floor(100 × (1 + (T − P)(1 − r/10000) / P)) in pure bigint. */
function oracleHundredths(totalMinor: bigint, stakedMinor: bigint, commissionBps: number): bigint {
  const r = BigInt(commissionBps);
  return (
    (100n * (stakedMinor * 10_000n + (totalMinor - stakedMinor) * (10_000n - r))) /
    (stakedMinor * 10_000n)
  );
}

function odds(stakes: Record<string, bigint>, commissionBps: number): Record<string, string> {
  const snapshot = computePoolOdds({
    outcomes: Object.entries(stakes).map(([outcomeId, stakedMinor]) => ({
      outcomeId,
      stakedMinor,
    })),
    commissionBps,
  });
  return Object.fromEntries(snapshot.outcomes.map((o) => [o.outcomeId, o.decimalOdds]));
}

describe('pool odds', () => {
  it('given 60/40 stakes and no commission, when computing odds, then they are 1 + other/own rounded down', () => {
    expect(odds({ a: 60n, b: 40n }, 0)).toEqual({ a: '1.66', b: '2.50' });
  });

  it('given a 5% commission, when the exact odds are 2.425, then they are shown as 2.42 (rounded down, not half-up)', () => {
    expect(odds({ a: 60n, b: 40n }, 500)).toEqual({ a: '1.63', b: '2.42' });
  });

  it('given an exact two-decimal result, when computing odds, then it is kept as is', () => {
    expect(odds({ a: 50n, b: 50n }, 0)).toEqual({ a: '2.00', b: '2.00' });
    expect(odds({ a: 1n, b: 999n }, 0)).toEqual({ a: '1000.00', b: '1.00' });
  });

  it('given an outcome nobody backed, when computing odds, then it has no odds: "" on the wire, "—" on screen', () => {
    const snapshot = computePoolOdds({
      outcomes: [
        { outcomeId: 'a', stakedMinor: 100n },
        { outcomeId: 'b', stakedMinor: 0n },
      ],
      commissionBps: 500,
    });
    expect(snapshot.totalStakedMinor).toBe(100n);
    expect(snapshot.outcomes[0]).toMatchObject({
      decimalOdds: '1.00',
      displayOdds: '1.00',
      decimalOddsHundredths: 100n,
    });
    expect(snapshot.outcomes[1]).toEqual({
      outcomeId: 'b',
      stakedMinor: 0n,
      decimalOdds: '',
      displayOdds: NO_ODDS_DISPLAY,
      decimalOddsHundredths: null,
    });
  });

  it('given an empty pool, when computing odds, then no outcome has odds', () => {
    expect(odds({ a: 0n, b: 0n, c: 0n }, 1000)).toEqual({ a: '', b: '', c: '' });
  });

  it('given a 100% commission, when computing odds, then every backed outcome pays 1.00', () => {
    expect(odds({ a: 7n, b: 3n, c: 0n }, 10_000)).toEqual({ a: '1.00', b: '1.00', c: '' });
  });

  it('given one-unit stakes, when computing odds, then the smallest pools still price exactly', () => {
    expect(odds({ a: 1n, b: 1n }, 0)).toEqual({ a: '2.00', b: '2.00' });
    expect(odds({ a: 1n, b: 2n }, 0)).toEqual({ a: '3.00', b: '1.50' });
    expect(odds({ a: 3n, b: 1n }, 0)).toEqual({ a: '1.33', b: '4.00' });
  });

  it('given totals at the int64 limit, when computing odds, then they are exact to the last digit', () => {
    const result = computePoolOdds({
      outcomes: [
        { outcomeId: 'a', stakedMinor: 1n },
        { outcomeId: 'b', stakedMinor: INT64_MAX_MINOR - 1n },
      ],
      commissionBps: 1,
    });
    expect(result.totalStakedMinor).toBe(INT64_MAX_MINOR);
    const [a, b] = result.outcomes;
    expect(a!.decimalOddsHundredths).toBe(oracleHundredths(INT64_MAX_MINOR, 1n, 1));
    expect(a!.decimalOdds).toBe('9222449699651090329.41');
    expect(b!.decimalOdds).toBe('1.00');
    expect(odds({ a: 1n, b: INT64_MAX_MINOR - 1n }, 0).a).toBe('9223372036854775807.00');
  });

  it('given totals whose sum overflows int64, when computing odds, then the snapshot is refused', () => {
    expect(() => odds({ a: INT64_MAX_MINOR, b: 1n }, 0)).toThrow(ValidationError);
    expect(() => odds({ a: INT64_MAX_MINOR, b: 1n }, 0)).toThrow(
      /total_staked_minor: .*exceeds the int64 maximum/,
    );
  });

  it('given invalid inputs, when computing odds, then a ValidationError names the field', () => {
    expect(() => odds({ a: -1n, b: 1n }, 0)).toThrow(/outcomes\[0\]\.staked_minor/);
    expect(() => odds({ a: 1n }, 10_001)).toThrow(/commission_bps/);
    expect(() => odds({ a: 1n }, -1)).toThrow(/commission_bps/);
    expect(() => odds({ a: 1n }, 2.5)).toThrow(ValidationError);
    expect(() =>
      computePoolOdds({
        outcomes: [
          { outcomeId: 'a', stakedMinor: 1n },
          { outcomeId: 'a', stakedMinor: 1n },
        ],
        commissionBps: 0,
      }),
    ).toThrow(/outcomes\[1\]\.outcome_id/);
  });

  it('given T and one P_o, when computing indicative odds, then they match the snapshot and P_o > T is refused', () => {
    expect(
      poolOutcomeOdds({
        outcomeId: 'b',
        outcomeStakedMinor: 40n,
        totalStakedMinor: 100n,
        commissionBps: 500,
      }).decimalOdds,
    ).toBe('2.42');
    expect(() =>
      poolOutcomeOdds({
        outcomeId: 'b',
        outcomeStakedMinor: 101n,
        totalStakedMinor: 100n,
        commissionBps: 0,
      }),
    ).toThrow(ValidationError);
  });

  it('given hundredths, when formatting, then there are always two decimals', () => {
    expect(formatDecimalOddsHundredths(100n)).toBe('1.00');
    expect(formatDecimalOddsHundredths(105n)).toBe('1.05');
    expect(formatDecimalOddsHundredths(237n)).toBe('2.37');
    expect(formatDecimalOddsHundredths(100_000n)).toBe('1000.00');
  });

  it('given any pool up to int64, when computing odds with decimal.js, then they equal the exact bigint floor', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: INT64_MAX_MINOR }),
        fc.bigInt({ min: 0n, max: INT64_MAX_MINOR }),
        fc.integer({ min: 0, max: 10_000 }),
        (stakedMinor, other, commissionBps) => {
          const otherMinor = other % (INT64_MAX_MINOR - stakedMinor + 1n);
          const [o] = computePoolOdds({
            outcomes: [
              { outcomeId: 'o', stakedMinor },
              { outcomeId: 'x', stakedMinor: otherMinor },
            ],
            commissionBps,
          }).outcomes;
          const expected = oracleHundredths(stakedMinor + otherMinor, stakedMinor, commissionBps);
          expect(o!.decimalOddsHundredths).toBe(expected);
          expect(o!.decimalOdds).toBe(formatDecimalOddsHundredths(expected));
          expect(o!.decimalOddsHundredths! >= 100n).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('given small pools, when computing odds, then they equal the exact bigint floor (many exact boundaries)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 1000n }),
        fc.bigInt({ min: 0n, max: 1000n }),
        fc.constantFrom(0, 1, 250, 500, 1000, 2000, 3333, 9999, 10_000),
        (stakedMinor, otherMinor, commissionBps) => {
          const [o] = computePoolOdds({
            outcomes: [
              { outcomeId: 'o', stakedMinor },
              { outcomeId: 'x', stakedMinor: otherMinor },
            ],
            commissionBps,
          }).outcomes;
          expect(o!.decimalOddsHundredths).toBe(
            oracleHundredths(stakedMinor + otherMinor, stakedMinor, commissionBps),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
