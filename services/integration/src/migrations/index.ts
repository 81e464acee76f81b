import { loadSqlMigrations } from '@streambet/platform/sql/load-migrations';
import type { Migration } from '@streambet/platform/sql/types';

/**
 * The integration service's schema changes, applied at start in id order (none yet: its storage
 * comes with a later issue (Twitch, Kick and YouTube integration)).
 *
 * Each migration is a frozen `<id>.sql` file in this folder: never edited once applied anywhere
 * (migrate() refuses a changed one); a change is a new file with the next number.
 */
export const integrationMigrations: readonly Migration[] = loadSqlMigrations(
  new URL('./', import.meta.url),
);
