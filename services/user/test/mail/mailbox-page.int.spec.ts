/**
 * The dev mailbox of embedded mode, per SQL target: lists the outbox newest first, filters by
 * address (case-insensitively), answers JSON, and escapes what users typed into the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformMigrations } from '@streambet/platform/outbox/index';
import { migrate } from '@streambet/platform/sql/migrate';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { identityMigrations } from '../../src/identity/migrations/index.js';
import { enqueueMail } from '../../src/mail/mail-outbox.js';
import { mailboxResponse } from '../../src/mail/mailbox-page.js';

const t0 = Date.UTC(2026, 10, 20, 12);

for (const target of sqlTargets()) {
  describe(`dev mailbox on ${target.name}`, () => {
    let db: SqlTestDatabase;
    beforeAll(async () => {
      db = await target.create();
      await migrate(db.sql, 'user', [...platformMigrations, ...identityMigrations]);
      await db.sql.transaction(async (tx) => {
        await enqueueMail(
          tx,
          {
            messageId: '01KBOX00000000000000000001',
            userId: 'u1',
            kind: 'verify_email',
            to: 'ana@example.com',
            subject: 'Confirm <ana>',
            text: 'Hello <script>alert(1)</script>',
          },
          t0,
        );
        await enqueueMail(
          tx,
          {
            messageId: '01KBOX00000000000000000002',
            userId: 'u2',
            kind: 'reset_password',
            to: 'bo@example.com',
            subject: 'Reset',
            text: 'code: sbpr_x',
          },
          t0 + 1000,
        );
      });
    });
    afterAll(async () => {
      await db.dispose();
    });

    it('given two mails, then JSON lists them newest first and filters by address', async () => {
      const all = await mailboxResponse(db.sql, new URLSearchParams('format=json'));
      expect(all.contentType).toBe('application/json');
      const parsed = JSON.parse(all.body) as { mails: Array<{ messageId: string; to: string }> };
      expect(parsed.mails.map((m) => m.messageId)).toEqual([
        '01KBOX00000000000000000002',
        '01KBOX00000000000000000001',
      ]);
      const ana = JSON.parse(
        (await mailboxResponse(db.sql, new URLSearchParams('format=json&to=ANA@example.com'))).body,
      ) as { mails: Array<{ to: string; subject: string; sentAtMs: number | null }> };
      expect(ana.mails).toEqual([
        expect.objectContaining({
          to: 'ana@example.com',
          subject: 'Confirm <ana>',
          sentAtMs: null,
        }),
      ]);
    });

    it('given mail text with markup, then the HTML page shows it escaped', async () => {
      const page = await mailboxResponse(db.sql, new URLSearchParams('to=ana@example.com'));
      expect(page.contentType).toBe('text/html; charset=utf-8');
      expect(page.body).toContain('Hello &#60;script&#62;alert(1)&#60;/script&#62;');
      expect(page.body).not.toContain('<script>');
      expect(page.body).not.toContain('bo@example.com');
    });
  });
}
