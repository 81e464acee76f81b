/**
 * Failed-login throttling per (email, address) and per email, per SQL target, on the harness's
 * manual clock: a guesser at one address is refused after 5 failures in 15 minutes while the
 * owner logs in from their own address; a run spread over many addresses meets the per-email
 * ceiling (50 per hour) at every new address but not at an address the owner logged in from.
 */
import { Code } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets } from '@streambet/testkit/sql';
import { createHarness, failure, password, type Harness } from './harness.js';

const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

for (const target of sqlTargets()) {
  describe(`login throttle on ${target.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    });
    afterAll(async () => {
      await h.dispose();
    });

    const login = (name: string, pw: string, address: string) =>
      h.users.login({ email: `${name}@example.com`, password: pw }, from(address));

    it('given 5 failures from one address, then that address is refused for 15 min while the owner logs in from theirs', async () => {
      await h.register('victim');
      for (let i = 0; i < 5; i += 1) {
        expect((await failure(login('victim', `guess ${i}`, '203.0.113.66'))).code).toBe(
          Code.Unauthenticated,
        );
      }
      expect(await failure(login('victim', password, '203.0.113.66'))).toEqual({
        code: Code.ResourceExhausted,
        message: 'too many failed logins for this email from this network (retry after 900s)',
      });
      // The owner, from their own network, is not locked out; nor is the attacker's refusal lifted.
      await expect(login('victim', password, '198.51.100.7')).resolves.toBeDefined();
      expect((await failure(login('victim', password, '203.0.113.66'))).code).toBe(
        Code.ResourceExhausted,
      );
      h.clock.advance(15 * 60_000);
      expect((await failure(login('victim', 'guess again', '203.0.113.66'))).code).toBe(
        Code.Unauthenticated,
      );
    });

    it("given the owner's own failures, then a success from that address forgives them", async () => {
      await h.register('forgetful');
      for (let i = 0; i < 4; i += 1) await failure(login('forgetful', `typo ${i}`, '192.0.2.10'));
      await login('forgetful', password, '192.0.2.10');
      for (let i = 0; i < 4; i += 1) await failure(login('forgetful', `typo ${i}`, '192.0.2.10'));
      await expect(login('forgetful', password, '192.0.2.10')).resolves.toBeDefined();
    });

    it("given 50 failures spread over 10 addresses, then a new address is refused for the hour, the owner's known address is not", async () => {
      await h.register('stuffed');
      await login('stuffed', password, '198.51.100.20');
      h.clock.advance(60_000);
      for (let a = 0; a < 10; a += 1) {
        for (let i = 0; i < 5; i += 1) {
          expect((await failure(login('stuffed', `guess ${i}`, `203.0.113.${a}`))).code).toBe(
            Code.Unauthenticated,
          );
        }
      }
      expect(await failure(login('stuffed', password, '203.0.113.200'))).toEqual({
        code: Code.ResourceExhausted,
        message: 'too many failed logins for this email (retry after 3600s)',
      });
      await expect(login('stuffed', password, '198.51.100.20')).resolves.toBeDefined();
      h.clock.advance(60 * 60_000);
      await expect(login('stuffed', password, '203.0.113.200')).resolves.toBeDefined();
    });
  });
}
