/**
 * `?view=account`: the signed-in user's profile and security — address confirmation, change of
 * password and of email, two-step verification, and signed-in devices.
 */
import { useCallback, useState } from 'react';
import type { User } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { errorText } from '../hooks.js';
import type { ViewProps } from '../views.js';
import { OutcomeLine, useLoadOn, type Outcome } from './field.js';
import { ChangeEmailForm, ChangePasswordForm } from './security-forms.js';
import { SessionsPanel } from './sessions-panel.js';
import { TwoStepPanel, type TwoStepState } from './two-step-panel.js';
import './account.css';

export function AccountView({ api, session, refreshKey }: ViewProps) {
  const [user, setUser] = useState<User>();
  const [twoStep, setTwoStep] = useState<TwoStepState>();
  const [outcome, setOutcome] = useState<Outcome>();
  const [reload, setReload] = useState(0);
  const signedIn = session !== undefined;

  const load = useCallback(async () => {
    if (!signedIn) return;
    try {
      const [profile, status] = await Promise.all([
        api.users.getProfile({}),
        api.users.getTwoStepStatus({}),
      ]);
      setUser(profile.user);
      setTwoStep({ enabled: status.enabled, recoveryCodesLeft: status.recoveryCodesLeft });
    } catch (e) {
      setOutcome({ ok: false, text: errorText(e) });
    }
  }, [api, signedIn]);
  useLoadOn(load, refreshKey + reload);

  if (!signedIn) {
    return (
      <section className="panel" aria-labelledby="view-title">
        <h1 id="view-title">Account</h1>
        <p className="muted">Log in to see this page.</p>
      </section>
    );
  }

  async function resend() {
    try {
      const res = await api.users.resendVerification({});
      setOutcome({ ok: true, text: `A confirmation link was sent to ${res.email}.` });
    } catch (e) {
      setOutcome({ ok: false, text: errorText(e) });
    }
  }

  return (
    <div className="account-view">
      <section className="panel" aria-labelledby="view-title">
        <h1 id="view-title">Account</h1>
        {user === undefined ? (
          <p className="muted">Loading…</p>
        ) : (
          <dl className="profile">
            <dt>Display name</dt>
            <dd data-testid="profile-name">{user.displayName}</dd>
            <dt>Email</dt>
            <dd data-testid="profile-email">
              {user.email}{' '}
              {user.emailVerified ? (
                <span className="badge" data-testid="email-verified">
                  confirmed
                </span>
              ) : (
                <>
                  <span className="badge" data-testid="email-unverified">
                    not confirmed
                  </span>{' '}
                  <button
                    type="button"
                    onClick={() => void resend()}
                    data-testid="resend-verification"
                  >
                    Send the link again
                  </button>
                </>
              )}
            </dd>
          </dl>
        )}
        <OutcomeLine outcome={outcome} testId="profile-outcome" />
      </section>
      <TwoStepPanel api={api} state={twoStep} onChanged={() => setReload((n) => n + 1)} />
      <ChangePasswordForm api={api} twoStepOn={twoStep?.enabled ?? false} />
      <ChangeEmailForm api={api} twoStepOn={twoStep?.enabled ?? false} />
      <SessionsPanel api={api} refreshKey={refreshKey + reload} />
    </div>
  );
}
