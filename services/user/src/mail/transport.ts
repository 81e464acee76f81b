/**
 * Mail transports: SMTP through nodemailer, or the local mailbox of embedded mode (nothing leaves
 * the process; the outbox rows are the mailbox, listed by `mailQueries.listMailbox`).
 */
import nodemailer from 'nodemailer';
import { messageIdHeader, type OutgoingMail } from './mail-outbox.js';

/** Delivers one mail; rejects when the server did not accept it. */
export interface MailTransport {
  /** `smtp` or `mailbox`. */
  readonly kind: 'smtp' | 'mailbox';
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** Options of {@link createSmtpTransport}. */
export interface SmtpTransportOptions {
  /** `smtp://user:pass@host:port` or `smtps://…` (MAIL_SMTP_URL). */
  readonly url: string;
  /** The From header (MAIL_FROM). */
  readonly from: string;
  /** Socket timeouts, ms; default 10 000. */
  readonly timeoutMs?: number;
}

/** SMTP through nodemailer; the Message-ID header is the outbox row's message id. */
export function createSmtpTransport(options: SmtpTransportOptions): MailTransport {
  const url = new URL(options.url);
  const timeout = options.timeoutMs ?? 10_000;
  const transporter = nodemailer.createTransport({
    host: url.hostname,
    port: url.port === '' ? (url.protocol === 'smtps:' ? 465 : 587) : Number(url.port),
    secure: url.protocol === 'smtps:',
    ...(url.username === ''
      ? {}
      : {
          auth: {
            user: decodeURIComponent(url.username),
            pass: decodeURIComponent(url.password),
          },
        }),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  return {
    kind: 'smtp',
    async send(mail) {
      await transporter.sendMail({
        from: options.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        messageId: messageIdHeader(mail.messageId),
      });
    },
    close: () => transporter.close(),
  };
}

/** Embedded mode without SMTP: delivery is marking the row sent; the rows are the mailbox. */
export const mailboxTransport: MailTransport = {
  kind: 'mailbox',
  send: () => Promise.resolve(),
  close: () => undefined,
};
