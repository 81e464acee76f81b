/**
 * KYC: cases as submitted and decided, the user's KYC status that mirrors the latest case, and the
 * provider webhook's replay guard.
 */
import type { SqlExecutor, SqlValue } from '@streambet/platform/sql/types';
import type { KycCaseState, KycStatusName } from '../domain/kyc/kyc.js';
import { type Row, caseColumns, toCase } from './rows.js';

/** Filters of ListKycCases. */
export interface KycCaseFilter {
  readonly status: Exclude<KycStatusName, 'NOT_STARTED'> | undefined;
  readonly userId: string | undefined;
  /** Return cases with id above this one (oldest first). */
  readonly afterCaseId: string | undefined;
  readonly limit: number;
}

/** SQL of KYC cases, the user's KYC status and webhook events. */
export const kycQueries = {
  /** Sets the user's KYC status (mirrors the latest case). */
  async setKycStatus(db: SqlExecutor, userId: string, status: KycStatusName): Promise<void> {
    await db.query('UPDATE users SET kyc_status = $2 WHERE id = $1', [userId, status]);
  },

  /** Stores a new KYC case (PENDING_REVIEW); false when the user already has a pending one. */
  async insertKycCase(
    db: SqlExecutor,
    kase: KycCaseState,
    providerReference: string,
  ): Promise<boolean> {
    const result = await db.query(
      `INSERT INTO kyc_cases (id, user_id, status, legal_name, document_type, document_number,
         document_country, submitted_at_ms, provider_reference)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
      [
        kase.caseId,
        kase.userId,
        kase.status,
        kase.legalName,
        kase.documentType,
        kase.documentNumber,
        kase.documentCountry,
        BigInt(kase.submittedAtMs),
        providerReference,
      ],
    );
    return result.rowCount === 1;
  },

  /** Reads a KYC case; `forUpdate` locks it. */
  async getKycCase(
    db: SqlExecutor,
    caseId: string,
    lock: { forUpdate?: boolean } = {},
  ): Promise<KycCaseState | undefined> {
    const result = await db.query<Row>(
      `SELECT ${caseColumns} FROM kyc_cases WHERE id = $1${lock.forUpdate === true ? ' FOR UPDATE' : ''}`,
      [caseId],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toCase(row);
  },

  /** The user's most recent case, if any. */
  async latestKycCase(db: SqlExecutor, userId: string): Promise<KycCaseState | undefined> {
    const result = await db.query<Row>(
      `SELECT ${caseColumns} FROM kyc_cases WHERE user_id = $1 ORDER BY id DESC LIMIT 1`,
      [userId],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toCase(row);
  },

  /** Cases matching `filter`, oldest submission first (case ids are ULIDs). */
  async listKycCases(db: SqlExecutor, filter: KycCaseFilter): Promise<KycCaseState[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    const param = (value: SqlValue): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.status !== undefined) where.push(`status = ${param(filter.status)}`);
    if (filter.userId !== undefined) where.push(`user_id = ${param(filter.userId)}`);
    if (filter.afterCaseId !== undefined) where.push(`id > ${param(filter.afterCaseId)}`);
    const result = await db.query<Row>(
      `SELECT ${caseColumns} FROM kyc_cases ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY id LIMIT ${param(filter.limit)}`,
      params,
    );
    return result.rows.map(toCase);
  },

  /** Writes a decided case. */
  async updateKycCase(db: SqlExecutor, kase: KycCaseState): Promise<void> {
    await db.query(
      `UPDATE kyc_cases SET status = $2, reviewed_at_ms = $3, reviewer_user_id = $4, review_reason = $5
       WHERE id = $1`,
      [kase.caseId, kase.status, BigInt(kase.reviewedAtMs), kase.reviewerUserId, kase.reviewReason],
    );
  },

  /** Records a provider webhook event id; false when it was seen before (a replay). */
  async recordKycWebhookEvent(
    db: SqlExecutor,
    eventId: string,
    caseId: string,
    atMs: number,
  ): Promise<boolean> {
    const result = await db.query(
      'INSERT INTO kyc_webhook_events (event_id, case_id, received_at_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [eventId, caseId, BigInt(atMs)],
    );
    return result.rowCount === 1;
  },
};
