/**
 * The signed-in session, held in memory only, and its access-token refresh: the token is
 * rotated 30 s before it expires (refresh tokens are single-use, so a refresh is never retried;
 * a failed one ends the session and the viewer logs in again).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { User } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import type { TokenPair } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { createApi, type Api } from './api.js';
import { refreshDelayMs } from './view-logic.js';

/** A logged-in user and the tokens of their session. */
export interface Session {
  readonly user: User;
  readonly tokens: TokenPair;
}

/** The API bound to the session, the session itself and how to change it. */
export interface SessionState {
  readonly api: Api;
  readonly session: Session | undefined;
  readonly notice: string | undefined;
  readonly signIn: (session: Session) => void;
  readonly signOut: () => void;
}

/** Keeps the session in memory and the access token fresh. */
export function useSession(baseUrl: string): SessionState {
  const [session, setSession] = useState<Session>();
  const [notice, setNotice] = useState<string>();
  const current = useRef<Session | undefined>(undefined);
  current.current = session;
  const api = useMemo(
    () => createApi(baseUrl, () => current.current?.tokens.accessToken),
    [baseUrl],
  );

  useEffect(() => {
    if (session === undefined) return undefined;
    const timer = setTimeout(
      () => {
        api.users
          .refresh({ refreshToken: session.tokens.refreshToken })
          .then((res) => {
            if (res.tokens && current.current === session)
              setSession({ user: session.user, tokens: res.tokens });
          })
          .catch(() => {
            if (current.current === session) {
              setSession(undefined);
              setNotice('Your session ended; log in again.');
            }
          });
      },
      refreshDelayMs(session.tokens.accessTokenExpiresAtMs, Date.now()),
    );
    return () => clearTimeout(timer);
  }, [api, session]);

  return {
    api,
    session,
    notice,
    signIn: (next) => {
      current.current = next;
      setNotice(undefined);
      setSession(next);
    },
    signOut: () => {
      const ending = current.current;
      current.current = undefined;
      setSession(undefined);
      if (ending)
        void api.users.logout({ refreshToken: ending.tokens.refreshToken }).catch(() => undefined);
    },
  };
}
