/**
 * The landing views of emailed links (services/user/src/identity/account-mail.ts):
 * `?view=verify-email&token=…` confirms the address at once, `?view=reset-password&token=…` asks
 * for the new password, `?view=confirm-email&token=…` completes a change of email. The token is
 * the credential: none of them needs a signed-in session.
 */
import { useEffect, useRef, useState } from 'react';
import { errorText } from '../hooks.js';
import type { ViewProps } from '../views.js';
import { Field, OutcomeLine, useSubmit, type Outcome } from './field.js';
import './account.css';

/** Runs `call` once on mount (a link opened) and shows how it went. */
function useOnce(call: () => Promise<string>): Outcome {
  const [outcome, setOutcome] = useState<Outcome>();
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    call()
      .then((text) => setOutcome({ ok: true, text }))
      .catch((e: unknown) => setOutcome({ ok: false, text: errorText(e) }));
  }, [call]);
  return outcome;
}

function LinkPage(props: {
  title: string;
  outcome: Outcome;
  testId: string;
  navigate: ViewProps['navigate'];
}) {
  return (
    <section className="panel account-form" aria-labelledby="view-title">
      <h1 id="view-title">{props.title}</h1>
      {props.outcome === undefined ? (
        <p className="muted" role="status">
          Checking the link…
        </p>
      ) : (
        <OutcomeLine outcome={props.outcome} testId={props.testId} />
      )}
      <p>
        <a
          href="/"
          onClick={(e) => {
            e.preventDefault();
            props.navigate(undefined);
          }}
        >
          Go to StreamBet
        </a>
      </p>
    </section>
  );
}

/** `?view=verify-email&token=…`. */
export function VerifyEmailView({ api, params, navigate }: ViewProps) {
  const token = params.get('token') ?? '';
  const [call] = useState(() => async () => {
    const res = await api.users.verifyEmail({ token });
    return `${res.user?.email ?? 'Your address'} is confirmed.`;
  });
  const outcome = useOnce(call);
  return (
    <LinkPage title="Confirm email" outcome={outcome} testId="verify-outcome" navigate={navigate} />
  );
}

/** `?view=confirm-email&token=…`. */
export function ConfirmEmailView({ api, params, navigate }: ViewProps) {
  const token = params.get('token') ?? '';
  const [call] = useState(() => async () => {
    const res = await api.users.confirmEmailChange({ token });
    return `Your account now uses ${res.user?.email ?? 'the new address'}.`;
  });
  const outcome = useOnce(call);
  return (
    <LinkPage
      title="New email address"
      outcome={outcome}
      testId="confirm-email-outcome"
      navigate={navigate}
    />
  );
}

/** `?view=reset-password&token=…`. */
export function ResetPasswordView({ api, params, navigate }: ViewProps) {
  const token = params.get('token') ?? '';
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const { busy, outcome, submit } = useSubmit(async () => {
    await api.users.resetPassword({ token, newPassword: password });
    setDone(true);
    return 'Your password was changed and every device was signed out. Log in with the new password.';
  });
  return (
    <section className="panel account-form" aria-labelledby="view-title">
      <h1 id="view-title">Choose a new password</h1>
      {!done && (
        <form onSubmit={submit}>
          <Field
            label="New password"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            hint="At least 8 characters"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="reset-password"
          />
          <button type="submit" className="primary" disabled={busy} data-testid="reset-submit">
            Set password
          </button>
        </form>
      )}
      <OutcomeLine outcome={outcome} testId="reset-outcome" />
      {done && (
        <p>
          <a
            href="/"
            onClick={(e) => {
              e.preventDefault();
              navigate(undefined);
            }}
          >
            Go to StreamBet
          </a>
        </p>
      )}
    </section>
  );
}
