/**
 * Retention of account-recovery rows, per SQL target: ended throttle windows, long-expired emailed
 * tokens and old delivered mail go; live windows, usable tokens and undelivered mail stay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets } from '@streambet/testkit/sql';
import { createHarness, type Harness } from './harness.js';

const day = 86_400_000;

for (const target of sqlTargets()) {
  describe(`account-recovery retention on ${target.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    });
    afterAll(async () => {
      await h.dispose();
    });

    const count = async (table: string) =>
      Number(
        (await h.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]!
          .n,
      );

    it('given old and fresh rows, then only the old ones are pruned', async () => {
      // Old: a registration (token + mail) and a reset request (throttles + token + mail).
      await h.register('oldtimer');
      await h.users.requestPasswordReset(
        { email: 'oldtimer@example.com' },
        { headers: { 'x-forwarded-for': '192.0.2.1' } },
      );
      await h.db.sql.query('UPDATE mail_outbox SET sent_at_ms = $1', [BigInt(h.clock.now())]);
      h.clock.advance(31 * day);
      // Fresh: another registration, its mail not delivered yet.
      await h.register('newcomer');
      expect(await count('identity_throttles')).toBe(2);
      expect(await count('email_tokens')).toBe(3);
      expect(await count('mail_outbox')).toBe(3);

      expect(await h.store.pruneAccountRecovery(h.db.sql, h.clock.now(), 30 * day)).toEqual({
        throttles: 2,
        tokens: 2,
        mails: 2,
        secondSteps: 0,
      });
      const left = await h.db.sql.query<{ to_address: string; sent_at_ms: unknown }>(
        'SELECT to_address, sent_at_ms FROM mail_outbox',
      );
      expect(left.rows).toEqual([{ to_address: 'newcomer@example.com', sent_at_ms: null }]);
      expect(await count('email_tokens')).toBe(1);
    });

    it('given expired second steps of Login and an abandoned two-step set-up, then they go', async () => {
      const { user } = await h.register('stepper');
      await h.store.insertLoginSecondStep(h.db.sql, {
        tokenHash: 'old-step',
        userId: user.userId,
        deviceId: '',
        createdAtMs: h.clock.now(),
        expiresAtMs: h.clock.now() + 5 * 60_000,
      });
      await h.store.putPendingTwoStep(
        h.db.sql,
        user.userId,
        'JBSWY3DPEHPK3PXP',
        h.clock.now(),
        h.clock.now() + 15 * 60_000,
      );
      h.clock.advance(day);
      expect(
        (await h.store.pruneAccountRecovery(h.db.sql, h.clock.now(), 30 * day)).secondSteps,
      ).toBe(0);
      h.clock.advance(60 * 60_000);
      expect(
        (await h.store.pruneAccountRecovery(h.db.sql, h.clock.now(), 30 * day)).secondSteps,
      ).toBe(1);
      expect(await count('two_step_secrets')).toBe(0);
    });
  });
}
