/**
 * The mail outbox and sender against a real SMTP server started in-process (`smtp-server`), per
 * SQL target, on a manual clock: a mail exists only if its transaction commits; a committed mail
 * arrives once with its Message-ID; a refused delivery is retried after a backoff and then
 * arrives; a crash between delivery and the mark (simulated by failing the mark) delivers the same
 * Message-ID again, never a different one, and no mail is lost.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { platformMigrations } from '@streambet/platform/outbox/index';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { manualClock, type ManualClock } from '@streambet/testkit/clock';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { identityMigrations } from '../../src/identity/migrations/index.js';
import { enqueueMail, mailQueries, type OutgoingMail } from '../../src/mail/mail-outbox.js';
import { createMailSender } from '../../src/mail/sender.js';
import { createSmtpTransport, type MailTransport } from '../../src/mail/transport.js';

interface Received {
  messageId: string;
  to: string;
  subject: string;
  text: string;
}

/** An SMTP server on a free port that keeps what it accepts; `refuse` makes it reject mail. */
async function startSmtp() {
  const received: Received[] = [];
  const state = { refuse: false };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      callback(state.refuse ? new Error('mailbox unavailable') : undefined);
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push({
            messageId: mail.messageId ?? '',
            to: Array.isArray(mail.to) ? '' : (mail.to?.text ?? ''),
            subject: mail.subject ?? '',
            text: (mail.text ?? '').trimEnd(),
          });
          callback();
        })
        .catch((error: unknown) => callback(error as Error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const mail = (messageId: string, to = 'ana@example.com'): OutgoingMail => ({
  messageId,
  userId: '',
  kind: 'verify_email',
  to,
  subject: `Subject ${messageId}`,
  text: `Body of ${messageId}\nsecond line`,
});

for (const target of sqlTargets()) {
  describe(`mail outbox through SMTP on ${target.name}`, () => {
    let db: SqlTestDatabase;
    let sql: Sql;
    let smtp: Awaited<ReturnType<typeof startSmtp>>;
    let transport: MailTransport;
    let clock: ManualClock;

    beforeAll(async () => {
      db = await target.create();
      sql = db.sql;
      await migrate(sql, 'user', [...platformMigrations, ...identityMigrations]);
      smtp = await startSmtp();
      transport = createSmtpTransport({
        url: smtp.url,
        from: 'StreamBet <no-reply@streambet.test>',
      });
    });
    afterAll(async () => {
      transport.close();
      await smtp.close();
      await db.dispose();
    });
    beforeEach(async () => {
      await sql.query('DELETE FROM mail_outbox');
      smtp.received.length = 0;
      smtp.state.refuse = false;
      clock = manualClock(Date.UTC(2026, 10, 20, 12));
    });

    it('given a committed and a rolled-back mail, then only the committed one arrives, once, with its Message-ID', async () => {
      await sql.transaction((tx) =>
        enqueueMail(tx, mail('01KMAIL0000000000000000001'), clock.now()),
      );
      await expect(
        sql.transaction(async (tx) => {
          await enqueueMail(tx, mail('01KMAIL0000000000000000002'), clock.now());
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      const sender = createMailSender({ sql, transport, clock });
      expect(await sender.sendDue()).toEqual({ sent: 1, failed: 0 });
      expect(await sender.sendDue()).toEqual({ sent: 0, failed: 0 });
      expect(smtp.received).toEqual([
        {
          messageId: '<01KMAIL0000000000000000001@streambet>',
          to: 'ana@example.com',
          subject: 'Subject 01KMAIL0000000000000000001',
          text: 'Body of 01KMAIL0000000000000000001\nsecond line',
        },
      ]);
      const [row] = await mailQueries.listMailbox(sql, 'ana@example.com', 10);
      expect(row?.sentAtMs).toBe(clock.now());
      expect(row?.attempts).toBe(1);
    });

    it('given the server refuses, then the mail waits with the error and arrives on a later round', async () => {
      await sql.transaction((tx) =>
        enqueueMail(tx, mail('01KMAIL0000000000000000003'), clock.now()),
      );
      const errors: string[] = [];
      const sender = createMailSender({
        sql,
        transport,
        clock,
        onError: (_error, id) => errors.push(id),
      });
      smtp.state.refuse = true;
      expect(await sender.sendDue()).toEqual({ sent: 0, failed: 1 });
      expect(errors).toEqual(['01KMAIL0000000000000000003']);
      const [waiting] = await mailQueries.listMailbox(sql, '', 10);
      expect(waiting?.sentAtMs).toBeNull();
      expect(waiting?.lastError).toContain('mailbox unavailable');
      smtp.state.refuse = false;
      // Not due before its backoff (1 s after the first failure).
      expect(await sender.sendDue()).toEqual({ sent: 0, failed: 0 });
      clock.advance(1000);
      expect(await sender.sendDue()).toEqual({ sent: 1, failed: 0 });
      expect(smtp.received.map((r) => r.messageId)).toEqual([
        '<01KMAIL0000000000000000003@streambet>',
      ]);
    });

    it('given a crash between delivery and the mark, then the retry repeats the same Message-ID and loses nothing', async () => {
      await sql.transaction(async (tx) => {
        await enqueueMail(tx, mail('01KMAIL0000000000000000004'), clock.now());
        await enqueueMail(tx, mail('01KMAIL0000000000000000005', 'bo@example.com'), clock.now());
      });
      // A sender whose process dies after the server accepted the first mail: the mark never runs.
      let crashed = false;
      const crashing: MailTransport = {
        ...transport,
        async send(m) {
          await transport.send(m);
          if (!crashed) {
            crashed = true;
            throw new Error('SIGKILL');
          }
        },
      };
      await createMailSender({ sql, transport: crashing, clock, batchSize: 1 }).sendDue();
      expect(smtp.received.map((r) => r.messageId)).toEqual([
        '<01KMAIL0000000000000000004@streambet>',
      ]);
      // A restarted sender (a new one, after the lease and backoff) sends everything unsent.
      clock.advance(60_000);
      const restarted = createMailSender({ sql, transport, clock });
      expect(await restarted.sendDue()).toEqual({ sent: 2, failed: 0 });
      expect(await restarted.sendDue()).toEqual({ sent: 0, failed: 0 });
      const ids = smtp.received.map((r) => r.messageId);
      expect(new Set(ids)).toEqual(
        new Set([
          '<01KMAIL0000000000000000004@streambet>',
          '<01KMAIL0000000000000000005@streambet>',
        ]),
      );
      // At least once, keyed by Message-ID: the repeat carries the same id, so it can be dropped.
      expect(ids.filter((id) => id === '<01KMAIL0000000000000000004@streambet>')).toHaveLength(2);
    });

    it('given a leased mail, then a second sender does not send it while the lease runs', async () => {
      await sql.transaction((tx) =>
        enqueueMail(tx, mail('01KMAIL0000000000000000006'), clock.now()),
      );
      const leased = await mailQueries.leaseDue(sql, clock.now(), 60_000, 10);
      expect(leased.map((m) => m.messageId)).toEqual(['01KMAIL0000000000000000006']);
      const other = createMailSender({ sql, transport, clock });
      expect(await other.sendDue()).toEqual({ sent: 0, failed: 0 });
      clock.advance(60_000);
      expect(await other.sendDue()).toEqual({ sent: 1, failed: 0 });
      expect(smtp.received).toHaveLength(1);
    });
  });
}
