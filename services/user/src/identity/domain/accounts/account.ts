/**
 * Commands on an account's standing — cool-off, self-exclusion, freeze and unfreeze, the streamer
 * role — as pure decisions (`decide*`: the events a command produces from the account, none when
 * it changes nothing, or a thrown domain error) and one `evolveAccount` that folds an event into
 * the account. The platform's command handler runs them under the user's row lock and saves the
 * account with its events (identity/account-commands.ts).
 */
import { IllegalStateError } from '@streambet/platform/errors/domain-errors';
import {
  decideCoolOff,
  decideSelfExclusion,
  type SelfExclusionDurationName,
  type SelfExclusionState,
} from '../limits/restrictions.js';
import { normalizeRoles, type RoleName } from './roles.js';

/** What these commands read and change of a user. */
export interface AccountState {
  readonly status: 'active' | 'frozen';
  /** Why the account is frozen; empty while active. */
  readonly frozenReason: string;
  readonly roles: readonly RoleName[];
  /** End of the cool-off; 0 or past = none. */
  readonly coolOffUntilMs: number;
  readonly selfExclusion: SelfExclusionState | null;
}

/** What happened to an account (each one is published as the contract's user event of that name). */
export type AccountEvent =
  | { readonly type: 'CoolOffStarted'; readonly untilMs: number }
  | { readonly type: 'SelfExclusionStarted'; readonly exclusion: SelfExclusionState }
  | { readonly type: 'UserFrozen'; readonly reason: string }
  | { readonly type: 'UserUnfrozen'; readonly reason: string }
  | {
      readonly type: 'UserRoleGranted';
      readonly role: RoleName;
      /** Every role held after the grant, canonical order. */
      readonly roles: readonly RoleName[];
      /** Why (an admin's or the operator's grant); absent for a first channel link. */
      readonly reason?: string;
    }
  | {
      readonly type: 'UserRoleRevoked';
      readonly role: RoleName;
      /** Every role held after the revocation, canonical order. */
      readonly roles: readonly RoleName[];
      readonly reason: string;
    };

/** The account after `event`; fields the event does not touch are kept as they are. */
export function evolveAccount<State extends AccountState>(
  account: State,
  event: AccountEvent,
): State {
  switch (event.type) {
    case 'CoolOffStarted':
      return { ...account, coolOffUntilMs: event.untilMs };
    case 'SelfExclusionStarted':
      return { ...account, selfExclusion: event.exclusion };
    case 'UserFrozen':
      return { ...account, status: 'frozen', frozenReason: event.reason };
    case 'UserUnfrozen':
      return { ...account, status: 'active', frozenReason: '' };
    case 'UserRoleGranted':
    case 'UserRoleRevoked':
      return { ...account, roles: event.roles };
  }
}

/**
 * StartCoolOff for `durationSeconds` at `nowMs` (see {@link decideCoolOff}): no event when a
 * cool-off in force already lasts at least as long; INVALID_ARGUMENT for a bad duration.
 */
export function decideStartCoolOff(
  account: AccountState,
  durationSeconds: number,
  nowMs: number,
): AccountEvent[] {
  const decision = decideCoolOff(account.coolOffUntilMs, durationSeconds, nowMs);
  return decision.changed ? [{ type: 'CoolOffStarted', untilMs: decision.untilMs }] : [];
}

/**
 * SelfExclude for `duration` at `nowMs` (see {@link decideSelfExclusion}): no event when the
 * exclusion in force already lasts at least as long.
 */
export function decideSelfExclude(
  account: AccountState,
  duration: SelfExclusionDurationName | undefined,
  nowMs: number,
): AccountEvent[] {
  const decision = decideSelfExclusion(account.selfExclusion, duration, nowMs);
  return decision.changed ? [{ type: 'SelfExclusionStarted', exclusion: decision.exclusion }] : [];
}

/**
 * FreezeAccount with `reason` (already validated; trimmed here): admins are not frozen through
 * the API (FAILED_PRECONDITION); an account already frozen keeps its first reason (no event).
 */
export function decideFreeze(account: AccountState, reason: string): AccountEvent[] {
  if (account.roles.includes('admin')) {
    throw new IllegalStateError(
      'admins are not frozen through the API; remove the admin role out of band first',
    );
  }
  if (account.status === 'frozen') return [];
  return [{ type: 'UserFrozen', reason: reason.trim() }];
}

/** UnfreezeAccount with `reason` (trimmed): no event for an account that is not frozen. */
export function decideUnfreeze(account: AccountState, reason: string): AccountEvent[] {
  if (account.status === 'active') return [];
  return [{ type: 'UserUnfrozen', reason: reason.trim() }];
}

/** GrantRole(streamer), on a first channel link: no event when the user already streams. */
export function decideGrantStreamer(account: AccountState): AccountEvent[] {
  if (account.roles.includes('streamer')) return [];
  return [
    {
      type: 'UserRoleGranted',
      role: 'streamer',
      roles: normalizeRoles([...account.roles, 'streamer']),
    },
  ];
}

/**
 * SetUserRole: grants (`granted`) or revokes `role` (admin or streamer, validated by the caller)
 * with `reason` (trimmed). No event when nothing changes. `selfRevoke` is true when an admin is
 * taking the admin role from themselves: refused (FAILED_PRECONDITION), so the last admin cannot
 * lock everyone out by mistake and a removal is always one admin's decision about another.
 */
export function decideSetRole(
  account: AccountState,
  change: {
    readonly role: Exclude<RoleName, 'viewer'>;
    readonly granted: boolean;
    readonly reason: string;
    readonly selfRevoke: boolean;
  },
): AccountEvent[] {
  const held = account.roles.includes(change.role);
  const reason = change.reason.trim();
  if (change.granted) {
    if (held) return [];
    return [
      {
        type: 'UserRoleGranted',
        role: change.role,
        roles: normalizeRoles([...account.roles, change.role]),
        reason,
      },
    ];
  }
  if (!held) return [];
  if (change.selfRevoke && change.role === 'admin') {
    throw new IllegalStateError(
      'admins may not revoke their own admin role; ask another admin to do it',
    );
  }
  return [
    {
      type: 'UserRoleRevoked',
      role: change.role,
      roles: normalizeRoles(account.roles.filter((r) => r !== change.role)),
      reason,
    },
  ];
}
