/**
 * Account commands (cool-off, self-exclusion, freeze, unfreeze, roles) on the platform's
 * command handler: the user's row is read under `FOR UPDATE`, the domain decides and evolves
 * (domain/accounts/account.ts), and the changed columns and the user events are written in the
 * same transaction. Register, Login and UpdateProfile stay hand-written in identity-routes.ts:
 * they lean on the database's uniqueness (email, display name) and on side effects outside the
 * transaction (password hashing, tokens) that this load → decide → save shape does not model.
 */
import {
  CoolOffStartedSchema,
  SelfExclusionStartedSchema,
  UserFrozenSchema,
  UserRoleGrantedSchema,
  UserRoleRevokedSchema,
  UserUnfrozenSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import { SelfExclusionDuration } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { handleCommand, type CommandResult } from '@streambet/platform/command/handle-command';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import { evolveAccount, type AccountEvent } from './domain/accounts/account.js';
import { roleProto } from './proto-codec.js';
import { existingUser } from './requests.js';
import {
  userEvent,
  type EventActor,
  type IdentityStore,
  type PendingUserEvent,
  type UserRecord,
} from './store/index.js';

/** The contract's user event of `event`, about `userId`, caused by `actor`. */
function accountEventMessage(
  userId: string,
  event: AccountEvent,
  actor: EventActor,
): PendingUserEvent {
  switch (event.type) {
    case 'CoolOffStarted':
      return userEvent(CoolOffStartedSchema, userId, { untilMs: BigInt(event.untilMs) }, actor);
    case 'SelfExclusionStarted':
      return userEvent(
        SelfExclusionStartedSchema,
        userId,
        {
          duration: SelfExclusionDuration[event.exclusion.duration],
          untilMs: BigInt(event.exclusion.untilMs ?? 0),
        },
        actor,
      );
    case 'UserFrozen':
      return userEvent(UserFrozenSchema, userId, { reason: event.reason }, actor);
    case 'UserUnfrozen':
      return userEvent(UserUnfrozenSchema, userId, { reason: event.reason }, actor);
    case 'UserRoleGranted':
      return userEvent(
        UserRoleGrantedSchema,
        userId,
        {
          role: roleProto(event.role),
          roles: event.roles.map(roleProto),
          reason: event.reason ?? '',
        },
        actor,
      );
    case 'UserRoleRevoked':
      return userEvent(
        UserRoleRevokedSchema,
        userId,
        { role: roleProto(event.role), roles: event.roles.map(roleProto), reason: event.reason },
        actor,
      );
  }
}

/** Writes the columns `event` changed (the account after it is `after`). */
async function saveAccountEvent(
  store: IdentityStore,
  tx: SqlExecutor,
  event: AccountEvent,
  after: UserRecord,
): Promise<void> {
  switch (event.type) {
    case 'CoolOffStarted':
      return store.setCoolOff(tx, after.userId, after.coolOffUntilMs);
    case 'SelfExclusionStarted':
      return store.setSelfExclusion(tx, after.userId, event.exclusion);
    case 'UserFrozen':
    case 'UserUnfrozen':
      return store.setStatus(tx, after.userId, after.status, after.frozenReason);
    case 'UserRoleGranted':
    case 'UserRoleRevoked':
      return store.setRoles(tx, after.userId, after.roles);
  }
}

/**
 * Runs one account command on user `userId` (NOT_FOUND when there is none) in its own
 * transaction: `decide` gets the locked account and returns its events (or throws a domain
 * error: nothing is written). Returns the account before and after, and the events.
 */
export function handleAccountCommand(
  deps: { readonly sql: Sql; readonly store: IdentityStore },
  userId: string,
  actor: EventActor,
  decide: (account: UserRecord) => readonly AccountEvent[],
): Promise<CommandResult<UserRecord, AccountEvent>> {
  const { sql, store } = deps;
  return handleCommand(sql, {
    load: (tx) => existingUser(store, tx, userId, { forUpdate: true }),
    decide,
    evolve: evolveAccount,
    async save(tx, { applied }) {
      for (const { event, after } of applied) await saveAccountEvent(store, tx, event, after);
      await store.appendEvents(
        tx,
        applied.map(({ event }) => accountEventMessage(userId, event, actor)),
      );
    },
  });
}
