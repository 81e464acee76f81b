/**
 * SQL of EXCHANGE markets (be_xbooks, be_xorders, be_xfills, be_xholds; migration 0030). Every
 * writing function takes the caller's transaction: the engine writes a batch's intents in one
 * transaction and its result in another (group commit).
 */
import type { Sql, SqlExecutor, SqlValue } from '@streambet/platform/sql/types';
import type { XFill, XHold, XOrder } from './market-book.js';

/** The be_xbooks row of a market. */
export interface XBookRow {
  readonly seq: number;
  readonly writerId: string;
  readonly leaseUntilMs: number;
  readonly lapsed: boolean;
  readonly lapsedOrderCount: bigint;
  readonly lapsedStakeMinor: bigint;
  readonly settlement: string;
  readonly settledAtMs: number;
}

const ORDER_COLUMNS = `order_id, market_id, order_no, user_id, idempotency_key, outcome_id, outcome_index,
  side, odds_hundredths, tick, currency, stake_minor, matched_minor, canceled_minor, lapsed_minor,
  voided_minor, status, void_reason, placed_at_ms, updated_at_ms`;

function orderFromRow(row: Record<string, unknown>): XOrder {
  return {
    orderId: row.order_id as string,
    marketId: row.market_id as string,
    orderNo: Number(row.order_no),
    userId: row.user_id as string,
    idempotencyKey: row.idempotency_key as string,
    outcomeId: row.outcome_id as string,
    outcomeIndex: Number(row.outcome_index),
    side: row.side as XOrder['side'],
    oddsHundredths: Number(row.odds_hundredths),
    tick: Number(row.tick),
    currency: row.currency as string,
    stakeMinor: BigInt(row.stake_minor as bigint),
    matchedMinor: BigInt(row.matched_minor as bigint),
    canceledMinor: BigInt(row.canceled_minor as bigint),
    lapsedMinor: BigInt(row.lapsed_minor as bigint),
    voidedMinor: BigInt(row.voided_minor as bigint),
    status: row.status as XOrder['status'],
    voidReason: row.void_reason as XOrder['voidReason'],
    placedAtMs: Number(row.placed_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
  };
}

function fillFromRow(row: Record<string, unknown>): XFill {
  return {
    matchId: row.match_id as string,
    marketId: row.market_id as string,
    outcomeIndex: Number(row.outcome_index),
    oddsHundredths: Number(row.odds_hundredths),
    stakeMinor: BigInt(row.stake_minor as bigint),
    liabilityMinor: BigInt(row.liability_minor as bigint),
    backOrderId: row.back_order_id as string,
    layOrderId: row.lay_order_id as string,
    backUserId: row.back_user_id as string,
    layUserId: row.lay_user_id as string,
    makerOrderId: row.maker_order_id as string,
    matchedAtMs: Number(row.matched_at_ms),
    voided: row.voided as boolean,
  };
}

function holdFromRow(row: Record<string, unknown>): XHold {
  return {
    userId: row.user_id as string,
    version: Number(row.version),
    amountMinor: BigInt(row.amount_minor as bigint),
    betId: row.bet_id as string,
    pendingVersion: Number(row.pending_version),
    pendingAmountMinor: BigInt(row.pending_amount_minor as bigint),
    pendingBetId: row.pending_bet_id as string,
  };
}

/** Builds a multi-row VALUES list ($1, $2, …) for `rows` of `width` parameters each. */
function valuesList(rows: number, width: number): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r += 1) {
    out.push(`(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`);
  }
  return out.join(', ');
}

