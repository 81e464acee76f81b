/**
 * What the parts of the ledger store share: the SQL port and options, the bounded retry of a
 * transaction under contention, and the cache of accounts' kind and currency that lets the commit
 * path plan a batch without reading.
 */
import { UnavailableError } from '@streambet/platform/errors/domain-errors';
import type { Sql } from '@streambet/platform/sql/types';
import { zeroBalance, type Account } from '../domain/index.js';
import { sqlState } from './rows.js';
import type { LedgerStoreOptions } from './types.js';

/** Most accounts the store remembers the kind and currency of (about 200 B each). */
const ACCOUNT_CACHE_LIMIT = 200_000;

/** SQLSTATEs after which the whole batch is retried: serialization, deadlock, unique race, check. */
const RETRYABLE = new Set(['40001', '40P01', '23505', '23514']);
const CHECK_VIOLATION = '23514';

/** The state one ledger store's parts share. */
export interface LedgerStoreContext {
  readonly sql: Sql;
  readonly options: LedgerStoreOptions;
  /**
   * Runs `run` (one transaction) again on deadlock, serialization failure, unique-id race or CHECK
   * violation, at most `options.maxAttempts` times (default 8); after a CHECK violation with
   * `strict` true (lock every account up front). UNAVAILABLE when contention never lets up.
   */
  readonly withRetries: <T>(run: (strict: boolean) => Promise<T>) => Promise<T>;
  /**
   * Kind and currency of accounts seen before (balances zeroed). Both are immutable and accounts
   * are never deleted, so an entry stays true for good (also across replicas).
   */
  readonly accountCache: ReadonlyMap<string, Account>;
  /** Adds an account to {@link accountCache}; cleared when it grows past its bound. */
  readonly remember: (account: Account) => void;
}

/** Creates the shared state of one ledger store. */
export function createLedgerStoreContext(
  sql: Sql,
  options: LedgerStoreOptions,
): LedgerStoreContext {
  const maxAttempts = options.maxAttempts ?? 8;
  const accountCache = new Map<string, Account>();

  async function withRetries<T>(run: (strict: boolean) => Promise<T>): Promise<T> {
    let strict = false;
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      try {
        return await run(strict);
      } catch (error) {
        const state = sqlState(error);
        if (state === undefined || !RETRYABLE.has(state)) throw error;
        if (state === CHECK_VIOLATION) strict = true;
        lastError = error;
      }
    }
    throw new UnavailableError(
      `the ledger could not commit the batch after ${maxAttempts} attempts under contention; nothing was committed, retry the same commands`,
      { cause: lastError },
    );
  }

  return {
    sql,
    options,
    withRetries,
    accountCache,
    remember: (account) => {
      if (accountCache.size >= ACCOUNT_CACHE_LIMIT) accountCache.clear();
      accountCache.set(account.accountId, { ...account, balance: zeroBalance });
    },
  };
}
