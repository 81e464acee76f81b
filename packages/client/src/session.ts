/**
 * The signed-in session, framework-free: who is signed in, their tokens, and the access-token
 * refresh — the token is rotated 30 s before it expires (refresh tokens are single-use, so a
 * refresh is never retried; a failed one ends the session and the viewer logs in again).
 *
 * It is an external store (`subscribe` + `getSnapshot`), so React and React Native read it with
 * `useSyncExternalStore`. Where the session is kept between app starts is a port: the web app
 * keeps it in memory only (nothing an XSS can read from storage), a native app may pass a
 * key-value adapter over its secure storage.
 */
import { fromJsonString, toJsonString } from '@bufbuild/protobuf';
import type { Transport } from '@connectrpc/connect';
import { UserSchema, type User } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import {
  TokenPairSchema,
  type TokenPair,
} from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import {
  bearerAuth,
  createApi,
  createApiTransport,
  type Api,
  type ApiTransportOptions,
} from './api.js';
import { refreshDelayMs } from './view-logic.js';

/** A signed-in user and the tokens of their session. */
export interface Session {
  readonly user: User;
  readonly tokens: TokenPair;
}

/** What the screens render from the session; a new object whenever it changes. */
export interface SessionSnapshot {
  readonly session: Session | undefined;
  /** A sentence for the viewer when the session ended on its own (a refused refresh). */
  readonly notice: string | undefined;
}

/** Where a session is kept between app starts. */
export interface SessionStorage {
  load(): Promise<Session | undefined>;
  /** Saves the session, or forgets it when undefined. */
  save(session: Session | undefined): Promise<void>;
}

/** Keeps nothing between starts: the web app's choice (tokens live in memory only). */
export const memorySessionStorage: SessionStorage = Object.freeze({
  load: () => Promise.resolve(undefined),
  save: () => Promise.resolve(),
});

/**
 * A string key-value store, e.g. React Native's AsyncStorage or a wrapper over expo-secure-store
 * (prefer a secure store: the refresh token is a credential).
 */
export interface KeyValueStore {
  getItem(key: string): Promise<string | null> | string | null;
  setItem(key: string, value: string): Promise<void> | void;
  removeItem(key: string): Promise<void> | void;
}

/** The session as one string (protobuf JSON of the user and the tokens). */
export function encodeSession(session: Session): string {
  return JSON.stringify({
    user: toJsonString(UserSchema, session.user),
    tokens: toJsonString(TokenPairSchema, session.tokens),
  });
}

/** Reads {@link encodeSession}'s string back; undefined when it is not one. */
export function decodeSession(text: string): Session | undefined {
  try {
    const parsed = JSON.parse(text) as { user?: unknown; tokens?: unknown };
    if (typeof parsed.user !== 'string' || typeof parsed.tokens !== 'string') return undefined;
    return {
      user: fromJsonString(UserSchema, parsed.user, { ignoreUnknownFields: true }),
      tokens: fromJsonString(TokenPairSchema, parsed.tokens, { ignoreUnknownFields: true }),
    };
  } catch {
    return undefined;
  }
}

/** Session storage over a key-value store, under `key`. */
export function keyValueSessionStorage(
  store: KeyValueStore,
  key = 'streambet.session',
): SessionStorage {
  return {
    async load() {
      const text = await store.getItem(key);
      return text === null ? undefined : decodeSession(text);
    },
    async save(session) {
      if (session === undefined) await store.removeItem(key);
      else await store.setItem(key, encodeSession(session));
    },
  };
}

/** The session's store: read it, subscribe to it, change it. */
export interface SessionController {
  readonly getSnapshot: () => SessionSnapshot;
  /** Calls `listener` after every change; returns the unsubscribe. */
  readonly subscribe: (listener: () => void) => () => void;
  /** The current access token (what the API's interceptor sends). */
  readonly accessToken: () => string | undefined;
  readonly signIn: (session: Session) => void;
  /** Ends the session here and, best effort, on the server (revokes the refresh token). */
  readonly signOut: () => void;
  /** Loads a kept session from storage (refreshing at once when its access token is stale). */
  readonly restore: () => Promise<void>;
  /**
   * Rotates the tokens now and reloads the user (roles granted since signing in, e.g. the
   * streamer role after a first channel link, are in the new access token and in
   * `session.user`). Waits for a rotation already in flight, so a refresh token is never sent
   * twice. A refused refresh ends the session as the timer's would.
   */
  readonly renew: () => Promise<void>;
  /** Stops the refresh timer (an app that is torn down). */
  readonly dispose: () => void;
}

/** Dependencies of {@link createSessionController}. */
export interface SessionControllerDeps {
  readonly users: Pick<Api['users'], 'refresh' | 'logout'> &
    Partial<Pick<Api['users'], 'getProfile'>>;
  readonly storage?: SessionStorage;
  /** Wall-clock ms; default Date.now. */
  readonly now?: () => number;
  /** Timers; default the global setTimeout / clearTimeout. */
  readonly setTimer?: (run: () => void, delayMs: number) => unknown;
  readonly clearTimer?: (timer: unknown) => void;
}

