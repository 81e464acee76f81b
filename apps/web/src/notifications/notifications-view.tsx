/**
 * `?view=notifications`: every notification of the user (paged, newest first) and what they want
 * to be told where — in the app and by email, per kind — and in which language. Kinds that concern
 * money that did not arrive, identity, limits or security are shown on and cannot be turned off
 * (the server refuses it too).
 */
import { useEffect, useState, type FormEvent } from 'react';
import {
  NotificationKind,
  type Notification,
  type NotificationPreference,
} from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';
import { errorText } from '../hooks.js';
import type { ViewProps } from '../views.js';
import './bell.css';

const kindLabels: Readonly<Record<NotificationKind, string>> = {
  [NotificationKind.UNSPECIFIED]: 'Other',
  [NotificationKind.BET_SETTLED]: 'Bet settled and paid',
  [NotificationKind.MARKET_REFUNDED]: 'Market refunded',
  [NotificationKind.DEPOSIT_CREDITED]: 'Deposit credited',
  [NotificationKind.WITHDRAWAL_PAID]: 'Withdrawal paid',
  [NotificationKind.WITHDRAWAL_FAILED]: 'Withdrawal failed',
  [NotificationKind.KYC_DECIDED]: 'Identity check decided',
  [NotificationKind.LIMIT_CHANGED]: 'Limit changed',
  [NotificationKind.NEW_DEVICE_LOGIN]: 'Login from a new device',
  [NotificationKind.MARKET_VOIDED]: 'Settled market voided',
};

/** The notifications page. */
export function NotificationsView({ api, session, refreshKey }: ViewProps) {
  const [items, setItems] = useState<readonly Notification[]>([]);
  const [next, setNext] = useState('');
  const [prefs, setPrefs] = useState<readonly NotificationPreference[]>([]);
  const [language, setLanguage] = useState('en');
  const [note, setNote] = useState<string>();
  const [error, setError] = useState<string>();
  const signedIn = session !== undefined;

  useEffect(() => {
    if (!signedIn) return undefined;
    let stale = false;
    Promise.all([
      api.notifications.listNotifications({ pageSize: 20 }),
      api.notifications.getNotificationPreferences({}),
    ])
      .then(([list, p]) => {
        if (stale) return;
        setItems(list.notifications);
        setNext(list.nextPageToken);
        setPrefs(p.preferences);
        setLanguage(p.language);
      })
      .catch((e: unknown) => {
        if (!stale) setError(errorText(e));
      });
    return () => {
      stale = true;
    };
  }, [api, signedIn, refreshKey]);

  if (!signedIn) {
    return (
      <section className="panel" aria-labelledby="view-title">
        <h1 id="view-title">Notifications</h1>
        <p className="muted">Log in to see your notifications.</p>
      </section>
    );
  }

  async function more() {
    try {
      const list = await api.notifications.listNotifications({ pageSize: 20, pageToken: next });
      setItems((held) => [...held, ...list.notifications]);
      setNext(list.nextPageToken);
    } catch (e) {
      setError(errorText(e));
    }
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    try {
      const res = await api.notifications.setNotificationPreferences({
        language,
        preferences: prefs.filter((p) => !p.mandatory),
      });
      setPrefs(res.preferences);
      setLanguage(res.language);
      setNote('Preferences saved.');
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
      setNote(undefined);
    }
  }

  const toggle = (kind: NotificationKind, channel: 'inApp' | 'email') =>
    setPrefs((held) => held.map((p) => (p.kind === kind ? { ...p, [channel]: !p[channel] } : p)));

  return (
    <div className="notifications-view">
      <section className="panel" aria-labelledby="view-title">
        <h1 id="view-title">Notifications</h1>
        {error !== undefined && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {items.length === 0 ? (
          <p className="muted">Nothing yet.</p>
        ) : (
          <ul className="bell-list" data-testid="notifications-list">
            {items.map((n) => (
              <li key={n.notificationId} className={n.readAtMs === 0n ? 'unread' : undefined}>
                <strong>{n.title}</strong>
                <p>{n.body}</p>
                <p className="muted">{new Date(Number(n.createdAtMs)).toLocaleString()}</p>
              </li>
            ))}
          </ul>
        )}
        {next !== '' && (
          <button type="button" onClick={() => void more()}>
            Older notifications
          </button>
        )}
      </section>
      <form className="panel" onSubmit={(e) => void save(e)} aria-labelledby="prefs-title">
        <h2 id="prefs-title">What to tell you, and where</h2>
        <table className="prefs-table" data-testid="notification-preferences">
          <thead>
            <tr>
              <th scope="col">Notification</th>
              <th scope="col">In the app</th>
              <th scope="col">By email</th>
            </tr>
          </thead>
          <tbody>
            {prefs.map((p) => (
              <tr key={p.kind}>
                <th scope="row">
                  {kindLabels[p.kind]}
                  {p.mandatory && <span className="muted"> (always on)</span>}
                </th>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`${kindLabels[p.kind]} in the app`}
                    data-testid={`pref-${p.kind}-in-app`}
                    checked={p.inApp}
                    disabled={p.mandatory}
                    onChange={() => toggle(p.kind, 'inApp')}
                  />
                </td>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`${kindLabels[p.kind]} by email`}
                    data-testid={`pref-${p.kind}-email`}
                    checked={p.email}
                    disabled={p.mandatory}
                    onChange={() => toggle(p.kind, 'email')}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <label htmlFor="notification-language">Language of notifications and emails</label>
        <select
          id="notification-language"
          data-testid="notification-language"
          value={language}
          onChange={(e) => setLanguage(e.target.value)}
        >
          <option value="en">English</option>
          <option value="pt">Português</option>
        </select>
        <button type="submit" className="primary" data-testid="notification-save">
          Save preferences
        </button>
        {note !== undefined && (
          <p className="notice" role="status" data-testid="notification-saved">
            {note}
          </p>
        )}
      </form>
    </div>
  );
}
