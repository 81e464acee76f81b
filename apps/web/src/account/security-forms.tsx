/**
 * Change password and change email. Both re-authenticate with the password and, when two-step
 * verification is on (or the server says a code is needed), a code from the authenticator app.
 */
import { useState } from 'react';
import type { Api } from '@streambet/client';
import { cleanCode, needsSecondFactor } from '@streambet/client/account';
import { Field, OutcomeLine, useSubmit } from './field.js';
import { SecondFactorField as CodeField } from './second-factor-field.js';

interface FormProps {
  readonly api: Api;
  /** Two-step verification is on: show the code field from the start. */
  readonly twoStepOn: boolean;
}

export function ChangePasswordForm({ api, twoStepOn }: FormProps) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [code, setCode] = useState('');
  const [askCode, setAskCode] = useState(false);
  const showCode = twoStepOn || askCode;
  const { busy, outcome, submit } = useSubmit(
    async () => {
      const res = await api.users.changePassword({
        currentPassword: current,
        newPassword: next,
        secondFactorCode: showCode ? cleanCode(code) : '',
      });
      setCurrent('');
      setNext('');
      setCode('');
      return `Password changed. ${res.revokedSessions} other session(s) signed out.`;
    },
    (error) => setAskCode((v) => v || needsSecondFactor(error)),
  );
  return (
    <form className="panel account-form" onSubmit={submit} aria-labelledby="change-password-title">
      <h2 id="change-password-title">Change password</h2>
      <Field
        label="Current password"
        type="password"
        autoComplete="current-password"
        required
        value={current}
        onChange={(e) => setCurrent(e.target.value)}
        data-testid="password-current"
      />
      <Field
        label="New password"
        type="password"
        autoComplete="new-password"
        required
        minLength={8}
        hint="At least 8 characters"
        value={next}
        onChange={(e) => setNext(e.target.value)}
        data-testid="password-new"
      />
      {showCode && <CodeField value={code} onChange={setCode} testId="password-code" />}
      <button type="submit" className="primary" disabled={busy} data-testid="password-submit">
        Change password
      </button>
      <OutcomeLine outcome={outcome} testId="password-outcome" />
    </form>
  );
}

export function ChangeEmailForm({ api, twoStepOn }: FormProps) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [askCode, setAskCode] = useState(false);
  const showCode = twoStepOn || askCode;
  const { busy, outcome, submit } = useSubmit(
    async () => {
      await api.users.requestEmailChange({
        newEmail: email,
        currentPassword: password,
        secondFactorCode: showCode ? cleanCode(code) : '',
      });
      setPassword('');
      setCode('');
      return `If ${email} can be used, a confirmation link is on its way there. Your address changes when you open it.`;
    },
    (error) => setAskCode((v) => v || needsSecondFactor(error)),
  );
  return (
    <form className="panel account-form" onSubmit={submit} aria-labelledby="change-email-title">
      <h2 id="change-email-title">Change email</h2>
      <Field
        label="New email"
        type="email"
        autoComplete="email"
        required
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        data-testid="email-new"
      />
      <Field
        label="Password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        data-testid="email-password"
      />
      {showCode && <CodeField value={code} onChange={setCode} testId="email-code" />}
      <button type="submit" className="primary" disabled={busy} data-testid="email-submit">
        Send confirmation link
      </button>
      <OutcomeLine outcome={outcome} testId="email-outcome" />
    </form>
  );
}
