/**
 * The background task that runs due settlements: polls for due runs every `intervalMs` (and at
 * once when woken by the consumer), one market at a time per process; the lease in each run's row
 * keeps replicas from running the same market at once. Failures are recorded by the runner
 * (FAILED with backoff); the loop itself only logs what the store could not record.
 *
 * Takeover bound: a RUNNING run whose runner died is due again once its lease expires (at most
 * SETTLEMENT_LEASE_MS after the dead runner's last renewal), and an idle process finds it at its
 * next poll, so the successor starts it within lease + intervalMs of the crash: 5 s + 1 s by
 * default. A process busy with another market's run reaches it after that run (another replica,
 * if any, sooner).
 */
import type { Logger } from '@streambet/platform/log/logger';
import type { BackgroundTask } from '@streambet/platform/runtime/service-host';
import { runDetached } from '@streambet/platform/runtime/detached';
import type { SettlementRunner } from './runner.js';
import type { SettlementStore } from './store.js';

/** Options of {@link createSettlementTask}. */
export interface SettlementTaskDeps {
  readonly store: SettlementStore;
  readonly runner: SettlementRunner;
  readonly logger: Logger;
  /** Poll interval; default 1000 ms (config: SETTLEMENT_POLL_MS). */
  readonly intervalMs?: number;
}

/** The task plus `wake()` (run due settlements now). */
export interface SettlementTask extends BackgroundTask {
  wake(): void;
}

/** Builds the settlement task (see the file comment). */
export function createSettlementTask(deps: SettlementTaskDeps): SettlementTask {
  const intervalMs = deps.intervalMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;

  async function sweep(): Promise<void> {
    do {
      again = false;
      for (const marketId of await deps.store.dueMarketIds(10)) {
        if (stopped) return;
        await deps.runner.runOnce(marketId);
      }
    } while (again && !stopped);
  }

  function tick(): void {
    if (stopped) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = sweep()
      .catch((error: unknown) => deps.logger.error({ err: error }, 'settlement sweep failed'))
      .finally(() => {
        running = undefined;
      });
  }

  return {
    name: 'settlement-runs',
    start() {
      stopped = false;
      timer = setInterval(tick, intervalMs);
      timer.unref();
      tick();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
    wake() {
      // After the recording transaction commits: let the event loop turn first, detached from
      // the waker (a run settles whatever is due, not the waker's request).
      runDetached(() => setImmediate(tick));
    },
  };
}
