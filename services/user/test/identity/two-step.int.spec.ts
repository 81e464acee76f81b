/**
 * Issue 17, two-step verification, per SQL target on the harness's manual clock (codes computed
 * with otpauth from the secret, at the clock's now): enrolment (secret shown once, first code
 * confirms, recovery codes), Login's second step, wrong, reused and expired codes, the lockout per
 * account and network and the recovery from it, recovery codes used once, ChangePassword and
 * VerifySecondFactor (withdrawals) asking for a code, and turning it off.
 */
import { Code } from '@connectrpc/connect';
import * as OTPAuth from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets } from '@streambet/testkit/sql';
import { as, createHarness, failure, password, type Harness } from './harness.js';

const from = (ip: string) => ({ 'x-forwarded-for': ip });

/** The code of `secret` at `atMs`. */
function codeAt(secret: string, atMs: number): string {
  return OTPAuth.TOTP.generate({ secret: OTPAuth.Secret.fromBase32(secret), timestamp: atMs });
}

/** A code that is wrong at `atMs` (±1 step). */
function wrongCodeAt(secret: string, atMs: number): string {
  const near = new Set([-30_000, 0, 30_000].map((d) => codeAt(secret, atMs + d)));
  for (let n = 0; ; n += 1) {
    const candidate = String(n).padStart(6, '0');
    if (!near.has(candidate)) return candidate;
  }
}

