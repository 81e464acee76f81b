/**
 * Responsible gambling: deposit and loss limits (with scheduled loosenings), cool-off and
 * self-exclusion on the user row, and the deposits and losses the limits count.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import {
  noLimit,
  type DatedAmount,
  type LimitKindName,
  type LimitPeriodName,
  type LimitState,
} from '../domain/limits/limits.js';
import type { SelfExclusionState } from '../domain/limits/restrictions.js';
import { type Row, ms, toLimit } from './rows.js';

/** A limit row due for application by the sweeper. */
export interface DueLimit {
  readonly userId: string;
  readonly kind: LimitKindName;
  readonly period: LimitPeriodName;
}

/** SQL of limits, restrictions, deposits and losses. */
export const limitQueries = {
  /** Sets the end of the cool-off. */
  async setCoolOff(db: SqlExecutor, userId: string, untilMs: number): Promise<void> {
    await db.query('UPDATE users SET cool_off_until_ms = $2 WHERE id = $1', [
      userId,
      BigInt(untilMs),
    ]);
  },

  /** Stores the self-exclusion in force. */
  async setSelfExclusion(
    db: SqlExecutor,
    userId: string,
    state: SelfExclusionState,
  ): Promise<void> {
    await db.query(
      `UPDATE users SET self_exclusion_duration = $2, self_exclusion_started_at_ms = $3,
         self_exclusion_until_ms = $4 WHERE id = $1`,
      [
        userId,
        state.duration,
        BigInt(state.startedAtMs),
        state.untilMs === null ? null : BigInt(state.untilMs),
      ],
    );
  },

  /** A user's limits of one kind, every period present (no row = no limit). */
  async getLimits(
    db: SqlExecutor,
    userId: string,
    kind: LimitKindName,
  ): Promise<Record<LimitPeriodName, LimitState>> {
    const result = await db.query<Row>('SELECT * FROM rg_limits WHERE user_id = $1 AND kind = $2', [
      userId,
      kind,
    ]);
    const limits: Record<LimitPeriodName, LimitState> = {
      daily: noLimit,
      weekly: noLimit,
      monthly: noLimit,
    };
    for (const row of result.rows) limits[row.period as LimitPeriodName] = toLimit(row);
    return limits;
  },

  /** Limits of several users and both kinds (for batched eligibility checks). */
  async getLimitsOf(
    db: SqlExecutor,
    userIds: readonly string[],
  ): Promise<Map<string, Record<LimitKindName, Record<LimitPeriodName, LimitState>>>> {
    const byUser = new Map<string, Record<LimitKindName, Record<LimitPeriodName, LimitState>>>();
    for (const userId of userIds) {
      byUser.set(userId, {
        deposit: { daily: noLimit, weekly: noLimit, monthly: noLimit },
        loss: { daily: noLimit, weekly: noLimit, monthly: noLimit },
      });
    }
    if (userIds.length === 0) return byUser;
    const result = await db.query<Row>('SELECT * FROM rg_limits WHERE user_id = ANY($1::text[])', [
      [...new Set(userIds)],
    ]);
    for (const row of result.rows) {
      const entry = byUser.get(row.user_id as string);
      if (entry !== undefined)
        entry[row.kind as LimitKindName][row.period as LimitPeriodName] = toLimit(row);
    }
    return byUser;
  },

  /** Stores one limit (insert or replace). */
  async saveLimit(
    db: SqlExecutor,
    userId: string,
    kind: LimitKindName,
    period: LimitPeriodName,
    state: LimitState,
  ): Promise<void> {
    const pending = state.pending;
    await db.query(
      `INSERT INTO rg_limits (user_id, kind, period, amount_minor, pending_set, pending_amount_minor,
         pending_requested_at_ms, pending_effective_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (user_id, kind, period) DO UPDATE SET amount_minor = EXCLUDED.amount_minor,
         pending_set = EXCLUDED.pending_set, pending_amount_minor = EXCLUDED.pending_amount_minor,
         pending_requested_at_ms = EXCLUDED.pending_requested_at_ms,
         pending_effective_at_ms = EXCLUDED.pending_effective_at_ms`,
      [
        userId,
        kind,
        period,
        state.amountMinor,
        pending !== null,
        pending?.amountMinor ?? null,
        pending === null ? null : BigInt(pending.requestedAtMs),
        pending === null ? null : BigInt(pending.effectiveAtMs),
      ],
    );
  },

  /** Limits whose scheduled loosening is due at `nowMs` (for the sweeper). */
  async dueLimits(db: SqlExecutor, nowMs: number, limit: number): Promise<DueLimit[]> {
    const result = await db.query<Row>(
      `SELECT user_id, kind, period FROM rg_limits WHERE pending_set AND pending_effective_at_ms <= $1
       ORDER BY pending_effective_at_ms LIMIT $2`,
      [BigInt(nowMs), limit],
    );
    return result.rows.map((row) => ({
      userId: row.user_id as string,
      kind: row.kind as LimitKindName,
      period: row.period as LimitPeriodName,
    }));
  },

  /** Records a succeeded deposit once per payment id; false when already recorded. */
  async insertDeposit(
    db: SqlExecutor,
    deposit: {
      paymentId: string;
      userId: string;
      amountMinor: bigint;
      currency: string;
      atMs: number;
    },
  ): Promise<boolean> {
    const result = await db.query(
      `INSERT INTO rg_deposits (payment_id, user_id, amount_minor, currency, occurred_at_ms)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [
        deposit.paymentId,
        deposit.userId,
        deposit.amountMinor,
        deposit.currency,
        BigInt(deposit.atMs),
      ],
    );
    return result.rowCount === 1;
  },

  /** Adds to the user's lifetime deposits. */
  async addLifetimeDeposits(db: SqlExecutor, userId: string, amountMinor: bigint): Promise<void> {
    await db.query(
      'UPDATE users SET lifetime_deposits_minor = lifetime_deposits_minor + $2 WHERE id = $1',
      [userId, amountMinor],
    );
  },

  /** Records a realised net loss (+) or win (−) once per entry id; false when already recorded. */
  async insertLoss(
    db: SqlExecutor,
    entry: { entryId: string; userId: string; amountMinor: bigint; atMs: number },
  ): Promise<boolean> {
    const result = await db.query(
      `INSERT INTO rg_losses (entry_id, user_id, amount_minor, occurred_at_ms)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [entry.entryId, entry.userId, entry.amountMinor, BigInt(entry.atMs)],
    );
    return result.rowCount === 1;
  },

  /** Deposits (or losses) of users after `sinceMs`, grouped by user. */
  async amountsSince(
    db: SqlExecutor,
    table: 'deposits' | 'losses',
    userIds: readonly string[],
    sinceMs: number,
  ): Promise<Map<string, DatedAmount[]>> {
    const byUser = new Map<string, DatedAmount[]>(userIds.map((id) => [id, []]));
    if (userIds.length === 0) return byUser;
    const result = await db.query<Row>(
      `SELECT user_id, amount_minor, occurred_at_ms FROM ${table === 'deposits' ? 'rg_deposits' : 'rg_losses'}
       WHERE user_id = ANY($1::text[]) AND occurred_at_ms > $2`,
      [[...new Set(userIds)], BigInt(sinceMs)],
    );
    for (const row of result.rows) {
      byUser.get(row.user_id as string)?.push({
        atMs: ms(row.occurred_at_ms),
        amountMinor: BigInt(row.amount_minor as bigint),
      });
    }
    return byUser;
  },
};
