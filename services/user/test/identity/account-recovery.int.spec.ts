/**
 * Issue 17, first slice, per SQL target on the harness's manual clock, reading the mailbox (the
 * mail outbox rows): the verification email of Register and VerifyEmail (single use, expiry,
 * forged tokens), ResendVerification's throttle, RequestPasswordReset's same answer for unknown
 * addresses and its throttles, ResetPassword (every session revoked, old password gone, notice
 * mailed), ChangePassword (re-authentication, other sessions revoked, notice mailed), and the
 * session list with its revocations by the user and by an admin.
 */
import { Code } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets } from '@streambet/testkit/sql';
import { as, createHarness, failure, password, type Harness } from './harness.js';

interface Mail {
  kind: string;
  to: string;
  subject: string;
  text: string;
}

/** Mails to `to`, oldest first. */
async function mailbox(h: Harness, to: string): Promise<Mail[]> {
  const result = await h.db.sql.query<{
    kind: string;
    to_address: string;
    subject: string;
    body_text: string;
  }>(
    `SELECT kind, to_address, subject, body_text FROM mail_outbox WHERE to_address = $1
     ORDER BY created_at_ms, message_id`,
    [to],
  );
  return result.rows.map((r) => ({
    kind: r.kind,
    to: r.to_address,
    subject: r.subject,
    text: r.body_text,
  }));
}

/** The token in the latest mail of `kind` to `to`. */
async function tokenIn(h: Harness, to: string, kind: string): Promise<string> {
  const mails = (await mailbox(h, to)).filter((m) => m.kind === kind);
  const text = mails.at(-1)?.text ?? '';
  const token = /code: (sb(?:ev|pr)_[A-Za-z0-9_-]{43})/.exec(text)?.[1];
  if (token === undefined) throw new Error(`no ${kind} mail to ${to}`);
  return token;
}

const fromAddress = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