/** Longest delay timers take (a longer one fires at once in browsers and Node). */
const maxTimerMs = 2 ** 31 - 1;

/** Creates the session store. */
export function createSessionController(deps: SessionControllerDeps): SessionController {
  const storage = deps.storage ?? memorySessionStorage;
  const now = deps.now ?? (() => Date.now());
  const setTimer = deps.setTimer ?? ((run, delayMs) => setTimeout(run, delayMs));
  const clearTimer =
    deps.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>));
  const listeners = new Set<() => void>();
  let snapshot: SessionSnapshot = { session: undefined, notice: undefined };
  let timer: unknown;
  /** The rotation in flight, if any (renew waits for it). */
  let refreshing: Promise<void> | undefined;

  const persist = (session: Session | undefined): void => {
    storage.save(session).catch(() => undefined);
  };

  const set = (next: SessionSnapshot): void => {
    snapshot = next;
    if (timer !== undefined) clearTimer(timer);
    timer = undefined;
    const session = next.session;
    if (session !== undefined) {
      timer = setTimer(
        () => refresh(session),
        Math.min(maxTimerMs, refreshDelayMs(session.tokens.accessTokenExpiresAtMs, now())),
      );
    }
    for (const listener of [...listeners]) listener();
  };

  const rotate = async (session: Session, reloadUser: boolean): Promise<void> => {
    let tokens: Session['tokens'] | undefined;
    try {
      tokens = (await deps.users.refresh({ refreshToken: session.tokens.refreshToken })).tokens;
    } catch {
      if (snapshot.session !== session) return;
      set({ session: undefined, notice: 'Your session ended; log in again.' });
      persist(undefined);
      return;
    }
    if (snapshot.session !== session || tokens === undefined) return;
    let user = session.user;
    if (reloadUser && deps.users.getProfile !== undefined) {
      try {
        const profile = await deps.users.getProfile(
          {},
          { headers: { authorization: `Bearer ${tokens.accessToken}` } },
        );
        user = profile.user ?? user;
      } catch {
        // The new tokens stand; the user shown stays as it was until the next sign-in.
      }
      if (snapshot.session !== session) return;
    }
    const next: Session = { user, tokens };
    set({ session: next, notice: undefined });
    persist(next);
  };

  const refresh = (session: Session): void => {
    timer = undefined;
    const running = rotate(session, false).finally(() => {
      if (refreshing === running) refreshing = undefined;
    });
    refreshing = running;
  };

  return {
    getSnapshot: () => snapshot,
    subscribe: (listener) => {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    accessToken: () => snapshot.session?.tokens.accessToken,
    signIn: (session) => {
      set({ session, notice: undefined });
      persist(session);
    },
    signOut: () => {
      const ending = snapshot.session;
      set({ session: undefined, notice: undefined });
      persist(undefined);
      if (ending !== undefined) {
        deps.users.logout({ refreshToken: ending.tokens.refreshToken }).catch(() => undefined);
      }
    },
    restore: async () => {
      const kept = await storage.load().catch(() => undefined);
      if (kept !== undefined && snapshot.session === undefined)
        set({ session: kept, notice: undefined });
    },
    renew: async () => {
      if (refreshing !== undefined) await refreshing;
      const current = snapshot.session;
      if (current === undefined) return;
      if (timer !== undefined) clearTimer(timer);
      timer = undefined;
      const running = rotate(current, true).finally(() => {
        if (refreshing === running) refreshing = undefined;
      });
      refreshing = running;
      await running;
    },
    dispose: () => {
      if (timer !== undefined) clearTimer(timer);
      timer = undefined;
      listeners.clear();
    },
  };
}

/** The APIs and the session of one viewer app, wired together. */
export interface ViewerClient {
  readonly api: Api;
  readonly session: SessionController;
}

/** Options of {@link createViewerClient}: the gateway's URL, or a transport of your own. */
export type ViewerClientOptions = Omit<SessionControllerDeps, 'users'> &
  (
    | Omit<ApiTransportOptions, 'accessToken'>
    | {
        /**
         * Builds the transport; it must run `interceptors` (they add the access token), e.g.
         * `(interceptors) => createRouterTransport(routes, { transport: { interceptors } })`.
         */
        readonly transport: (interceptors: [ReturnType<typeof bearerAuth>]) => Transport;
      }
  );

/** Creates the API clients signed with the session's token, and the session. */
export function createViewerClient(options: ViewerClientOptions): ViewerClient {
  const accessToken = (): string | undefined => session.accessToken();
  const transport =
    'transport' in options
      ? options.transport([bearerAuth(accessToken)])
      : createApiTransport({ baseUrl: options.baseUrl, accessToken, fetch: options.fetch });
  const api = createApi(transport);
  const session = createSessionController({ ...options, users: api.users });
  return { api, session };
}
