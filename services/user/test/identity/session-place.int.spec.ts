/**
 * Issue 17, the place of a session: the client network (/24 or /64) the gateway forwarded, kept at
 * sign-in and moved by each refresh, listed by ListSessions; the parsing itself is pure
 * (domain/accounts/session-place.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets } from '@streambet/testkit/sql';
import { coarsePlaceOf } from '../../src/identity/domain/accounts/session-place.js';
import { as, createHarness, password, type Harness } from './harness.js';

describe('coarsePlaceOf', () => {
  it.each([
    ['203.0.113.45', '203.0.113.x'],
    [' 198.51.100.7 ', '198.51.100.x'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002::5', '2001:db8:1:2::/64'],
    ['[2001:db8::1]', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::ffff:192.0.2.33', '192.0.2.x'],
    ['::1', '0:0:0:0::/64'],
  ])('given %s, then %s', (address, place) => {
    expect(coarsePlaceOf(address)).toBe(place);
  });

  it.each([
    '',
    'unknown',
    '256.1.1.1',
    '1.2.3',
    '1:2:3',
    '1::2::3',
    'gggg::1',
    '1:2:3:4:5:6:7:8:9',
  ])('given %j (not an address), then unknown', (address) => {
    expect(coarsePlaceOf(address)).toBe('');
  });
});

for (const target of sqlTargets()) {
  describe(`session place on ${target.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    });
    afterAll(async () => {
      await h.dispose();
    });

    it('given a sign-in and refreshes from networks, then ListSessions shows the last known network, never the address', async () => {
      await h.register('wanderer');
      const login = await h.users.login(
        { email: 'wanderer@example.com', password, deviceId: 'phone-1' },
        { headers: { 'x-forwarded-for': '203.0.113.45, 10.0.0.1' } },
      );
      const tokens = login.tokens!;
      const placeOf = async (accessToken: string) =>
        (await h.users.listSessions({}, as(accessToken))).sessions.find(
          (s) => s.sessionId === tokens.sessionId,
        )?.place;
      expect(await placeOf(tokens.accessToken)).toBe('203.0.113.x');

      h.clock.advance(60_000);
      const moved = (
        await h.users.refresh(
          { refreshToken: tokens.refreshToken },
          { headers: { 'x-forwarded-for': '2001:db8:1:2:aaaa::9' } },
        )
      ).tokens!;
      expect(await placeOf(moved.accessToken)).toBe('2001:db8:1:2::/64');

      // A refresh without a client address keeps the last known place.
      h.clock.advance(60_000);
      const again = (await h.users.refresh({ refreshToken: moved.refreshToken })).tokens!;
      expect(await placeOf(again.accessToken)).toBe('2001:db8:1:2::/64');
      const stored = await h.db.sql.query<{ place: string }>(
        'SELECT place FROM sessions WHERE id = $1',
        [tokens.sessionId],
      );
      expect(stored.rows[0]!.place).not.toContain('aaaa');
    });
  });
}
