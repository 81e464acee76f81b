/**
 * The market projection: market definitions (MarketCreated, or the pool's rules on a miss), state
 * changes, the fixed lock instant and escrow creation, as the rules and the routes read them.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import {
  type MarketKind,
  type MarketOutcome,
  type MarketState,
  type MarketView,
} from '../domain/bet.js';
import type { BetMarketFacts } from '../proto-codec.js';
import type { BetEngineStoreDeps } from './index.js';

/** A market as stored: the view the rules need plus the bet engine's own per-market facts. */
export interface MarketRecord extends MarketView {
  readonly escrowCreated: boolean;
  /** A lock instant is fixed but the bets placed after it are not all voided yet. */
  readonly lateVoidPending: boolean;
  /** Bets voided in full by the retroactive lock so far, and their stake. */
  readonly voidedBetCount: bigint;
  readonly voidedStakeMinor: bigint;
}

/** A market definition (MarketCreated, or BettingRules from the pool on a miss). */
export interface MarketDefinition {
  readonly marketId: string;
  readonly channelId: string;
  readonly channelOwnerUserId: string;
  readonly title: string;
  readonly kind: MarketKind;
  readonly currency: string;
  readonly outcomes: readonly MarketOutcome[];
  readonly minStakeMinor: bigint;
  readonly maxStakePerBetMinor: bigint;
  readonly maxStakePerUserMinor: bigint;
  readonly commissionBps: number;
  readonly state: MarketState;
  readonly bettingClosesAtMs: number;
  readonly lockEffectiveAtMs: number;
  readonly marketVersion: number;
}

/** Columns of a market row with its outcomes (alias `m`). */
const MARKET_COLUMNS = `m.market_id, m.channel_id, m.channel_owner_user_id, m.title, m.kind, m.currency,
  m.min_stake_minor, m.max_stake_per_bet_minor, m.max_stake_per_user_minor, m.commission_bps, m.state,
  m.betting_closes_at_ms, m.lock_effective_at_ms, m.late_void_pending, m.voided_bet_count,
  m.voided_stake_minor, m.market_version, m.escrow_created,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('outcomeId', o.outcome_id, 'title', o.title) ORDER BY o.position), '[]'::jsonb)
     FROM be_outcome_totals o WHERE o.market_id = m.market_id) AS outcomes`;

/** The market of a be_markets row. */
function marketFromRow(row: Record<string, unknown>): MarketRecord {
  const lock = row.lock_effective_at_ms as bigint | null;
  return {
    marketId: row.market_id as string,
    channelId: row.channel_id as string,
    channelOwnerUserId: row.channel_owner_user_id as string,
    title: row.title as string,
    kind: row.kind as MarketKind,
    currency: row.currency as string,
    outcomes: row.outcomes as MarketOutcome[],
    minStakeMinor: BigInt(row.min_stake_minor as bigint),
    maxStakePerBetMinor: BigInt(row.max_stake_per_bet_minor as bigint),
    maxStakePerUserMinor: BigInt(row.max_stake_per_user_minor as bigint),
    commissionBps: Number(row.commission_bps),
    state: row.state as MarketState,
    bettingClosesAtMs: Number(row.betting_closes_at_ms),
    lockEffectiveAtMs: lock === null ? undefined : Number(lock),
    marketVersion: Number(row.market_version),
    escrowCreated: row.escrow_created as boolean,
    lateVoidPending: row.late_void_pending as boolean,
    voidedBetCount: BigInt(row.voided_bet_count as bigint),
    voidedStakeMinor: BigInt(row.voided_stake_minor as bigint),
  };
}

/** Display facts of a market for bets and events. */
export function marketFacts(market: MarketView): BetMarketFacts {
  return {
    channelId: market.channelId,
    title: market.title,
    kind: market.kind,
    outcomeTitles: new Map(market.outcomes.map((o) => [o.outcomeId, o.title])),
  };
}

/** Markets by id, optionally locked (in id order) until the transaction ends. */
export async function loadMarkets(
  db: SqlExecutor,
  marketIds: readonly string[],
  lock: '' | ' FOR SHARE' | ' FOR UPDATE',
): Promise<Map<string, MarketRecord>> {
  if (marketIds.length === 0) return new Map();
  const ids = [...new Set(marketIds)].sort();
  if (lock !== '') {
    await db.query(
      `SELECT market_id FROM be_markets WHERE market_id = ANY($1::text[]) ORDER BY market_id${lock}`,
      [ids],
    );
  }
  const result = await db.query(
    `SELECT ${MARKET_COLUMNS} FROM be_markets m WHERE m.market_id = ANY($1::text[])`,
    [ids],
  );
  return new Map(result.rows.map((row) => [row.market_id as string, marketFromRow(row)]));
}

/** One market, optionally locked. */
export async function loadMarket(
  db: SqlExecutor,
  marketId: string,
  lock: '' | ' FOR SHARE' | ' FOR UPDATE' = '',
): Promise<MarketRecord | undefined> {
  return (await loadMarkets(db, [marketId], lock)).get(marketId);
}

