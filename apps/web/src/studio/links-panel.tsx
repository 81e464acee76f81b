/**
 * The channel's platform links: each link's account, live state and event subscription health,
 * unlinking (after a confirmation), and linking another platform — Twitch and Kick through the
 * OAuth round trip in a popup (see oauth-link.ts), YouTube by channel id.
 */
import { useEffect, useEffectEvent, useRef, useState, type FormEvent } from 'react';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  LinkStatus,
  LiveState,
  type Channel,
} from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import type { Api } from '@streambet/client';
import { errorText } from '../hooks.js';
import { oauthRedirectUri, readOAuthCallback } from './oauth-link.js';

const platformNames: Readonly<Record<number, string>> = {
  [Platform.TWITCH]: 'Twitch',
  [Platform.KICK]: 'Kick',
  [Platform.YOUTUBE]: 'YouTube',
};

/** The platform's name for people. */
export function platformLabel(platform: Platform): string {
  return platformNames[platform] ?? 'Unknown platform';
}

function liveText(link: Channel): string {
  switch (link.liveState) {
    case LiveState.LIVE:
      return link.liveSinceMs > 0n
        ? `Live since ${new Date(Number(link.liveSinceMs)).toLocaleTimeString()}`
        : 'Live';
    case LiveState.OFFLINE:
      return 'Offline';
    default:
      return 'Live state not known yet';
  }
}

function healthText(link: Channel): { text: string; ok: boolean } {
  if (link.linkStatus === LinkStatus.ACTIVE) {
    return {
      ok: true,
      text:
        link.platform === Platform.YOUTUBE
          ? 'Polled for live state'
          : 'Subscribed to stream events',
    };
  }
  if (link.linkStatus === LinkStatus.REAUTH_REQUIRED) {
    return { ok: false, text: 'Events stopped: the platform revoked access. Link it again.' };
  }
  return { ok: false, text: 'Unlinked' };
}

/** Props of {@link LinksPanel}. */
export interface LinksPanelProps {
  readonly api: Api;
  readonly origin: string;
  /** The links of the chosen channel (empty before the first link). */
  readonly links: readonly Channel[];
  readonly onChanged: () => void;
}

