/**
 * Issue 17, change of email, per SQL target: re-authentication (password; code when two-step
 * verification is on), the link mailed to the new address and nothing changing before it is
 * opened, the old address told, the same answer for a taken address (and no mail), reused,
 * expired and forged links, and two accounts claiming one address (exactly one wins).
 */
import { Code } from '@connectrpc/connect';
import * as OTPAuth from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets } from '@streambet/testkit/sql';
import { as, createHarness, failure, password, type Harness } from './harness.js';

async function mails(h: Harness, to: string): Promise<Array<{ kind: string; text: string }>> {
  const result = await h.db.sql.query<{ kind: string; body_text: string }>(
    'SELECT kind, body_text FROM mail_outbox WHERE to_address = $1 ORDER BY created_at_ms, message_id',
    [to],
  );
  return result.rows.map((r) => ({ kind: r.kind, text: r.body_text }));
}

async function changeToken(h: Harness, to: string): Promise<string> {
  const text = (await mails(h, to)).filter((m) => m.kind === 'change_email').at(-1)?.text ?? '';
  const token = /code: (sbec_[A-Za-z0-9_-]{43})/.exec(text)?.[1];
  if (token === undefined) throw new Error(`no email-change mail to ${to}`);
  return token;
}

for (const target of sqlTargets()) {
  describe(`email change on ${target.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    });
    afterAll(async () => {
      await h.dispose();
    });

    it('given a request with the password, then the new address gets a link, the change waits for it, and the old address is told', async () => {
      const { tokens } = await h.register('mover');
      expect(
        (
          await failure(
            h.users.requestEmailChange(
              { newEmail: 'moved@example.com', currentPassword: 'not the password' },
              as(tokens),
            ),
          )
        ).code,
      ).toBe(Code.InvalidArgument);
      expect(
        (
          await failure(
            h.users.requestEmailChange(
              { newEmail: 'MOVER@example.com', currentPassword: password },
              as(tokens),
            ),
          )
        ).message,
      ).toBe('email change refused: new_email: is already the address of this account');
      await h.users.requestEmailChange(
        { newEmail: 'Moved@Example.com', currentPassword: password },
        as(tokens),
      );
      const mail = (await mails(h, 'moved@example.com'))[0]!;
      expect(mail.kind).toBe('change_email');
      expect(mail.text).toContain('http://localhost:8080/?view=confirm-email&token=sbec_');
      // Nothing changed yet.
      expect((await h.users.getProfile({}, as(tokens))).user?.email).toBe('mover@example.com');

      const token = await changeToken(h, 'moved@example.com');
      const confirmed = await h.users.confirmEmailChange({ token });
      expect(confirmed.user?.email).toBe('moved@example.com');
      expect(confirmed.user?.emailVerified).toBe(true);
      const told = (await mails(h, 'mover@example.com')).filter((m) => m.kind === 'email_changed');
      expect(told).toHaveLength(1);
      expect(told[0]!.text).toContain('is now moved@example.com');
      expect((await h.users.login({ email: 'moved@example.com', password })).user?.email).toBe(
        'moved@example.com',
      );
      expect((await failure(h.users.login({ email: 'mover@example.com', password }))).code).toBe(
        Code.Unauthenticated,
      );
      // Used once.
      expect(await failure(h.users.confirmEmailChange({ token }))).toEqual({
        code: Code.FailedPrecondition,
        message: 'this email-change link is invalid, already used or expired; ask for a new one',
      });
    });

    it('given an address another account has, then the answer is the same as for a free one and nothing is sent', async () => {
      await h.register('holder');
      const { tokens } = await h.register('grabber');
      const before = await mails(h, 'holder@example.com');
      const taken = await h.users.requestEmailChange(
        { newEmail: 'holder@example.com', currentPassword: password },
        as(tokens),
      );
      const free = await h.users.requestEmailChange(
        { newEmail: 'grabbed@example.com', currentPassword: password },
        as(tokens),
      );
      expect(taken).toEqual(free);
      expect(await mails(h, 'holder@example.com')).toEqual(before);
      expect((await mails(h, 'grabbed@example.com')).map((m) => m.kind)).toEqual(['change_email']);
    });

    it('given two accounts claiming one free address, then exactly one confirmation wins', async () => {
      const a = await h.register('claimera');
      const b = await h.register('claimerb');
      for (const t of [a.tokens, b.tokens]) {
        await h.users.requestEmailChange(
          { newEmail: 'prize@example.com', currentPassword: password },
          as(t),
        );
      }
      const links = (await mails(h, 'prize@example.com')).map(
        (m) => /code: (sbec_[A-Za-z0-9_-]{43})/.exec(m.text)![1]!,
      );
      expect(links).toHaveLength(2);
      const outcomes = await Promise.allSettled(
        links.map((token) => h.users.confirmEmailChange({ token })),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const owners = await h.db.sql.query<{ display_name: string }>(
        "SELECT display_name FROM users WHERE email = 'prize@example.com'",
      );
      expect(owners.rows).toHaveLength(1);
      const loser = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect(String(loser.reason)).toContain('another account uses this address now');
    });

    it('given expired or forged links, then they are refused and the address stays', async () => {
      const { tokens } = await h.register('lagger');
      await h.users.requestEmailChange(
        { newEmail: 'lagged@example.com', currentPassword: password },
        as(tokens),
      );
      const token = await changeToken(h, 'lagged@example.com');
      h.clock.advance(3_600_000);
      expect((await failure(h.users.confirmEmailChange({ token }))).code).toBe(
        Code.FailedPrecondition,
      );
      expect(
        (await failure(h.users.confirmEmailChange({ token: `sbec_${'A'.repeat(43)}` }))).code,
      ).toBe(Code.FailedPrecondition);
      expect(
        (await failure(h.users.confirmEmailChange({ token: `sbev_${'A'.repeat(43)}` }))).code,
      ).toBe(Code.InvalidArgument);
      const fresh = await h.login('lagger');
      expect((await h.users.getProfile({}, as(fresh))).user?.email).toBe('lagger@example.com');
    });

    it('given two-step on, then the request needs a code too', async () => {
      const { tokens } = await h.register('guarded');
      const begun = await h.users.beginTwoStep({ currentPassword: password }, as(tokens));
      const code = (atMs: number) =>
        OTPAuth.TOTP.generate({
          secret: OTPAuth.Secret.fromBase32(begun.secretBase32),
          timestamp: atMs,
        });
      await h.users.confirmTwoStep({ code: code(h.clock.now()) }, as(tokens));
      h.clock.advance(30_000);
      const refused = await failure(
        h.users.requestEmailChange(
          { newEmail: 'guarded2@example.com', currentPassword: password },
          as(tokens),
        ),
      );
      expect(refused.code).toBe(Code.InvalidArgument);
      expect(refused.message).toContain('second_factor_code: is required');
      expect(await mails(h, 'guarded2@example.com')).toEqual([]);
      await h.users.requestEmailChange(
        {
          newEmail: 'guarded2@example.com',
          currentPassword: password,
          secondFactorCode: code(h.clock.now()),
        },
        as(tokens),
      );
      expect((await mails(h, 'guarded2@example.com')).map((m) => m.kind)).toEqual(['change_email']);
    });
  });
}
