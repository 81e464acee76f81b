/**
 * Reading bets: by id, a user's bets (ListMyBets) and a market's bets, newest first. Every read
 * goes through the view `be_bets_resolved` (migration 0010): a bet of a resolved market shows its
 * result and payout derived from the market's resolution record, from the moment it committed.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { BetStatus, VoidReason } from '../domain/bet.js';
import type { BetRecord, ClientContext } from '../proto-codec.js';
import type { BetEngineStoreDeps } from './index.js';

/** A page request of ListMyBets. */
export interface MyBetsQuery {
  readonly userId: string;
  readonly statuses: readonly BetStatus[];
  readonly marketId: string;
  readonly before: { readonly placedAtMs: number; readonly betId: string } | undefined;
  readonly limit: number;
}

/** The bet of a be_bets row. */
export function betFromRow(row: Record<string, unknown>): BetRecord {
  return {
    betId: row.bet_id as string,
    userId: row.user_id as string,
    idempotencyKey: row.idempotency_key as string,
    marketId: row.market_id as string,
    outcomeId: row.outcome_id as string,
    currency: row.currency as string,
    stakeMinor: BigInt(row.stake_minor as bigint),
    status: row.status as BetStatus,
    voidReason: (row.void_reason as VoidReason | null) ?? undefined,
    holdTransferId: row.hold_transfer_id as string,
    holdTimeoutSeconds: Number(row.hold_timeout_seconds),
    heldMinor: BigInt(row.held_minor as bigint),
    voidedStakeMinor: BigInt(row.voided_stake_minor as bigint),
    payoutMinor: BigInt(row.payout_minor as bigint),
    netProfitMinor: BigInt(row.net_profit_minor as bigint),
    placedAtMs: Number(row.placed_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
    settledAtMs: Number(row.settled_at_ms),
    client: row.client as ClientContext,
  };
}

/** Creates the bet queries. */
export function createBetQueries(deps: BetEngineStoreDeps) {
  const { sql } = deps;
  return {
    /** Bets by id. */
    async getBets(
      betIds: readonly string[],
      db: SqlExecutor = sql,
    ): Promise<Map<string, BetRecord>> {
      if (betIds.length === 0) return new Map();
      const result = await db.query(
        'SELECT * FROM be_bets_resolved WHERE bet_id = ANY($1::text[])',
        [[...betIds]],
      );
      return new Map(result.rows.map((row) => [row.bet_id as string, betFromRow(row)]));
    },

    /** One page of a user's bets, newest first. */
    async listUserBets(query: MyBetsQuery): Promise<BetRecord[]> {
      const result = await sql.query(
        `SELECT * FROM be_bets_resolved WHERE user_id = $1
           AND (cardinality($2::text[]) = 0 OR status = ANY($2::text[]))
           AND ($3 = '' OR market_id = $3)
           AND ($4::bigint IS NULL OR (placed_at_ms, bet_id) < ($4::bigint, $5::text))
         ORDER BY placed_at_ms DESC, bet_id DESC LIMIT $6`,
        [
          query.userId,
          [...query.statuses],
          query.marketId,
          query.before === undefined ? null : BigInt(query.before.placedAtMs),
          query.before?.betId ?? '',
          query.limit,
        ],
      );
      return result.rows.map(betFromRow);
    },

    /**
     * One batch of the bets settlement must act on, in bet_id order after `afterBetId`: every bet
     * whose hold the ledger still has or had at settlement — ACCEPTED, settled (WON, LOST,
     * REFUNDED) and voided with the market (MARKET_CANCELED, MARKET_VOIDED) — but not bets whose
     * hold the bet engine released (RETROACTIVE_LOCK) or never got (HOLD_FAILED).
     */
    async listMarketBets(
      marketId: string,
      afterBetId: string,
      limit: number,
    ): Promise<BetRecord[]> {
      const result = await sql.query(
        `SELECT * FROM be_bets_resolved WHERE market_id = $1 AND bet_id > $2
           AND (status IN ('ACCEPTED', 'WON', 'LOST', 'REFUNDED')
             OR (status = 'VOIDED' AND void_reason IN ('MARKET_CANCELED', 'MARKET_VOIDED')))
         ORDER BY bet_id LIMIT $3`,
        [marketId, afterBetId, limit],
      );
      return result.rows.map(betFromRow);
    },
  };
}
