/**
 * Log in / register form. Tokens go to the caller (kept in memory only: no localStorage, so a
 * stolen disk or XSS-readable storage holds nothing).
 */
import { useState, type FormEvent } from 'react';
import type { Api, Session } from '@streambet/client';
import { cleanCode, loginOutcome } from '@streambet/client/account';
import { errorText } from './hooks.js';
import './account/account.css';

/** Props of {@link AuthPanel}. */
export interface AuthPanelProps {
  readonly api: Api;
  readonly onSession: (session: Session) => void;
}

/**
 * Login and registration in one form with a mode switch; the login's second step (a code when the
 * account has two-step verification on) and "Forgot password?" (a reset link by email).
 */
export function AuthPanel({ api, onSession }: AuthPanelProps) {
  const [mode, setMode] = useState<'login' | 'register' | 'forgot'>('login');
  /** LoginResponse.second_step_token while the code is awaited. */
  const [secondStep, setSecondStep] = useState<string>();
  const [code, setCode] = useState('');
  const [notice, setNotice] = useState<string>();
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
    setNotice(undefined);
    try {
      if (secondStep !== undefined) {
        const outcome = loginOutcome(
          await api.users.completeLogin({ secondStepToken: secondStep, code: cleanCode(code) }),
        );
        if (outcome.kind === 'session') onSession(outcome.session);
      } else if (mode === 'forgot') {
        await api.users.requestPasswordReset({ email });
        setNotice(`If an account uses ${email}, a link to reset its password is on its way.`);
      } else if (mode === 'login') {
        const outcome = loginOutcome(await api.users.login({ email, password }));
        if (outcome.kind === 'session') onSession(outcome.session);
        if (outcome.kind === 'second-step') setSecondStep(outcome.token);
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

  const status = (
    <>
      {error !== undefined && (
        <p className="error" role="alert" data-testid="auth-error">
          {error}
        </p>
      )}
      {notice !== undefined && (
        <p className="ok" role="status" data-testid="auth-notice">
          {notice}
        </p>
      )}
    </>
  );

  if (secondStep !== undefined) {
    return (
      <form className="panel auth" onSubmit={(e) => void submit(e)} data-testid="auth-form">
        <h2>Two-step verification</h2>
        <label>
          Code from your authenticator app (or a recovery code)
          <input
            required
            autoComplete="one-time-code"
            autoFocus
            value={code}
            onChange={(e) => setCode(e.target.value)}
            data-testid="auth-code"
          />
        </label>
        <button type="submit" className="primary" disabled={busy} data-testid="auth-code-submit">
          Verify
        </button>
        <button
          type="button"
          onClick={() => {
            setSecondStep(undefined);
            setCode('');
          }}
        >
          Start over
        </button>
        {status}
      </form>
    );
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
      {mode !== 'forgot' && (
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
      )}
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
        {mode === 'login'
          ? 'Log in'
          : mode === 'forgot'
            ? 'Email me a reset link'
            : 'Create account'}
      </button>
      {mode === 'login' && (
        <button
          type="button"
          className="forgot-link"
          onClick={() => setMode('forgot')}
          data-testid="auth-forgot"
        >
          Forgot password?
        </button>
      )}
      {status}
    </form>
  );
}
