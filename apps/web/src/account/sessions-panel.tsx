/**
 * The user's signed-in devices (device, place, last use), with a revoke per session and one for
 * all the others. The place is the client network the session was last used from (`203.0.113.x`):
 * the platform has no GeoIP database, so it names networks, not cities.
 */
import { useCallback, useState } from 'react';
import type { Api } from '@streambet/client';
import { sessionLabel } from '@streambet/client/account';
import type { Session as DeviceSession } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { errorText, useNow } from '../hooks.js';
import { OutcomeLine, useLoadOn, type Outcome } from './field.js';

export function SessionsPanel({ api, refreshKey }: { api: Api; refreshKey: number }) {
  const [sessions, setSessions] = useState<readonly DeviceSession[]>();
  const [outcome, setOutcome] = useState<Outcome>();
  const nowMs = useNow(60_000);
  const load = useCallback(async () => {
    try {
      setSessions((await api.users.listSessions({})).sessions);
    } catch (e) {
      setOutcome({ ok: false, text: errorText(e) });
    }
  }, [api]);
  useLoadOn(load, refreshKey);

  async function revoke(call: () => Promise<{ revokedSessions: number }>) {
    try {
      const res = await call();
      setOutcome({ ok: true, text: `${res.revokedSessions} session(s) signed out.` });
      await load();
    } catch (e) {
      setOutcome({ ok: false, text: errorText(e) });
    }
  }

  return (
    <section className="panel account-form" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Signed-in devices</h2>
      {sessions === undefined ? (
        <p className="muted">Loading…</p>
      ) : (
        <ul className="sessions" data-testid="sessions">
          {sessions.map((s) => (
            <li key={s.sessionId} data-testid="session-row">
              <span>
                {sessionLabel(s, nowMs)}
                {s.current && <strong> (this device)</strong>}
                {s.place !== '' && (
                  <span className="muted session-place" data-testid="session-place">
                    {' '}
                    · network {s.place}
                  </span>
                )}
              </span>
              {!s.current && (
                <button
                  type="button"
                  onClick={() =>
                    void revoke(() => api.users.revokeSession({ sessionId: s.sessionId }))
                  }
                  aria-label={`Sign out ${sessionLabel(s, nowMs)}`}
                >
                  Sign out
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <button
        type="button"
        data-testid="sessions-revoke-others"
        onClick={() => void revoke(() => api.users.revokeSessions({ keepCurrent: true }))}
      >
        Sign out all other devices
      </button>
      <OutcomeLine outcome={outcome} testId="sessions-outcome" />
    </section>
  );
}
