/** The periodic release of holds past their timeout (the user service's hold-expiry task). */
import type { Clock } from '@streambet/platform/rpc/clock';
import type { LedgerStore } from './store/index.js';

/** Options of {@link startHoldExpiry}. */
export interface HoldExpiryOptions {
  readonly store: LedgerStore;
  readonly clock: Clock;
  /** How often to look for holds past their timeout; default 1000 ms. */
  readonly intervalMs?: number;
  /** Called when a sweep fails (logged by the caller); the next tick tries again. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Releases holds whose timeout elapsed, every `intervalMs`, by calling
 * `store.expirePendingTransfers(clock.now())` until a sweep finds fewer than a full page. Posts
 * and voids also expire a hold they meet past its timeout, so this only bounds how long an
 * abandoned hold keeps money unavailable. `stop()` waits for a running sweep.
 */
export function startHoldExpiry(options: HoldExpiryOptions): { stop(): Promise<void> } {
  const limit = 1000;
  let running: Promise<void> | undefined;
  let stopped = false;
  const sweep = async (): Promise<void> => {
    try {
      while (
        !stopped &&
        (await options.store.expirePendingTransfers(options.clock.now(), limit)) >= limit
      ) {
        // a full page: more may be due
      }
    } catch (error) {
      options.onError?.(error);
    }
  };
  const timer = setInterval(() => {
    if (running !== undefined) return;
    running = sweep().finally(() => {
      running = undefined;
    });
  }, options.intervalMs ?? 1000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
