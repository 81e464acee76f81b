/**
 * Storage of the daily provider-vs-ledger report: its provider side (the provider-confirmed
 * outcomes recorded on payments: deposits SUCCEEDED, withdrawals PAID, by completion time) and the
 * reports themselves, one row per day, currency and kind, overwritten by each recomputation.
 */
import type { Sql } from '@streambet/platform/sql/types';
import type { PaymentKind } from './domain/payment.js';
import type { ReconciliationReportRow, ReportItem } from './domain/reconciliation-report.js';

/** Filters of {@link ReportStore.list}. */
export interface ReportFilter {
  /** Days starting at or after this, ms. */
  readonly fromMs: number;
  /** Days starting before this, ms. */
  readonly toMs: number;
  readonly onlyFlagged: boolean;
}

/** The report's storage (see the file comment). */
export type ReportStore = ReturnType<typeof createReportStore>;

/** Builds the report store over the payment service's database. */
export function createReportStore(sql: Sql) {
  return {
    /**
     * The provider side of [fromMs, toMs): deposits the provider confirmed (SUCCEEDED) and
     * withdrawals it paid (PAID), by the time they reached that status.
     */
    async providerConfirmed(fromMs: number, toMs: number): Promise<ReportItem[]> {
      const result = await sql.query(
        `SELECT payment_id, kind, currency, amount_minor FROM payments
         WHERE completed_at_ms >= $1 AND completed_at_ms < $2
           AND ((kind = 'DEPOSIT' AND status = 'SUCCEEDED') OR (kind = 'WITHDRAWAL' AND status = 'PAID'))`,
        [fromMs, toMs],
      );
      return result.rows.map((r) => ({
        paymentId: r.payment_id as string,
        kind: r.kind as PaymentKind,
        currency: r.currency as string,
        amountMinor: BigInt(r.amount_minor as bigint),
      }));
    },

    /** Stores the reports, replacing earlier computations of the same day, currency and kind. */
    async save(reports: readonly ReconciliationReportRow[]): Promise<void> {
      await sql.transaction(async (tx) => {
        for (const r of reports) {
          await tx.query(
            `INSERT INTO payment_reconciliation_reports (day_start_ms, currency, kind,
               provider_total_minor, ledger_total_minor, difference_minor, provider_count,
               ledger_count, mismatched_payment_ids, flagged, computed_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (day_start_ms, currency, kind) DO UPDATE SET
               provider_total_minor = EXCLUDED.provider_total_minor,
               ledger_total_minor = EXCLUDED.ledger_total_minor,
               difference_minor = EXCLUDED.difference_minor,
               provider_count = EXCLUDED.provider_count,
               ledger_count = EXCLUDED.ledger_count,
               mismatched_payment_ids = EXCLUDED.mismatched_payment_ids,
               flagged = EXCLUDED.flagged,
               computed_at_ms = EXCLUDED.computed_at_ms`,
            [
              r.dayStartMs,
              r.currency,
              r.kind,
              r.providerTotalMinor,
              r.ledgerTotalMinor,
              r.differenceMinor,
              r.providerCount,
              r.ledgerCount,
              JSON.stringify(r.mismatchedPaymentIds),
              r.flagged,
              r.computedAtMs,
            ],
          );
        }
      });
    },

    /** Reports matching `filter`, newest day first, then currency and kind. */
    async list(filter: ReportFilter): Promise<ReconciliationReportRow[]> {
      const result = await sql.query(
        `SELECT * FROM payment_reconciliation_reports
         WHERE day_start_ms >= $1 AND day_start_ms < $2 ${filter.onlyFlagged ? 'AND flagged' : ''}
         ORDER BY day_start_ms DESC, currency, kind`,
        [filter.fromMs, filter.toMs],
      );
      return result.rows.map((r) => {
        const ids = r.mismatched_payment_ids;
        return {
          dayStartMs: Number(r.day_start_ms),
          currency: r.currency as string,
          kind: r.kind as PaymentKind,
          providerTotalMinor: BigInt(r.provider_total_minor as bigint),
          ledgerTotalMinor: BigInt(r.ledger_total_minor as bigint),
          differenceMinor: BigInt(r.difference_minor as bigint),
          providerCount: Number(r.provider_count),
          ledgerCount: Number(r.ledger_count),
          mismatchedPaymentIds: (typeof ids === 'string' ? JSON.parse(ids) : ids) as string[],
          flagged: r.flagged === true,
          computedAtMs: Number(r.computed_at_ms),
        };
      });
    },
  };
}
