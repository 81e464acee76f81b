/**
 * The viewer app: header (wallet, navigation, account), the channel's markets with live odds, the
 * bet slip, my bets and the leaderboard. The channel comes from `?channel=<id>`; without it the app
 * opens on the lobby of live markets. `?view=<name>` opens one of the other screens (views.tsx).
 */
import { Suspense, useCallback, useEffect, useState } from 'react';
import type { Api } from '@streambet/client';
import { isBettable, orderMarkets } from '@streambet/client/view';
import { LeaderboardPanel, MyBetsPanel, WalletPanel } from './account-panels.js';
import { AuthPanel } from './auth-panel.js';
import { BetSlip } from './bet-slip.js';
import { ChatPanel } from './channel/chat-panel.js';
import { StreamPlayer } from './channel/stream-player.js';
import { useChannelInfo } from './channel/use-channel-info.js';
import { useNow } from './hooks.js';
import { Lobby } from './lobby.js';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { ExchangeMarketCard } from './exchange/exchange-market.js';
import { MarketCard, type Selection } from './market-card.js';
import { NotificationBell } from './notifications/bell.js';
import { useSession } from './session.js';
import { useChannel } from './use-channel.js';
import { navEntries, views, type Navigate } from './views.js';

function channelFromUrl(): string | undefined {
  const id = new URLSearchParams(window.location.search).get('channel');
  return id === null || id.trim() === '' ? undefined : id.trim();
}

function viewFromUrl(): string | undefined {
  const name = new URLSearchParams(window.location.search).get('view');
  return name !== null && Object.hasOwn(views, name) ? name : undefined;
}

/** Replaces the URL's parameters with `view` and `params`, as a new history entry. */
const navigate: Navigate = (view, params = {}) => {
  const url = new URL(window.location.href);
  url.search = '';
  if (view !== undefined) url.searchParams.set('view', view);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  window.history.pushState({}, '', url);
  window.dispatchEvent(new PopStateEvent('popstate'));
};

function goToChannel(channelId: string | undefined) {
  navigate(undefined, channelId === undefined ? {} : { channel: channelId });
}

