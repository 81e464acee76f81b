/**
 * Per-client-IP limits on Register and Login (token buckets in the cache port), per SQL target,
 * on the harness's manual clock: the bucket's burst passes, the next call from the same IP gets
 * RESOURCE_EXHAUSTED saying when to retry, other IPs and calls without a forwarded IP are not
 * affected, and the bucket refills with time.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { clientIpOf } from '../../src/identity/requests.js';
import { createHarness, password, type Harness } from './harness.js';

const targets = sqlTargets();
if (!targets.some((target) => target.name === 'postgres')) {
  describe.skip(`per-IP limits on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs the same tests on real PostgreSQL', () => undefined);
  });
}

const from = (ip: string) => ({ headers: { 'x-forwarded-for': `${ip}, 10.0.0.1` } });

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error('call unexpectedly succeeded');
}

describe('clientIpOf', () => {
  it('takes the client-most x-forwarded-for entry, else x-real-ip, else nothing', () => {
    expect(clientIpOf(new Headers({ 'x-forwarded-for': ' 203.0.113.7 , 10.0.0.1' }))).toBe(
      '203.0.113.7',
    );
    expect(clientIpOf(new Headers({ 'x-real-ip': '198.51.100.2' }))).toBe('198.51.100.2');
    expect(clientIpOf(new Headers())).toBe('');
  });
});

for (const target of targets) {
  describe(`per-IP limits on ${target.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target, {
        ipLimits: {
          register: { capacity: 2, refillPerSecond: 2 / 3600 },
          login: { capacity: 3, refillPerSecond: 3 / 60 },
        },
      });
    });
    afterAll(async () => {
      await h.dispose();
    });

    const registration = (name: string) => ({
      email: `${name}@example.com`,
      password,
      displayName: name,
      dateOfBirth: { year: 1990, month: 1, day: 2 },
    });

    it('refuses the registration past the burst with when to retry; refills with time', async () => {
      await h.users.register(registration('ipreg1'), from('203.0.113.7'));
      await h.users.register(registration('ipreg2'), from('203.0.113.7'));
      const refused = await refusal(h.users.register(registration('ipreg3'), from('203.0.113.7')));
      expect(refused.code).toBe(Code.ResourceExhausted);
      expect(refused.rawMessage).toMatch(/too many registrations from this network/);
      expect(refused.rawMessage).toMatch(/retry/i);
      // Nothing was written for the refused call.
      const taken = await h.db.sql.query(`SELECT 1 FROM users WHERE email = 'ipreg3@example.com'`);
      expect(taken.rows).toHaveLength(0);
      // Another network, and in-cluster calls without a forwarded IP, are not affected.
      await h.users.register(registration('ipreg4'), from('198.51.100.9'));
      await h.users.register(registration('ipreg5'));
      h.clock.advance(1_800_000); // half an hour refills one registration
      await h.users.register(registration('ipreg3'), from('203.0.113.7'));
    });

    it('refuses log-ins past the burst, right or wrong password, until the bucket refills', async () => {
      await h.register('iplogin');
      const login = (pw: string) =>
        h.users.login({ email: 'iplogin@example.com', password: pw }, from('192.0.2.44'));
      await login(password);
      await expect(login('wrong password 1')).rejects.toThrow();
      await login(password);
      const refused = await refusal(login(password));
      expect(refused.code).toBe(Code.ResourceExhausted);
      expect(refused.rawMessage).toMatch(/too many log-in attempts from this network/);
      h.clock.advance(20_000); // 3 per minute: one token after 20 s
      await login(password);
    });
  });
}
