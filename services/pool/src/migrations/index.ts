import { loadSqlMigrations } from '@streambet/platform/sql/load-migrations';
import type { Migration } from '@streambet/platform/sql/types';

/**
 * The pool service's schema, applied at start in id order.
 * - `pool_channels`: linked channels projected from integration events (owner, platform), with the
 *   channel's market settings as one JSONB document (NULL = deployment defaults).
 * - `pool_markets`: one row per market; the full definition and lifecycle state is the JSONB
 *   `doc` (bigints as decimal strings), the columns are what queries filter and sort on. Every
 *   change is a conditional update under a row lock in the transaction that appends its event.
 * - `pool_create_requests`: CreateMarket idempotency (caller, key) → request hash and market.
 * - `pool_leaderboard_scores`: the source of truth of the leaderboards (the cache's sorted sets
 *   are a projection rebuilt from it after a cache loss).
 * - `pool_market_odds`, `pool_user_names`: projections of the bet engine's odds snapshots and of
 *   users' display names (see projections.ts).
 *
 * Each migration is a frozen `<id>.sql` file in this folder: never edited once applied anywhere
 * (migrate() refuses a changed one); a change is a new file with the next number.
 */
export const poolMigrations: readonly Migration[] = loadSqlMigrations(
  new URL('./', import.meta.url),
);
