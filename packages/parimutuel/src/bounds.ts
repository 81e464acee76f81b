/**
 * Input bounds shared by the parimutuel math. Amounts travel as int64 on the wire and BIGINT in
 * SQL, so every amount this package returns must fit in a signed 64-bit integer; bigint keeps
 * the intermediate products (s × D, L × r) exact, but a total that cannot be carried by the
 * contracts or held by a ledger account is refused rather than silently wrapped.
 */
import { ValidationError } from '@streambet/platform/errors/domain-errors';

/** Largest amount in minor units the contracts (int64) and the ledger (BIGINT) can carry. */
export const INT64_MAX_MINOR = 9_223_372_036_854_775_807n;

/** One whole in basis points: a rate of 10000 bps is 100 %. */
export const BPS_DENOMINATOR = 10_000n;

/**
 * Checks a rate in basis points (0..10000, an integer) and returns it as bigint, so callers can
 * multiply amounts by it without a float ever touching money.
 */
export function bpsToBigint(value: number, field: string): bigint {
  if (!Number.isInteger(value) || value < 0 || value > 10_000) {
    throw new ValidationError('rate out of range', [
      {
        field,
        description: `must be an integer number of basis points in 0..10000, got ${String(value)}`,
      },
    ]);
  }
  return BigInt(value);
}

/**
 * Refuses a total that no int64 field or ledger account could hold. Sums of valid stakes can
 * exceed int64 (two bets near the limit do); that is reported instead of wrapped.
 */
export function assertFitsInt64(amountMinor: bigint, field: string): void {
  if (amountMinor > INT64_MAX_MINOR) {
    throw new ValidationError('amount too large', [
      {
        field,
        description: `${amountMinor} exceeds the int64 maximum ${INT64_MAX_MINOR} that the contracts and the ledger can carry`,
      },
    ]);
  }
}
