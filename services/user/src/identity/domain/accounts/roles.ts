/**
 * User roles as the user service stores them. Every user is a viewer; streamer is granted on a
 * first channel link; admin out of band. `service` is never a user role.
 */

/** A role a user can hold (same names as the platform's `UserRole`). */
export type RoleName = 'viewer' | 'streamer' | 'admin';

/** Every user role, weakest first. */
export const roleNames: readonly RoleName[] = ['viewer', 'streamer', 'admin'];

/**
 * The held roles in canonical order, viewer always included and duplicates dropped, so stored
 * role sets compare equal however they were built.
 */
export function normalizeRoles(roles: Iterable<string>): RoleName[] {
  const held = new Set<string>(['viewer', ...roles]);
  return roleNames.filter((role) => held.has(role));
}

/**
 * The role an access token carries in its `role` claim: the platform's verifier gives a caller one
 * role, and the strongest held one is the one that decides what the caller may do.
 */
export function primaryRole(roles: readonly RoleName[]): RoleName {
  if (roles.includes('admin')) return 'admin';
  if (roles.includes('streamer')) return 'streamer';
  return 'viewer';
}
