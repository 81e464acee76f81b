/**
 * Retention of the outbox and inbox tables: every service deletes its published outbox rows and
 * its inbox rows once they are older than the configured windows, in bounded batches, counting
 * what it deleted. Without it both tables grow by one row per event forever.
 *
 * Windows:
 * - OUTBOX_RETENTION_HOURS (default 168 = 7 days): published rows only; unpublished rows are
 *   never deleted. A published row is history (for an investigation), not needed for delivery.
 * - INBOX_RETENTION_HOURS (default 720 = 30 days): an inbox row is what makes a redelivered event
 *   a no-op, so it must outlive every way an event can come back: a bus redelivery (Redis Streams
 *   pending entries, Kafka's topic retention, 7 days by default), an outbox row published again
 *   after a crash, and a dead letter replayed with `npm run dlq -- replay` (replay goes to every
 *   group of the topic; a group whose inbox row was deleted would apply it again). Keep it longer
 *   than the bus's retention and replay dead letters within it.
 */
import { Counter, type Registry } from 'prom-client';
import { configSchemas, defineConfig } from '../config/load-config.js';
import type { Sql } from '../sql/types.js';
import { deleteProcessedInboxRows } from './inbox.js';
import { deletePublishedOutboxRows } from './relay.js';

/** The variables of the delivery machinery every service with a database reads. */
export const deliveryConfigSpec = defineConfig({
  OUTBOX_RETENTION_HOURS: {
    schema: configSchemas.int(1, 24 * 3650),
    description:
      'Published outbox rows older than this many hours are deleted (hourly, in batches); unpublished rows are never deleted',
    default: '168',
  },
  INBOX_RETENTION_HOURS: {
    schema: configSchemas.int(24, 24 * 3650),
    description:
      "Inbox rows (events a consumer already applied) older than this many hours are deleted; keep it longer than any redelivery window: the bus's retention (Kafka 7 days by default) and how late you may replay a dead letter",
    default: '720',
  },
  CONSUMER_FAILING_ALERT_MS: {
    schema: configSchemas.int(1000, 86_400_000),
    description:
      'An event whose handler has been failing (and retried) for longer than this is logged as an error; bus_oldest_failing_event_age_seconds shows it on /metrics',
    default: '60000',
  },
});

/** Options of {@link createRetentionTask}. */
export interface RetentionTaskOptions {
  readonly sql: Sql;
  readonly registry: Registry;
  readonly logger: { error(fields: object, message: string): void };
  /** ms since the epoch: the cutoffs are computed from it. */
  readonly now: () => number;
  readonly outboxRetentionHours: number;
  readonly inboxRetentionHours: number;
  /** How often to delete. Default one hour (and once at start). */
  readonly intervalMs?: number;
  /** Rows per DELETE statement. Default 1,000. */
  readonly batchSize?: number;
  /** Most batches per table per run, so one run never monopolises the database. Default 100. */
  readonly maxBatchesPerRun?: number;
}

/** The retention task: a background task plus `runOnce()` for tests and admin use. */
export interface RetentionTask {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
  /** Deletes what is due now; resolves with the rows deleted per table. */
  runOnce(): Promise<{ outbox: number; inbox: number }>;
}

const hourMs = 3_600_000;

/** Creates the retention task of one service's outbox and inbox (see the module comment). */
export function createRetentionTask(options: RetentionTaskOptions): RetentionTask {
  const intervalMs = options.intervalMs ?? hourMs;
  const batchSize = options.batchSize ?? 1_000;
  const maxBatches = options.maxBatchesPerRun ?? 100;
  const deleted = new Counter({
    name: 'outbox_retention_deleted_rows_total',
    help: 'Outbox (published) and inbox rows deleted by the retention task, by table',
    labelNames: ['table'],
    registers: [options.registry],
  });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;
  let stopping = false;

  async function drain(
    table: 'outbox' | 'inbox',
    deleteBatch: (sql: Sql, before: Date, limit: number) => Promise<number>,
    before: Date,
  ): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < maxBatches; batch += 1) {
      const count = await deleteBatch(options.sql, before, batchSize);
      total += count;
      deleted.inc({ table }, count);
      if (count < batchSize || stopping) break;
    }
    return total;
  }

  async function runOnce(): Promise<{ outbox: number; inbox: number }> {
    const nowMs = options.now();
    const outbox = await drain(
      'outbox',
      deletePublishedOutboxRows,
      new Date(nowMs - options.outboxRetentionHours * hourMs),
    );
    const inbox = await drain(
      'inbox',
      deleteProcessedInboxRows,
      new Date(nowMs - options.inboxRetentionHours * hourMs),
    );
    return { outbox, inbox };
  }

  function tick(): void {
    if (stopped || running !== undefined) return;
    running = runOnce()
      .catch((error: unknown) =>
        options.logger.error({ err: error }, 'deleting old outbox and inbox rows failed'),
      )
      .finally(() => {
        running = undefined;
      });
  }

  return {
    name: 'outbox-inbox-retention',
    start() {
      if (!stopped) return;
      stopped = false;
      stopping = false;
      timer = setInterval(tick, intervalMs);
      timer.unref();
      tick();
    },
    async stop() {
      stopped = true;
      stopping = true;
      clearInterval(timer);
      timer = undefined;
      await running;
    },
    runOnce,
  };
}
