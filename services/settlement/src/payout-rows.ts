/**
 * Reading payout rows. A row's paid_at_ms is not stored (migration 0006): it is its run's
 * completed_at_ms, the time FINISH made the run's payouts visible, 0 while the run is not done.
 * FINISH used to stamp it on every row of the market in the transaction that wrote completed_at_ms,
 * so the derived value is the stored one to the millisecond, and FINISH no longer rewrites
 * 100,000 rows.
 *
 * The newest-first listing keeps its order, (paid_at_ms, market, user, kind) descending: every row
 * of a run shares paid_at_ms, so it walks runs by (completed_at_ms, market_id) on
 * `settlements_completed` and each run's rows backwards on the primary key
 * (market_id, user_id, kind), stopping once the page is full.
 */
import type { SqlExecutor, SqlValue } from '@streambet/platform/sql/types';
import {
  payoutKindFromNumber,
  payoutKindNumber,
  type PayoutKindName,
  type PayoutRecord,
} from './proto-codec.js';

type Row = Record<string, unknown>;

/** Filters of ListPayouts. */
export interface PayoutQuery {
  readonly marketId?: string;
  readonly userId?: string;
  readonly kinds: readonly PayoutKindName[];
  readonly limit: number;
  readonly after?: {
    readonly paidAtMs: number;
    readonly marketId: string;
    readonly userId: string;
    readonly kind: number;
  };
}

/** The stored columns of a payout row `p` plus its derived paid_at_ms (its run `s`). */
export const PAYOUT_COLUMNS = `p.market_id, p.user_id, p.kind, p.channel_id, p.currency,
  p.stake_minor, p.payout_minor, p.net_minor, p.transfer_id, p.reversed_at_ms,
  s.completed_at_ms AS paid_at_ms`;

/** Payout rows `p` with their run `s` (every row belongs to a run: rows are written under it). */
export const PAYOUTS_WITH_RUN = `settlement_payouts p JOIN settlements s ON s.market_id = p.market_id`;

export function toPayout(row: Row): PayoutRecord {
  return {
    marketId: row.market_id as string,
    userId: row.user_id as string,
    kind: payoutKindFromNumber(Number(row.kind)),
    channelId: row.channel_id as string,
    currency: row.currency as string,
    stakeMinor: BigInt(row.stake_minor as string | number | bigint),
    payoutMinor: BigInt(row.payout_minor as string | number | bigint),
    netMinor: BigInt(row.net_minor as string | number | bigint),
    transferId: row.transfer_id as string,
    paidAtMs: Number(row.paid_at_ms),
    reversedAtMs: Number(row.reversed_at_ms),
  };
}

/** Every payout row of a market, user id order, paid_at_ms derived. */
export async function payoutsOf(tx: SqlExecutor, marketId: string): Promise<PayoutRecord[]> {
  const result = await tx.query<Row>(
    `SELECT ${PAYOUT_COLUMNS} FROM ${PAYOUTS_WITH_RUN}
     WHERE p.market_id = $1 ORDER BY p.user_id, p.kind`,
    [marketId],
  );
  return result.rows.map(toPayout);
}

/** Paid payout rows (their run is done), newest first: paid_at_ms, then market, user, kind. */
export async function listPayouts(sql: SqlExecutor, query: PayoutQuery): Promise<PayoutRecord[]> {
  const kinds = query.kinds.length > 0 ? query.kinds.map(payoutKindNumber) : null;
  if (query.userId) return listUserPayouts(sql, query.userId, kinds, query);
  const rows: PayoutRecord[] = [];
  const { after } = query;
  if (after !== undefined && (!query.marketId || query.marketId === after.marketId)) {
    // The rest of the run the previous page stopped in (only if that run is done at that time),
    // ordered and bounded as the primary key (market_id, user_id, kind) is, so the walk starts at
    // the cursor on it (seen picking the (user_id, market_id, kind) index, filtering by market).
    const rest = await sql.query<Row>(
      `SELECT ${PAYOUT_COLUMNS} FROM ${PAYOUTS_WITH_RUN}
       WHERE p.market_id = $1 AND s.completed_at_ms > 0 AND s.completed_at_ms = $2::bigint
         AND (p.market_id, p.user_id, p.kind) < ($1, $3, $4::smallint)
         AND ($5::smallint[] IS NULL OR p.kind = ANY($5::smallint[]))
       ORDER BY p.market_id DESC, p.user_id DESC, p.kind DESC LIMIT $6`,
      [after.marketId, after.paidAtMs, after.userId, after.kind, kinds, query.limit],
    );
    rows.push(...rest.rows.map(toPayout));
  }
  if (rows.length >= query.limit) return rows;
  // Then whole runs after it, newest first; at most `limit` rows from each.
  const remaining = query.limit - rows.length;
  const where = ['s.completed_at_ms > 0'];
  const params: SqlValue[] = [kinds, remaining];
  if (query.marketId) {
    params.push(query.marketId);
    where.push(`s.market_id = $${params.length}`);
  }
  if (after !== undefined) {
    params.push(after.paidAtMs, after.marketId);
    where.push(
      `(s.completed_at_ms, s.market_id) < ($${params.length - 1}::bigint, $${params.length})`,
    );
  }
  const next = await sql.query<Row>(
    `SELECT p.*, s.completed_at_ms AS paid_at_ms
     FROM settlements s CROSS JOIN LATERAL (
       SELECT p.market_id, p.user_id, p.kind, p.channel_id, p.currency, p.stake_minor,
         p.payout_minor, p.net_minor, p.transfer_id, p.reversed_at_ms
       FROM settlement_payouts p
       WHERE p.market_id = s.market_id AND ($1::smallint[] IS NULL OR p.kind = ANY($1::smallint[]))
       ORDER BY p.user_id DESC, p.kind DESC LIMIT $2
     ) p
     WHERE ${where.join(' AND ')}
     ORDER BY s.completed_at_ms DESC, s.market_id DESC, p.user_id DESC, p.kind DESC LIMIT $2`,
    params,
  );
  rows.push(...next.rows.map(toPayout));
  return rows;
}

/** One user's paid rows, newest first (a user has one row per market and kind at most). */
async function listUserPayouts(
  sql: SqlExecutor,
  userId: string,
  kinds: number[] | null,
  query: PayoutQuery,
): Promise<PayoutRecord[]> {
  const where = ['s.completed_at_ms > 0', 'p.user_id = $1'];
  const params: SqlValue[] = [userId];
  const add = (clause: string, value: SqlValue): void => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (query.marketId) add('p.market_id = ?', query.marketId);
  if (kinds !== null) add('p.kind = ANY(?::smallint[])', kinds);
  const { after } = query;
  if (after !== undefined) {
    params.push(after.paidAtMs, after.marketId, after.userId, after.kind);
    const n = params.length;
    where.push(
      `(s.completed_at_ms, p.market_id, p.user_id, p.kind) < ($${n - 3}::bigint, $${n - 2}, $${n - 1}, $${n}::smallint)`,
    );
  }
  params.push(query.limit);
  const result = await sql.query<Row>(
    `SELECT ${PAYOUT_COLUMNS} FROM ${PAYOUTS_WITH_RUN} WHERE ${where.join(' AND ')}
     ORDER BY s.completed_at_ms DESC, p.market_id DESC, p.user_id DESC, p.kind DESC
     LIMIT $${params.length}`,
    params,
  );
  return result.rows.map(toPayout);
}
