/**
 * The viewer app: header (wallet, account), the channel's markets with live odds, the bet slip,
 * my bets and the leaderboard. The channel comes from `?channel=<id>`; without it the app lists
 * the linked channels to pick from.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { MarketState } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Api } from './api.js';
import { LeaderboardPanel, MyBetsPanel, WalletPanel } from './account-panels.js';
import { AuthPanel } from './auth-panel.js';
import { BetSlip } from './bet-slip.js';
import { errorText } from './hooks.js';
import { MarketCard, type Selection } from './market-card.js';
import { useSession } from './session.js';
import { useChannel } from './use-channel.js';

function channelFromUrl(): string | undefined {
  const id = new URLSearchParams(window.location.search).get('channel');
  return id === null || id.trim() === '' ? undefined : id.trim();
}

function goToChannel(channelId: string | undefined) {
  const url = new URL(window.location.href);
  if (channelId === undefined) url.searchParams.delete('channel');
  else url.searchParams.set('channel', channelId);
  window.history.pushState({}, '', url);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** Root component. */
export function App() {
  const origin = window.location.origin;
  const { api, session, notice, signIn, signOut } = useSession(origin);
  const [channelId, setChannelId] = useState(channelFromUrl);
  const [refreshKey, setRefreshKey] = useState(0);
  const [socketLive, setSocketLive] = useState(false);
  const bump = useCallback(() => setRefreshKey((k) => k + 1), []);

  useEffect(() => {
    const onPop = () => setChannelId(channelFromUrl());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

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
        <div className="account">
          {session ? (
            <>
              <span data-testid="user-display-name">{session.user.displayName}</span>
              <button type="button" onClick={signOut} data-testid="logout">
                Log out
              </button>
            </>
          ) : (
            <span className="muted">Watching as a guest</span>
          )}
        </div>
      </header>
      {notice !== undefined && <p className="notice">{notice}</p>}
      <main className={session === undefined ? 'layout' : 'layout signed-in'}>
        <div className="main-col">
          {channelId === undefined ? (
            <ChannelPicker key={session?.user.userId ?? 'guest'} api={api} />
          ) : (
            <ChannelPage
              key={channelId}
              api={api}
              origin={origin}
              channelId={channelId}
              token={session?.tokens.accessToken}
              userId={session?.user.userId}
              signedIn={session !== undefined}
              refreshKey={refreshKey}
              onUserEvent={bump}
              onLiveChange={setSocketLive}
            />
          )}
        </div>
        {session === undefined ? (
          <aside className="side-col">
            <AuthPanel api={api} onSession={signIn} />
          </aside>
        ) : (
          channelId === undefined && (
            <aside className="side-col">
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
  readonly signedIn: boolean;
  readonly refreshKey: number;
  readonly onUserEvent: () => void;
  readonly onLiveChange: (live: boolean) => void;
}

function ChannelPage(props: ChannelPageProps) {
  const { api, channelId, signedIn, refreshKey, onUserEvent } = props;
  const channel = useChannel(props);
  const { onLiveChange } = props;
  useEffect(() => {
    onLiveChange(channel.live);
    return () => onLiveChange(false);
  }, [channel.live, onLiveChange]);
  const [selection, setSelection] = useState<Selection>();
  const [nowMs, setNowMs] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNowMs(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);

  // Keep the slip's market in step with pushed state changes (a lock disables the slip).
  const selectedMarket =
    selection && channel.markets.find((m) => m.marketId === selection.market.marketId);
  const liveSelection =
    selection && selectedMarket ? { ...selection, market: selectedMarket } : selection;
  const currency = channel.markets[0]?.currency ?? 'PTS';
  const open = channel.markets.filter((m) => m.state === MarketState.OPEN);
  const closed = channel.markets.filter((m) => m.state !== MarketState.OPEN);

  return (
    <div className="channel">
      <div className="channel-head">
        <h1 data-testid="channel-title">Channel markets</h1>
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
      <div className="grid">
        <section className="markets" data-testid="markets">
          {channel.loaded && open.length === 0 && (
            <p className="muted panel" data-testid="no-open-markets">
              No open markets right now.
            </p>
          )}
          {[...open, ...closed].map((market) => (
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
          ))}
        </section>
        <section className="slip-col">
          <BetSlip
            api={api}
            selection={liveSelection}
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
        </section>
      </div>
    </div>
  );
}

/** A channel with live markets, as the pool lists them (the integration service's channel directory is not built yet). */
interface LiveChannel {
  readonly channelId: string;
  readonly titles: readonly string[];
}

function ChannelPicker({ api }: { readonly api: Api }) {
  const [channels, setChannels] = useState<readonly LiveChannel[]>();
  const [error, setError] = useState<string>();
  const [typed, setTyped] = useState('');
  useEffect(() => {
    api.pool
      .listMarkets({ states: [MarketState.OPEN, MarketState.LOCKED], page: { pageSize: 100 } })
      .then((res) => {
        const byChannel = new Map<string, string[]>();
        for (const market of res.markets) {
          const titles = byChannel.get(market.channelId) ?? [];
          titles.push(market.title);
          byChannel.set(market.channelId, titles);
        }
        const live = [...byChannel].map(([channelId, titles]) => ({ channelId, titles }));
        // A newcomer lands where something is happening: the only live channel opens by itself.
        if (live.length === 1) goToChannel(live[0]!.channelId);
        setChannels(live);
      })
      .catch((e: unknown) => setError(errorText(e)));
  }, [api]);
  function submit(event: FormEvent) {
    event.preventDefault();
    if (typed.trim() !== '') goToChannel(typed.trim());
  }
  return (
    <section className="panel" data-testid="channel-picker">
      <h1>Channels</h1>
      {channels?.length === 0 && <p className="muted">No channel has a live market right now.</p>}
      {error !== undefined && <p className="muted">Channel list unavailable: {error}</p>}
      <ul className="channels">
        {channels?.map((c) => (
          <li key={c.channelId}>
            <a
              href={`?channel=${c.channelId}`}
              data-testid="channel-link"
              onClick={(e) => {
                e.preventDefault();
                goToChannel(c.channelId);
              }}
            >
              {c.titles.join(' · ')}
            </a>
          </li>
        ))}
      </ul>
      <form className="row" onSubmit={submit}>
        <input
          placeholder="Channel id"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          data-testid="channel-id-input"
        />
        <button type="submit">Open</button>
      </form>
    </section>
  );
}