/** Creates the market projection's reads and writes. */
export function createMarketProjection(deps: BetEngineStoreDeps) {
  const { sql } = deps;
  return {
    /** The market as projected, or undefined. */
    getMarket(marketId: string, db: SqlExecutor = sql): Promise<MarketRecord | undefined> {
      return loadMarket(db, marketId);
    },

    /** Markets by id (display facts of listed bets). */
    getMarkets(marketIds: readonly string[]): Promise<Map<string, MarketRecord>> {
      return loadMarkets(sql, marketIds, '');
    },

    /**
     * Stores a market definition unless a newer version is already projected (then only missing
     * titles are filled in). Returns whether the definition was applied.
     */
    async upsertMarketDefinition(
      tx: SqlExecutor,
      def: MarketDefinition,
      nowMs: number,
    ): Promise<boolean> {
      const applied = await tx.query(
        `INSERT INTO be_markets AS m (market_id, channel_id, channel_owner_user_id, title, kind, currency,
           min_stake_minor, max_stake_per_bet_minor, max_stake_per_user_minor, commission_bps, state,
           betting_closes_at_ms, lock_effective_at_ms, late_void_pending, market_version, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::bigint, $13::bigint IS NOT NULL, $14, $15)
         ON CONFLICT (market_id) DO UPDATE SET
           title = CASE WHEN EXCLUDED.title <> '' THEN EXCLUDED.title ELSE m.title END,
           state = CASE WHEN EXCLUDED.market_version > m.market_version THEN EXCLUDED.state ELSE m.state END,
           betting_closes_at_ms = CASE WHEN EXCLUDED.market_version > m.market_version
             THEN EXCLUDED.betting_closes_at_ms ELSE m.betting_closes_at_ms END,
           lock_effective_at_ms = coalesce(m.lock_effective_at_ms, EXCLUDED.lock_effective_at_ms),
           late_void_pending = m.late_void_pending OR (m.lock_effective_at_ms IS NULL AND EXCLUDED.lock_effective_at_ms IS NOT NULL),
           market_version = greatest(m.market_version, EXCLUDED.market_version),
           updated_at_ms = EXCLUDED.updated_at_ms
         RETURNING (xmax = 0) AS inserted`,
        [
          def.marketId,
          def.channelId,
          def.channelOwnerUserId,
          def.title,
          def.kind,
          def.currency,
          def.minStakeMinor,
          def.maxStakePerBetMinor,
          def.maxStakePerUserMinor,
          def.commissionBps,
          def.state,
          BigInt(def.bettingClosesAtMs),
          def.lockEffectiveAtMs > 0 ? BigInt(def.lockEffectiveAtMs) : null,
          BigInt(def.marketVersion),
          BigInt(nowMs),
        ],
      );
      await tx.query(
        `INSERT INTO be_outcome_totals AS t (market_id, outcome_id, position, title)
         SELECT $1, d.outcome_id, d.position, d.title
         FROM unnest($2::text[], $3::int[], $4::text[]) AS d(outcome_id, position, title)
         ON CONFLICT (market_id, outcome_id) DO UPDATE
           SET title = CASE WHEN EXCLUDED.title <> '' THEN EXCLUDED.title ELSE t.title END`,
        [
          def.marketId,
          def.outcomes.map((o) => o.outcomeId),
          def.outcomes.map((_, index) => index),
          def.outcomes.map((o) => o.title),
        ],
      );
      return applied.rows[0]?.inserted === true;
    },

    /**
     * Applies a lifecycle change of version `marketVersion` if newer than the projection's.
     * Returns the market before the change, or undefined when the market is unknown.
     */
    async applyMarketState(
      tx: SqlExecutor,
      change: {
        readonly marketId: string;
        readonly state: MarketState;
        readonly marketVersion: number;
        readonly bettingClosesAtMs?: number;
      },
      nowMs: number,
    ): Promise<{ before: MarketRecord; applied: boolean } | undefined> {
      const before = await loadMarket(tx, change.marketId, ' FOR UPDATE');
      if (before === undefined) return undefined;
      if (change.marketVersion <= before.marketVersion) return { before, applied: false };
      await tx.query(
        `UPDATE be_markets SET state = $2, market_version = $3,
           betting_closes_at_ms = coalesce($4, betting_closes_at_ms), updated_at_ms = $5
         WHERE market_id = $1`,
        [
          change.marketId,
          change.state,
          BigInt(change.marketVersion),
          change.bettingClosesAtMs === undefined ? null : BigInt(change.bettingClosesAtMs),
          BigInt(nowMs),
        ],
      );
      return { before, applied: true };
    },

    /**
     * Fixes the market's lock instant if none is in force (betting closes at once) and returns the
     * one in force; undefined when the market is unknown.
     */
    async fixLockInstant(
      tx: SqlExecutor,
      marketId: string,
      lockEffectiveAtMs: number,
      nowMs: number,
    ): Promise<number | undefined> {
      const result = await tx.query<{ lock_effective_at_ms: bigint }>(
        `UPDATE be_markets SET
           late_void_pending = late_void_pending OR lock_effective_at_ms IS NULL,
           lock_effective_at_ms = coalesce(lock_effective_at_ms, $2), updated_at_ms = $3
         WHERE market_id = $1 RETURNING lock_effective_at_ms`,
        [marketId, BigInt(lockEffectiveAtMs), BigInt(nowMs)],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : Number(row.lock_effective_at_ms);
    },

    /** Records that the markets' escrow accounts exist in the ledger. */
    async markEscrowCreated(marketIds: readonly string[]): Promise<void> {
      if (marketIds.length === 0) return;
      await sql.query(
        'UPDATE be_markets SET escrow_created = true WHERE market_id = ANY($1::text[])',
        [[...marketIds]],
      );
    },
  };
}
