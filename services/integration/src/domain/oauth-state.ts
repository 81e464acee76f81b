/**
 * OAuth `state` for linking a channel, pure: bound to the user and platform that began the link,
 * single use, short-lived (10 minutes). Randomness and hashing are done by the caller and passed in.
 */
import { ValidationError } from '@streambet/platform/errors/domain-errors';

/** How long a state is accepted after BeginChannelLink (contract: 10 minutes). */
export const oauthStateTtlMs = 10 * 60_000;

/** The OAuth platforms (YouTube links by channel id, without OAuth). */
export type OAuthPlatform = 'TWITCH' | 'KICK';

/** A state as stored between BeginChannelLink and LinkChannel. */
export interface OAuthState {
  readonly state: string;
  readonly userId: string;
  readonly platform: OAuthPlatform;
  readonly redirectUri: string;
  /** Kick: the PKCE verifier (kept on the server, never sent to the client). */
  readonly codeVerifier: string | undefined;
  readonly expiresAtMs: number;
  /** The channel this state linked, once used; a repeat by the same user returns it. */
  readonly usedForChannelId: string | undefined;
}

/** A new state for `userId` on `platform`, expiring {@link oauthStateTtlMs} after `nowMs`. */
export function issueState(input: {
  readonly state: string;
  readonly userId: string;
  readonly platform: OAuthPlatform;
  readonly redirectUri: string;
  readonly codeVerifier: string | undefined;
  readonly nowMs: number;
}): OAuthState {
  return {
    state: input.state,
    userId: input.userId,
    platform: input.platform,
    redirectUri: input.redirectUri,
    codeVerifier: input.codeVerifier,
    expiresAtMs: input.nowMs + oauthStateTtlMs,
    usedForChannelId: undefined,
  };
}

/** What LinkChannel does with a presented state. */
export type StateDecision =
  | { readonly kind: 'exchange'; readonly state: OAuthState }
  | { readonly kind: 'already-linked'; readonly channelId: string };

/**
 * Checks a presented state: unknown, issued to another user or for another platform, or expired
 * (at `expiresAtMs` itself it is still accepted) → INVALID_ARGUMENT naming why; already used by
 * this same user → the channel it linked (LinkChannel is idempotent per state).
 */
export function decideStateUse(
  stored: OAuthState | undefined,
  presented: { readonly userId: string; readonly platform: OAuthPlatform; readonly nowMs: number },
): StateDecision {
  const refuse = (why: string): never => {
    throw new ValidationError(`the OAuth state ${why}: begin the link again`, [
      { field: 'oauth.state', description: why },
    ]);
  };
  if (stored === undefined) return refuse('is unknown');
  if (stored.userId !== presented.userId) return refuse('was issued to another user');
  if (stored.platform !== presented.platform) return refuse(`was issued for ${stored.platform}`);
  if (stored.usedForChannelId !== undefined) {
    return { kind: 'already-linked', channelId: stored.usedForChannelId };
  }
  if (presented.nowMs > stored.expiresAtMs) return refuse('has expired');
  return { kind: 'exchange', state: stored };
}

/** A PKCE verifier is 43–128 chars of [A-Za-z0-9-._~] (RFC 7636 §4.1). */
export function isValidCodeVerifier(verifier: string): boolean {
  return /^[A-Za-z0-9\-._~]{43,128}$/.test(verifier);
}