for (const target of sqlTargets()) {
  describe(`account recovery on ${target.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    });
    afterAll(async () => {
      await h.dispose();
    });

    it('given a registration, then a verification mail arrives and its token verifies the address once', async () => {
      const { user, tokens } = await h.register('vera');
      expect(user.emailVerified).toBe(false);
      const mails = await mailbox(h, 'vera@example.com');
      expect(mails.map((m) => m.kind)).toEqual(['verify_email']);
      expect(mails[0]!.text).toContain('http://localhost:8080/?view=verify-email&token=sbev_');
      const token = await tokenIn(h, 'vera@example.com', 'verify_email');

      const verified = await h.users.verifyEmail({ token });
      expect(verified.user?.emailVerified).toBe(true);
      expect(verified.user?.emailVerifiedAtMs).toBe(BigInt(h.clock.now()));
      const profile = await h.users.getProfile({}, as(tokens));
      expect(profile.user?.emailVerified).toBe(true);

      expect(await failure(h.users.verifyEmail({ token }))).toEqual({
        code: Code.FailedPrecondition,
        message: 'this verification link is invalid, already used or expired; ask for a new one',
      });
      expect((await failure(h.users.resendVerification({}, as(tokens)))).code).toBe(
        Code.FailedPrecondition,
      );
    });

    it('given a forged, malformed or expired verification token, then it is refused and nothing changes', async () => {
      await h.register('forger');
      const forged = `sbev_${'A'.repeat(43)}`;
      expect((await failure(h.users.verifyEmail({ token: forged }))).code).toBe(
        Code.FailedPrecondition,
      );
      expect((await failure(h.users.verifyEmail({ token: 'nonsense' }))).code).toBe(
        Code.InvalidArgument,
      );
      // A reset token is not a verification token.
      expect((await failure(h.users.verifyEmail({ token: `sbpr_${'A'.repeat(43)}` }))).code).toBe(
        Code.InvalidArgument,
      );
      const token = await tokenIn(h, 'forger@example.com', 'verify_email');
      h.clock.advance(48 * 3_600_000);
      expect((await failure(h.users.verifyEmail({ token }))).code).toBe(Code.FailedPrecondition);
      const fresh = await h.login('forger');
      expect((await h.users.getProfile({}, as(fresh))).user?.emailVerified).toBe(false);
      // A fresh link works.
      await h.users.resendVerification({}, as(fresh));
      const again = await tokenIn(h, 'forger@example.com', 'verify_email');
      expect(again).not.toBe(token);
      expect((await h.users.verifyEmail({ token: again })).user?.emailVerified).toBe(true);
    });

    it('given 3 resends in an hour, then the 4th is refused until the hour ends', async () => {
      const { tokens } = await h.register('resender');
      for (let i = 0; i < 3; i += 1) {
        expect((await h.users.resendVerification({}, as(tokens))).email).toBe(
          'resender@example.com',
        );
      }
      const refused = await failure(h.users.resendVerification({}, as(tokens)));
      expect(refused.code).toBe(Code.ResourceExhausted);
      expect(refused.message).toBe(
        'too many verification emails for this account (retry after 3600s)',
      );
      expect((await mailbox(h, 'resender@example.com')).length).toBe(4);
      h.clock.advance(3_600_000);
      const later = await h.login('resender');
      await h.users.resendVerification({}, as(later));
      expect((await mailbox(h, 'resender@example.com')).length).toBe(5);
    });

    it('given a reset request, then the answer is the same with or without an account, and only an account gets mail', async () => {
      await h.register('forgetful');
      const known = await h.users.requestPasswordReset(
        { email: 'Forgetful@Example.com' },
        fromAddress('198.51.100.1'),
      );
      const unknown = await h.users.requestPasswordReset(
        { email: 'nobody@example.com' },
        fromAddress('198.51.100.1'),
      );
      expect(unknown).toEqual(known);
      expect((await mailbox(h, 'forgetful@example.com')).map((m) => m.kind).sort()).toEqual([
        'reset_password',
        'verify_email',
      ]);
      expect(await mailbox(h, 'nobody@example.com')).toEqual([]);
      expect((await failure(h.users.requestPasswordReset({ email: ' ' }))).code).toBe(
        Code.InvalidArgument,
      );
    });

    it('given a reset token, then the new password works, every session is revoked, the old password and the token do not', async () => {
      const { tokens: first } = await h.register('resetter');
      const second = await h.login('resetter');
      await h.users.requestPasswordReset({ email: 'resetter@example.com' });
      const token = await tokenIn(h, 'resetter@example.com', 'reset_password');

      expect((await failure(h.users.resetPassword({ token, newPassword: 'short' }))).code).toBe(
        Code.InvalidArgument,
      );
      const reset = await h.users.resetPassword({ token, newPassword: 'a brand new password' });
      expect(reset.revokedSessions).toBe(2);
      for (const pair of [first, second]) {
        expect((await failure(h.users.refresh({ refreshToken: pair.refreshToken }))).code).toBe(
          Code.Unauthenticated,
        );
      }
      expect((await failure(h.users.login({ email: 'resetter@example.com', password }))).code).toBe(
        Code.Unauthenticated,
      );
      const login = await h.users.login({
        email: 'resetter@example.com',
        password: 'a brand new password',
      });
      // The token proved the address.
      expect(login.user?.emailVerified).toBe(true);
      expect(
        await failure(h.users.resetPassword({ token, newPassword: 'yet another password' })),
      ).toEqual({
        code: Code.FailedPrecondition,
        message: 'this password-reset link is invalid, already used or expired; ask for a new one',
      });
      const kinds = (await mailbox(h, 'resetter@example.com')).map((m) => m.kind).sort();
      expect(kinds).toEqual(['password_reset_done', 'reset_password', 'verify_email']);
    });

    it('given one reset token used twice at once, then exactly one use succeeds', async () => {
      await h.register('racer');
      await h.users.requestPasswordReset({ email: 'racer@example.com' });
      const token = await tokenIn(h, 'racer@example.com', 'reset_password');
      const outcomes = await Promise.allSettled([
        h.users.resetPassword({ token, newPassword: 'first new password' }),
        h.users.resetPassword({ token, newPassword: 'second new password' }),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const winner = outcomes.findIndex((o) => o.status === 'fulfilled');
      const chosen = winner === 0 ? 'first new password' : 'second new password';
      const other = winner === 0 ? 'second new password' : 'first new password';
      await expect(
        h.users.login({ email: 'racer@example.com', password: chosen }),
      ).resolves.toBeDefined();
      expect(
        (await failure(h.users.login({ email: 'racer@example.com', password: other }))).code,
      ).toBe(Code.Unauthenticated);
      expect(
        (await mailbox(h, 'racer@example.com')).filter((m) => m.kind === 'password_reset_done'),
      ).toHaveLength(1);
    });

    it('given an expired or forged reset token, then nothing changes', async () => {
      await h.register('latecomer');
      await h.users.requestPasswordReset({ email: 'latecomer@example.com' });
      const token = await tokenIn(h, 'latecomer@example.com', 'reset_password');
      h.clock.advance(30 * 60_000);
      expect(
        (await failure(h.users.resetPassword({ token, newPassword: 'a brand new password' }))).code,
      ).toBe(Code.FailedPrecondition);
      expect(
        (
          await failure(
            h.users.resetPassword({
              token: `sbpr_${'B'.repeat(43)}`,
              newPassword: 'a brand new password',
            }),
          )
        ).code,
      ).toBe(Code.FailedPrecondition);
      await expect(h.login('latecomer')).resolves.toBeDefined();
    });

    it('given reset requests, then 3 per email and 10 per network an hour pass, for unknown addresses too', async () => {
      for (let i = 0; i < 3; i += 1) {
        await h.users.requestPasswordReset(
          { email: 'ghost@example.com' },
          fromAddress(`192.0.2.${i}`),
        );
      }
      const perEmail = await failure(
        h.users.requestPasswordReset({ email: 'ghost@example.com' }, fromAddress('192.0.2.9')),
      );
      expect(perEmail).toEqual({
        code: Code.ResourceExhausted,
        message: 'too many password-reset requests for this email (retry after 3600s)',
      });
      for (let i = 0; i < 10; i += 1) {
        await h.users.requestPasswordReset(
          { email: `spray${i}@example.com` },
          fromAddress('203.0.113.5'),
        );
      }
      expect(
        (
          await failure(
            h.users.requestPasswordReset(
              { email: 'spray10@example.com' },
              fromAddress('203.0.113.5'),
            ),
          )
        ).code,
      ).toBe(Code.ResourceExhausted);
    });

    it('given a password change, then it needs the current password, revokes the other sessions and tells the address', async () => {
      const { tokens: here } = await h.register('changer');
      const elsewhere = await h.login('changer');
      expect(
        await failure(
          h.users.changePassword(
            { currentPassword: 'not my password', newPassword: 'a brand new password' },
            as(here),
          ),
        ),
      ).toEqual({
        code: Code.InvalidArgument,
        message: 'password change refused: current_password: is not the password of this account',
      });
      const changed = await h.users.changePassword(
        { currentPassword: password, newPassword: 'a brand new password' },
        as(here),
      );
      expect(changed.revokedSessions).toBe(1);
      await expect(h.users.refresh({ refreshToken: here.refreshToken })).resolves.toBeDefined();
      expect((await failure(h.users.refresh({ refreshToken: elsewhere.refreshToken }))).code).toBe(
        Code.Unauthenticated,
      );
      const notice = (await mailbox(h, 'changer@example.com')).find(
        (m) => m.kind === 'password_changed',
      );
      expect(notice?.subject).toBe('Your StreamBet password was changed');
      expect(notice?.text).toContain('1 other signed-in session(s) were signed out');
    });

    it('given sessions on two devices, then the user lists them with device and last use, and revokes one', async () => {
      const { user, tokens: phone } = await h.register('traveller');
      h.clock.advance(60_000);
      const laptop = (
        await h.users.login(
          { email: 'traveller@example.com', password, deviceId: 'laptop-1' },
          { headers: { 'x-client-app': 'web/1.0' } },
        )
      ).tokens!;
      h.clock.advance(60_000);
      const rotated = (await h.users.refresh({ refreshToken: phone.refreshToken })).tokens!;
      const listed = (await h.users.listSessions({}, as(laptop))).sessions;
      expect(
        listed.map((s) => ({
          id: s.sessionId,
          device: s.deviceId,
          app: s.clientApp,
          last: s.lastUsedAtMs,
          current: s.current,
        })),
      ).toEqual([
        { id: phone.sessionId, device: '', app: '', last: BigInt(h.clock.now()), current: false },
        {
          id: laptop.sessionId,
          device: 'laptop-1',
          app: 'web/1.0',
          last: BigInt(h.clock.now() - 60_000),
          current: true,
        },
      ]);
      expect(
        (await h.users.revokeSession({ sessionId: phone.sessionId }, as(laptop))).revokedSessions,
      ).toBe(1);
      expect(
        (await h.users.revokeSession({ sessionId: phone.sessionId }, as(laptop))).revokedSessions,
      ).toBe(0);
      expect((await failure(h.users.refresh({ refreshToken: rotated.refreshToken }))).code).toBe(
        Code.Unauthenticated,
      );
      expect((await h.users.listSessions({}, as(laptop))).sessions.map((s) => s.sessionId)).toEqual(
        [laptop.sessionId],
      );
      // Someone else's session is not found, and reveals nothing.
      const other = await h.register('bystander');
      expect(
        (await failure(h.users.revokeSession({ sessionId: other.tokens.sessionId }, as(laptop))))
          .code,
      ).toBe(Code.NotFound);
      expect(
        (await failure(h.users.listSessions({ userId: other.user.userId }, as(laptop)))).code,
      ).toBe(Code.PermissionDenied);
      expect(user.userId).not.toBe(other.user.userId);
    });

    it('given revoke-all keeping the current session, then only the others end; an admin ends them all with a reason', async () => {
      const { user, tokens: a } = await h.register('multi');
      const b = await h.login('multi');
      const c = await h.login('multi');
      expect((await h.users.revokeSessions({ keepCurrent: true }, as(a))).revokedSessions).toBe(2);
      expect((await failure(h.users.refresh({ refreshToken: b.refreshToken }))).code).toBe(
        Code.Unauthenticated,
      );
      expect((await failure(h.users.refresh({ refreshToken: c.refreshToken }))).code).toBe(
        Code.Unauthenticated,
      );
      const admin = await h.makeAdmin('sessionadmin');
      expect(
        (await failure(h.users.revokeSessions({ userId: user.userId }, as(admin.tokens)))).code,
      ).toBe(Code.InvalidArgument);
      expect(
        (
          await h.users.revokeSessions(
            { userId: user.userId, reason: 'account takeover report' },
            as(admin.tokens),
          )
        ).revokedSessions,
      ).toBe(1);
      expect((await failure(h.users.refresh({ refreshToken: a.refreshToken }))).code).toBe(
        Code.Unauthenticated,
      );
      const reasons = await h.db.sql.query<{ revoked_reason: string }>(
        'SELECT revoked_reason FROM sessions WHERE id = $1',
        [a.sessionId],
      );
      expect(reasons.rows[0]?.revoked_reason).toBe(
        `revoked by admin ${admin.user.userId}: account takeover report`,
      );
      expect(
        (await failure(h.users.revokeSessions({ userId: admin.user.userId }, as(a)))).code,
      ).toBe(Code.PermissionDenied);
    });
  });
}
