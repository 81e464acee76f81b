import { loadSqlMigrations } from '../sql/load-migrations.js';
import type { Migration } from '../sql/types.js';

/**
 * The platform's tables, applied by every service together with its own migrations
 * (`migrate(sql, 'pool', [...platformMigrations, ...poolMigrations])`).
 *
 * `outbox`: events written in the same transaction as the state change they describe; the relay
 * publishes unpublished rows in `seq` order. `seq` is assigned at insert, inside the producing
 * transaction: two transactions touching the same aggregate serialise on its row lock, so for one
 * key `seq` order is commit order, which is the order consumers must see.
 *
 * `inbox`: one row per (consumer, event) already applied, written in the same transaction as the
 * consumer's effect, so a redelivered event is recognised and skipped.
 *
 * Each migration is a frozen `<id>.sql` file in `./migrations/`: never edited once applied anywhere
 * (migrate() refuses a changed one); a change is a new file with the next number.
 */
export const platformMigrations: readonly Migration[] = loadSqlMigrations(
  new URL('./migrations/', import.meta.url),
);
