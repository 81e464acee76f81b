/**
 * The notifications bell in the header (signed-in users): the unread count, a panel with the latest
 * notifications (newest first), each leading where it is about, and "mark all read". It keeps a
 * socket of its own to the user's room, so a notification arrives live on every screen (the
 * lobby, the wallet, a channel); while that socket is down it polls every 15 s.
 */
import { useEffect, useEffectEvent, useRef, useState } from 'react';
import type { Notification } from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';
import type { Api } from '@streambet/client';
import { connectRealtime, type RealtimeConnection } from '@streambet/client/realtime';
import { errorText, useInterval } from '../hooks.js';
import type { Navigate } from '../views.js';
import './bell.css';

/** Props of {@link NotificationBell}. */
export interface NotificationBellProps {
  readonly api: Api;
  readonly origin: string;
  readonly token: string;
  readonly userId: string;
  readonly navigate: Navigate;
}

const shown = 10;

function timeLabel(ms: bigint): string {
  return new Date(Number(ms)).toLocaleString(undefined, {
    dateStyle: 'short',
    timeStyle: 'short',
  });
}

/** The bell and its panel. */
export function NotificationBell({ api, origin, token, userId, navigate }: NotificationBellProps) {
  const [items, setItems] = useState<readonly Notification[]>([]);
  const [unread, setUnread] = useState(0n);
  const [open, setOpen] = useState(false);
  const [live, setLive] = useState(false);
  const [error, setError] = useState<string>();
  const [round, setRound] = useState(0);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const connection = useRef<RealtimeConnection | undefined>(undefined);

  useEffect(() => {
    let stale = false;
    api.notifications
      .listNotifications({ pageSize: shown })
      .then((res) => {
        if (stale) return;
        setItems(res.notifications);
        setUnread(res.unreadCount);
        setError(undefined);
      })
      .catch((e: unknown) => {
        if (!stale) setError(errorText(e));
      });
    return () => {
      stale = true;
    };
  }, [api, round]);
  useInterval(() => setRound((r) => r + 1), live ? undefined : 15_000);

  const onPush = useEffectEvent((notification: Notification, unreadCount: bigint) => {
    setItems((held) =>
      held.some((n) => n.notificationId === notification.notificationId)
        ? held
        : [notification, ...held].slice(0, shown),
    );
    setUnread(unreadCount);
  });
  const initialToken = useEffectEvent(() => token);
  useEffect(() => {
    const conn = connectRealtime(
      origin,
      { token: initialToken(), userId },
      {
        onUpdate: (update) => {
          if (update.kind === 'notification') onPush(update.notification, update.unreadCount);
        },
        onConnectedChange: (connected) => {
          setLive(connected);
          // Catch up on what arrived while the socket was down.
          if (connected) setRound((r) => r + 1);
        },
      },
    );
    connection.current = conn;
    return () => {
      connection.current = undefined;
      conn.close();
    };
  }, [origin, userId]);

  // A refreshed access token goes to the open socket (auth:refresh), so the room stays joined.
  useEffect(() => {
    connection.current?.setToken(token, userId);
  }, [token, userId]);

  async function markAllRead() {
    try {
      const res = await api.notifications.markNotificationsRead({ all: true });
      setUnread(res.unreadCount);
      setItems((held) => held.map((n) => (n.readAtMs === 0n ? { ...n, readAtMs: 1n } : n)));
    } catch (e) {
      setError(errorText(e));
    }
  }

  async function follow(n: Notification) {
    setOpen(false);
    if (n.readAtMs === 0n) {
      try {
        const res = await api.notifications.markNotificationsRead({
          notificationIds: [n.notificationId],
        });
        setUnread(res.unreadCount);
      } catch {
        // Reading still works; the next load shows the true state.
      }
    }
    const view = new URLSearchParams(n.link.split('?')[1] ?? '').get('view');
    navigate(view ?? undefined);
  }

  const label = unread === 0n ? 'Notifications' : `Notifications, ${unread.toString()} unread`;
  return (
    <div
      className="bell"
      onKeyDown={(e) => {
        if (e.key === 'Escape' && open) {
          setOpen(false);
          buttonRef.current?.focus();
        }
      }}
    >
      <button
        ref={buttonRef}
        type="button"
        className="bell-button"
        aria-expanded={open}
        aria-controls="bell-panel"
        aria-label={label}
        data-testid="bell"
        data-unread={unread.toString()}
        onClick={() => setOpen((o) => !o)}
      >
        <svg
          aria-hidden="true"
          focusable="false"
          width="18"
          height="18"
          viewBox="0 0 24 24"
          fill="none"
          stroke="currentColor"
          strokeWidth="2"
          strokeLinecap="round"
          strokeLinejoin="round"
        >
          <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
          <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
        </svg>
        {unread > 0n && (
          <span className="bell-count" aria-hidden="true" data-testid="bell-count">
            {unread > 99n ? '99+' : unread.toString()}
          </span>
        )}
      </button>
      {open && (
        <section id="bell-panel" className="panel bell-panel" aria-label="Notifications">
          <div className="bell-head">
            <h2>Notifications</h2>
            <button
              type="button"
              data-testid="bell-mark-all"
              disabled={unread === 0n}
              onClick={() => void markAllRead()}
            >
              Mark all read
            </button>
          </div>
          {error !== undefined && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <a
            href="/?view=notifications"
            data-testid="bell-all"
            onClick={(e) => {
              e.preventDefault();
              setOpen(false);
              navigate('notifications');
            }}
          >
            All notifications and preferences
          </a>
          {items.length === 0 ? (
            <p className="muted">Nothing yet.</p>
          ) : (
            <ul className="bell-list">
              {items.map((n) => (
                <li key={n.notificationId}>
                  <button
                    type="button"
                    className={n.readAtMs === 0n ? 'bell-item unread' : 'bell-item'}
                    data-testid="bell-item"
                    data-kind={n.kind}
                    onClick={() => void follow(n)}
                  >
                    <span className="bell-title">
                      {n.readAtMs === 0n && <span className="visually-hidden">Unread: </span>}
                      {n.title}
                    </span>
                    <span className="bell-body">{n.body}</span>
                    <span className="bell-time muted">{timeLabel(n.createdAtMs)}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
    </div>
  );
}
