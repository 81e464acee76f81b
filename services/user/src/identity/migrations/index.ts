import { loadSqlMigrations } from '@streambet/platform/sql/load-migrations';
import type { Migration } from '@streambet/platform/sql/types';

/**
 * Tables of identity, sessions, KYC and responsible-gambling limits (ids 0001–0099; the ledger has
 * its own `ledger_*` tables, 0100–0199). Times are BIGINT ms since the epoch (the service's
 * injected clock); money is BIGINT minor units. Apply with the platform's and the ledger's
 * migrations: `migrate(sql, 'user', [...platformMigrations, ...identityMigrations, ...ledgerMigrations])`.
 *
 * Each migration is a frozen `<id>.sql` file in this folder: never edited once applied anywhere
 * (migrate() refuses a changed one); a change is a new file with the next number.
 */
export const identityMigrations: readonly Migration[] = loadSqlMigrations(
  new URL('./', import.meta.url),
);
