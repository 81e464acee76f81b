import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { BackgroundTask } from '@streambet/platform/runtime/service-host';
import { dedupeRetentionMs } from './domain/webhook.js';
import type { LinkService } from './links.js';
import type { IntegrationStore } from './store.js';

/**
 * The maintenance task, every `intervalMs`: refreshes platform tokens before they expire (a refused
 * refresh → REAUTH_REQUIRED with the reason), reconciles Twitch EventSub subscriptions, and forgets
 * webhook message ids older than the dedupe retention. A failing step is logged and retried at the
 * next tick; the others still run.
 */
export function createMaintenanceTask(deps: {
  readonly links: LinkService;
  readonly store: IntegrationStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly intervalMs: number;
  /** False when no Twitch application is configured: there is nothing to reconcile with. */
  readonly reconcile: boolean;
}): BackgroundTask {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const step = async (name: string, work: () => Promise<unknown>): Promise<void> => {
    try {
      await work();
    } catch (error) {
      deps.logger.warn(
        { err: error, step: name },
        'integration maintenance step failed; retrying at the next tick',
      );
    }
  };
  const tick = async (): Promise<void> => {
    await step('refresh', () => deps.links.refreshTokens());
    if (deps.reconcile) await step('reconcile', () => deps.links.reconcileTwitch());
    await step('prune', () => deps.store.pruneMessages(deps.clock.now() - dedupeRetentionMs()));
  };
  return {
    name: 'integration-maintenance',
    start() {
      timer ??= setInterval(() => {
        running ??= tick().finally(() => {
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
