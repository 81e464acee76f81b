import { loadSqlMigrations } from '@streambet/platform/sql/load-migrations';
import type { Migration } from '@streambet/platform/sql/types';

/**
 * The payment service's schema changes, applied at start in id order (none yet: its storage comes
 * with a later issue (payments: Stripe and MercadoPago)).
 *
 * Each migration is a frozen `<id>.sql` file in this folder: never edited once applied anywhere
 * (migrate() refuses a changed one); a change is a new file with the next number.
 */
export const paymentMigrations: readonly Migration[] = loadSqlMigrations(
  new URL('./', import.meta.url),
);