/** Creates the exchange store over the bet engine's database. */
export function createExchangeStore(sql: Sql) {
  return {
    sql,

    /** Locks (creating if needed) the book rows of `marketIds`, in id order (no deadlocks). */
    async lockBooks(tx: SqlExecutor, marketIds: readonly string[]): Promise<Map<string, XBookRow>> {
      const ids = [...new Set(marketIds)].sort();
      await tx.query(
        `INSERT INTO be_xbooks (market_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`,
        [ids],
      );
      const result = await tx.query(
        `SELECT market_id, seq, writer_id, lease_until_ms, lapsed, lapsed_order_count,
                lapsed_stake_minor, settlement, settled_at_ms
           FROM be_xbooks WHERE market_id = ANY($1::text[]) ORDER BY market_id FOR UPDATE`,
        [ids],
      );
      return new Map(
        result.rows.map((row) => [
          row.market_id as string,
          {
            seq: Number(row.seq),
            writerId: row.writer_id as string,
            leaseUntilMs: Number(row.lease_until_ms),
            lapsed: row.lapsed as boolean,
            lapsedOrderCount: BigInt(row.lapsed_order_count as bigint),
            lapsedStakeMinor: BigInt(row.lapsed_stake_minor as bigint),
            settlement: row.settlement as string,
            settledAtMs: Number(row.settled_at_ms),
          },
        ]),
      );
    },

    /** Takes or renews the writer lease and records the new seq of a locked book row. */
    async updateBook(
      tx: SqlExecutor,
      marketId: string,
      update: { seq: number; writerId: string; leaseUntilMs: number },
    ): Promise<void> {
      await tx.query(
        `UPDATE be_xbooks SET seq = $2, writer_id = $3, lease_until_ms = $4 WHERE market_id = $1`,
        [marketId, update.seq, update.writerId, update.leaseUntilMs],
      );
    },

    async markLapsed(
      tx: SqlExecutor,
      marketId: string,
      figures: { orderCount: bigint; stakeMinor: bigint; voidedFills: bigint },
    ): Promise<void> {
      await tx.query(
        `UPDATE be_xbooks SET lapsed = true, lapsed_order_count = $2, lapsed_stake_minor = $3,
                voided_fill_count = $4 WHERE market_id = $1`,
        [marketId, figures.orderCount, figures.stakeMinor, figures.voidedFills],
      );
    },

    async markSettled(tx: SqlExecutor, marketId: string, settlement: string, nowMs: number) {
      await tx.query(
        `UPDATE be_xbooks SET settlement = $2, settled_at_ms = $3 WHERE market_id = $1`,
        [marketId, settlement, nowMs],
      );
    },

    /** Every order of a market (for a rebuild), in order_no order. */
    async marketOrders(tx: SqlExecutor, marketId: string): Promise<XOrder[]> {
      const result = await tx.query(
        `SELECT ${ORDER_COLUMNS} FROM be_xorders WHERE market_id = $1 ORDER BY order_no`,
        [marketId],
      );
      return result.rows.map(orderFromRow);
    },

    async marketFills(tx: SqlExecutor, marketId: string): Promise<XFill[]> {
      const result = await tx.query(
        `SELECT * FROM be_xfills WHERE market_id = $1 ORDER BY matched_at_ms, match_id`,
        [marketId],
      );
      return result.rows.map(fillFromRow);
    },

    async marketHolds(tx: SqlExecutor, marketId: string): Promise<XHold[]> {
      const result = await tx.query(`SELECT * FROM be_xholds WHERE market_id = $1`, [marketId]);
      return result.rows.map(holdFromRow);
    },

    async orderById(orderId: string, db: SqlExecutor = sql): Promise<XOrder | undefined> {
      const result = await db.query(`SELECT ${ORDER_COLUMNS} FROM be_xorders WHERE order_id = $1`, [
        orderId,
      ]);
      const row = result.rows[0];
      return row === undefined ? undefined : orderFromRow(row);
    },

    async orderByKey(userId: string, idempotencyKey: string): Promise<XOrder | undefined> {
      const result = await sql.query(
        `SELECT ${ORDER_COLUMNS} FROM be_xorders WHERE user_id = $1 AND idempotency_key = $2`,
        [userId, idempotencyKey],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : orderFromRow(row);
    },

    /** Fills of these orders (either side), oldest first. */
    async fillsOfOrders(orderIds: readonly string[]): Promise<XFill[]> {
      if (orderIds.length === 0) return [];
      const result = await sql.query(
        `SELECT * FROM be_xfills WHERE back_order_id = ANY($1::text[]) OR lay_order_id = ANY($1::text[])
          ORDER BY matched_at_ms, match_id`,
        [orderIds],
      );
      return result.rows.map(fillFromRow);
    },

    /**
     * Inserts intents; a (user, key) already stored is skipped. Returns the order ids inserted.
     */
    async insertOrders(tx: SqlExecutor, orders: readonly XOrder[]): Promise<Set<string>> {
      if (orders.length === 0) return new Set();
      const params: SqlValue[] = [];
      for (const o of orders) {
        params.push(
          o.orderId,
          o.marketId,
          o.orderNo,
          o.userId,
          o.idempotencyKey,
          o.outcomeId,
          o.outcomeIndex,
          o.side,
          o.oddsHundredths,
          o.tick,
          o.currency,
          o.stakeMinor,
          o.status,
          o.placedAtMs,
          o.updatedAtMs,
        );
      }
      const result = await tx.query(
        `INSERT INTO be_xorders (order_id, market_id, order_no, user_id, idempotency_key, outcome_id,
           outcome_index, side, odds_hundredths, tick, currency, stake_minor, status, placed_at_ms,
           updated_at_ms)
         VALUES ${valuesList(orders.length, 15)}
         ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING order_id`,
        params,
      );
      return new Set(result.rows.map((row) => row.order_id as string));
    },

    /** Writes the amounts and status of changed orders. */
    async updateOrders(tx: SqlExecutor, orders: readonly XOrder[]): Promise<void> {
      if (orders.length === 0) return;
      await tx.query(
        `UPDATE be_xorders o SET matched_minor = v.matched, canceled_minor = v.canceled,
                lapsed_minor = v.lapsed, voided_minor = v.voided, status = v.status,
                void_reason = v.reason, updated_at_ms = v.updated
           FROM (SELECT unnest($1::text[]) AS id, unnest($2::bigint[]) AS matched,
                        unnest($3::bigint[]) AS canceled, unnest($4::bigint[]) AS lapsed,
                        unnest($5::bigint[]) AS voided, unnest($6::text[]) AS status,
                        unnest($7::text[]) AS reason, unnest($8::bigint[]) AS updated) v
          WHERE o.order_id = v.id`,
        [
          orders.map((o) => o.orderId),
          orders.map((o) => o.matchedMinor),
          orders.map((o) => o.canceledMinor),
          orders.map((o) => o.lapsedMinor),
          orders.map((o) => o.voidedMinor),
          orders.map((o) => o.status),
          orders.map((o) => o.voidReason),
          orders.map((o) => o.updatedAtMs),
        ],
      );
    },

    async deleteOrders(tx: SqlExecutor, orderIds: readonly string[]): Promise<void> {
      if (orderIds.length === 0) return;
      await tx.query(`DELETE FROM be_xorders WHERE order_id = ANY($1::text[])`, [orderIds]);
    },

    async insertFills(tx: SqlExecutor, fills: readonly XFill[]): Promise<void> {
      if (fills.length === 0) return;
      const params: SqlValue[] = [];
      for (const f of fills) {
        params.push(
          f.matchId,
          f.marketId,
          f.outcomeIndex,
          f.oddsHundredths,
          f.stakeMinor,
          f.liabilityMinor,
          f.backOrderId,
          f.layOrderId,
          f.backUserId,
          f.layUserId,
          f.makerOrderId,
          f.matchedAtMs,
        );
      }
      await tx.query(
        `INSERT INTO be_xfills (match_id, market_id, outcome_index, odds_hundredths, stake_minor,
           liability_minor, back_order_id, lay_order_id, back_user_id, lay_user_id, maker_order_id,
           matched_at_ms) VALUES ${valuesList(fills.length, 12)}`,
        params,
      );
    },

    async voidFills(tx: SqlExecutor, matchIds: readonly string[]): Promise<void> {
      if (matchIds.length === 0) return;
      await tx.query(`UPDATE be_xfills SET voided = true WHERE match_id = ANY($1::text[])`, [
        matchIds,
      ]);
    },

    /** Upserts hold rows as the engine holds them in memory. */
    async saveHolds(
      tx: SqlExecutor,
      marketId: string,
      currency: string,
      holds: readonly XHold[],
    ): Promise<void> {
      if (holds.length === 0) return;
      await tx.query(
        `INSERT INTO be_xholds (market_id, user_id, currency, version, amount_minor, bet_id,
                                pending_version, pending_amount_minor, pending_bet_id)
         SELECT $1, u, $2, v, a, b, pv, pa, pb
           FROM unnest($3::text[], $4::int[], $5::bigint[], $6::text[], $7::int[], $8::bigint[], $9::text[])
             AS t(u, v, a, b, pv, pa, pb)
         ON CONFLICT (market_id, user_id) DO UPDATE SET version = EXCLUDED.version,
           amount_minor = EXCLUDED.amount_minor, bet_id = EXCLUDED.bet_id,
           pending_version = EXCLUDED.pending_version,
           pending_amount_minor = EXCLUDED.pending_amount_minor,
           pending_bet_id = EXCLUDED.pending_bet_id`,
        [
          marketId,
          currency,
          holds.map((h) => h.userId),
          holds.map((h) => h.version),
          holds.map((h) => h.amountMinor),
          holds.map((h) => h.betId),
          holds.map((h) => h.pendingVersion),
          holds.map((h) => h.pendingAmountMinor),
          holds.map((h) => h.pendingBetId),
        ],
      );
    },

    /**
     * A user's orders, newest first (ListMyBets' EXCHANGE part): after the cursor `before`
     * (placed_at_ms, order id), at most `limit`. PENDING intents are not shown (their hold is
     * being taken; the caller gets the order in PlaceBet's answer).
     */
    async userOrders(query: {
      readonly userId: string;
      readonly marketId: string;
      readonly before: { readonly placedAtMs: number; readonly betId: string } | undefined;
      readonly limit: number;
    }): Promise<XOrder[]> {
      const result = await sql.query(
        `SELECT ${ORDER_COLUMNS} FROM be_xorders WHERE user_id = $1 AND ($2 = '' OR market_id = $2)
           AND status <> 'PENDING'
           AND ($3::bigint IS NULL OR (placed_at_ms, order_id) < ($3::bigint, $4::text))
         ORDER BY placed_at_ms DESC, order_id DESC LIMIT $5`,
        [
          query.userId,
          query.marketId,
          query.before === undefined ? null : BigInt(query.before.placedAtMs),
          query.before?.betId ?? '',
          query.limit,
        ],
      );
      return result.rows.map(orderFromRow);
    },

    /**
     * Which of `keys` (user id, idempotency key) are already stored, as `<user> <key>`: the lane
     * reads them in commit 1 so a repeated PlaceBet answers with the stored order and moves
     * nothing, without a read per request before the queue.
     */
    async storedKeys(
      tx: SqlExecutor,
      keys: ReadonlyArray<readonly [string, string]>,
    ): Promise<Set<string>> {
      if (keys.length === 0) return new Set();
      const result = await tx.query(
        `SELECT user_id, idempotency_key FROM be_xorders
          WHERE (user_id, idempotency_key) IN
            (SELECT * FROM unnest($1::text[], $2::text[]))`,
        [keys.map((k) => k[0]), keys.map((k) => k[1])],
      );
      return new Set(
        result.rows.map((row) => `${row.user_id as string} ${row.idempotency_key as string}`),
      );
    },

    /** How each settled market of `marketIds` ended (be_xbooks.settlement), by market id. */
    async settlements(
      marketIds: readonly string[],
    ): Promise<Map<string, { readonly settlement: string; readonly settledAtMs: number }>> {
      if (marketIds.length === 0) return new Map();
      const result = await sql.query(
        `SELECT market_id, settlement, settled_at_ms FROM be_xbooks
          WHERE market_id = ANY($1::text[]) AND settlement <> ''`,
        [[...new Set(marketIds)]],
      );
      return new Map(
        result.rows.map((row) => [
          row.market_id as string,
          { settlement: row.settlement as string, settledAtMs: Number(row.settled_at_ms) },
        ]),
      );
    },
  };
}

/** The exchange store. */
export type ExchangeStore = ReturnType<typeof createExchangeStore>;
