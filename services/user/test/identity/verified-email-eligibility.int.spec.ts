/**
 * USER_REQUIRE_VERIFIED_EMAIL, per SQL target: with it, real-money deposits and withdrawals of a
 * user whose address is unconfirmed are refused with EMAIL_NOT_VERIFIED (bets and play money are
 * not), until VerifyEmail; without it (the default) nothing changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets } from '@streambet/testkit/sql';
import { createEligibilityChecker } from '../../src/identity/eligibility.js';
import { describeIneligibility } from '../../src/identity/domain/limits/eligibility.js';
import { createHarness, type Harness } from './harness.js';

for (const target of sqlTargets()) {
  describe(`verified email for real money on ${target.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    });
    afterAll(async () => {
      await h.dispose();
    });

    const reasons = async (
      requireVerifiedEmail: boolean,
      userId: string,
      action: 'BET' | 'DEPOSIT' | 'WITHDRAW',
      currency = 'BRL',
    ) => {
      const checker = createEligibilityChecker({
        sql: h.db.sql,
        store: h.store,
        clock: h.clock,
        settings: { realCurrency: 'BRL', kycThresholdMinor: 1_000_000n, requireVerifiedEmail },
      });
      const [verdict] = await checker.check([{ userId, action, amountMinor: 1000n, currency }]);
      return verdict!.answer.reasons.map((r) => r.reason);
    };

    it('given an unconfirmed address and the rule on, then deposits are refused until VerifyEmail', async () => {
      const { user } = await h.register('unconfirmed');
      expect(await reasons(true, user.userId, 'DEPOSIT')).toEqual(['EMAIL_NOT_VERIFIED']);
      // Withdrawals also need KYC; the address is one more reason.
      expect(await reasons(true, user.userId, 'WITHDRAW')).toEqual([
        'KYC_REQUIRED',
        'EMAIL_NOT_VERIFIED',
      ]);
      expect(await reasons(true, user.userId, 'BET')).toEqual([]);
      expect(await reasons(true, user.userId, 'BET', 'PTS')).toEqual([]);
      // The default: no such rule.
      expect(await reasons(false, user.userId, 'DEPOSIT')).toEqual([]);

      const mail = await h.db.sql.query<{ body_text: string }>(
        `SELECT body_text FROM mail_outbox WHERE to_address = 'unconfirmed@example.com'`,
      );
      const token = /code: (sbev_\S+)/.exec(mail.rows[0]!.body_text)![1]!;
      await h.users.verifyEmail({ token });
      expect(await reasons(true, user.userId, 'DEPOSIT')).toEqual([]);
      expect(await reasons(true, user.userId, 'WITHDRAW')).toEqual(['KYC_REQUIRED']);
    });
  });
}

describe('the EMAIL_NOT_VERIFIED sentence', () => {
  it('given the reason, then it tells the person what to do', () => {
    expect(
      describeIneligibility('DEPOSIT', { reason: 'EMAIL_NOT_VERIFIED', untilMs: 0 }, 'BRL'),
    ).toBe(
      'deposit refused: confirm your email address first (the link in the verification email; ResendVerification sends a new one)',
    );
  });
});
