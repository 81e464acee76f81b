/**
 * Issue 17's crash test on the notification outbox: a child process stores notifications for
 * one event (their emails in the mail outbox, in the consumer's inbox transaction) and is
 * SIGKILLed either right after that commit or right after the SMTP server accepted the first
 * email but before the outbox row was marked sent. The database and the SMTP server survive. A
 * restarted sender (and a redelivery of the same event, as the bus would do) then leaves every
 * notification delivered: each email's Message-ID arrives at the SMTP server, none is missing,
 * no notification gets a second Message-ID (a redelivered event adds nothing), and every row ends
 * marked sent. After a kill between delivery and the mark, the one email sent twice carries the
 * same Message-ID both times, so mail clients drop the copy.
 */
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import { PayoutsMadeSchema } from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import {
  PayoutKind,
  PayoutSchema,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { platformMigrations } from '@streambet/platform/outbox/index';
import { migrate } from '@streambet/platform/sql/migrate';
import { testEpochMs } from '@streambet/testkit/clock';
import { nextUlid } from '@streambet/testkit/ids';
import { runUntilKilled } from '@streambet/testkit/process';
import { openSqlUrl, sqlTargets } from '@streambet/testkit/sql';
import { insertTestUser } from '../../src/testing.js';
import { identityMigrations } from '../../src/identity/migrations/index.js';
import { createIdentityStore } from '../../src/identity/store/index.js';
import { messageIdHeader } from '../../src/mail/mail-outbox.js';
import { createMailSender } from '../../src/mail/sender.js';
import { createSmtpTransport } from '../../src/mail/transport.js';
import { createNotificationConsumer } from '../../src/notifications/consumer.js';
import type { MailCrashJob } from './fixtures/mail-crash-child.js';

const child = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'fixtures',
  'mail-crash-child.ts',
);

async function startSmtp() {
  const messageIds: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          messageIds.push(mail.messageId ?? '');
          callback();
        })
        .catch((error: unknown) => callback(error as Error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messageIds,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Row = Record<string, unknown>;

for (const target of sqlTargets()) {
  describe(`notification mail crash on ${target.name === 'pglite' ? 'PGlite on disk' : 'PostgreSQL'}`, () => {
    it.each(['after-commit', 'after-send'] as const)(
      'killed %s: after restart every notification email arrives under one Message-ID and is marked sent',
      { timeout: 120_000 },
      async (killAt) => {
        const smtp = await startSmtp();
        const db = await target.createUrl();
        try {
          const userIds = [nextUlid(), nextUlid(), nextUlid()];
          const eventId = `crash-${killAt}-${nextUlid()}`;
          {
            const sql = await openSqlUrl(db.url);
            await migrate(sql, 'user', [...platformMigrations, ...identityMigrations]);
            for (const userId of userIds) await insertTestUser(sql, userId, testEpochMs);
            await sql.close();
          }
          const job: MailCrashJob = {
            dbUrl: db.url,
            smtpUrl: smtp.url,
            nowMs: testEpochMs,
            eventId,
            userIds,
            killAt,
          };
          await runUntilKilled(child, job);

          // Restart: the bus redelivers the event (it was never acknowledged), and the sender
          // runs after the dead sender's lease (60 s) ran out.
          const sql = await openSqlUrl(db.url);
          try {
            const restartMs = testEpochMs + 120_000;
            const clock = { now: () => restartMs };
            const store = createIdentityStore(sql, { clock });
            const consume = createNotificationConsumer({
              sql,
              clock,
              appendEvents: (tx, events) => store.appendEvents(tx, events),
              linkBaseUrl: 'https://app.streambet.test',
            });
            await consume({
              id: eventId,
              topic: 'settlement',
              key: 'M-CRASH',
              type: PayoutsMadeSchema.typeName,
              occurredAtMs: testEpochMs,
              payload: toBinary(
                PayoutsMadeSchema,
                create(PayoutsMadeSchema, {
                  marketId: 'M-CRASH',
                  payouts: userIds.map((userId) =>
                    create(PayoutSchema, {
                      userId,
                      marketId: 'M-CRASH',
                      kind: PayoutKind.REFUND,
                      currency: 'BRL',
                      stakeMinor: 500n,
                      payoutMinor: 500n,
                    }),
                  ),
                }),
              ),
              headers: {},
            });
            const sender = createMailSender({
              sql,
              clock,
              transport: createSmtpTransport({
                url: smtp.url,
                from: 'StreamBet <no-reply@streambet.test>',
              }),
            });
            while ((await sender.sendDue()).sent > 0) {
              // until the outbox is drained
            }

            const { rows } = await sql.query<Row>(
              "SELECT message_id, user_id, sent_at_ms FROM mail_outbox WHERE kind = 'notification'",
            );
            expect(rows.map((r) => String(r.user_id)).sort()).toEqual([...userIds].sort());
            expect(rows.every((r) => r.sent_at_ms !== null)).toBe(true);
            const expected = rows.map((r) => messageIdHeader(String(r.message_id))).sort();
            expect([...new Set(smtp.messageIds)].sort()).toEqual(expected);
            const copies = smtp.messageIds.length - expected.length;
            expect(copies).toBe(killAt === 'after-send' ? 1 : 0);
            const { rows: notes } = await sql.query<Row>('SELECT count(*) AS n FROM notifications');
            expect(Number(notes[0]?.n)).toBe(userIds.length);
          } finally {
            await sql.close();
          }
        } finally {
          await smtp.close();
          await db.dispose();
        }
      },
    );
  });
}
