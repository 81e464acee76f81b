/**
 * The facts an eligibility check needs (user, limits, recent deposits and losses) of many users in
 * one statement.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import {
  noLimit,
  type DatedAmount,
  type LimitKindName,
  type LimitPeriodName,
  type LimitState,
} from '../domain/limits/limits.js';
import { type Row, ms, toLimit, toUser } from './rows.js';
import type { UserRecord } from './users.js';

/** SQL of batched eligibility checks. */
export const eligibilityQueries = {
  /**
   * What an eligibility check needs of these users, in ONE statement: their rows, limits, and
   * deposits and losses after `sinceMs` (one snapshot, one round trip, and outside a transaction
   * one commit — the bet engine asks once per group commit). Rows come back as JSON with
   * BIGINTs as text, so the usual mappers read them exactly.
   */
  async eligibilityFacts(
    db: SqlExecutor,
    userIds: readonly string[],
    sinceMs: number,
  ): Promise<{
    users: Map<string, UserRecord>;
    limits: Map<string, Record<LimitKindName, Record<LimitPeriodName, LimitState>>>;
    deposits: Map<string, DatedAmount[]>;
    losses: Map<string, DatedAmount[]>;
  }> {
    const ids = [...new Set(userIds)];
    const users = new Map<string, UserRecord>();
    const limits = new Map<string, Record<LimitKindName, Record<LimitPeriodName, LimitState>>>();
    const deposits = new Map<string, DatedAmount[]>();
    const losses = new Map<string, DatedAmount[]>();
    for (const userId of ids) {
      limits.set(userId, {
        deposit: { daily: noLimit, weekly: noLimit, monthly: noLimit },
        loss: { daily: noLimit, weekly: noLimit, monthly: noLimit },
      });
      deposits.set(userId, []);
      losses.set(userId, []);
    }
    if (ids.length === 0) return { users, limits, deposits, losses };
    const result = await db.query<{ k: string; j: Row | string }>(
      `SELECT 'u' AS k, json_build_object('id', id, 'email', email, 'display_name', display_name,
           'password_hash', password_hash, 'date_of_birth', date_of_birth, 'roles', roles,
           'status', status, 'frozen_reason', frozen_reason, 'kyc_status', kyc_status,
           'created_at_ms', created_at_ms::text, 'cool_off_until_ms', cool_off_until_ms::text,
           'self_exclusion_duration', self_exclusion_duration,
           'self_exclusion_started_at_ms', self_exclusion_started_at_ms::text,
           'self_exclusion_until_ms', self_exclusion_until_ms::text,
           'lifetime_deposits_minor', lifetime_deposits_minor::text,
           'email_verified_at_ms', email_verified_at_ms::text) AS j
         FROM users WHERE id = ANY($1::text[])
       UNION ALL
       SELECT 'l', json_build_object('user_id', user_id, 'kind', kind, 'period', period,
           'amount_minor', amount_minor::text, 'pending_set', pending_set,
           'pending_amount_minor', pending_amount_minor::text,
           'pending_requested_at_ms', pending_requested_at_ms::text,
           'pending_effective_at_ms', pending_effective_at_ms::text)
         FROM rg_limits WHERE user_id = ANY($1::text[])
       UNION ALL
       SELECT 'd', json_build_object('user_id', user_id, 'amount_minor', amount_minor::text,
           'occurred_at_ms', occurred_at_ms::text)
         FROM rg_deposits WHERE user_id = ANY($1::text[]) AND occurred_at_ms > $2
       UNION ALL
       SELECT 'x', json_build_object('user_id', user_id, 'amount_minor', amount_minor::text,
           'occurred_at_ms', occurred_at_ms::text)
         FROM rg_losses WHERE user_id = ANY($1::text[]) AND occurred_at_ms > $2`,
      [ids, BigInt(sinceMs)],
    );
    for (const { k, j } of result.rows) {
      const row = (typeof j === 'string' ? JSON.parse(j) : j) as Row;
      const userId = (k === 'u' ? row.id : row.user_id) as string;
      if (k === 'u') users.set(userId, toUser(row));
      else if (k === 'l') {
        const entry = limits.get(userId);
        if (entry !== undefined)
          entry[row.kind as LimitKindName][row.period as LimitPeriodName] = toLimit(row);
      } else {
        (k === 'd' ? deposits : losses).get(userId)?.push({
          atMs: ms(row.occurred_at_ms),
          amountMinor: BigInt(row.amount_minor as string),
        });
      }
    }
    return { users, limits, deposits, losses };
  },
};
