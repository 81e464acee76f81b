/**
 * The mail sender: leases due rows of the mail outbox, delivers each through the transport and
 * marks it sent, or schedules a retry with exponential backoff (1 s doubling to 1 h) and keeps the
 * error. At least once per message id: a crash after delivery and before the mark delivers it
 * again under the same Message-ID. Runs as a task of the service (poll + wake after commits).
 */
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql } from '@streambet/platform/sql/types';
import { mailQueries } from './mail-outbox.js';
import type { MailTransport } from './transport.js';

/** Options of {@link createMailSender}. */
export interface MailSenderOptions {
  readonly sql: Sql;
  readonly transport: MailTransport;
  readonly clock: Clock;
  /** Rows per round. Default 20. */
  readonly batchSize?: number;
  /** How long a leased row is left to its sender before another may retry it, ms. Default 60 000. */
  readonly leaseMs?: number;
  /** Receives each failed delivery (for the log). */
  readonly onError?: (error: unknown, messageId: string) => void;
}

/** Sends what the outbox holds. */
export interface MailSender {
  /** One round: delivers due mail; resolves with how many were sent and how many failed. */
  sendDue(): Promise<{ sent: number; failed: number }>;
}

const firstRetryMs = 1000;
const maxRetryMs = 3_600_000;

/** Creates the sender. */
export function createMailSender(options: MailSenderOptions): MailSender {
  const { sql, transport, clock } = options;
  const batchSize = options.batchSize ?? 20;
  const leaseMs = options.leaseMs ?? 60_000;
  return {
    async sendDue() {
      const rows = await mailQueries.leaseDue(sql, clock.now(), leaseMs, batchSize);
      let sent = 0;
      let failed = 0;
      for (const row of rows) {
        try {
          await transport.send(row);
        } catch (error) {
          failed += 1;
          options.onError?.(error, row.messageId);
          const delay = Math.min(maxRetryMs, firstRetryMs * 2 ** Math.min(row.attempts, 22));
          await mailQueries.markFailed(
            sql,
            row.messageId,
            clock.now() + delay,
            error instanceof Error ? error.message : String(error),
          );
          continue;
        }
        await mailQueries.markSent(sql, row.messageId, clock.now());
        sent += 1;
      }
      return { sent, failed };
    },
  };
}
