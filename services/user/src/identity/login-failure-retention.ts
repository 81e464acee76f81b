/**
 * Retention of the failed-login tables (login_address_failures, login_failures): without it every
 * (email, address) pair a guesser ever tried stays a row forever. A row is deleted once it can
 * change no decision of the throttle (domain/accounts/throttle.ts): its failure window has ended
 * and, for an address row, the address is not a known one (no successful login within
 * `knownAddressMs`, 30 days). Runs hourly (and once at start) in bounded batches, counting what
 * it deleted in `user_login_failures_deleted_rows_total{table}`.
 */
import { Counter, type Registry } from 'prom-client';
import type { BackgroundTask } from '@streambet/platform/runtime/service-host';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql } from '@streambet/platform/sql/types';
import { defaultLoginThrottle, type LoginThrottlePolicy } from './domain/accounts/throttle.js';
import type { IdentityStore } from './store/index.js';

/** Options of {@link createLoginFailureRetention}. */
export interface LoginFailureRetentionOptions {
  readonly sql: Sql;
  readonly store: Pick<IdentityStore, 'deleteExpiredLoginFailures'>;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly logger: { error(fields: object, message: string): void };
  /** The throttle the login path uses; default {@link defaultLoginThrottle}. */
  readonly policy?: LoginThrottlePolicy;
  /** How often to delete; default one hour. */
  readonly intervalMs?: number;
  /** Rows per DELETE statement; default 1,000. */
  readonly batchSize?: number;
  /** Most batches per run, so one run never monopolises the database; default 100. */
  readonly maxBatchesPerRun?: number;
}

/** The retention task, plus `runOnce()` for tests. */
export interface LoginFailureRetention extends BackgroundTask {
  /** Deletes what is due now; resolves with the rows deleted per table. */
  runOnce(): Promise<{ byAddress: number; byEmail: number }>;
}

/** Creates the retention task of the failed-login tables (see the module comment). */
export function createLoginFailureRetention(
  options: LoginFailureRetentionOptions,
): LoginFailureRetention {
  const policy = options.policy ?? defaultLoginThrottle;
  const intervalMs = options.intervalMs ?? 3_600_000;
  const batchSize = options.batchSize ?? 1_000;
  const maxBatches = options.maxBatchesPerRun ?? 100;
  const deleted = new Counter({
    name: 'user_login_failures_deleted_rows_total',
    help: 'Failed-login rows deleted by retention once they can change no throttle decision, by table',
    labelNames: ['table'],
    registers: [options.registry],
  });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  const runOnce = async (): Promise<{ byAddress: number; byEmail: number }> => {
    const total = { byAddress: 0, byEmail: 0 };
    const nowMs = options.clock.now();
    for (let batch = 0; batch < maxBatches; batch += 1) {
      const rows = await options.store.deleteExpiredLoginFailures(options.sql, {
        nowMs,
        policy,
        batchSize,
      });
      total.byAddress += rows.byAddress;
      total.byEmail += rows.byEmail;
      deleted.inc({ table: 'login_address_failures' }, rows.byAddress);
      deleted.inc({ table: 'login_failures' }, rows.byEmail);
      if (rows.byAddress < batchSize && rows.byEmail < batchSize) break;
    }
    return total;
  };
  const tick = (): void => {
    running ??= runOnce()
      .catch((error: unknown) =>
        options.logger.error({ err: error }, 'deleting expired login failures failed'),
      )
      .finally(() => {
        running = undefined;
      });
  };

  return {
    name: 'login-failure-retention',
    start() {
      tick();
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
    runOnce,
  };
}
