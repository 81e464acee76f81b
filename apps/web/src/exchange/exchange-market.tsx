/**
 * An EXCHANGE market on the channel page: the ladder of each outcome (best 3 prices to back and
 * to lay, polled from GetBook), one-click back or lay at a price for the stake typed once, and the
 * orders placed from this page with their matched / unmatched stake and a cancel button.
 */
import { useEffect, useState } from 'react';
import { ConnectError } from '@connectrpc/connect';
import {
  BetRejectionSchema,
  BetSide,
  type Bet,
  type OutcomeBook,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketState, type Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Api } from '@streambet/client';
import {
  betStatusLabel,
  formatMoney,
  newIdempotencyKey,
  parseStake,
  rejectionMessage,
} from '@streambet/client/view';
import { errorText, useInterval } from '../hooks.js';

/** Props of {@link ExchangeMarketCard}. */
export interface ExchangeMarketCardProps {
  readonly api: Api;
  readonly market: Market;
  readonly nowMs: number;
  readonly signedIn: boolean;
  readonly userId: string | undefined;
  /** Bumped when the user's data may have changed (reload orders). */
  readonly refreshKey: number;
  /** Tell the app an order of this user was placed or canceled. */
  readonly onUserEvent: () => void;
}

/** Ladder levels shown per side. */
const LEVELS = 3;
/** How often the ladder is re-read, ms. */
const BOOK_POLL_MS = 1_000;

