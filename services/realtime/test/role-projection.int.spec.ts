/**
 * Realtime's projection of user roles (the `projections` consumer, exactly-once through the inbox):
 * an admin cannot be banned from chat while the role stands; UserRoleGranted sets it and
 * UserRoleRevoked (an admin's SetUserRole) clears it, both from the roles held afterwards, so a
 * demoted admin becomes bannable. A redelivered grant (same event id) is skipped by the inbox and
 * does not bring the role back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, ConnectError } from '@connectrpc/connect';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  UserProfileUpdatedSchema,
  UserRoleGrantedSchema,
  UserRoleRevokedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import { envelope } from '@streambet/testkit/events';
import { POSTGRES_SKIP_REASON, sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { startRealtime, ulid, waitUntil, type RealtimeHarness } from './harness.js';

const targets = sqlTargets();

async function code(call: Promise<unknown>): Promise<Code | 'OK'> {
  try {
    await call;
    return 'OK';
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

describe.each(targets.map((t) => [t.name, t] as const))(
  'realtime role projection on %s',
  (_name, target) => {
    let db: SqlTestDatabase;
    let h: RealtimeHarness;
    beforeAll(async () => {
      db = await target.create();
      h = await startRealtime(db);
    });
    afterAll(async () => {
      await h.close();
      await db.dispose();
    });

    /** The projected admin flag, or undefined for a user realtime does not know. */
    async function isAdmin(userId: string): Promise<boolean | undefined> {
      const rows = await db.sql.query<{ is_admin: boolean }>(
        'SELECT is_admin FROM rt_users WHERE user_id = $1',
        [userId],
      );
      return rows.rows[0]?.is_admin;
    }

    it('a granted admin cannot be banned; once the role is revoked the owner can ban them, and a redelivered grant does not restore it', async () => {
      const channelId = ulid();
      const owner = ulid();
      const moderator = ulid();
      await h.registerUser(owner, 'Streamer');
      await h.registerUser(moderator, 'Soon Admin');
      await h.linkChannel(channelId, owner);
      const ownerHeaders = await h.as(owner, 'streamer');
      const ban = () =>
        h.rpc.banChatUser({ channelId, userId: moderator, durationSeconds: 60n }, ownerHeaders);

      const grant = envelope('user', moderator, UserRoleGrantedSchema, {
        userId: moderator,
        role: Role.ADMIN,
        roles: [Role.VIEWER, Role.ADMIN],
        reason: 'trusted moderator',
      });
      await h.bus.publish([grant]);
      await waitUntil(async () => (await isAdmin(moderator)) === true, 'admin role projected');
      expect(await code(ban())).toBe(Code.FailedPrecondition);

      await h.publish('user', moderator, UserRoleRevokedSchema, {
        userId: moderator,
        role: Role.ADMIN,
        roles: [Role.VIEWER],
        reason: 'stepped down',
      });
      await waitUntil(async () => (await isAdmin(moderator)) === false, 'admin role revoked');
      expect(await code(ban())).toBe('OK');

      // The bus redelivers the old grant (same event id); a later event on the same key tells
      // when the consumer has gone past it.
      await h.bus.publish([grant]);
      await h.publish('user', moderator, UserProfileUpdatedSchema, {
        userId: moderator,
        displayName: 'Former Admin',
      });
      await waitUntil(async () => {
        const rows = await db.sql.query<{ display_name: string }>(
          'SELECT display_name FROM rt_users WHERE user_id = $1',
          [moderator],
        );
        return rows.rows[0]?.display_name === 'Former Admin';
      }, 'profile update after the redelivered grant');
      expect(await isAdmin(moderator)).toBe(false);
    });
  },
);

if (!targets.some((t) => t.name === 'postgres')) {
  describe.skip(`realtime role projection on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs when TEST_DATABASE_URL is set', () => {});
  });
}
