/**
 * Live parimutuel (POOL) odds, exactly as product.md "Parimutuel (POOL) math" states them:
 *
 *   decimal odds of o = 1 + (T − P_o) × (1 − r/10000) / P_o, two decimals, rounded DOWN,
 *   undefined while P_o = 0.
 *
 * Written as one fraction, (P_o·10000 + (T − P_o)·(10000 − r)) / (P_o·10000), so there is a
 * single inexact step (the division) followed by the single rounding step the product names.
 * decimal.js does that division (product rule: decimal.js for odds and ratios) with a private
 * configuration: ROUND_DOWN at 40 significant digits. Truncating the quotient never moves it
 * below the largest two-decimal number under the exact value (that number has far fewer than 40
 * digits, since the numerator and denominator are at most ~10^23), so the final floor to
 * hundredths equals the exact floor; the unit tests check this against a pure-bigint oracle.
 *
 * Wire form (bet_engine.proto conventions, OutcomeOdds.decimal_odds, OddsChanged): a string
 * with exactly two decimals and "." ("2.37", "1000.00"); "" means undefined and is rendered "—".
 */
import { Decimal } from 'decimal.js';
import { ValidationError } from '@streambet/platform/errors/domain-errors';
import { BPS_DENOMINATOR, assertFitsInt64, bpsToBigint } from './bounds.js';

/** What a viewer is shown while nobody has staked on an outcome (P_o = 0). */
export const NO_ODDS_DISPLAY = '—';

/** The wire value of undefined odds (bet_engine.proto: "an empty string means undefined"). */
export const NO_ODDS_WIRE = '';

const OddsDecimal = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_DOWN });

/** Stakes of live bets on one outcome (P_o), the input of the odds formula. */
export interface OutcomeStake {
  /** The market's outcome id. */
  readonly outcomeId: string;
  /** P_o in minor units, ≥ 0. */
  readonly stakedMinor: bigint;
}

/** The live odds of one outcome in every form a caller needs. */
export interface OutcomePoolOdds {
  /** The outcome, as given. */
  readonly outcomeId: string;
  /** P_o, as given. */
  readonly stakedMinor: bigint;
  /**
   * Wire form for OutcomeOdds.decimal_odds and PlaceBetResponse.indicative_decimal_odds:
   * two decimals rounded down ("2.37"), or "" while P_o = 0.
   */
  readonly decimalOdds: string;
  /** For people: the same digits, or "—" while P_o = 0. */
  readonly displayOdds: string;
  /**
   * The same value as an exact integer number of hundredths (2.37 → 237n), for comparing and
   * storing without parsing strings; null while P_o = 0.
   */
  readonly decimalOddsHundredths: bigint | null;
}

/** A market's odds: T and one entry per outcome, in the order the outcomes were given. */
export interface PoolOddsSnapshot {
  /** T = Σ P_o over the given outcomes, minor units (fits int64, else refused). */
  readonly totalStakedMinor: bigint;
  /** One entry per given outcome, same order (the market's display order). */
  readonly outcomes: readonly OutcomePoolOdds[];
}

/**
 * Computes the live odds of every outcome of a POOL market from the per-outcome totals.
 * T is the sum of the given P_o, so pass every outcome of the market (zeros included).
 * Throws ValidationError for a negative P_o, a duplicate or empty outcome id, a rate outside
 * 0..10000 bps, or a T beyond int64.
 */
export function computePoolOdds(input: {
  readonly outcomes: readonly OutcomeStake[];
  readonly commissionBps: number;
}): PoolOddsSnapshot {
  const keepBps = BPS_DENOMINATOR - bpsToBigint(input.commissionBps, 'commission_bps');
  const seen = new Set<string>();
  let totalStakedMinor = 0n;
  input.outcomes.forEach((outcome, index) => {
    if (outcome.outcomeId === '' || seen.has(outcome.outcomeId)) {
      throw new ValidationError('outcomes are invalid', [
        {
          field: `outcomes[${index}].outcome_id`,
          description: 'must be a non-empty id, unique in the market',
        },
      ]);
    }
    seen.add(outcome.outcomeId);
    assertStakedMinor(outcome.stakedMinor, `outcomes[${index}].staked_minor`);
    totalStakedMinor += outcome.stakedMinor;
  });
  assertFitsInt64(totalStakedMinor, 'total_staked_minor');
  return {
    totalStakedMinor,
    outcomes: input.outcomes.map((outcome) =>
      oddsOf(outcome.outcomeId, outcome.stakedMinor, totalStakedMinor, keepBps),
    ),
  };
}

/**
 * The live odds of one outcome given T and P_o, e.g. PlaceBetResponse.indicative_decimal_odds
 * right after a bet. Same rules and errors as {@link computePoolOdds}; additionally P_o ≤ T.
 */
export function poolOutcomeOdds(input: {
  readonly outcomeId: string;
  readonly outcomeStakedMinor: bigint;
  readonly totalStakedMinor: bigint;
  readonly commissionBps: number;
}): OutcomePoolOdds {
  const keepBps = BPS_DENOMINATOR - bpsToBigint(input.commissionBps, 'commission_bps');
  assertStakedMinor(input.outcomeStakedMinor, 'staked_minor');
  assertStakedMinor(input.totalStakedMinor, 'total_staked_minor');
  assertFitsInt64(input.totalStakedMinor, 'total_staked_minor');
  if (input.outcomeStakedMinor > input.totalStakedMinor) {
    throw new ValidationError('pool totals are inconsistent', [
      { field: 'staked_minor', description: 'must not exceed total_staked_minor' },
    ]);
  }
  return oddsOf(input.outcomeId, input.outcomeStakedMinor, input.totalStakedMinor, keepBps);
}

/** Formats an exact number of hundredths in the wire form: 237n → "2.37", 100000n → "1000.00". */
export function formatDecimalOddsHundredths(hundredths: bigint): string {
  const whole = hundredths / 100n;
  const cents = hundredths % 100n;
  return `${whole}.${cents < 10n ? '0' : ''}${cents}`;
}

function oddsOf(
  outcomeId: string,
  stakedMinor: bigint,
  totalStakedMinor: bigint,
  keepBps: bigint,
): OutcomePoolOdds {
  if (stakedMinor === 0n) {
    return {
      outcomeId,
      stakedMinor,
      decimalOdds: NO_ODDS_WIRE,
      displayOdds: NO_ODDS_DISPLAY,
      decimalOddsHundredths: null,
    };
  }
  const denominator = stakedMinor * BPS_DENOMINATOR;
  const numerator = denominator + (totalStakedMinor - stakedMinor) * keepBps;
  const odds = new OddsDecimal(numerator.toString())
    .div(new OddsDecimal(denominator.toString()))
    .toDecimalPlaces(2, Decimal.ROUND_DOWN);
  const decimalOdds = odds.toFixed(2, Decimal.ROUND_DOWN);
  return {
    outcomeId,
    stakedMinor,
    decimalOdds,
    displayOdds: decimalOdds,
    decimalOddsHundredths: BigInt(decimalOdds.replace('.', '')),
  };
}

function assertStakedMinor(value: bigint, field: string): void {
  if (typeof value !== 'bigint' || value < 0n) {
    throw new ValidationError('pool totals are invalid', [
      { field, description: 'must be a bigint number of minor units ≥ 0' },
    ]);
  }
}
