/** decideSetRole (domain/accounts/account.ts): grants, revocations, no-ops and the self-revocation rule. */
import { describe, expect, it } from 'vitest';
import {
  decideSetRole,
  evolveAccount,
  type AccountState,
} from '../../src/identity/domain/accounts/account.js';

const viewer: AccountState = {
  status: 'active',
  frozenReason: '',
  roles: ['viewer'],
  coolOffUntilMs: 0,
  selfExclusion: null,
};
const change = (role: 'admin' | 'streamer', granted: boolean, selfRevoke = false) => ({
  role,
  granted,
  reason: '  why  ',
  selfRevoke,
});

describe('decideSetRole', () => {
  it('grants a missing role with the trimmed reason, in canonical order', () => {
    const streamer = evolveAccount(viewer, decideSetRole(viewer, change('streamer', true))[0]!);
    const events = decideSetRole(streamer, change('admin', true));
    expect(events).toEqual([
      {
        type: 'UserRoleGranted',
        role: 'admin',
        roles: ['viewer', 'streamer', 'admin'],
        reason: 'why',
      },
    ]);
    expect(evolveAccount(streamer, events[0]!).roles).toEqual(['viewer', 'streamer', 'admin']);
  });

  it('changes nothing when the role is already held or already absent', () => {
    expect(decideSetRole({ ...viewer, roles: ['viewer', 'admin'] }, change('admin', true))).toEqual(
      [],
    );
    expect(decideSetRole(viewer, change('streamer', false))).toEqual([]);
  });

  it('revokes a held role; refuses an admin revoking their own admin role', () => {
    const admin = { ...viewer, roles: ['viewer', 'streamer', 'admin'] as const };
    expect(decideSetRole(admin, change('streamer', false, true))).toEqual([
      { type: 'UserRoleRevoked', role: 'streamer', roles: ['viewer', 'admin'], reason: 'why' },
    ]);
    expect(decideSetRole(admin, change('admin', false))[0]).toMatchObject({
      roles: ['viewer', 'streamer'],
    });
    expect(() => decideSetRole(admin, change('admin', false, true))).toThrow(
      'admins may not revoke their own admin role; ask another admin to do it',
    );
  });
});