for (const target of sqlTargets()) {
  describe(`two-step verification on ${target.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    });
    afterAll(async () => {
      await h.dispose();
    });

    /** Registers `name` and turns two-step verification on; returns secret and recovery codes. */
    async function enrolled(name: string) {
      const { user, tokens } = await h.register(name);
      const begun = await h.users.beginTwoStep({ currentPassword: password }, as(tokens));
      const confirmed = await h.users.confirmTwoStep(
        { code: codeAt(begun.secretBase32, h.clock.now()) },
        as(tokens),
      );
      // The next code check must be a later step than the confirming one.
      h.clock.advance(30_000);
      return { user, tokens, secret: begun.secretBase32, recovery: confirmed.recoveryCodes };
    }

    it('given a started set-up, then its secret comes as URI and QR, a first code turns it on and gives 10 recovery codes', async () => {
      const { tokens } = await h.register('tess');
      expect(await h.users.getTwoStepStatus({}, as(tokens))).toMatchObject({ enabled: false });
      expect(
        (await failure(h.users.beginTwoStep({ currentPassword: 'wrong password' }, as(tokens))))
          .code,
      ).toBe(Code.InvalidArgument);
      const begun = await h.users.beginTwoStep({ currentPassword: password }, as(tokens));
      expect(begun.secretBase32).toMatch(/^[A-Z2-7]{32}$/);
      expect(begun.otpauthUri).toContain(`secret=${begun.secretBase32}`);
      expect(begun.otpauthUri).toMatch(/^otpauth:\/\/totp\/StreamBet:tess%40example\.com\?/);
      expect(begun.qrSvg).toMatch(/^<svg[^>]*>/);
      expect(begun.expiresAtMs).toBe(BigInt(h.clock.now() + 15 * 60_000));
      // Until confirmed, Login does not ask for a code.
      expect((await h.users.login({ email: 'tess@example.com', password })).tokens).toBeDefined();

      const wrong = await failure(
        h.users.confirmTwoStep(
          { code: wrongCodeAt(begun.secretBase32, h.clock.now()) },
          as(tokens),
        ),
      );
      expect(wrong).toEqual({
        code: Code.InvalidArgument,
        message: 'second factor refused: code: is not the current code of your authenticator app',
      });
      const confirmed = await h.users.confirmTwoStep(
        { code: codeAt(begun.secretBase32, h.clock.now()) },
        as(tokens),
      );
      expect(confirmed.recoveryCodes).toHaveLength(10);
      expect(new Set(confirmed.recoveryCodes).size).toBe(10);
      for (const code of confirmed.recoveryCodes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
      expect(await h.users.getTwoStepStatus({}, as(tokens))).toMatchObject({
        enabled: true,
        enabledAtMs: BigInt(h.clock.now()),
        recoveryCodesLeft: 10,
      });
      // Stored by hash only.
      const stored = await h.db.sql.query<{ code_hash: string }>(
        'SELECT code_hash FROM two_step_recovery_codes',
      );
      for (const row of stored.rows) expect(confirmed.recoveryCodes).not.toContain(row.code_hash);
      expect(
        (await failure(h.users.beginTwoStep({ currentPassword: password }, as(tokens)))).code,
      ).toBe(Code.FailedPrecondition);
    });

    it('given an expired set-up, then its code is refused and a new set-up is needed', async () => {
      const { tokens } = await h.register('slowpoke');
      const begun = await h.users.beginTwoStep({ currentPassword: password }, as(tokens));
      h.clock.advance(15 * 60_000);
      const refused = await failure(
        h.users.confirmTwoStep({ code: codeAt(begun.secretBase32, h.clock.now()) }, as(tokens)),
      );
      expect(refused.code).toBe(Code.FailedPrecondition);
      expect(refused.message).toContain('expired');
    });

    it('given two-step on, then Login answers a second-step token and CompleteLogin with a code gives the session, once', async () => {
      const { secret } = await enrolled('otto');
      const login = await h.users.login({ email: 'otto@example.com', password, deviceId: 'd1' });
      expect(login.tokens).toBeUndefined();
      expect(login.user).toBeUndefined();
      expect(login.secondStepToken).toMatch(/^sbls_/);
      expect(login.secondStepExpiresAtMs).toBe(BigInt(h.clock.now() + 5 * 60_000));

      const wrong = await failure(
        h.users.completeLogin({
          secondStepToken: login.secondStepToken,
          code: wrongCodeAt(secret, h.clock.now()),
        }),
      );
      expect(wrong.code).toBe(Code.InvalidArgument);
      // A wrong code does not spend the token.
      const done = await h.users.completeLogin({
        secondStepToken: login.secondStepToken,
        code: codeAt(secret, h.clock.now()),
      });
      expect(done.user?.displayName).toBe('otto');
      expect(done.tokens?.accessToken).not.toBe('');
      const sessions = await h.users.listSessions({}, as(done.tokens!));
      expect(sessions.sessions.find((s) => s.current)?.deviceId).toBe('d1');

      // The token works once.
      h.clock.advance(30_000);
      expect(
        (
          await failure(
            h.users.completeLogin({
              secondStepToken: login.secondStepToken,
              code: codeAt(secret, h.clock.now()),
            }),
          )
        ).code,
      ).toBe(Code.Unauthenticated);
      // An expired token is refused.
      const late = await h.users.login({ email: 'otto@example.com', password });
      h.clock.advance(5 * 60_000);
      expect(
        await failure(
          h.users.completeLogin({
            secondStepToken: late.secondStepToken,
            code: codeAt(secret, h.clock.now()),
          }),
        ),
      ).toEqual({
        code: Code.Unauthenticated,
        message: 'this sign-in expired or was already completed; log in again',
      });
      expect(
        (await failure(h.users.completeLogin({ secondStepToken: 'sbls_forged', code: '123456' })))
          .code,
      ).toBe(Code.InvalidArgument);
    });

    it('given a code used once, then the same code (same time step) is refused, and the next step is accepted', async () => {
      const { secret } = await enrolled('reuse');
      const first = await h.users.login({ email: 'reuse@example.com', password });
      const second = await h.users.login({ email: 'reuse@example.com', password });
      const code = codeAt(secret, h.clock.now());
      await h.users.completeLogin({ secondStepToken: first.secondStepToken, code });
      expect(
        await failure(h.users.completeLogin({ secondStepToken: second.secondStepToken, code })),
      ).toEqual({
        code: Code.InvalidArgument,
        message:
          'second factor refused: code: was already used; wait for the next code of your authenticator app',
      });
      // Two uses of one fresh code at once: exactly one passes.
      h.clock.advance(30_000);
      const third = await h.users.login({ email: 'reuse@example.com', password });
      const fresh = codeAt(secret, h.clock.now());
      const outcomes = await Promise.allSettled([
        h.users.completeLogin({ secondStepToken: second.secondStepToken, code: fresh }),
        h.users.completeLogin({ secondStepToken: third.secondStepToken, code: fresh }),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    });

    it('given 5 wrong codes from one network, then that network is locked for 15 minutes, another network and later times are not', async () => {
      const { secret } = await enrolled('locked');
      const login = (ip: string) =>
        h.users.login({ email: 'locked@example.com', password }, { headers: from(ip) });
      const attacker = await login('203.0.113.9');
      for (let i = 0; i < 5; i += 1) {
        expect(
          (
            await failure(
              h.users.completeLogin(
                {
                  secondStepToken: attacker.secondStepToken,
                  code: wrongCodeAt(secret, h.clock.now()),
                },
                { headers: from('203.0.113.9') },
              ),
            )
          ).code,
        ).toBe(Code.InvalidArgument);
      }
      const locked = await failure(
        h.users.completeLogin(
          { secondStepToken: attacker.secondStepToken, code: codeAt(secret, h.clock.now()) },
          { headers: from('203.0.113.9') },
        ),
      );
      expect(locked).toEqual({
        code: Code.ResourceExhausted,
        message: 'too many wrong codes from this network; wait and try again (retry after 900s)',
      });
      // The owner, elsewhere, is not locked out.
      const owner = await login('198.51.100.7');
      const ok = await h.users.completeLogin(
        { secondStepToken: owner.secondStepToken, code: codeAt(secret, h.clock.now()) },
        { headers: from('198.51.100.7') },
      );
      expect(ok.tokens).toBeDefined();
      // The lock ends with its window.
      h.clock.advance(15 * 60_000);
      const later = await h.users.completeLogin(
        {
          secondStepToken: (await login('203.0.113.9')).secondStepToken,
          code: codeAt(secret, h.clock.now()),
        },
        { headers: from('203.0.113.9') },
      );
      expect(later.tokens).toBeDefined();
    });

    it('given 30 wrong codes across networks, then authenticator codes stop for the hour but a recovery code still signs in', async () => {
      const { secret, recovery } = await enrolled('spread');
      const token = (await h.users.login({ email: 'spread@example.com', password }))
        .secondStepToken;
      for (let i = 0; i < 30; i += 1) {
        const ip = `192.0.2.${i}`;
        expect(
          (
            await failure(
              h.users.completeLogin(
                { secondStepToken: token, code: wrongCodeAt(secret, h.clock.now()) },
                { headers: from(ip) },
              ),
            )
          ).code,
        ).toBe(Code.InvalidArgument);
      }
      const owner = from('198.51.100.50');
      const refused = await failure(
        h.users.completeLogin(
          { secondStepToken: token, code: codeAt(secret, h.clock.now()) },
          { headers: owner },
        ),
      );
      expect(refused.code).toBe(Code.ResourceExhausted);
      expect(refused.message).toContain('use a recovery code');
      const recovered = await h.users.completeLogin(
        { secondStepToken: token, code: recovery[0]!.toUpperCase() },
        { headers: owner },
      );
      expect(recovered.tokens).toBeDefined();
      // A recovery code works once.
      const again = (await h.users.login({ email: 'spread@example.com', password }))
        .secondStepToken;
      expect(
        await failure(
          h.users.completeLogin({ secondStepToken: again, code: recovery[0]! }, { headers: owner }),
        ),
      ).toEqual({
        code: Code.InvalidArgument,
        message: 'second factor refused: code: is not an unused recovery code of this account',
      });
      expect((await h.users.getTwoStepStatus({}, as(recovered.tokens!))).recoveryCodesLeft).toBe(9);
    });

    it('given two-step on, then ChangePassword needs a valid code and nothing changes without one', async () => {
      const { tokens, secret } = await enrolled('changer');
      const change = (secondFactorCode: string) =>
        h.users.changePassword(
          { currentPassword: password, newPassword: 'another good password', secondFactorCode },
          as(tokens),
        );
      expect(await failure(change(''))).toEqual({
        code: Code.InvalidArgument,
        message:
          'second factor refused: second_factor_code: is required: two-step verification is on; enter the 6-digit code from your authenticator app or a recovery code',
      });
      expect((await failure(change(wrongCodeAt(secret, h.clock.now())))).code).toBe(
        Code.InvalidArgument,
      );
      // Still the old password.
      expect(
        (await h.users.login({ email: 'changer@example.com', password })).secondStepToken,
      ).not.toBe('');
      await change(codeAt(secret, h.clock.now()));
      expect((await failure(h.users.login({ email: 'changer@example.com', password }))).code).toBe(
        Code.Unauthenticated,
      );
    });

    it('given VerifySecondFactor from payment, then it passes without two-step, needs a code with it, and other services may not call it', async () => {
      const { user: plain } = await h.register('plainpay');
      const payment = await h.service('payment');
      expect(
        await h.internal.verifySecondFactor({ userId: plain.userId, code: '' }, payment),
      ).toMatchObject({
        required: false,
      });
      const { user, secret } = await enrolled('payer');
      expect(
        (await failure(h.internal.verifySecondFactor({ userId: user.userId, code: '' }, payment)))
          .code,
      ).toBe(Code.InvalidArgument);
      expect(
        await h.internal.verifySecondFactor(
          {
            userId: user.userId,
            code: codeAt(secret, h.clock.now()),
            clientAddress: '198.51.100.9',
          },
          payment,
        ),
      ).toMatchObject({ required: true });
      expect(
        (
          await failure(
            h.internal.verifySecondFactor(
              { userId: user.userId, code: codeAt(secret, h.clock.now()) },
              await h.service('bet-engine'),
            ),
          )
        ).code,
      ).toBe(Code.PermissionDenied);
    });

    it('given two-step on, then DisableTwoStep needs a code, turns it off and mails the address', async () => {
      const { tokens, secret, recovery } = await enrolled('quitter');
      expect((await failure(h.users.disableTwoStep({ code: '000000x' }, as(tokens)))).code).toBe(
        Code.InvalidArgument,
      );
      await h.users.disableTwoStep({ code: recovery[3]! }, as(tokens));
      expect(await h.users.getTwoStepStatus({}, as(tokens))).toMatchObject({
        enabled: false,
        recoveryCodesLeft: 0,
      });
      expect(
        (await h.users.login({ email: 'quitter@example.com', password })).tokens,
      ).toBeDefined();
      expect(
        (await failure(h.users.disableTwoStep({ code: codeAt(secret, h.clock.now()) }, as(tokens))))
          .code,
      ).toBe(Code.FailedPrecondition);
      const mails = await h.db.sql.query<{ kind: string; subject: string }>(
        `SELECT kind, subject FROM mail_outbox WHERE to_address = 'quitter@example.com'
         AND kind = 'two_step_changed' ORDER BY created_at_ms`,
      );
      expect(mails.rows.map((r) => r.subject)).toEqual([
        'Two-step verification is on for your StreamBet account',
        'Two-step verification was turned off for your StreamBet account',
      ]);
    });
  });
}
