/**
 * Account rules: id formats per kind, currencies, the checks of a new account, and the lock order
 * of accounts within a batch.
 */
import { AccountKind, CreateAccountResultCode, type NewAccount } from './types.js';

/** ULID as issued by the owning services: 26 chars of Crockford base32, upper case. */
export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** A currency code: ISO 4217 (three upper-case letters) or `PTS`. */
export const CURRENCY = /^[A-Z]{3}$/;
/** Account ids are 1–128 characters. */
export const MAX_ACCOUNT_ID_LENGTH = 128;

/** The deployment's currencies: its one real currency and play money `PTS`. */
export interface LedgerCurrencies {
  /** ISO 4217 code of the real currency, e.g. `BRL`. */
  readonly real: string;
}

/** Play-money currency code. */
export const PLAY_CURRENCY = 'PTS';

/** True when `currency` is the deployment's real currency or `PTS`. */
function isSupportedCurrency(currencies: LedgerCurrencies, currency: string): boolean {
  return currency === currencies.real || currency === PLAY_CURRENCY;
}

/**
 * The canonical id of an account of `kind`: callers build ids without a lookup
 * (`wallet:<user_id>:<currency>`, `house:<currency>`, `market:<market_id>:escrow`, ...).
 */
export function canonicalAccountId(kind: AccountKind, currency: string, ownerId: string): string {
  switch (kind) {
    case AccountKind.USER_WALLET:
      return `wallet:${ownerId}:${currency}`;
    case AccountKind.HOUSE:
      return `house:${currency}`;
    case AccountKind.RAKE:
      return `rake:${currency}`;
    case AccountKind.PSP_CLEARING:
      return `psp_clearing:${currency}`;
    case AccountKind.MARKET_ESCROW:
      return `market:${ownerId}:escrow`;
    case AccountKind.STREAMER_REVENUE:
      return `streamer:${ownerId}:revenue:${currency}`;
  }
}

/** Whether `kind` takes an owner id (a ULID) or must have none. */
function ownerRequired(kind: AccountKind): boolean {
  return (
    kind === AccountKind.USER_WALLET ||
    kind === AccountKind.MARKET_ESCROW ||
    kind === AccountKind.STREAMER_REVENUE
  );
}

/** True when `value` is one of the defined account kinds. */
function isAccountKind(value: number): value is AccountKind {
  return Number.isInteger(value) && value >= 1 && value <= 6;
}

/**
 * Checks an account to create on its own (no storage): kind, currency, id format and owner.
 * Returns the refusal code with a reason, or undefined when the account may be created.
 */
export function checkNewAccount(
  currencies: LedgerCurrencies,
  account: NewAccount,
): { code: CreateAccountResultCode; reason: string } | undefined {
  if (!isAccountKind(account.kind)) {
    return { code: CreateAccountResultCode.INVALID_KIND, reason: 'kind must be set' };
  }
  if (!isSupportedCurrency(currencies, account.currency)) {
    return {
      code: CreateAccountResultCode.UNSUPPORTED_CURRENCY,
      reason: `currency must be ${currencies.real} or ${PLAY_CURRENCY}`,
    };
  }
  if (account.kind === AccountKind.PSP_CLEARING && account.currency !== currencies.real) {
    return {
      code: CreateAccountResultCode.UNSUPPORTED_CURRENCY,
      reason: `psp_clearing accounts exist in ${currencies.real} only`,
    };
  }
  if (ownerRequired(account.kind)) {
    if (!ULID.test(account.ownerId)) {
      return { code: CreateAccountResultCode.INVALID_ID, reason: 'owner_id must be a ULID' };
    }
  } else if (account.ownerId !== '') {
    return {
      code: CreateAccountResultCode.INVALID_ID,
      reason: 'owner_id must be empty for system accounts',
    };
  }
  const expected = canonicalAccountId(account.kind, account.currency, account.ownerId);
  if (account.accountId !== expected) {
    return {
      code: CreateAccountResultCode.INVALID_ID,
      reason: `account_id must be ${expected} for this kind, currency and owner`,
    };
  }
  return undefined;
}

/**
 * Lock class of an account, derived from its id alone so every transaction agrees without a read:
 * 0 for per-user accounts (wallets, streamer revenue; low contention, locked up front), 1 for
 * system accounts (house, rake, clearing, escrows; hot, touched last). Locks are always taken in
 * (class, id) order, which rules out deadlocks between batches.
 */
export function lockClassOf(accountId: string): 0 | 1 {
  return accountId.startsWith('wallet:') || accountId.startsWith('streamer:') ? 0 : 1;
}

/** Orders account ids by (lock class, id): the one lock order of the ledger. */
export function compareLockOrder(a: string, b: string): number {
  const byClass = lockClassOf(a) - lockClassOf(b);
  if (byClass !== 0) return byClass;
  return a < b ? -1 : a > b ? 1 : 0;
}
