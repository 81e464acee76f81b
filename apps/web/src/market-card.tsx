/**
 * One market: question, state badge, betting countdown, totals and, per outcome, the live odds
 * and stake; clicking an outcome of an open market puts it on the bet slip.
 */
import type { MarketOdds } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketState, type Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { countdownText, formatMoney, formatOdds, marketStateLabel } from './view-logic.js';

/** The outcome a viewer picked. */
export interface Selection {
  readonly market: Market;
  readonly outcomeId: string;
}

/** Props of {@link MarketCard}. */
export interface MarketCardProps {
  readonly market: Market;
  readonly odds: MarketOdds | undefined;
  readonly selectedOutcomeId: string | undefined;
  readonly nowMs: number;
  readonly onSelect: (selection: Selection) => void;
}

/** A market with live odds. */
export function MarketCard({ market, odds, selectedOutcomeId, nowMs, onSelect }: MarketCardProps) {
  const open = market.state === MarketState.OPEN;
  const countdown = open ? countdownText(market.bettingClosesAtMs, nowMs) : '';
  const stateClass = marketStateLabel(market.state).toLowerCase();
  return (
    <article
      className={`panel market ${stateClass}`}
      data-testid="market-card"
      data-market-id={market.marketId}
      data-market-state={stateClass}
    >
      <header className="market-head">
        <h3 data-testid="market-title">{market.title}</h3>
        <span className={`badge ${stateClass}`} data-testid="market-state">
          {marketStateLabel(market.state)}
        </span>
      </header>
      <p className="muted market-meta">
        <span data-testid="market-total">
          Pool {formatMoney(odds?.totalStakedMinor ?? market.totalStakedMinor, market.currency)}
        </span>
        {' · '}
        <span data-testid="market-bettors">
          {String(odds?.bettorCount ?? market.bettorCount)} bettors
        </span>
        {countdown !== '' && (
          <>
            {' · '}
            <span data-testid="market-countdown">closes in {countdown}</span>
          </>
        )}
      </p>
      <ul className="outcomes">
        {market.outcomes.map((outcome) => {
          const live = odds?.outcomes.find((o) => o.outcomeId === outcome.outcomeId);
          const won =
            market.state === MarketState.RESOLVED && market.winningOutcomeId === outcome.outcomeId;
          const selected = selectedOutcomeId === outcome.outcomeId;
          return (
            <li key={outcome.outcomeId}>
              <button
                type="button"
                className={`outcome${selected ? ' selected' : ''}${won ? ' won' : ''}`}
                disabled={!open}
                onClick={() => onSelect({ market, outcomeId: outcome.outcomeId })}
                data-testid="outcome"
                data-outcome-id={outcome.outcomeId}
                data-outcome-title={outcome.title}
              >
                <span className="outcome-title">
                  {outcome.title}
                  {won && <span data-testid="outcome-winner"> ✓ winner</span>}
                </span>
                <span className="odds" data-testid="outcome-odds">
                  {formatOdds(live?.decimalOdds ?? outcome.decimalOdds)}
                </span>
                <span className="muted stake" data-testid="outcome-staked">
                  {formatMoney(live?.stakedMinor ?? outcome.stakedMinor, market.currency)}
                </span>
              </button>
            </li>
          );
        })}
      </ul>
    </article>
  );
}
