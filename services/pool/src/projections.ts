/**
 * Read-side projections the pool keeps from other services' events, for what its RPCs show but
 * does not own: the bet engine's latest odds snapshot per market (GetMarket / ListMarkets live
 * figures) and users' display names (leaderboards). Both are last-writer-wins by version or by
 * event order; neither is a source of truth.
 */
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';

/** One outcome's live figures from the bet engine. */
export interface OutcomeFigures {
  readonly outcomeId: string;
  readonly stakedMinor: bigint;
  readonly betCount: bigint;
  readonly decimalOdds: string;
  readonly layDecimalOdds: string;
}

/** A market's live figures (OddsChanged snapshot) with its version. */
export interface OddsSnapshot {
  readonly version: bigint;
  readonly totalStakedMinor: bigint;
  readonly bettorCount: bigint;
  readonly outcomes: readonly OutcomeFigures[];
}

interface SnapshotJson {
  totalStakedMinor: string;
  bettorCount: string;
  outcomes: Array<{
    outcomeId: string;
    stakedMinor: string;
    betCount: string;
    decimalOdds: string;
    layDecimalOdds: string;
  }>;
}

/** Creates the projections over the pool's database. */
export function createProjections(sql: Sql) {
  return {
    /** Keeps the snapshot if it is newer than the stored one (snapshots may arrive late or twice). */
    async saveOdds(tx: SqlExecutor, marketId: string, snapshot: OddsSnapshot): Promise<void> {
      const json: SnapshotJson = {
        totalStakedMinor: snapshot.totalStakedMinor.toString(),
        bettorCount: snapshot.bettorCount.toString(),
        outcomes: snapshot.outcomes.map((o) => ({
          outcomeId: o.outcomeId,
          stakedMinor: o.stakedMinor.toString(),
          betCount: o.betCount.toString(),
          decimalOdds: o.decimalOdds,
          layDecimalOdds: o.layDecimalOdds,
        })),
      };
      await tx.query(
        `INSERT INTO pool_market_odds (market_id, version, snapshot) VALUES ($1, $2, $3::jsonb)
         ON CONFLICT (market_id) DO UPDATE SET version = EXCLUDED.version, snapshot = EXCLUDED.snapshot
         WHERE pool_market_odds.version < EXCLUDED.version`,
        [marketId, snapshot.version, json as unknown as Record<string, unknown>],
      );
    },

    /** The latest snapshots of some markets, by market id. */
    async odds(marketIds: readonly string[]): Promise<Map<string, OddsSnapshot>> {
      if (marketIds.length === 0) return new Map();
      const result = await sql.query<{
        market_id: string;
        version: bigint;
        snapshot: SnapshotJson;
      }>(
        'SELECT market_id, version, snapshot FROM pool_market_odds WHERE market_id = ANY($1::text[])',
        [[...marketIds]],
      );
      return new Map(
        result.rows.map((row) => [
          row.market_id,
          {
            version: BigInt(row.version),
            totalStakedMinor: BigInt(row.snapshot.totalStakedMinor),
            bettorCount: BigInt(row.snapshot.bettorCount),
            outcomes: row.snapshot.outcomes.map((o) => ({
              outcomeId: o.outcomeId,
              stakedMinor: BigInt(o.stakedMinor),
              betCount: BigInt(o.betCount),
              decimalOdds: o.decimalOdds,
              layDecimalOdds: o.layDecimalOdds,
            })),
          },
        ]),
      );
    },

    /** Records a user's display name (UserRegistered, UserProfileUpdated). */
    async saveDisplayName(tx: SqlExecutor, userId: string, displayName: string): Promise<void> {
      await tx.query(
        `INSERT INTO pool_user_names (user_id, display_name) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET display_name = EXCLUDED.display_name`,
        [userId, displayName],
      );
    },

    /** Display names of some users (absent: unknown). */
    async displayNames(userIds: readonly string[]): Promise<Map<string, string>> {
      if (userIds.length === 0) return new Map();
      const result = await sql.query<{ user_id: string; display_name: string }>(
        'SELECT user_id, display_name FROM pool_user_names WHERE user_id = ANY($1::text[])',
        [[...userIds]],
      );
      return new Map(result.rows.map((row) => [row.user_id, row.display_name]));
    },
  };
}

/** The projections' type (see {@link createProjections}). */
export type Projections = ReturnType<typeof createProjections>;
