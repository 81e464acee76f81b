/**
 * One market: question, phase badge, betting countdown, totals and, per outcome, the live odds
 * and stake; clicking an outcome of a market that still takes bets puts it on the bet slip. The
 * phase comes from the clock too: once the betting window ends the card says so and its outcomes
 * are disabled, before the pool's lock arrives.
 */
import type { MarketOdds } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketState, type Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  bettingWindowText,
  countText,
  formatMoney,
  formatOdds,
  marketPhase,
  marketPhaseLabel,
} from '@streambet/client/view';

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
  const phase = marketPhase(market, nowMs);
  const open = phase === 'open';
  const windowText = bettingWindowText(market, nowMs);
  const titleId = `market-title-${market.marketId}`;
  return (
    <article
      className={`panel market ${phase}`}
      data-testid="market-card"
      data-market-id={market.marketId}
      data-market-state={phase}
      aria-labelledby={titleId}
    >
      <header className="market-head">
        <h2 id={titleId} data-testid="market-title">
          {market.title}
        </h2>
        <span className={`badge ${phase}`} data-testid="market-state">
          {marketPhaseLabel(phase)}
        </span>
      </header>
      <p className="muted market-meta">
        <span data-testid="market-total">
          Pool {formatMoney(odds?.totalStakedMinor ?? market.totalStakedMinor, market.currency)}
        </span>
        {' · '}
        <span data-testid="market-bettors">
          {countText(odds?.bettorCount ?? market.bettorCount, 'bettor')}
        </span>
        {windowText !== '' && (
          <>
            {' · '}
            <span data-testid="market-countdown">{windowText}</span>
          </>
        )}
      </p>
      <ul className="outcomes">
        {market.outcomes.map((outcome) => {
          const live = odds?.outcomes.find((o) => o.outcomeId === outcome.outcomeId);
          const won =
            market.state === MarketState.RESOLVED && market.winningOutcomeId === outcome.outcomeId;
          // A pick on a market that takes no more bets is let go (the slip says so).
          const selected = open && selectedOutcomeId === outcome.outcomeId;
          return (
            <li key={outcome.outcomeId}>
              <button
                type="button"
                className={`outcome${selected ? ' selected' : ''}${won ? ' won' : ''}`}
                disabled={!open}
                aria-pressed={selected}
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
