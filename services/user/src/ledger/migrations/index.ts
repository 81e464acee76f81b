import { loadSqlMigrations } from '@streambet/platform/sql/load-migrations';
import type { Migration } from '@streambet/platform/sql/types';

/**
 * Schema of the double-entry ledger (ids 0100–0199; identity uses 0001–0099).
 *
 * - `ledger_accounts`: one row per account with its four running totals. A CHECK keeps
 *   constrained accounts (wallets, rake, escrows, streamer revenue) at available ≥ 0 whatever the
 *   code does, so a bug or a race can only fail a transaction, never overdraw a wallet.
 * - `ledger_transfers`: immutable, one row per committed transfer, numbered by `ledger_seq`.
 * - `ledger_holds`: the mutable state of each pending transfer (open, posted, voided, expired),
 *   kept apart so transfer rows are never updated.
 * - Server-side functions, so a batch costs two round trips (`ledger_read_batch`,
 *   `ledger_commit_batch`), a single transfer one (`ledger_transfer_one`) and a page of a market's
 *   holds one (`ledger_resolve_market_holds`).
 *
 * Each migration is a frozen `<id>.sql` file in this folder: never edited once applied anywhere
 * (migrate() refuses a changed one). The current definition of every function is in
 * `current/functions.sql` (a test keeps it equal to what the migrations install): to change a
 * function, copy it from there into a new migration with the next number, edit it, and update the
 * reference in the same change.
 */
export const ledgerMigrations: readonly Migration[] = loadSqlMigrations(
  new URL('./', import.meta.url),
);
