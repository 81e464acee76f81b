/**
 * The streamer's console (`?view=studio`): their StreamBet channel and its platform links (link
 * with the OAuth round trip, unlink), the markets (open from a form or a template, lock with the
 * retroactive instant, resolve, cancel) with live odds, the channel's settings, its revenue so far
 * and the stream overlay's look. Every call is checked by the server again (owner or admin); this
 * screen only shows what the caller may do.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Channel } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import type { Session } from '@streambet/client';
import { errorText } from '../hooks.js';
import type { ViewProps } from '../views.js';
import { LinksPanel } from './links-panel.js';
import { MarketsSection } from './markets-section.js';
import { forwardOAuthCallback } from './oauth-link.js';
import { OverlayPanel } from './overlay-panel.js';
import { RevenuePanel } from './revenue-panel.js';
import { SettingsPanel } from './settings-panel.js';
import './studio.css';

/** `?view=studio`. */
export function StudioView(props: ViewProps) {
  // In the OAuth popup: hand code and state to the console that opened it, and close.
  const [forwarded] = useState(() => forwardOAuthCallback(props.params, props.origin));
  if (forwarded) {
    return (
      <p className="panel" role="status">
        Linking your channel… this window closes by itself.
      </p>
    );
  }
  if (props.session === undefined) {
    return (
      <section className="panel" aria-labelledby="view-title">
        <h1 id="view-title">Studio</h1>
        <p className="muted">Log in to link your channel and run markets on it.</p>
      </section>
    );
  }
  return <Studio {...props} session={props.session} />;
}

/** The StreamBet channels of the caller: their links grouped by channel id, oldest link first. */
function groupLinks(links: readonly Channel[]): Map<string, Channel[]> {
  const groups = new Map<string, Channel[]>();
  for (const link of [...links].sort((a, b) => Number(a.linkedAtMs - b.linkedAtMs))) {
    groups.set(link.channelId, [...(groups.get(link.channelId) ?? []), link]);
  }
  return groups;
}

function Studio(props: ViewProps & { readonly session: Session }) {
  const { api, session } = props;
  const [links, setLinks] = useState<readonly Channel[]>();
  const [error, setError] = useState<string>();
  const [chosen, setChosen] = useState<string | undefined>(
    () => props.params.get('channel') ?? undefined,
  );
  const userId = session.user.userId;

  const [round, setRound] = useState(0);
  const reload = useCallback(() => setRound((r) => r + 1), []);

  useEffect(() => {
    let stale = false;
    api.channels
      .listChannels({ ownerUserId: userId, page: { pageSize: 50 } })
      .then((res) => {
        if (stale) return;
        setLinks(res.channels);
        setError(undefined);
      })
      .catch((e: unknown) => {
        if (!stale) setError(errorText(e));
      });
    return () => {
      stale = true;
    };
  }, [api, userId, round]);

  const groups = groupLinks(links ?? []);
  const channelIds = [...groups.keys()];
  const channelId = chosen !== undefined && groups.has(chosen) ? chosen : channelIds[0];
  const channelLinks = channelId === undefined ? [] : (groups.get(channelId) ?? []);
  const manages =
    session.user.roles.includes(Role.STREAMER) || session.user.roles.includes(Role.ADMIN);
  // A first link grants the streamer role on the server; renew the session once so it takes
  // effect here without signing in again (the button below retries).
  const { renewSession } = props;
  const [renewal, setRenewal] = useState<'idle' | 'running' | 'failed'>('idle');
  const renew = useCallback(() => {
    setRenewal('running');
    renewSession().then(
      () => setRenewal('idle'),
      () => setRenewal('failed'),
    );
  }, [renewSession]);
  const needsRenewal = channelId !== undefined && !manages;
  const renewedOnce = useRef(false);
  useEffect(() => {
    if (!needsRenewal || renewedOnce.current) return;
    renewedOnce.current = true;
    renew();
  }, [needsRenewal, renew]);

  return (
    <div className="studio" data-testid="studio">
      <div className="studio-head">
        <h1 id="view-title">Studio</h1>
        {channelIds.length > 1 && (
          <label className="row">
            Channel
            <select
              value={channelId}
              onChange={(e) => setChosen(e.target.value)}
              data-testid="studio-channel"
            >
              {channelIds.map((id) => (
                <option key={id} value={id}>
                  {groups.get(id)?.[0]?.displayName ?? id}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {error !== undefined && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="studio-grid">
        <div className="studio-main">
          {channelId === undefined ? (
            <section className="panel" aria-labelledby="no-channel-title">
              <h2 id="no-channel-title">No channel yet</h2>
              <p className="muted" data-testid="studio-no-channel">
                {links === undefined
                  ? 'Loading your channel…'
                  : 'Link your Twitch, Kick or YouTube account to create your StreamBet channel.'}
              </p>
            </section>
          ) : !manages ? (
            <div className="notice" role="status" data-testid="studio-relogin">
              <p>
                {renewal === 'running'
                  ? 'Your channel is linked. Updating your access…'
                  : 'Your channel is linked. Refresh your access (or log out and in again) to run markets on it.'}
              </p>
              <button
                type="button"
                data-testid="studio-renew"
                disabled={renewal === 'running'}
                onClick={renew}
              >
                Refresh my access
              </button>
            </div>
          ) : (
            <MarketsSection
              key={channelId}
              api={api}
              origin={props.origin}
              session={session}
              channelId={channelId}
              onUserEvent={props.onUserEvent}
            />
          )}
        </div>
        <aside className="studio-side" aria-label="Channel">
          <LinksPanel api={api} origin={props.origin} links={channelLinks} onChanged={reload} />
          {channelId !== undefined && manages && (
            <>
              <SettingsPanel
                key={`settings-${channelId}`}
                api={api}
                channelId={channelId}
                links={channelLinks}
                onChanged={reload}
              />
              <RevenuePanel
                key={`revenue-${channelId}`}
                api={api}
                channelId={channelId}
                refreshKey={props.refreshKey}
              />
              <OverlayPanel
                key={`overlay-${channelId}`}
                origin={props.origin}
                channelId={channelId}
              />
            </>
          )}
        </aside>
      </div>
    </div>
  );
}
