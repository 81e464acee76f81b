/**
 * The viewer client of this page (Connect clients + session, from @streambet/client) as React
 * state. The session lives in memory only: no storage adapter, so nothing an XSS could read is
 * ever written to localStorage.
 */
import { useState, useSyncExternalStore } from 'react';
import {
  createViewerClient,
  type Api,
  type Session,
  type SessionSnapshot,
} from '@streambet/client';

/** The API bound to the session, the session itself and how to change it. */
export interface SessionState extends SessionSnapshot {
  readonly api: Api;
  readonly signIn: (session: Session) => void;
  readonly signOut: () => void;
  /** Rotates the tokens now and reloads the user (roles granted since signing in). */
  readonly renew: () => Promise<void>;
}

/** One viewer client for the page's lifetime, at `baseUrl` (the gateway's origin). */
export function useSession(baseUrl: string): SessionState {
  const [client] = useState(() => createViewerClient({ baseUrl }));
  const { session, notice } = useSyncExternalStore(
    client.session.subscribe,
    client.session.getSnapshot,
  );
  return {
    api: client.api,
    session,
    notice,
    signIn: client.session.signIn,
    signOut: client.session.signOut,
    renew: client.session.renew,
  };
}
