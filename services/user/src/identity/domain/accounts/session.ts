/**
 * Refresh-token rotation with reuse detection (OAuth 2.0 Security BCP §4.14): each refresh token
 * works once; presenting one that was already rotated means it leaked, so the whole family
 * (session) is revoked.
 */

/** A stored refresh token and the state of its session, as read under lock. */
export interface RefreshTokenState {
  /** When this token was rotated (used), or null if it is the session's live token. */
  readonly usedAtMs: number | null;
  readonly expiresAtMs: number;
  /** When the session (family) was revoked, or null if it is live. */
  readonly sessionRevokedAtMs: number | null;
}

/**
 * What to do with a presented refresh token:
 * - `rotate`: valid, issue a new pair and mark this one used;
 * - `reuse`: already used while the session is live: revoke the family (token theft suspected);
 * - `reject`: expired or revoked: refuse, change nothing.
 */
export type RefreshDecision =
  | { readonly kind: 'rotate' }
  | { readonly kind: 'reuse' }
  | { readonly kind: 'reject'; readonly reason: string };

/** Decides a Refresh call for `token` at `nowMs`. */
export function decideRefresh(token: RefreshTokenState, nowMs: number): RefreshDecision {
  if (token.sessionRevokedAtMs !== null) {
    return { kind: 'reject', reason: 'refresh token was revoked; sign in again' };
  }
  if (token.usedAtMs !== null) return { kind: 'reuse' };
  if (nowMs >= token.expiresAtMs) {
    return { kind: 'reject', reason: 'refresh token expired; sign in again' };
  }
  return { kind: 'rotate' };
}
