/**
 * The first screen: every live market (open or locked) across channels, with its phase, pool,
 * odds and countdown, so a newcomer sees at once what is happening and where to go. Each market
 * opens its channel page. A channel can also be opened by its id.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { MarketState, type Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Api } from '@streambet/client';
import {
  bettingWindowText,
  countText,
  formatMoney,
  formatOdds,
  marketPhase,
  marketPhaseLabel,
  orderMarkets,
} from '@streambet/client/view';
import { errorText, useInterval, useNow } from './hooks.js';

/** Props of {@link Lobby}. */
export interface LobbyProps {
  readonly api: Api;
  readonly onOpenChannel: (channelId: string) => void;
}

/** The market list as last loaded, and why the last load failed. */
interface Listing {
  readonly markets: readonly Market[] | undefined;
  readonly error: string | undefined;
}

/** How often the lobby reloads the market list. */
const reloadMs = 5_000;

/** The lobby of live markets. */
export function Lobby({ api, onOpenChannel }: LobbyProps) {
  const nowMs = useNow();
  const [listing, setListing] = useState<Listing>({ markets: undefined, error: undefined });
  const [typed, setTyped] = useState('');

  const fetchListing = useCallback(
    (): Promise<Listing> =>
      api.pool
        .listMarkets({ states: [MarketState.OPEN, MarketState.LOCKED], page: { pageSize: 50 } })
        .then(
          (res) => ({ markets: res.markets, error: undefined }),
          (e: unknown) => ({ markets: undefined, error: errorText(e) }),
        ),
    [api],
  );
  // A failed reload keeps the last list on screen, with the error next to it.
  const show = (next: Listing) =>
    setListing((previous) => ({ markets: next.markets ?? previous.markets, error: next.error }));
  useEffect(() => {
    let current = true;
    void fetchListing().then((next) => {
      if (current) show(next);
    });
    return () => {
      current = false;
    };
  }, [fetchListing]);
  useInterval(() => void fetchListing().then(show), reloadMs);
  const { markets, error } = listing;

  function submit(event: FormEvent) {
    event.preventDefault();
    if (typed.trim() !== '') onOpenChannel(typed.trim());
  }

  const shown = markets === undefined ? [] : orderMarkets(markets, nowMs);
  return (
    <section className="lobby" data-testid="channel-picker" aria-labelledby="lobby-heading">
      <h1 id="lobby-heading">Live markets</h1>
      <p className="muted">
        Bet play-money points on what happens next on stream. Open a market to follow its odds live
        and place a bet.
      </p>
      {markets === undefined && error === undefined && (
        <p className="muted" role="status" data-testid="lobby-loading">
          Loading live markets…
        </p>
      )}
      {error !== undefined && (
        <p className="error" role="alert" data-testid="lobby-error">
          Live markets unavailable: {error}
        </p>
      )}
      {markets?.length === 0 && (
        <p className="muted panel" data-testid="lobby-empty">
          No market is live right now. Streamers open markets during their streams; this list
          updates by itself.
        </p>
      )}
      <ul className="lobby-list">
        {shown.map((market) => {
          const phase = marketPhase(market, nowMs);
          const windowText = bettingWindowText(market, nowMs);
          return (
            <li
              key={market.marketId}
              className={`panel lobby-market ${phase}`}
              data-testid="lobby-market"
              data-market-id={market.marketId}
              data-market-state={phase}
            >
              <div className="market-head">
                <h2>
                  <a
                    href={`?channel=${encodeURIComponent(market.channelId)}`}
                    data-testid="channel-link"
                    onClick={(e) => {
                      e.preventDefault();
                      onOpenChannel(market.channelId);
                    }}
                  >
                    {market.title}
                  </a>
                </h2>
                <span className={`badge ${phase}`} data-testid="lobby-market-state">
                  {marketPhaseLabel(phase)}
                </span>
              </div>
              <p className="muted market-meta">
                Pool {formatMoney(market.totalStakedMinor, market.currency)} ·{' '}
                {countText(market.bettorCount, 'bettor')}
                {windowText !== '' && (
                  <>
                    {' · '}
                    <span data-testid="lobby-market-countdown">{windowText}</span>
                  </>
                )}
              </p>
              <p className="lobby-odds">
                {market.outcomes.map((o) => (
                  <span key={o.outcomeId} className="lobby-outcome">
                    {o.title} <strong>{formatOdds(o.decimalOdds)}</strong>
                  </span>
                ))}
              </p>
            </li>
          );
        })}
      </ul>
      <details className="panel open-by-id">
        <summary>Open a channel by its id</summary>
        <form className="row" onSubmit={submit}>
          <label className="grow">
            Channel id
            <input
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              spellCheck={false}
              autoComplete="off"
              data-testid="channel-id-input"
            />
          </label>
          <button type="submit">Open</button>
        </form>
      </details>
    </section>
  );
}
