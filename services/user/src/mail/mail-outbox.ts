/**
 * The mail outbox: every email the user service sends is a row written in the transaction of the
 * change that causes it (a registration, a reset request), so it exists if and only if the change
 * commits. The mail sender (sender.ts) delivers due rows and marks them sent. Each row has a
 * message id, sent as the Message-ID header: a crash between delivery and the mark sends the same
 * message again with the same Message-ID, which mail servers and clients use to drop the copy.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';

/** What kind of email a row is (for the mailbox page, metrics and tests). */
export type MailKind =
  | 'verify_email'
  | 'reset_password'
  | 'password_changed'
  | 'password_reset_done'
  | 'change_email'
  | 'email_changed'
  | 'two_step_changed'
  /** A notification of the notifications centre (services/user/src/notifications). */
  | 'notification';

/** An email to send. */
export interface OutgoingMail {
  /** Unique id (ULID); the Message-ID header is `<message_id@streambet>`. */
  readonly messageId: string;
  readonly userId: string;
  readonly kind: MailKind;
  readonly to: string;
  readonly subject: string;
  /** Plain-text body. */
  readonly text: string;
}

/** A row of the outbox as stored. */
export interface MailRow extends OutgoingMail {
  readonly createdAtMs: number;
  readonly attempts: number;
  readonly lastError: string;
  readonly sentAtMs: number | null;
}

/** The Message-ID header of a mail. */
export function messageIdHeader(messageId: string): string {
  return `<${messageId}@streambet>`;
}

/** Writes a mail to the outbox in `tx` (the transaction of the change that causes it). */
export async function enqueueMail(
  tx: SqlExecutor,
  mail: OutgoingMail,
  nowMs: number,
): Promise<void> {
  await tx.query(
    `INSERT INTO mail_outbox (message_id, user_id, kind, to_address, subject, body_text,
       created_at_ms, next_attempt_at_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
    [mail.messageId, mail.userId, mail.kind, mail.to, mail.subject, mail.text, BigInt(nowMs)],
  );
}

type Row = Record<string, unknown>;

function toMail(row: Row): MailRow {
  return {
    messageId: row.message_id as string,
    userId: row.user_id as string,
    kind: row.kind as MailKind,
    to: row.to_address as string,
    subject: row.subject as string,
    text: row.body_text as string,
    createdAtMs: Number(row.created_at_ms),
    attempts: Number(row.attempts),
    lastError: row.last_error as string,
    sentAtMs: row.sent_at_ms === null ? null : Number(row.sent_at_ms),
  };
}

const columns = `message_id, user_id, kind, to_address, subject, body_text, created_at_ms, attempts,
  last_error, sent_at_ms`;

/** SQL of the mail outbox. */
export const mailQueries = {
  /**
   * Leases up to `limit` unsent rows due at `nowMs`, oldest first: pushes their next attempt to
   * `nowMs + leaseMs`, so no other sender takes them while this one delivers (outside any
   * transaction); a sender that dies mid-delivery leaves them to be retried when the lease ends.
   */
  async leaseDue(
    db: SqlExecutor,
    nowMs: number,
    leaseMs: number,
    limit: number,
  ): Promise<MailRow[]> {
    const result = await db.query<Row>(
      `UPDATE mail_outbox SET next_attempt_at_ms = $3
       WHERE message_id IN (
         SELECT message_id FROM mail_outbox
         WHERE sent_at_ms IS NULL AND next_attempt_at_ms <= $1
         ORDER BY next_attempt_at_ms, message_id LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING ${columns}`,
      [BigInt(nowMs), limit, BigInt(nowMs + leaseMs)],
    );
    return result.rows.map(toMail).sort((a, b) => a.createdAtMs - b.createdAtMs);
  },

  async markSent(tx: SqlExecutor, messageId: string, nowMs: number): Promise<void> {
    await tx.query(
      'UPDATE mail_outbox SET sent_at_ms = $2, attempts = attempts + 1 WHERE message_id = $1',
      [messageId, BigInt(nowMs)],
    );
  },

  async markFailed(
    tx: SqlExecutor,
    messageId: string,
    nextAttemptAtMs: number,
    error: string,
  ): Promise<void> {
    await tx.query(
      `UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at_ms = $2, last_error = $3
       WHERE message_id = $1`,
      [messageId, BigInt(nextAttemptAtMs), error.slice(0, 500)],
    );
  },

  /** The mails to an address (all addresses when empty), newest first: the dev mailbox. */
  async listMailbox(db: SqlExecutor, to: string, limit: number): Promise<MailRow[]> {
    const result = await db.query<Row>(
      `SELECT ${columns} FROM mail_outbox WHERE ($1 = '' OR to_address = $1)
       ORDER BY created_at_ms DESC, message_id DESC LIMIT $2`,
      [to, limit],
    );
    return result.rows.map(toMail);
  },
};
