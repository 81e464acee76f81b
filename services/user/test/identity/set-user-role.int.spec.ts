/**
 * SetUserRole: admins grant and revoke the admin and streamer roles (audited: the event carries
 * the actor and the reason); the user service's own credential — the operator command that makes
 * the first admin — may too; nobody else; an admin cannot drop their own admin role.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  UserRoleGrantedSchema,
  UserRoleRevokedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, createHarness, failure, outboxRows, password, type Harness } from './harness.js';

for (const target of sqlTargets()) {
  describe(`SetUserRole on ${target.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    });
    afterAll(async () => {
      await h?.dispose();
    });

    it('lets the operator (user service credential) make the first admin, audited', async () => {
      const { user } = await h.register('first_admin');
      const granted = await h.users.setUserRole(
        { userId: user.userId, role: Role.ADMIN, granted: true, reason: 'first admin by ops' },
        await h.service('user'),
      );
      expect(granted).toMatchObject({ roles: [Role.VIEWER, Role.ADMIN], changed: true });
      const again = await h.users.setUserRole(
        { userId: user.userId, role: Role.ADMIN, granted: true, reason: 'again' },
        await h.service('user'),
      );
      expect(again.changed).toBe(false);
      const rows = (await outboxRows(h)).filter((r) => r.type.endsWith('UserRoleGranted'));
      expect(rows).toHaveLength(1);
      const event = fromBinary(UserRoleGrantedSchema, rows[0]!.payload);
      expect(event).toMatchObject({
        userId: user.userId,
        role: Role.ADMIN,
        reason: 'first admin by ops',
        metadata: { actorUserId: '', actorRole: Role.SERVICE },
      });
      const login = await h.users.login({ email: 'first_admin@example.com', password });
      expect(decodeJwt(login.tokens!.accessToken).role).toBe('admin');
    });

    it('lets an admin grant and revoke streamer and admin; refuses self-revocation', async () => {
      const admin = await h.makeAdmin('role_admin');
      const { user } = await h.register('role_target');
      const call = (role: Role, granted: boolean, reason = 'console test') =>
        h.users.setUserRole({ userId: user.userId, role, granted, reason }, as(admin.tokens));
      expect((await call(Role.STREAMER, true)).roles).toEqual([Role.VIEWER, Role.STREAMER]);
      expect((await call(Role.ADMIN, true)).roles).toEqual([
        Role.VIEWER,
        Role.STREAMER,
        Role.ADMIN,
      ]);
      const revoked = await call(Role.STREAMER, false, 'no channel any more');
      expect(revoked).toMatchObject({ roles: [Role.VIEWER, Role.ADMIN], changed: true });
      expect((await call(Role.STREAMER, false)).changed).toBe(false);
      const rows = (await outboxRows(h)).filter((r) => r.type.endsWith('UserRoleRevoked'));
      expect(fromBinary(UserRoleRevokedSchema, rows.at(-1)!.payload)).toMatchObject({
        userId: user.userId,
        role: Role.STREAMER,
        roles: [Role.VIEWER, Role.ADMIN],
        reason: 'no channel any more',
        metadata: { actorUserId: admin.user.userId, actorRole: Role.ADMIN },
      });
      expect(
        await failure(
          h.users.setUserRole(
            { userId: admin.user.userId, role: Role.ADMIN, granted: false, reason: 'bye' },
            as(admin.tokens),
          ),
        ),
      ).toEqual({
        code: Code.FailedPrecondition,
        message: 'admins may not revoke their own admin role; ask another admin to do it',
      });
    });

    it('refuses bad input, non-admins and other services', async () => {
      const admin = await h.makeAdmin('role_admin2');
      const viewer = await h.register('role_viewer');
      const id = viewer.user.userId;
      const bad = await failure(
        h.users.setUserRole(
          { userId: id, role: Role.SERVICE, granted: true, reason: ' ' },
          as(admin.tokens),
        ),
      );
      expect(bad.code).toBe(Code.InvalidArgument);
      expect(bad.message).toMatch(/role: must be ROLE_ADMIN or ROLE_STREAMER/);
      expect(bad.message).toMatch(/reason: is required/);
      expect(
        (
          await failure(
            h.users.setUserRole(
              {
                userId: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
                role: Role.ADMIN,
                granted: true,
                reason: 'x',
              },
              as(admin.tokens),
            ),
          )
        ).code,
      ).toBe(Code.NotFound);
      expect(
        (
          await failure(
            h.users.setUserRole(
              { userId: id, role: Role.ADMIN, granted: true, reason: 'me' },
              as(viewer.tokens),
            ),
          )
        ).code,
      ).toBe(Code.PermissionDenied);
      expect(
        (
          await failure(
            h.users.setUserRole(
              { userId: id, role: Role.ADMIN, granted: true, reason: 'x' },
              await h.service('integration'),
            ),
          )
        ).code,
      ).toBe(Code.PermissionDenied);
    });
  });
}
