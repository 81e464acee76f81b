/**
 * The admin console: a login that lets only admins past (the server checks the role again on
 * every call), then five pages on hash routes — Overview, Markets, Users, Fraud, Audit. The
 * session lives in memory only (nothing an XSS could read is written to storage).
 */
import { useEffect, useState, useSyncExternalStore, type FormEvent } from 'react';
import { createViewerClient, type Api, type Session } from '@streambet/client';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { AuditPage } from './audit.js';
import { errorText, pages, parseRoute, routeHref, type PageName, type Route } from './format.js';
import { FraudPage } from './fraud.js';
import { MarketsPage } from './markets.js';
import { OverviewPage } from './overview.js';
import { UsersPage } from './users.js';

const titles: Record<PageName, string> = {
  overview: 'Overview',
  markets: 'Markets',
  users: 'Users',
  fraud: 'Fraud',
  audit: 'Audit',
};

/** Props every page gets. */
export interface PageProps {
  readonly api: Api;
  readonly route: Route;
  /** The signed-in admin's user id (an admin cannot revoke their own admin role). */
  readonly adminUserId: string;
}

function useHashRoute(): Route {
  const [hash, setHash] = useState(() => window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return parseRoute(hash);
}

export function App() {
  const [client] = useState(() => createViewerClient({ baseUrl: window.location.origin }));
  const { session, notice } = useSyncExternalStore(
    client.session.subscribe,
    client.session.getSnapshot,
  );
  const route = useHashRoute();
  const isAdmin = session?.user.roles.includes(Role.ADMIN) ?? false;
  useEffect(() => {
    document.title = `${titles[route.page]} · StreamBet admin`;
  }, [route.page]);

  if (session === undefined || !isAdmin) {
    return (
      <main className="login-page">
        <h1>StreamBet admin</h1>
        {notice !== undefined && <p className="notice">{notice}</p>}
        <LoginForm
          api={client.api}
          onAdmin={(s) => client.session.signIn(s)}
          refusedEmail={session !== undefined && !isAdmin ? session.user.email : undefined}
          onRefused={() => client.session.signOut()}
        />
      </main>
    );
  }

  const Page = {
    overview: OverviewPage,
    markets: MarketsPage,
    users: UsersPage,
    fraud: FraudPage,
    audit: AuditPage,
  }[route.page];
  return (
    <>
      <header className="topbar">
        <a className="brand" href={routeHref('overview')}>
          StreamBet admin
        </a>
        <nav aria-label="Console pages">
          {pages.map((p) => (
            <a
              key={p}
              href={routeHref(p)}
              aria-current={route.page === p ? 'page' : undefined}
              data-testid={`nav-${p}`}
            >
              {titles[p]}
            </a>
          ))}
        </nav>
        <span className="muted small" data-testid="admin-name">
          {session.user.displayName}
        </span>
        <button type="button" onClick={() => client.session.signOut()} data-testid="sign-out">
          Sign out
        </button>
      </header>
      <main className="page" data-testid={`page-${route.page}`}>
        <h1>{titles[route.page]}</h1>
        <Page api={client.api} route={route} adminUserId={session.user.userId} />
      </main>
    </>
  );
}

function LoginForm(props: {
  api: Api;
  onAdmin: (session: Session) => void;
  refusedEmail: string | undefined;
  onRefused: () => void;
}) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const res = await props.api.users.login({ email, password });
      if (res.user === undefined || res.tokens === undefined) {
        setError('This account needs a second sign-in step; use the viewer app to finish it.');
      } else if (!res.user.roles.includes(Role.ADMIN)) {
        setError(`${res.user.email} is not an admin: only admins may use this console.`);
      } else {
        props.onAdmin({ user: res.user, tokens: res.tokens });
      }
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="panel login" onSubmit={(e) => void submit(e)} data-testid="login-form">
      <h2>Sign in</h2>
      <label htmlFor="login-email">
        Email
        <input
          id="login-email"
          type="email"
          autoComplete="username"
          required
          value={email}
          data-testid="login-email"
          onChange={(e) => setEmail(e.target.value)}
        />
      </label>
      <label htmlFor="login-password">
        Password
        <input
          id="login-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          data-testid="login-password"
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <button type="submit" className="primary" disabled={busy} data-testid="login-submit">
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      {error !== undefined && (
        <p role="alert" className="error" data-testid="login-error">
          {error}
        </p>
      )}
      {props.refusedEmail !== undefined && (
        <p role="alert" className="error">
          {props.refusedEmail} is not an admin.{' '}
          <button type="button" onClick={props.onRefused}>
            Sign out
          </button>
        </p>
      )}
    </form>
  );
}
