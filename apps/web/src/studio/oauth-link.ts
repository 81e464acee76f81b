/**
 * The OAuth round trip of linking a platform, without ever putting the session in storage: the
 * console opens the platform's authorize URL in a popup; the platform redirects the popup back to
 * this app with `code` and `state`; the app in the popup hands both to the console that opened it
 * (postMessage, same origin only) and closes; the console then calls LinkChannel with its session.
 */

/** The message the popup posts to its opener. */
export interface OAuthCallbackMessage {
  readonly type: 'streambet-oauth-callback';
  readonly code: string;
  readonly state: string;
}

/** The redirect URI of this app for OAuth (on the deployment's allow-list by its origin). */
export function oauthRedirectUri(origin: string): string {
  return new URL('/?view=studio&oauth=callback', origin).toString();
}

/**
 * In the popup: when the page is an OAuth callback opened by this app's console, passes code and
 * state to the opener and closes. Returns true when it did (the page should render nothing else).
 */
export function forwardOAuthCallback(params: URLSearchParams, origin: string): boolean {
  const code = params.get('code');
  const state = params.get('state');
  if (params.get('oauth') !== 'callback' || code === null || state === null) return false;
  const opener = window.opener as Window | null;
  if (opener === null || opener.closed) return false;
  const message: OAuthCallbackMessage = { type: 'streambet-oauth-callback', code, state };
  opener.postMessage(message, origin);
  window.close();
  return true;
}

/** Reads a callback message, or undefined when `event` is not one from this origin. */
export function readOAuthCallback(
  event: MessageEvent,
  origin: string,
): OAuthCallbackMessage | undefined {
  if (event.origin !== origin) return undefined;
  const data = event.data as Partial<OAuthCallbackMessage> | null;
  if (
    data === null ||
    typeof data !== 'object' ||
    data.type !== 'streambet-oauth-callback' ||
    typeof data.code !== 'string' ||
    typeof data.state !== 'string'
  ) {
    return undefined;
  }
  return { type: data.type, code: data.code, state: data.state };
}
