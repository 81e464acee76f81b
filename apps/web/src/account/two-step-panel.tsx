/**
 * Two-step verification on and off: the password starts the set-up, the QR code (and the secret
 * as text, for apps that cannot scan) is shown once, a first code turns it on and the recovery
 * codes are shown once; turning it off takes a current code.
 */
import { useState } from 'react';
import type { Api } from '@streambet/client';
import { cleanCode, groupSecret, svgDataUrl } from '@streambet/client/account';
import type { BeginTwoStepResponse } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { Field, OutcomeLine, useSubmit } from './field.js';

export interface TwoStepState {
  readonly enabled: boolean;
  readonly recoveryCodesLeft: number;
}

interface Props {
  readonly api: Api;
  readonly state: TwoStepState | undefined;
  /** Reloads the state after a change. */
  readonly onChanged: () => void;
}

export function TwoStepPanel({ api, state, onChanged }: Props) {
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [enrolment, setEnrolment] = useState<BeginTwoStepResponse>();
  const [recoveryCodes, setRecoveryCodes] = useState<readonly string[]>();

  const begin = useSubmit(async () => {
    setEnrolment(await api.users.beginTwoStep({ currentPassword: password }));
    setPassword('');
    return 'Scan the QR code with your authenticator app, then enter the code it shows.';
  });
  const confirm = useSubmit(async () => {
    const res = await api.users.confirmTwoStep({ code: cleanCode(code) });
    setRecoveryCodes(res.recoveryCodes);
    setEnrolment(undefined);
    setCode('');
    onChanged();
    return 'Two-step verification is on.';
  });
  const disable = useSubmit(async () => {
    await api.users.disableTwoStep({ code: cleanCode(code) });
    setCode('');
    setRecoveryCodes(undefined);
    onChanged();
    return 'Two-step verification is off.';
  });

  return (
    <section className="panel account-form" aria-labelledby="two-step-title" data-testid="two-step">
      <h2 id="two-step-title">Two-step verification</h2>
      {state === undefined ? (
        <p className="muted">Loading…</p>
      ) : (
        <p data-testid="two-step-status">
          {state.enabled
            ? `On. ${state.recoveryCodesLeft} recovery code(s) left. Signing in, withdrawals and changes of email or password ask for a code.`
            : 'Off. Turn it on to ask for a code from an authenticator app when signing in, withdrawing and changing your email or password.'}
        </p>
      )}

      {recoveryCodes !== undefined && (
        <div className="recovery-codes" data-testid="recovery-codes">
          <h3>Your recovery codes</h3>
          <p className="muted small">
            Each works once if you lose your phone. Save them now: they are not shown again.
          </p>
          <ul>
            {recoveryCodes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
          <button type="button" onClick={() => setRecoveryCodes(undefined)}>
            I saved them
          </button>
        </div>
      )}

      {state?.enabled === false && enrolment === undefined && (
        <form onSubmit={begin.submit}>
          <Field
            label="Password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="two-step-password"
          />
          <button
            type="submit"
            className="primary"
            disabled={begin.busy}
            data-testid="two-step-begin"
          >
            Turn on
          </button>
          <OutcomeLine outcome={begin.outcome} testId="two-step-begin-outcome" />
        </form>
      )}

      {enrolment !== undefined && (
        <form onSubmit={confirm.submit}>
          <img
            className="qr"
            src={svgDataUrl(enrolment.qrSvg)}
            width={200}
            height={200}
            alt="QR code to scan with your authenticator app"
            data-testid="two-step-qr"
          />
          <p className="small">
            Or type this key:{' '}
            <code data-testid="two-step-secret" data-secret={enrolment.secretBase32}>
              {groupSecret(enrolment.secretBase32)}
            </code>
          </p>
          <Field
            label="Code from the app"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9 ]{6,7}"
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
            data-testid="two-step-code"
          />
          <button
            type="submit"
            className="primary"
            disabled={confirm.busy}
            data-testid="two-step-confirm"
          >
            Confirm and turn on
          </button>
          <OutcomeLine outcome={confirm.outcome} testId="two-step-confirm-outcome" />
        </form>
      )}

      {state?.enabled === true && (
        <form onSubmit={disable.submit}>
          <Field
            label="Code to turn it off"
            hint="From your authenticator app, or a recovery code"
            autoComplete="one-time-code"
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
            data-testid="two-step-disable-code"
          />
          <button type="submit" disabled={disable.busy} data-testid="two-step-disable">
            Turn off
          </button>
          <OutcomeLine outcome={disable.outcome} testId="two-step-disable-outcome" />
        </form>
      )}
    </section>
  );
}