/** The market's ladder, the user's orders and one-click back/lay. */
export function ExchangeMarketCard(props: ExchangeMarketCardProps) {
  const { api, market, signedIn } = props;
  const [books, setBooks] = useState<readonly OutcomeBook[]>([]);
  const [stake, setStake] = useState('');
  const [orders, setOrders] = useState<readonly Bet[]>([]);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>();
  const [busy, setBusy] = useState(false);
  const open = market.state === MarketState.OPEN;

  async function loadBook() {
    try {
      const res = await api.bets.getBook({ marketId: market.marketId, depth: LEVELS });
      setBooks(res.outcomes);
    } catch (error) {
      setMessage({ kind: 'error', text: errorText(error) });
    }
  }
  useEffect(() => {
    let live = true;
    api.bets.getBook({ marketId: market.marketId, depth: LEVELS }).then(
      (res) => {
        if (live) setBooks(res.outcomes);
      },
      (error: unknown) => {
        if (live) setMessage({ kind: 'error', text: errorText(error) });
      },
    );
    return () => {
      live = false;
    };
  }, [api, market.marketId, props.refreshKey]);
  useInterval(() => void loadBook(), open ? BOOK_POLL_MS : undefined);

  function remember(bet: Bet) {
    setOrders((prev) => [bet, ...prev.filter((b) => b.betId !== bet.betId)]);
  }

  async function place(outcomeId: string, side: BetSide, decimalOdds: string) {
    const parsed = parseStake(stake, market.currency);
    if (!parsed.ok) {
      setMessage({ kind: 'error', text: parsed.message });
      return;
    }
    setBusy(true);
    setMessage(undefined);
    try {
      const res = await api.bets.placeBet({
        idempotencyKey: newIdempotencyKey(),
        marketId: market.marketId,
        outcomeId,
        currency: market.currency,
        stakeMinor: parsed.stakeMinor,
        side,
        decimalOdds,
      });
      if (res.bet) {
        remember(res.bet);
        setMessage({
          kind: 'ok',
          text: `${side === BetSide.BACK ? 'Back' : 'Lay'} ${formatMoney(res.bet.stakeMinor, res.bet.currency)} at ${decimalOdds}: ${betStatusLabel(res.bet.status).toLowerCase()}.`,
        });
      }
      props.onUserEvent();
      await loadBook();
    } catch (e) {
      const error = ConnectError.from(e);
      const rejection = error.findDetails(BetRejectionSchema)[0];
      setMessage({
        kind: 'error',
        text: rejectionMessage(error.code, rejection, error.rawMessage),
      });
    } finally {
      setBusy(false);
    }
  }

  async function cancel(bet: Bet) {
    setBusy(true);
    try {
      const res = await api.bets.cancelOrder({ betId: bet.betId });
      if (res.bet) remember(res.bet);
      props.onUserEvent();
      await loadBook();
    } catch (error) {
      setMessage({ kind: 'error', text: errorText(error) });
    } finally {
      setBusy(false);
    }
  }

  const canTrade = signedIn && open && !busy;
  return (
    <article
      className="panel market"
      data-testid="exchange-market"
      data-market-id={market.marketId}
      aria-labelledby={`xm-${market.marketId}`}
    >
      <h2 id={`xm-${market.marketId}`}>{market.title}</h2>
      {signedIn && open && (
        <label>
          Stake ({market.currency}){' '}
          <input
            data-testid="exchange-stake"
            inputMode="decimal"
            value={stake}
            onChange={(e) => setStake(e.target.value)}
          />
        </label>
      )}
      <table className="ladder" data-testid="exchange-ladder">
        <caption className="muted">
          Back at the price others lay; lay at the price others back.
        </caption>
        <thead>
          <tr>
            <th scope="col">Outcome</th>
            <th scope="col">Back (best first)</th>
            <th scope="col">Lay (best first)</th>
          </tr>
        </thead>
        <tbody>
          {market.outcomes.map((outcome) => {
            const book = books.find((b) => b.outcomeId === outcome.outcomeId);
            const side = (levels: OutcomeBook['availableToBack'], bet: BetSide) =>
              levels.length === 0 ? (
                <span className="muted">—</span>
              ) : (
                levels.map((level) => (
                  <button
                    type="button"
                    key={level.decimalOdds}
                    disabled={!canTrade}
                    data-testid={`${bet === BetSide.BACK ? 'back' : 'lay'}-${outcome.outcomeId}-${level.decimalOdds}`}
                    aria-label={`${bet === BetSide.BACK ? 'Back' : 'Lay'} ${outcome.title} at ${level.decimalOdds}, ${formatMoney(level.availableStakeMinor, market.currency)} available`}
                    onClick={() => void place(outcome.outcomeId, bet, level.decimalOdds)}
                  >
                    {level.decimalOdds}{' '}
                    <small>{formatMoney(level.availableStakeMinor, market.currency)}</small>
                  </button>
                ))
              );
            return (
              <tr key={outcome.outcomeId} data-testid={`ladder-${outcome.outcomeId}`}>
                <th scope="row">
                  {outcome.title}
                  {book !== undefined && book.lastMatchedDecimalOdds !== '' && (
                    <small className="muted"> last {book.lastMatchedDecimalOdds}</small>
                  )}
                </th>
                <td>{side(book?.availableToBack ?? [], BetSide.BACK)}</td>
                <td>{side(book?.availableToLay ?? [], BetSide.LAY)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {signedIn && open && (
        <PriceForm
          disabled={!canTrade}
          market={market}
          onPlace={(o, s, d) => void place(o, s, d)}
        />
      )}
      {message && (
        <p className={message.kind === 'error' ? 'error' : 'ok'} role="status">
          {message.text}
        </p>
      )}
      {orders.length > 0 && (
        <ul className="orders" data-testid="exchange-orders" aria-label="Your orders">
          {orders.map((bet) => (
            <li key={bet.betId} data-testid={`order-${bet.betId}`}>
              {bet.side === BetSide.BACK ? 'Back' : 'Lay'} {bet.outcomeTitle || bet.outcomeId} @{' '}
              {bet.requestedDecimalOdds}: {formatMoney(bet.matchedStakeMinor, bet.currency)}{' '}
              matched, {formatMoney(bet.unmatchedStakeMinor, bet.currency)} unmatched (
              {betStatusLabel(bet.status).toLowerCase()})
              {bet.unmatchedStakeMinor > 0n && (
                <button type="button" disabled={busy} onClick={() => void cancel(bet)}>
                  Cancel
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

/** Back or lay at a price of one's own (an empty book has no price to click). */
function PriceForm(props: {
  disabled: boolean;
  market: Market;
  onPlace: (outcomeId: string, side: BetSide, decimalOdds: string) => void;
}) {
  const { market } = props;
  const [outcomeId, setOutcomeId] = useState(market.outcomes[0]?.outcomeId ?? '');
  const [odds, setOdds] = useState('2.00');
  return (
    <fieldset className="price-form">
      <legend>At your price</legend>
      <label>
        Outcome{' '}
        <select value={outcomeId} onChange={(e) => setOutcomeId(e.target.value)}>
          {market.outcomes.map((o) => (
            <option key={o.outcomeId} value={o.outcomeId}>
              {o.title}
            </option>
          ))}
        </select>
      </label>{' '}
      <label>
        Odds{' '}
        <input
          data-testid="exchange-odds"
          inputMode="decimal"
          value={odds}
          onChange={(e) => setOdds(e.target.value)}
        />
      </label>{' '}
      <button
        type="button"
        data-testid="exchange-back"
        disabled={props.disabled}
        onClick={() => props.onPlace(outcomeId, BetSide.BACK, odds)}
      >
        Back
      </button>{' '}
      <button
        type="button"
        data-testid="exchange-lay"
        disabled={props.disabled}
        onClick={() => props.onPlace(outcomeId, BetSide.LAY, odds)}
      >
        Lay
      </button>
    </fieldset>
  );
}