/** Root component. */
export function App() {
  const origin = window.location.origin;
  const { api, session, notice, signIn, signOut, renew } = useSession(origin);
  const [channelId, setChannelId] = useState(channelFromUrl);
  const [view, setView] = useState(viewFromUrl);
  const [refreshKey, setRefreshKey] = useState(0);
  const [socketLive, setSocketLive] = useState(false);
  const bump = useCallback(() => setRefreshKey((k) => k + 1), []);

  useEffect(() => {
    const onPop = () => {
      setChannelId(channelFromUrl());
      setView(viewFromUrl());
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const entry = view === undefined ? undefined : views[view];
  const viewProps = {
    api,
    origin,
    session,
    refreshKey,
    onUserEvent: bump,
    socketLive,
    navigate,
    params: new URLSearchParams(window.location.search),
    renewSession: renew,
  };
  if (entry !== undefined && entry.chrome === false) {
    return (
      <Suspense fallback={null}>
        <entry.component {...viewProps} />
      </Suspense>
    );
  }
  const nav = navEntries(session);

  return (
    <div className="app">
      <header className="topbar">
        <a
          className="brand"
          href="/"
          onClick={(e) => {
            e.preventDefault();
            goToChannel(undefined);
          }}
        >
          StreamBet
        </a>
        {session && <WalletPanel api={api} refreshKey={refreshKey} live={socketLive} />}
        {nav.length > 0 && (
          <nav className="views-nav" aria-label="Pages">
            {nav.map(([name, label]) => (
              <a
                key={name}
                href={`/?view=${name}`}
                data-testid={`nav-${name}`}
                aria-current={view === name ? 'page' : undefined}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(name);
                }}
              >
                {label}
              </a>
            ))}
          </nav>
        )}
        <div className="account">
          {session ? (
            <>
              <NotificationBell
                key={session.user.userId}
                api={api}
                origin={origin}
                token={session.tokens.accessToken}
                userId={session.user.userId}
                navigate={navigate}
              />
              <span data-testid="user-display-name">{session.user.displayName}</span>
              <button type="button" onClick={signOut} data-testid="logout">
                Log out
              </button>
            </>
          ) : (
            <span className="muted">Watching as a guest</span>
          )}
        </div>
        {notice !== undefined && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
      </header>
      <main className={session === undefined ? 'layout' : 'layout signed-in'}>
        <div className="main-col">
          {entry !== undefined ? (
            <Suspense
              fallback={
                <p className="muted panel" role="status">
                  Loading…
                </p>
              }
            >
              <entry.component key={view} {...viewProps} />
            </Suspense>
          ) : channelId === undefined ? (
            <Lobby api={api} onOpenChannel={goToChannel} />
          ) : (
            <ChannelPage
              key={channelId}
              api={api}
              origin={origin}
              channelId={channelId}
              token={session?.tokens.accessToken}
              userId={session?.user.userId}
              isAdmin={session?.user.roles.includes(Role.ADMIN) ?? false}
              signedIn={session !== undefined}
              refreshKey={refreshKey}
              onUserEvent={bump}
              onLiveChange={setSocketLive}
            />
          )}
        </div>
        {session === undefined ? (
          <aside className="side-col" aria-label="Account">
            <AuthPanel api={api} onSession={signIn} />
          </aside>
        ) : (
          channelId === undefined &&
          entry === undefined && (
            <aside className="side-col" aria-label="Your bets">
              <MyBetsPanel api={api} refreshKey={refreshKey} live={false} />
            </aside>
          )
        )}
      </main>
    </div>
  );
}

interface ChannelPageProps {
  readonly api: Api;
  readonly origin: string;
  readonly channelId: string;
  readonly token: string | undefined;
  readonly userId: string | undefined;
  readonly isAdmin: boolean;
  readonly signedIn: boolean;
  readonly refreshKey: number;
  readonly onUserEvent: () => void;
  readonly onLiveChange: (live: boolean) => void;
}

function ChannelPage(props: ChannelPageProps) {
  const { api, channelId, signedIn, refreshKey, onUserEvent } = props;
  const channel = useChannel(props);
  const info = useChannelInfo(api, channelId);
  const moderator =
    props.isAdmin || (props.userId !== undefined && info.channel?.ownerUserId === props.userId);
  const { onLiveChange } = props;
  useEffect(() => {
    onLiveChange(channel.live);
    return () => onLiveChange(false);
  }, [channel.live, onLiveChange]);
  const [selection, setSelection] = useState<Selection>();
  const nowMs = useNow();

  // The slip follows the pick's market as pushed (a lock, a settlement, the window's end close it).
  const selectedMarket =
    selection && channel.markets.find((m) => m.marketId === selection.market.marketId);
  const liveSelection =
    selection && selectedMarket ? { ...selection, market: selectedMarket } : selection;
  const currency = channel.markets[0]?.currency ?? 'PTS';
  const markets = orderMarkets(channel.markets, nowMs);
  const bettable = markets.filter((m) => isBettable(m, nowMs));

  return (
    <div className="channel">
      <div className="channel-head">
        <div>
          <a
            className="back"
            href="/"
            data-testid="back-to-lobby"
            onClick={(e) => {
              e.preventDefault();
              goToChannel(undefined);
            }}
          >
            ← All live markets
          </a>
          <h1 data-testid="channel-title">
            {info.channel === undefined
              ? 'Channel markets'
              : `${info.channel.displayName} — markets`}
          </h1>
        </div>
        <span
          className={`live-dot ${channel.live ? 'on' : 'off'}`}
          data-testid="live-status"
          data-live={channel.live ? 'socket' : 'polling'}
        >
          {channel.live ? 'Live' : 'Updating every second'}
        </span>
      </div>
      {channel.error !== undefined && (
        <p className="error" data-testid="channel-error">
          {channel.error}
        </p>
      )}
      <StreamPlayer links={info.links} pageHost={window.location.hostname} />
      <div className="grid">
        <section className="markets" data-testid="markets" aria-label="Markets">
          {channel.loaded && bettable.length === 0 && (
            <p className="muted panel" data-testid="no-open-markets">
              No open markets right now.
            </p>
          )}
          {markets.map((market) =>
            market.kind === MarketKind.EXCHANGE ? (
              <ExchangeMarketCard
                key={market.marketId}
                api={api}
                market={market}
                nowMs={nowMs}
                signedIn={signedIn}
                userId={props.userId}
                refreshKey={refreshKey}
                onUserEvent={onUserEvent}
              />
            ) : (
              <MarketCard
                key={market.marketId}
                market={market}
                odds={channel.odds.get(market.marketId)}
                selectedOutcomeId={
                  selection?.market.marketId === market.marketId ? selection.outcomeId : undefined
                }
                nowMs={nowMs}
                onSelect={setSelection}
              />
            ),
          )}
        </section>
        <section className="slip-col" aria-label="Bet slip and results">
          <BetSlip
            api={api}
            selection={liveSelection}
            nowMs={nowMs}
            signedIn={signedIn}
            onPlaced={onUserEvent}
            onClear={() => setSelection(undefined)}
          />
          {signedIn && <MyBetsPanel api={api} refreshKey={refreshKey} live={channel.live} />}
          <LeaderboardPanel
            api={api}
            refreshKey={refreshKey}
            live={channel.live}
            channelId={channelId}
            currency={currency}
          />
          <ChatPanel
            api={api}
            channelId={channelId}
            chat={channel.chat}
            pushedSettings={channel.chatSettings}
            signedIn={signedIn}
            moderator={moderator}
            live={channel.live}
            send={channel.sendChat}
          />
        </section>
      </div>
    </div>
  );
}
