/**
 * Log in / register form. Tokens go to the caller (kept in memory only: no localStorage, so a
 * stolen disk or XSS-readable storage holds nothing).
 */
import { useState, type FormEvent } from 'react';
import type { Api, Session } from '@streambet/client';
import { errorText } from './hooks.js';

/** Props of {@link AuthPanel}. */
export interface AuthPanelProps {
  readonly api: Api;
  readonly onSession: (session: Session) => void;
}

/** Login and registration in one form with a mode switch. */
export function AuthPanel({ api, onSession }: AuthPanelProps) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [dateOfBirth, setDateOfBirth] = useState('1990-01-01');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (mode === 'login') {
        const res = await api.users.login({ email, password });
        if (res.user && res.tokens) onSession({ user: res.user, tokens: res.tokens });
      } else {
        const [year = 0, month = 0, day = 0] = dateOfBirth.split('-').map(Number);
        const res = await api.users.register({
          email,
          password,
          displayName,
          dateOfBirth: { year, month, day },
        });
        if (res.user && res.tokens) onSession({ user: res.user, tokens: res.tokens });
      }
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="panel auth" onSubmit={(e) => void submit(e)} data-testid="auth-form">
      <div className="tabs">
        <button
          type="button"
          className={mode === 'login' ? 'tab active' : 'tab'}
          aria-pressed={mode === 'login'}
          data-testid="auth-mode-login"
          onClick={() => setMode('login')}
        >
          Log in
        </button>
        <button
          type="button"
          className={mode === 'register' ? 'tab active' : 'tab'}
          aria-pressed={mode === 'register'}
          data-testid="auth-mode-register"
          onClick={() => setMode('register')}
        >
          Register
        </button>
      </div>
      <label>
        Email
        <input
          type="email"
          required
          autoComplete="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          data-testid="auth-email"
        />
      </label>
      <label>
        Password
        <input
          type="password"
          required
          minLength={8}
          autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          data-testid="auth-password"
        />
      </label>
      {mode === 'register' && (
        <>
          <label>
            Display name
            <input
              required
              pattern="[A-Za-z0-9_]{3,25}"
              title="3–25 letters, digits or _"
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
              data-testid="auth-display-name"
            />
          </label>
          <label>
            Date of birth
            <input
              type="date"
              required
              value={dateOfBirth}
              onChange={(e) => setDateOfBirth(e.target.value)}
              data-testid="auth-dob"
            />
          </label>
        </>
      )}
      <button type="submit" className="primary" disabled={busy} data-testid="auth-submit">
        {mode === 'login' ? 'Log in' : 'Create account'}
      </button>
      {error !== undefined && (
        <p className="error" role="alert" data-testid="auth-error">
          {error}
        </p>
      )}
    </form>
  );
}
