/**
 * The stream overlay (`?view=overlay&channel=<id>`), a browser source for OBS or any broadcaster:
 * on a transparent page, the channel's current market — its question, each outcome's live odds,
 * stake and share of the pool, the pool, and the countdown to the lock — then, once resolved, the
 * result with the winners' count and the channel's top winners of the day. Live over the socket
 * (use-channel.ts, anonymous: no login is needed to view it). Its look comes from the URL (see
 * `@streambet/client/studio` overlayLookFromParams), set in the streamer's console.
 */
import { useEffect, useState, type CSSProperties } from 'react';
import { MarketState, type Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { MarketOdds } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  featuredMarket,
  overlayLookFromParams,
  poolShares,
  rgba,
  type OverlayLook,
} from '@streambet/client/studio';
import { countdownText, formatMoney, formatOdds } from '@streambet/client/view';
import { useNow } from '../hooks.js';
import { useChannel } from '../use-channel.js';
import type { ViewProps } from '../views.js';
import { OverlayResult } from './overlay-result.js';
import './overlay.css';

function noop() {}

/** `?view=overlay&channel=<id>`: rendered alone, on a transparent page. */
export function OverlayView(props: ViewProps) {
  const channelId = props.params.get('channel') ?? '';
  const [look] = useState(() => overlayLookFromParams(props.params));

  // OBS composites the page over the stream: nothing of the app's background may show.
  useEffect(() => {
    document.documentElement.classList.add('overlay-page');
    return () => document.documentElement.classList.remove('overlay-page');
  }, []);

  return (
    <main className="overlay" aria-label="Stream overlay" style={placement(look)}>
      <h1 className="visually-hidden">StreamBet overlay</h1>
      {channelId === '' ? (
        <p className="overlay-card" style={cardStyle(look)}>
          Add <code>&amp;channel=&lt;your channel id&gt;</code> to this URL.
        </p>
      ) : (
        <OverlayMarket {...props} channelId={channelId} look={look} />
      )}
    </main>
  );
}

function placement(look: OverlayLook): CSSProperties {
  const style: Record<string, string> = { width: `min(${look.widthPx}px, calc(100vw - 32px))` };
  if (look.position.startsWith('top')) style.top = '16px';
  else style.bottom = '16px';
  if (look.position.endsWith('left')) style.left = '16px';
  else if (look.position.endsWith('right')) style.right = '16px';
  else {
    style.left = '50%';
    style.transform = 'translateX(-50%)';
  }
  return style;
}

function cardStyle(look: OverlayLook): CSSProperties {
  return {
    color: look.text,
    background: rgba(look.background, look.backgroundOpacityPct),
    borderColor: look.accent,
    ['--overlay-accent' as string]: look.accent,
  };
}

function OverlayMarket(
  props: ViewProps & { readonly channelId: string; readonly look: OverlayLook },
) {
  const channel = useChannel({
    api: props.api,
    origin: props.origin,
    channelId: props.channelId,
    token: undefined,
    userId: undefined,
    onUserEvent: noop,
  });
  const nowMs = useNow(500);
  const market = featuredMarket(channel.markets, nowMs);
  if (market === undefined) {
    return (
      <p className="visually-hidden" data-testid="overlay-idle">
        No market open on this channel.
      </p>
    );
  }
  return (
    <MarketCard
      api={props.api}
      market={market}
      odds={channel.odds.get(market.marketId)}
      nowMs={nowMs}
      look={props.look}
    />
  );
}

interface MarketCardProps {
  readonly api: ViewProps['api'];
  readonly market: Market;
  readonly odds: MarketOdds | undefined;
  readonly nowMs: number;
  readonly look: OverlayLook;
}

function MarketCard({ api, market, odds, nowMs, look }: MarketCardProps) {
  const figures = market.outcomes.map((outcome) => {
    const live = odds?.outcomes.find((o) => o.outcomeId === outcome.outcomeId);
    return {
      outcome,
      odds: live?.decimalOdds ?? outcome.decimalOdds,
      stakedMinor: live?.stakedMinor ?? outcome.stakedMinor,
    };
  });
  const shares = poolShares(figures.map((f) => f.stakedMinor));
  const total = odds?.totalStakedMinor ?? market.totalStakedMinor;
  const resolved = market.state === MarketState.RESOLVED;
  const open = market.state === MarketState.OPEN && Number(market.bettingClosesAtMs) > nowMs;
  return (
    <section
      className="overlay-card"
      style={cardStyle(look)}
      aria-labelledby="overlay-question"
      data-testid="overlay-market"
      data-market-id={market.marketId}
      data-market-state={MarketState[market.state]}
    >
      <header className="overlay-head">
        <h2 id="overlay-question" data-testid="overlay-question">
          {market.title}
        </h2>
        <span className="overlay-status" data-testid="overlay-status">
          {open
            ? `Locks in ${countdownText(market.bettingClosesAtMs, nowMs)}`
            : market.state === MarketState.OPEN || market.state === MarketState.LOCKED
              ? 'Betting closed'
              : resolved
                ? 'Result'
                : 'Canceled: stakes refunded'}
        </span>
      </header>
      <ul className="overlay-outcomes">
        {figures.map((f, index) => {
          const won = resolved && market.winningOutcomeId === f.outcome.outcomeId;
          return (
            <li
              key={f.outcome.outcomeId}
              className={won ? 'won' : resolved ? 'lost' : undefined}
              data-testid="overlay-outcome"
              data-outcome-title={f.outcome.title}
            >
              <span className="overlay-bar" style={{ width: `${shares[index] ?? 0}%` }} />
              <span className="overlay-outcome-title">
                {won && <span aria-label="winner">★ </span>}
                {f.outcome.title}
              </span>
              <span className="overlay-odds" data-testid="overlay-odds">
                {formatOdds(f.odds)}
              </span>
              <span className="overlay-share">{shares[index] ?? 0}%</span>
            </li>
          );
        })}
      </ul>
      <p className="overlay-foot">
        Pool <strong data-testid="overlay-pool">{formatMoney(total, market.currency)}</strong>
      </p>
      {resolved && <OverlayResult api={api} market={market} />}
    </section>
  );
}
