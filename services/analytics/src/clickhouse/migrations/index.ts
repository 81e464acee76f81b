import { loadSqlMigrations } from '@streambet/platform/sql/load-migrations';
import type { Migration } from '@streambet/platform/sql/types';

/**
 * The ClickHouse warehouse's schema changes, applied at start in id order by
 * `migrateClickHouse` (../clickhouse-warehouse.ts). Same discipline as the SQL migrations: each is a
 * frozen `<id>.sql` file, never edited once applied (the runner refuses a changed checksum, and
 * packages/platform/test/sql/migration-checksums.unit.spec.ts pins them); a change is a new file.
 * ClickHouse has no transactional DDL, so every statement must be safe to run twice
 * (`IF NOT EXISTS`), and statements are separated by a `;` at the end of a line.
 */
export const clickhouseMigrations: readonly Migration[] = loadSqlMigrations(
  new URL('./', import.meta.url),
);
