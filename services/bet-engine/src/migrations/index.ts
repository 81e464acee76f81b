import { loadSqlMigrations } from '@streambet/platform/sql/load-migrations';
import type { Migration } from '@streambet/platform/sql/types';

/**
 * The bet engine's schema, applied at start in id order.
 * - `be_markets`: the projection of the pool's markets (from `market` events, or
 *   GetMarketForBetting on a miss) plus what the bet engine owns per market: the lock instant in
 *   force (fixed by the first of VoidBetsAfter / MarketLocked), the live totals T and bettor count,
 *   the odds version, and the result of the retroactive void.
 * - `be_outcome_totals`: P_o and bet count per outcome (updated in the transaction that accepts or
 *   voids a bet), in the market's display order.
 * - `be_user_market`: per (market, user) live stake and bet count, for the bettor count.
 * - `be_bets`: one row per bet. A row is written as PENDING (intent) before its hold is submitted
 *   to the ledger, so a hold never exists without its bet; `(user_id, idempotency_key)` is unique.
 *
 * Each migration is a frozen `<id>.sql` file in this folder: never edited once applied anywhere
 * (migrate() refuses a changed one); a change is a new file with the next number.
 */
export const betEngineMigrations: readonly Migration[] = loadSqlMigrations(
  new URL('./', import.meta.url),
);
