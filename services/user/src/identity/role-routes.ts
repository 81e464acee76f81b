/**
 * SetUserRole (user.proto): an admin grants or revokes the admin or streamer role, and the
 * operator's `npm run admin -- grant <email>` (scripts/admin.ts) makes the first admin with the
 * user service's own service credential — no admin exists yet to do it. Runs on the account
 * command handler (account-commands.ts): the row is locked, domain/accounts/account.ts decides,
 * and the roles column and UserRoleGranted / UserRoleRevoked (with the reason, for the audit log)
 * are written in one transaction.
 */
import type { HandlerContext } from '@connectrpc/connect';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import type { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import type { ServiceImpl } from '@connectrpc/connect';
import { callerKey } from '@streambet/platform/auth/caller';
import { PermissionDeniedError } from '@streambet/platform/errors/domain-errors';
import type { Sql } from '@streambet/platform/sql/types';
import { handleAccountCommand } from './account-commands.js';
import { decideSetRole } from './domain/accounts/account.js';
import { throwIfViolations } from './domain/accounts/validation.js';
import { roleProto } from './proto-codec.js';
import { actorOf, reasonViolation, requireUlid, userCaller } from './requests.js';
import type { EventActor, IdentityStore } from './store/index.js';

/** Roles SetUserRole changes, by their proto value. */
const settableRoles = new Map<Role, 'admin' | 'streamer'>([
  [Role.ADMIN, 'admin'],
  [Role.STREAMER, 'streamer'],
]);

/**
 * Who is acting: the admin (their user id, ROLE_ADMIN), or the operator through the user
 * service's credential (no user id, ROLE_SERVICE; the audit log names the producing service and
 * the operator's reason).
 */
function roleActor(ctx: HandlerContext): { actor: EventActor; selfUserId: string } {
  const caller = ctx.values.get(callerKey);
  if (caller.kind === 'service') {
    if (caller.service !== 'user') {
      throw new PermissionDeniedError(
        `service "${caller.service}" may not set roles; only admins and the operator command may`,
      );
    }
    return { actor: { userId: '', role: Role.SERVICE }, selfUserId: '' };
  }
  const user = userCaller(ctx);
  return { actor: actorOf(user), selfUserId: user.userId };
}

/** Creates the SetUserRole handler. */
export function createRoleRoutes(deps: {
  readonly sql: Sql;
  readonly store: IdentityStore;
}): Pick<ServiceImpl<typeof UserService>, 'setUserRole'> {
  return {
    async setUserRole(req, ctx) {
      const { actor, selfUserId } = roleActor(ctx);
      requireUlid('user_id', req.userId);
      const role = settableRoles.get(req.role);
      throwIfViolations('role change refused', [
        role === undefined
          ? {
              field: 'role',
              description:
                'must be ROLE_ADMIN or ROLE_STREAMER (viewer is implicit, service is never a user role)',
            }
          : undefined,
        reasonViolation(req.reason),
      ]);
      const { after, applied } = await handleAccountCommand(deps, req.userId, actor, (account) =>
        decideSetRole(account, {
          role: role!,
          granted: req.granted,
          reason: req.reason,
          selfRevoke: req.userId === selfUserId,
        }),
      );
      return { roles: after.roles.map(roleProto), changed: applied.length > 0 };
    },
  };
}
