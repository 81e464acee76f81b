/**
 * The daily provider-vs-ledger report (payment.proto's ListReconciliationReports): every
 * PAYMENT_REPORT_INTERVAL_MS it recomputes yesterday's and today's reports (UTC days), so a day is
 * final once the first pass after its midnight ran, and today's shows the running totals. The
 * provider side is the provider-confirmed outcomes recorded on payments (deposits SUCCEEDED,
 * withdrawals PAID); the ledger side is the ledger's `payment:` transfers, read through the user
 * service's ledger API. A flagged day is logged and shows in
 * `payment_reconciliation_difference_minor{currency,kind}` (yesterday's difference, provider −
 * ledger) and `payment_reconciliation_flagged_days_total`.
 */
import type { Counter, Gauge } from 'prom-client';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import {
  compareDay,
  dayMs,
  dayStartOf,
  type ReconciliationReportRow,
} from './domain/reconciliation-report.js';
import type { PaymentLedgerReader } from './downstreams.js';
import type { ReportStore } from './report-store.js';
import { pollingTask, type PollingTask } from './tasks.js';

/** Dependencies of {@link createDailyReport}. */
export interface DailyReportDeps {
  readonly reports: ReportStore;
  readonly ledger: PaymentLedgerReader;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Currencies always reported (the deployment's real currency), even on a day without payments. */
  readonly currencies: readonly string[];
  readonly intervalMs: number;
  /** payment_reconciliation_difference_minor{currency,kind}: the last complete day's difference. */
  readonly difference?: Gauge<'currency' | 'kind'>;
  /** payment_reconciliation_flagged_days_total{currency,kind}: complete days found flagged. */
  readonly flaggedDays?: Counter<'currency' | 'kind'>;
}

/** The report job and its one-day computation. */
export interface DailyReport {
  readonly task: PollingTask;
  /** Computes and stores the reports of the UTC day starting at `dayStartMs`. */
  runDay(dayStartMs: number): Promise<ReconciliationReportRow[]>;
}

/** Builds the report job (see the file comment). */
export function createDailyReport(deps: DailyReportDeps): DailyReport {
  async function runDay(dayStartMs: number): Promise<ReconciliationReportRow[]> {
    const toMs = dayStartMs + dayMs;
    const provider = await deps.reports.providerConfirmed(dayStartMs, toMs);
    const currencies = [...new Set([...deps.currencies, ...provider.map((p) => p.currency)])];
    const ledger = (
      await Promise.all(currencies.map((c) => deps.ledger.paymentTransfers(c, dayStartMs, toMs)))
    ).flat();
    const reports = compareDay({
      dayStartMs,
      currencies,
      provider,
      ledger,
      computedAtMs: deps.clock.now(),
    });
    await deps.reports.save(reports);
    return reports;
  }

  const flaggedSeen = new Set<string>();
  const task = pollingTask(
    'payment-daily-report',
    deps.intervalMs,
    async () => {
      const today = dayStartOf(deps.clock.now());
      const complete = await runDay(today - dayMs);
      for (const report of complete) {
        deps.difference?.set(
          { currency: report.currency, kind: report.kind },
          Number(report.differenceMinor),
        );
        const key = `${report.dayStartMs}:${report.currency}:${report.kind}`;
        if (report.flagged && !flaggedSeen.has(key)) {
          flaggedSeen.add(key);
          deps.flaggedDays?.inc({ currency: report.currency, kind: report.kind });
          deps.logger.error(
            {
              dayStartMs: report.dayStartMs,
              currency: report.currency,
              kind: report.kind,
              providerTotalMinor: report.providerTotalMinor.toString(),
              ledgerTotalMinor: report.ledgerTotalMinor.toString(),
              mismatchedPaymentIds: report.mismatchedPaymentIds,
            },
            'payment reconciliation: provider and ledger totals differ',
          );
        }
      }
      await runDay(today);
    },
    deps.logger,
  );
  return { task, runDay };
}
