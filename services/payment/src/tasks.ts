/**
 * The payment service's background work:
 * - `payment-saga` resumes withdrawals whose next step is due (a hold or payout request that a
 *   crash or an unanswered provider interrupted), every PAYMENT_SAGA_POLL_MS;
 * - `payment-reconciliation` asks the providers about payments stuck in a non-final state longer
 *   than PAYMENT_RECONCILE_AFTER_MS, and about deposits past their payable window, and applies
 *   what they say, every PAYMENT_RECONCILE_INTERVAL_MS.
 * One pass at a time per task; a failing payment is logged and the pass moves on.
 */
import type { Counter } from 'prom-client';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { BackgroundTask } from '@streambet/platform/runtime/service-host';
import type { Payments } from './payments.js';
import type { PaymentStore } from './store.js';

/** A task that runs `pass` every `intervalMs` (and on `wake`), never two passes at once. */
export interface PollingTask extends BackgroundTask {
  wake(): void;
  /** Runs one pass now and resolves when it is done (tests). */
  runOnce(): Promise<void>;
}

export function pollingTask(
  name: string,
  intervalMs: number,
  pass: () => Promise<void>,
  logger: Logger,
): PollingTask {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  const run = (): Promise<void> => {
    running ??= pass()
      .catch((error: unknown) =>
        logger.error({ err: error, task: name }, 'payment task pass failed'),
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  return {
    name,
    start() {
      stopped = false;
      timer = setInterval(() => void run(), intervalMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
    wake() {
      if (!stopped) setImmediate(() => void run());
    },
    runOnce: run,
  };
}

/** Dependencies of the tasks. */
export interface PaymentTaskDeps {
  readonly store: PaymentStore;
  readonly payments: Payments;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly sagaPollMs: number;
  readonly reconcileIntervalMs: number;
  readonly reconcileAfterMs: number;
  /** payment_reconciled_total{outcome}: changed, unchanged, failed. */
  readonly reconciled?: Counter<'outcome'>;
}

/** The saga task (see the file comment). */
export function createSagaTask(deps: PaymentTaskDeps): PollingTask {
  return pollingTask(
    'payment-saga',
    deps.sagaPollMs,
    async () => {
      for (;;) {
        const due = await deps.store.dueWithdrawals(deps.clock.now(), 20);
        let progressed = 0;
        for (const row of due) {
          try {
            const after = await deps.payments.advanceWithdrawal(row);
            if (after.status !== row.status) progressed += 1;
          } catch (error) {
            deps.logger.error({ err: error, paymentId: row.paymentId }, 'withdrawal step failed');
          }
        }
        if (due.length < 20 || progressed === 0) return;
      }
    },
    deps.logger,
  );
}

/** The reconciliation task (see the file comment). */
export function createReconciliationTask(deps: PaymentTaskDeps): PollingTask {
  return pollingTask(
    'payment-reconciliation',
    deps.reconcileIntervalMs,
    async () => {
      const nowMs = deps.clock.now();
      const stuck = await deps.store.stuck(nowMs, nowMs - deps.reconcileAfterMs, 100);
      for (const row of stuck) {
        try {
          const after = await deps.payments.reconcile(row);
          deps.reconciled?.inc({ outcome: after.status === row.status ? 'unchanged' : 'changed' });
        } catch (error) {
          deps.reconciled?.inc({ outcome: 'failed' });
          deps.logger.error({ err: error, paymentId: row.paymentId }, 'reconciliation failed');
        }
      }
    },
    deps.logger,
  );
}
