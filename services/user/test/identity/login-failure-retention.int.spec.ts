/**
 * Retention of the failed-login tables, per SQL target, on the harness's manual clock: a row is
 * deleted only once it can change no throttle decision (its window has ended, and for an address
 * row, no successful login from that address in the last 30 days), in bounded batches, counted on
 * the metrics registry; the throttle decides the same afterwards.
 */
import { Code } from '@connectrpc/connect';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets } from '@streambet/testkit/sql';
import { createLoginFailureRetention } from '../../src/identity/login-failure-retention.js';
import { createHarness, failure, password, type Harness } from './harness.js';

const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

for (const target of sqlTargets()) {
  describe(`login failure retention on ${target.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    });
    afterAll(async () => {
      await h.dispose();
    });

    const login = (name: string, pw: string, address: string) =>
      h.users.login({ email: `${name}@example.com`, password: pw }, from(address));
    const rows = async () => {
      const byAddress = await h.db.sql.query<{ email: string; address: string }>(
        'SELECT email, address FROM login_address_failures ORDER BY email, address',
      );
      const byEmail = await h.db.sql.query<{ email: string }>(
        'SELECT email FROM login_failures ORDER BY email',
      );
      return {
        byAddress: byAddress.rows.map((row) => `${row.email.split('@')[0]!} ${row.address}`),
        byEmail: byEmail.rows.map((row) => row.email.split('@')[0]!),
      };
    };

    it('given failures and a known address, then each row goes once its window and (for addresses) 30 days of no login have passed, and decisions are unchanged', async () => {
      const registry = new Registry();
      const retention = createLoginFailureRetention({
        sql: h.db.sql,
        store: h.store,
        clock: h.clock,
        registry,
        logger: { error: () => undefined },
        batchSize: 2,
      });
      await h.register('victim');
      await login('victim', password, '198.51.100.7');
      for (let i = 0; i < 5; i += 1) await failure(login('victim', `guess ${i}`, '203.0.113.1'));
      await failure(login('victim', 'guess', '203.0.113.2'));
      await failure(login('ghost', 'guess', '203.0.113.1'));
      const everything = {
        byAddress: [
          'ghost 203.0.113.1',
          'victim 198.51.100.7',
          'victim 203.0.113.1',
          'victim 203.0.113.2',
        ],
        byEmail: ['ghost', 'victim'],
      };
      expect(await rows()).toEqual(everything);

      // Every window still open: nothing goes.
      h.clock.advance(15 * 60_000 - 1);
      expect(await retention.runOnce()).toEqual({ byAddress: 0, byEmail: 0 });
      expect(await rows()).toEqual(everything);
      expect((await failure(login('victim', password, '203.0.113.1'))).code).toBe(
        Code.ResourceExhausted,
      );

      // The per-address windows (15 min) end: three rows go, in batches of two; the owner's known
      // address stays, and so do the per-email windows (1 h).
      h.clock.advance(1);
      expect(await retention.runOnce()).toEqual({ byAddress: 3, byEmail: 0 });
      expect(await rows()).toEqual({
        byAddress: ['victim 198.51.100.7'],
        byEmail: ['ghost', 'victim'],
      });
      // As without retention: the guesser's address has a fresh budget of 5, then is refused.
      for (let i = 0; i < 5; i += 1) {
        expect((await failure(login('victim', `again ${i}`, '203.0.113.1'))).code).toBe(
          Code.Unauthenticated,
        );
      }
      expect((await failure(login('victim', password, '203.0.113.1'))).code).toBe(
        Code.ResourceExhausted,
      );

      // The per-email window ends an hour after its first failure: those rows go.
      h.clock.advance(45 * 60_000);
      const afterHour = await retention.runOnce();
      expect(afterHour.byEmail).toBe(2);
      expect((await rows()).byEmail).toEqual([]);

      // The owner's address stays known for 30 days after its last login, then goes.
      h.clock.advance(30 * 24 * 3_600_000 - 60 * 60_000 - 1);
      await retention.runOnce();
      expect((await rows()).byAddress).toContain('victim 198.51.100.7');
      h.clock.advance(1);
      await retention.runOnce();
      expect(await rows()).toEqual({ byAddress: [], byEmail: [] });

      const metrics = await registry.metrics();
      expect(metrics).toMatch(
        /user_login_failures_deleted_rows_total\{table="login_address_failures"\} 5\b/,
      );
      expect(metrics).toMatch(
        /user_login_failures_deleted_rows_total\{table="login_failures"\} 2\b/,
      );
    });
  });
}