/** Links of one channel and the buttons that add or remove them. */
export function LinksPanel({ api, origin, links, onChanged }: LinksPanelProps) {
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState<string>();
  const [youtubeId, setYoutubeId] = useState('');
  const pending = useRef<{ state: string; platform: Platform }>(undefined);

  const finishLink = useEffectEvent(async (code: string, state: string) => {
    const started = pending.current;
    if (started === undefined || started.state !== state) return;
    pending.current = undefined;
    try {
      const res = await api.channels.linkChannel({
        platform: started.platform,
        credential: { case: 'oauth', value: { code, state } },
      });
      setStatus(
        `Linked ${platformLabel(started.platform)} as ${res.channel?.displayName ?? 'your account'}.`,
      );
      setError(undefined);
      onChanged();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  });

  useEffect(() => {
    const onMessage = (event: MessageEvent) => {
      const callback = readOAuthCallback(event, origin);
      if (callback !== undefined) void finishLink(callback.code, callback.state);
    };
    window.addEventListener('message', onMessage);
    return () => window.removeEventListener('message', onMessage);
  }, [origin]);

  async function beginLink(platform: Platform) {
    // Opened on the click itself (pop-up blockers allow that), pointed at the platform once known.
    const popup = window.open('', 'streambet-link', 'popup,width=520,height=720');
    setBusy(true);
    setError(undefined);
    setStatus(undefined);
    try {
      const res = await api.channels.beginChannelLink({
        platform,
        redirectUri: oauthRedirectUri(origin),
      });
      if (popup === null) {
        setBusy(false);
        setError('Allow pop-ups for this site to link a channel, then try again.');
        return;
      }
      pending.current = { state: res.state, platform };
      popup.location.href = res.authorizeUrl;
      setStatus(`Waiting for ${platformLabel(platform)} to confirm…`);
    } catch (e) {
      popup?.close();
      setBusy(false);
      setError(errorText(e));
    }
  }

  async function linkYoutube(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      const res = await api.channels.linkChannel({
        platform: Platform.YOUTUBE,
        credential: { case: 'youtubeChannelId', value: youtubeId.trim() },
      });
      setStatus(`Linked YouTube as ${res.channel?.displayName ?? youtubeId.trim()}.`);
      setError(undefined);
      setYoutubeId('');
      onChanged();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  async function unlink(link: Channel) {
    setBusy(true);
    try {
      await api.channels.unlinkChannel({ channelId: link.linkId || link.channelId });
      setConfirming(undefined);
      setStatus(`Unlinked ${platformLabel(link.platform)}.`);
      onChanged();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  const linked = new Set(links.map((l) => l.platform));
  return (
    <section className="panel" aria-labelledby="links-title" data-testid="studio-links">
      <h2 id="links-title">Platforms</h2>
      {links.length === 0 && <p className="muted">No platform linked yet.</p>}
      <ul className="studio-links">
        {links.map((link) => {
          const id = link.linkId || link.channelId;
          const health = healthText(link);
          return (
            <li key={id} data-testid="studio-link" data-platform={platformLabel(link.platform)}>
              <div className="row between">
                <strong>
                  {platformLabel(link.platform)} · {link.displayName}
                </strong>
                <span
                  className={`badge ${link.liveState === LiveState.LIVE ? 'open' : 'closed'}`}
                  data-testid="studio-link-live"
                >
                  {liveText(link)}
                </span>
              </div>
              <p
                className={`small ${health.ok ? 'muted' : 'error'}`}
                data-testid="studio-link-health"
              >
                {health.text}
              </p>
              {confirming === id ? (
                <div className="row" role="group" aria-label="Confirm unlinking">
                  <span className="small">
                    Unlink {platformLabel(link.platform)}? Unfinished markets are refunded when the
                    last platform goes.
                  </span>
                  <button
                    type="button"
                    className="danger"
                    disabled={busy}
                    onClick={() => void unlink(link)}
                    data-testid="studio-unlink-confirm"
                  >
                    Unlink
                  </button>
                  <button type="button" onClick={() => setConfirming(undefined)}>
                    Keep
                  </button>
                </div>
              ) : (
                <button
                  type="button"
                  onClick={() => setConfirming(id)}
                  data-testid="studio-unlink"
                  aria-label={`Unlink ${platformLabel(link.platform)} ${link.displayName}`}
                >
                  Unlink
                </button>
              )}
            </li>
          );
        })}
      </ul>
      <div className="row">
        {[Platform.TWITCH, Platform.KICK]
          .filter((p) => !linked.has(p))
          .map((platform) => (
            <button
              key={platform}
              type="button"
              className="primary"
              disabled={busy}
              onClick={() => void beginLink(platform)}
              data-testid={`studio-link-${platformLabel(platform).toLowerCase()}`}
            >
              Link {platformLabel(platform)}
            </button>
          ))}
      </div>
      {!linked.has(Platform.YOUTUBE) && (
        <form className="row" onSubmit={(e) => void linkYoutube(e)}>
          <label className="grow">
            YouTube channel id
            <input
              value={youtubeId}
              onChange={(e) => setYoutubeId(e.target.value)}
              placeholder="UC…"
              pattern="UC[A-Za-z0-9_\-]{22}"
              required
            />
          </label>
          <button type="submit" disabled={busy}>
            Link YouTube
          </button>
        </form>
      )}
      {status !== undefined && (
        <p className="ok small" role="status" data-testid="studio-link-status">
          {status}
        </p>
      )}
      {error !== undefined && (
        <p className="error small" role="alert" data-testid="studio-link-error">
          {error}
        </p>
      )}
    </section>
  );
}
