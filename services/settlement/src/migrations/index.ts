import { loadSqlMigrations } from '@streambet/platform/sql/load-migrations';
import type { Migration } from '@streambet/platform/sql/types';

/**
 * The settlement service's schema changes, applied at start in id order.
 * - `settlement_markets`: each market's terms as MarketCreated announced them (outcomes, commission,
 *   streamer share), so a MarketCanceled, which carries none of them, can still be settled without a
 *   call back to the pool.
 * - `settlements`: one run per market (the primary key makes the consumer idempotent per market),
 *   with its phase and cursors so a crashed or failed run resumes where it stopped, its lease (one
 *   runner at a time across replicas) and the figures of the product formulas.
 * - `settlement_payouts`: one row per user and kind (the plan, then what was paid), for ListPayouts
 * and the PayoutsMade / PayoutReversed events.
 *
 * Each migration is a frozen `<id>.sql` file in this folder: never edited once applied anywhere
 * (migrate() refuses a changed one); a change is a new file with the next number.
 */
export const settlementMigrations: readonly Migration[] = loadSqlMigrations(
  new URL('./', import.meta.url),
);
