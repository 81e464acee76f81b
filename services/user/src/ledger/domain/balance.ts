/**
 * Balance arithmetic: the four running totals, posted and available balances, and which account
 * kinds may never go below zero available.
 */
import { AccountKind, INT64_MAX, type Balance, type BalanceDelta } from './types.js';

/** The all-zero balance of a new account. */
export const zeroBalance: Balance = Object.freeze({
  debitsPending: 0n,
  debitsPosted: 0n,
  creditsPending: 0n,
  creditsPosted: 0n,
});

/**
 * Kinds whose available balance must never go below zero (ledger_types.proto): everything but
 * the operator's house and the PSP clearing account, which are allowed to run a debit balance.
 */
export function isConstrainedKind(kind: AccountKind): boolean {
  return kind !== AccountKind.HOUSE && kind !== AccountKind.PSP_CLEARING;
}

/** credits_posted − debits_posted; may be negative for unconstrained kinds. */
export function postedOf(balance: Balance): bigint {
  return balance.creditsPosted - balance.debitsPosted;
}

/** What can still be debited: credits_posted − debits_posted − debits_pending (pending credits do not count). */
export function availableOf(balance: Balance): bigint {
  return balance.creditsPosted - balance.debitsPosted - balance.debitsPending;
}

/** Component-wise sum. */
export function addBalance(a: Balance, b: BalanceDelta): Balance {
  return {
    debitsPending: a.debitsPending + b.debitsPending,
    debitsPosted: a.debitsPosted + b.debitsPosted,
    creditsPending: a.creditsPending + b.creditsPending,
    creditsPosted: a.creditsPosted + b.creditsPosted,
  };
}

/** Component-wise difference. */
export function subtractBalance(a: Balance, b: BalanceDelta): Balance {
  return {
    debitsPending: a.debitsPending - b.debitsPending,
    debitsPosted: a.debitsPosted - b.debitsPosted,
    creditsPending: a.creditsPending - b.creditsPending,
    creditsPosted: a.creditsPosted - b.creditsPosted,
  };
}

const fitsBigint = (value: bigint): boolean => value >= 0n && value <= INT64_MAX;

/** True when every total fits a BIGINT column and none is negative. */
export function isRepresentable(balance: Balance): boolean {
  return (
    fitsBigint(balance.debitsPending) &&
    fitsBigint(balance.debitsPosted) &&
    fitsBigint(balance.creditsPending) &&
    fitsBigint(balance.creditsPosted)
  );
}
