import { fromBinary } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  UserLoggedInSchema,
  UserRegisteredSchema,
  UserSessionRevokedForReuseSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import { AccountStatus } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { createUserTokenVerifier } from '@streambet/platform/auth/tokens';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  as,
  audience,
  createHarness,
  failure,
  issuer,
  outboxRows,
  outboxTypes,
  password,
  startMs,
  type Harness,
} from './harness.js';

const targets = sqlTargets();

async function counts(h: Harness): Promise<{ users: number; sessions: number; outbox: number }> {
  const one = async (table: string) =>
    Number(
      (await h.db.sql.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM ${table}`)).rows[0]!
        .n,
    );
  return {
    users: await one('users'),
    sessions: await one('sessions'),
    outbox: await one('outbox'),
  };
}

for (const target of targets) {
  describe(`identity on ${target.name}`, () => {
    let h: Harness;
    const hooked: string[] = [];
    let failHook = false;
    beforeAll(async () => {
      h = await createHarness(target, {
        async onUserRegistered(tx, user) {
          if (failHook) throw new Error('ledger is down');
          await tx.query('SELECT 1 FROM users WHERE id = $1', [user.userId]);
          hooked.push(user.userId);
        },
      });
    });
    afterAll(async () => {
      await h?.dispose();
    });
    beforeEach(() => h.clock.set(startMs));

    it('registers, returns tokens the platform verifier accepts, and publishes UserRegistered + UserLoggedIn', async () => {
      const res = await h.users.register({
        email: '  Alice@Example.COM ',
        password,
        displayName: 'alice',
        dateOfBirth: { year: 1990, month: 2, day: 28 },
        deviceId: 'device-1',
      });
      const user = res.user!;
      const tokens = res.tokens!;
      expect(user.email).toBe('alice@example.com');
      expect(user.roles).toEqual([Role.VIEWER]);
      expect(user.status).toBe(AccountStatus.ACTIVE);
      expect(user.realMoneyEligible).toBe(true);
      expect(user.userId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(tokens.refreshToken).toMatch(/^sbrt_/);
      expect(tokens.accessTokenExpiresAtMs).toBe(BigInt(startMs + 900_000));
      expect(tokens.refreshTokenExpiresAtMs).toBe(BigInt(startMs + 30 * 24 * 3600 * 1000));

      const jwks = await h.users.getJwks({});
      const published = JSON.parse(jwks.jwksJson) as { keys: Array<Record<string, unknown>> };
      expect(published.keys).toHaveLength(1);
      expect(published.keys[0]).toMatchObject({
        kid: 'user-key-1',
        kty: 'OKP',
        alg: 'EdDSA',
        use: 'sig',
      });
      expect(published.keys[0]).not.toHaveProperty('d');
      const verify = createUserTokenVerifier({
        jwks: published,
        issuer,
        audience,
        clock: h.clock,
      });
      await expect(verify(tokens.accessToken)).resolves.toEqual({
        kind: 'user',
        userId: user.userId,
        role: 'viewer',
        sessionId: tokens.sessionId,
      });
      expect(decodeJwt(tokens.accessToken)).toMatchObject({
        roles: ['viewer'],
        sid: tokens.sessionId,
        iss: issuer,
        aud: audience,
      });

      const rows = (await outboxRows(h)).filter((row) => row.key === user.userId);
      expect(rows.map((row) => [row.topic, row.type])).toEqual([
        ['user', 'streambet.events.v1.UserRegistered'],
        ['user', 'streambet.events.v1.UserLoggedIn'],
      ]);
      const registered = fromBinary(UserRegisteredSchema, rows[0]!.payload);
      expect(registered.metadata).toMatchObject({
        eventId: rows[0]!.id,
        producer: 'user',
        aggregateId: user.userId,
        occurredAtMs: BigInt(startMs),
      });
      expect(registered).toMatchObject({
        userId: user.userId,
        email: 'alice@example.com',
        realMoneyEligible: true,
      });
      expect(registered.client?.deviceId).toMatch(/^[0-9a-f]{32}$/);
      expect(registered.client?.deviceId).not.toBe('device-1');
      const loggedIn = fromBinary(UserLoggedInSchema, rows[1]!.payload);
      expect(loggedIn.sessionId).toBe(tokens.sessionId);
    });

    it('logs in with the right password only; unknown email and wrong password get the same answer', async () => {
      await h.register('bob');
      const ok = await h.users.login({ email: 'BOB@example.com', password });
      expect(ok.user?.displayName).toBe('bob');
      const wrong = await failure(
        h.users.login({ email: 'bob@example.com', password: 'not the password' }),
      );
      const unknown = await failure(h.users.login({ email: 'nobody@example.com', password }));
      expect(wrong).toEqual({ code: Code.Unauthenticated, message: 'email or password is wrong' });
      expect(unknown).toEqual(wrong);
      expect((await failure(h.users.login({ email: '', password: '' }))).code).toBe(
        Code.InvalidArgument,
      );
    });

    it('rotates refresh tokens; a reused token revokes the whole family', async () => {
      const { user, tokens: first } = await h.register('carol');
      h.clock.advance(60_000);
      const second = (await h.users.refresh({ refreshToken: first.refreshToken })).tokens!;
      expect(second.sessionId).toBe(first.sessionId);
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(second.accessTokenExpiresAtMs).toBe(BigInt(startMs + 60_000 + 900_000));
      const third = (await h.users.refresh({ refreshToken: second.refreshToken })).tokens!;

      const reuse = await failure(h.users.refresh({ refreshToken: first.refreshToken }));
      expect(reuse.code).toBe(Code.Unauthenticated);
      expect(reuse.message).toMatch(/already used; the session has been revoked/);
      // the live token of the family is dead too
      expect(await failure(h.users.refresh({ refreshToken: third.refreshToken }))).toEqual({
        code: Code.Unauthenticated,
        message: 'refresh token was revoked; sign in again',
      });
      const revoked = (await outboxRows(h)).filter(
        (row) => row.key === user.userId && row.type.endsWith('UserSessionRevokedForReuse'),
      );
      expect(revoked).toHaveLength(1);
      expect(fromBinary(UserSessionRevokedForReuseSchema, revoked[0]!.payload).sessionId).toBe(
        first.sessionId,
      );
      // another session of the same user is unaffected
      const other = await h.users.login({ email: 'carol@example.com', password });
      await expect(
        h.users.refresh({ refreshToken: other.tokens!.refreshToken }),
      ).resolves.toBeDefined();
    });

    it('refuses unknown, malformed and expired refresh tokens', async () => {
      const { tokens } = await h.register('dave');
      expect((await failure(h.users.refresh({ refreshToken: 'garbage' }))).message).toMatch(
        /not well-formed/,
      );
      expect(
        (await failure(h.users.refresh({ refreshToken: `sbrt_${'A'.repeat(43)}` }))).message,
      ).toMatch(/unknown/);
      h.clock.advance(30 * 24 * 3600 * 1000);
      expect(
        (await failure(h.users.refresh({ refreshToken: tokens.refreshToken }))).message,
      ).toMatch(/expired/);
    });

    it('expires access tokens after 15 minutes', async () => {
      const { tokens } = await h.register('erin');
      await expect(h.users.getProfile({}, as(tokens))).resolves.toBeDefined();
      h.clock.advance(15 * 60_000 + 6_000);
      expect(await failure(h.users.getProfile({}, as(tokens)))).toEqual({
        code: Code.Unauthenticated,
        message: 'bearer token expired; obtain a new token (sign in again)',
      });
    });

    it('logs out one session or all, idempotently', async () => {
      const { tokens: a } = await h.register('frank');
      const b = (await h.users.login({ email: 'frank@example.com', password })).tokens!;
      const c = (await h.users.login({ email: 'frank@example.com', password })).tokens!;
      expect((await h.users.logout({ refreshToken: a.refreshToken })).revokedSessions).toBe(1);
      expect((await h.users.logout({ refreshToken: a.refreshToken })).revokedSessions).toBe(0);
      expect((await failure(h.users.refresh({ refreshToken: a.refreshToken }))).code).toBe(
        Code.Unauthenticated,
      );
      expect(
        (await h.users.logout({ refreshToken: b.refreshToken, allSessions: true })).revokedSessions,
      ).toBe(2);
      expect((await failure(h.users.refresh({ refreshToken: c.refreshToken }))).code).toBe(
        Code.Unauthenticated,
      );
      expect((await failure(h.users.logout({ refreshToken: 'nope' }))).code).toBe(
        Code.Unauthenticated,
      );
    });

    it('accepts under-18 users for play money only', async () => {
      const { user } = await h.register('young', { year: 2010, month: 3, day: 15 });
      expect(user.realMoneyEligible).toBe(false);
      const svc = await h.service('bet-engine');
      const res = await h.internal.checkEligibility(
        {
          checks: [
            { userId: user.userId, action: 1, amount: { amountMinor: 100n, currency: 'BRL' } },
            { userId: user.userId, action: 1, amount: { amountMinor: 100n, currency: 'PTS' } },
          ],
        },
        svc,
      );
      expect(res.results[0]!.result!.allowed).toBe(false);
      expect(res.results[0]!.result!.reasons.map((r) => [r.reason, r.untilMs])).toEqual([
        [4, BigInt(Date.UTC(2028, 2, 15))],
      ]);
      expect(res.results[1]!.result!.allowed).toBe(true);
    });

    it('refuses bad registrations with INVALID_ARGUMENT naming each field, and changes nothing', async () => {
      const before = await counts(h);
      const base = {
        email: 'ok@example.com',
        password,
        displayName: 'okname',
        dateOfBirth: { year: 1990, month: 1, day: 1 },
      };
      const cases: Array<
        [
          Partial<typeof base> & {
            dateOfBirth?: { year: number; month: number; day: number } | undefined;
          },
          RegExp,
        ]
      > = [
        [{ email: 'not-an-email' }, /email: must be an email address/],
        [{ email: '' }, /email: is required/],
        [{ password: 'short' }, /password: must be 8–128 characters/],
        [
          { email: 'same@example.com', password: 'SAME@example.com' },
          /password: must not be the same as the email/,
        ],
        [
          { dateOfBirth: { year: 2001, month: 2, day: 29 } },
          /date_of_birth: must be a real calendar date/,
        ],
        [
          { dateOfBirth: { year: 1990, month: 13, day: 1 } },
          /date_of_birth: must be a real calendar date/,
        ],
        [{ dateOfBirth: { year: 2030, month: 1, day: 1 } }, /date_of_birth: must be in the past/],
        [{ dateOfBirth: undefined }, /date_of_birth: is required/],
        [{ displayName: 'a b' }, /display_name: must be 3–25 characters/],
      ];
      for (const [override, message] of cases) {
        const result = await failure(h.users.register({ ...base, ...override }));
        expect(result.code, JSON.stringify(override)).toBe(Code.InvalidArgument);
        expect(result.message).toMatch(/^registration refused: /);
        expect(result.message).toMatch(message);
      }
      const many = await failure(
        h.users.register({ email: 'x', password: 'y', displayName: '!', dateOfBirth: undefined }),
      );
      expect(many.message).toMatch(/email: .*; password: .*; date_of_birth: .*; display_name: /);
      expect(await counts(h)).toEqual(before);
    });

    it('refuses a taken email or display name with ALREADY_EXISTS and changes nothing', async () => {
      await h.register('gina');
      const before = await counts(h);
      const dob = { year: 1990, month: 1, day: 1 };
      expect(
        await failure(
          h.users.register({
            email: 'GINA@example.com',
            password,
            displayName: 'gina2',
            dateOfBirth: dob,
          }),
        ),
      ).toEqual({
        code: Code.AlreadyExists,
        message: 'an account with this email already exists; log in instead',
      });
      expect(
        (
          await failure(
            h.users.register({
              email: 'gina2@example.com',
              password,
              displayName: 'GINA',
              dateOfBirth: dob,
            }),
          )
        ).code,
      ).toBe(Code.AlreadyExists);
      expect(await counts(h)).toEqual(before);
    });

    it('reads and updates the own profile; display names stay unique', async () => {
      const { tokens } = await h.register('hank');
      await h.register('ivan');
      const updated = await h.users.updateProfile({ displayName: 'Hank_2' }, as(tokens));
      expect(updated.user?.displayName).toBe('Hank_2');
      expect((await h.users.getProfile({}, as(tokens))).user?.displayName).toBe('Hank_2');
      expect(await failure(h.users.updateProfile({ displayName: 'IVAN' }, as(tokens)))).toEqual({
        code: Code.AlreadyExists,
        message: 'display name "IVAN" is taken; choose another',
      });
      expect((await failure(h.users.updateProfile({ displayName: 'x' }, as(tokens)))).code).toBe(
        Code.InvalidArgument,
      );
      await h.users.updateProfile({}, as(tokens));
      expect((await outboxTypes(h)).filter((t) => t === 'UserProfileUpdated')).toHaveLength(1);
    });

    it('lets an admin freeze and unfreeze; a frozen user still logs in and reads', async () => {
      const { user, tokens } = await h.register('judy');
      const admin = await h.makeAdmin('admin_judy');
      const frozen = await h.users.freezeAccount(
        { userId: user.userId, reason: 'chargeback' },
        as(admin.tokens),
      );
      expect(frozen.user).toMatchObject({
        status: AccountStatus.FROZEN,
        frozenReason: 'chargeback',
      });
      const again = await h.users.freezeAccount(
        { userId: user.userId, reason: 'other' },
        as(admin.tokens),
      );
      expect(again.user?.frozenReason).toBe('chargeback');
      const own = await h.users.getProfile({}, as(tokens));
      expect(own.user).toMatchObject({ status: AccountStatus.FROZEN, frozenReason: '' });
      await expect(h.users.login({ email: 'judy@example.com', password })).resolves.toBeDefined();
      const check = await h.internal.checkEligibility(
        {
          checks: [
            { userId: user.userId, action: 3, amount: { amountMinor: 1n, currency: 'BRL' } },
          ],
        },
        await h.service('payment'),
      );
      expect(check.results[0]!.result!.reasons.map((r) => r.reason)).toContain(1);
      expect(
        await failure(
          h.users.freezeAccount({ userId: admin.user.userId, reason: 'x' }, as(admin.tokens)),
        ),
      ).toEqual({
        code: Code.FailedPrecondition,
        message: 'admins are not frozen through the API; remove the admin role out of band first',
      });
      expect(
        (
          await failure(
            h.users.freezeAccount({ userId: user.userId, reason: ' ' }, as(admin.tokens)),
          )
        ).code,
      ).toBe(Code.InvalidArgument);
      const unfrozen = await h.users.unfreezeAccount(
        { userId: user.userId, reason: 'resolved' },
        as(admin.tokens),
      );
      expect(unfrozen.user?.status).toBe(AccountStatus.ACTIVE);
      await h.users.unfreezeAccount({ userId: user.userId, reason: 'resolved' }, as(admin.tokens));
      const types = await outboxTypes(h);
      expect(types.filter((t) => t === 'UserFrozen')).toHaveLength(1);
      expect(types.filter((t) => t === 'UserUnfrozen')).toHaveLength(1);
    });

    it('answers NOT_FOUND for unknown users and INVALID_ARGUMENT for malformed ids', async () => {
      const admin = await h.makeAdmin('admin_nf');
      const unknown = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
      expect(await failure(h.users.getProfile({ userId: unknown }, as(admin.tokens)))).toEqual({
        code: Code.NotFound,
        message: `no user with id ${unknown}`,
      });
      expect(
        (await failure(h.users.freezeAccount({ userId: unknown, reason: 'x' }, as(admin.tokens))))
          .code,
      ).toBe(Code.NotFound);
      const malformed = await failure(h.users.getProfile({ userId: 'user-1' }, as(admin.tokens)));
      expect(malformed.code).toBe(Code.InvalidArgument);
      expect(malformed.message).toMatch(/user_id: must be a ULID/);
    });

    it('lists users for admins, newest first, filtered and paginated', async () => {
      const admin = await h.makeAdmin('admin_list');
      for (const name of ['list_a', 'list_b', 'list_c']) {
        h.clock.advance(1_000);
        await h.register(name);
      }
      const first = await h.users.listUsers(
        { query: 'LIST_', page: { pageSize: 2 } },
        as(admin.tokens),
      );
      expect(first.users.map((u) => u.displayName)).toEqual(['list_c', 'list_b']);
      const second = await h.users.listUsers(
        { query: 'list_', page: { pageSize: 2, pageToken: first.page!.nextPageToken } },
        as(admin.tokens),
      );
      expect(second.users.map((u) => u.displayName)).toEqual(['list_a']);
      expect(second.page?.nextPageToken).toBe('');
      const admins = await h.users.listUsers({ role: Role.ADMIN }, as(admin.tokens));
      expect(admins.users.every((u) => u.roles.includes(Role.ADMIN))).toBe(true);
      expect(
        (await failure(h.users.listUsers({ page: { pageSize: 500 } }, as(admin.tokens)))).code,
      ).toBe(Code.InvalidArgument);
      expect(
        (await failure(h.users.listUsers({ page: { pageToken: '!!' } }, as(admin.tokens)))).code,
      ).toBe(Code.InvalidArgument);
    });

    it('puts a granted streamer role into the next refreshed access token', async () => {
      const { user, tokens } = await h.register('streamy');
      const integration = await h.service('integration');
      const granted = await h.internal.grantRole(
        { userId: user.userId, role: Role.STREAMER },
        integration,
      );
      expect(granted).toMatchObject({ roles: [Role.VIEWER, Role.STREAMER], granted: true });
      const again = await h.internal.grantRole(
        { userId: user.userId, role: Role.STREAMER },
        integration,
      );
      expect(again.granted).toBe(false);
      expect(
        (
          await failure(
            h.internal.grantRole({ userId: user.userId, role: Role.ADMIN }, integration),
          )
        ).code,
      ).toBe(Code.InvalidArgument);
      const refreshed = (await h.users.refresh({ refreshToken: tokens.refreshToken })).tokens!;
      expect(decodeJwt(refreshed.accessToken)).toMatchObject({
        role: 'streamer',
        roles: ['viewer', 'streamer'],
      });
    });

    it('throttles failed logins per email with RESOURCE_EXHAUSTED and a retry time; success resets', async () => {
      await h.register('throttled');
      for (let i = 0; i < 5; i += 1) {
        expect(
          (
            await failure(
              h.users.login({ email: 'throttled@example.com', password: 'wrong-password' }),
            )
          ).code,
        ).toBe(Code.Unauthenticated);
      }
      expect(await failure(h.users.login({ email: 'throttled@example.com', password }))).toEqual({
        code: Code.ResourceExhausted,
        message: 'too many failed logins for this email from this network (retry after 900s)',
      });
      h.clock.advance(15 * 60_000);
      await expect(
        h.users.login({ email: 'throttled@example.com', password }),
      ).resolves.toBeDefined();
      // unknown emails are throttled the same way (no account enumeration)
      for (let i = 0; i < 5; i += 1)
        await failure(h.users.login({ email: 'ghost@example.com', password }));
      expect((await failure(h.users.login({ email: 'ghost@example.com', password }))).code).toBe(
        Code.ResourceExhausted,
      );
    });

    it('opens the wallet in the registration transaction: a failing hook registers nobody', async () => {
      const { user } = await h.register('hooked');
      expect(hooked).toContain(user.userId);
      failHook = true;
      try {
        expect((await failure(h.register('hook_fails'))).code).toBe(Code.Internal);
      } finally {
        failHook = false;
      }
      const rows = await h.db.sql.query(`SELECT 1 FROM users WHERE display_name = 'hook_fails'`);
      expect(rows.rowCount).toBe(0);
      const outbox = await h.db.sql.query(
        `SELECT 1 FROM outbox WHERE type LIKE '%UserRegistered' AND key NOT IN (SELECT id FROM users)`,
      );
      expect(outbox.rowCount).toBe(0);
    });

    it('concurrent refreshes of one token: one rotates, the others count as reuse and revoke the family', async () => {
      const { tokens } = await h.register('racer');
      const results = await Promise.allSettled(
        Array.from({ length: 4 }, () => h.users.refresh({ refreshToken: tokens.refreshToken })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won.length).toBe(1);
      const winner = (
        won[0] as PromiseFulfilledResult<Awaited<ReturnType<Harness['users']['refresh']>>>
      ).value;
      expect(
        (await failure(h.users.refresh({ refreshToken: winner.tokens!.refreshToken }))).code,
      ).toBe(Code.Unauthenticated);
    });

    it('concurrent registrations of one email: exactly one succeeds, the rest get ALREADY_EXISTS', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 4 }, (_, i) =>
          h.users.register({
            email: 'dup@example.com',
            password,
            displayName: `dup_${i}`,
            dateOfBirth: { year: 1990, month: 1, day: 1 },
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rows = await h.db.sql.query(`SELECT 1 FROM users WHERE email = 'dup@example.com'`);
      expect(rows.rowCount).toBe(1);
    });
  });
}

if (!targets.some((target) => target.name === 'postgres')) {
  describe.skip(`identity on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('register, login, refresh rotation and reuse, logout, bad input, login throttle, registration hook, refresh and registration races', () =>
      undefined);
  });
}
