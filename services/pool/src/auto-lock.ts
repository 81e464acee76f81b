import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { BackgroundTask } from '@streambet/platform/runtime/service-host';
import type { PoolStore } from './store.js';

/**
 * The auto-lock timer: every `intervalMs` it locks the OPEN markets whose betting window elapsed
 * (store.lockDueMarkets at the clock's now). The lock instant is the market's betting_closes_at_ms
 * however late the sweep runs, and the bet engine already rejects bets from that instant, so the
 * interval only bounds how soon the LOCKED state and event appear, not fairness.
 */
export function createAutoLockTask(deps: {
  readonly store: Pick<PoolStore, 'lockDueMarkets'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly intervalMs: number;
}): BackgroundTask {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const sweep = async (): Promise<void> => {
    try {
      // Drain: a full batch means more may be due.
      while ((await deps.store.lockDueMarkets(deps.clock.now(), 100)) === 100);
    } catch (error) {
      deps.logger.warn({ err: error }, 'auto-lock sweep failed; retrying at the next tick');
    }
  };
  return {
    name: 'auto-lock',
    start() {
      timer ??= setInterval(() => {
        running ??= sweep().finally(() => {
          running = undefined;
        });
      }, deps.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
