/**
 * The bet slip: the picked outcome, a stake, and PlaceBet with a fresh idempotency key per click.
 * Shows the confirmation, or the refusal in words from its BetRejection detail. A pick on a market
 * that stopped taking bets (its window ended, it locked or settled) is dropped: the slip says the
 * market closed instead of offering a bet that would be refused.
 */
import { useState, type FormEvent } from 'react';
import { ConnectError } from '@connectrpc/connect';
import {
  BetRejectionSchema,
  BetStatus,
  type Bet,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Api } from '@streambet/client';
import {
  betStatusLabel,
  formatMoney,
  formatOdds,
  isBettable,
  newIdempotencyKey,
  parseStake,
  rejectionMessage,
} from '@streambet/client/view';
import type { Selection } from './market-card.js';

/** Props of {@link BetSlip}. */
export interface BetSlipProps {
  readonly api: Api;
  /** The pick, with its market as currently known (state pushed live). */
  readonly selection: Selection | undefined;
  readonly nowMs: number;
  readonly signedIn: boolean;
  readonly onPlaced: (bet: Bet) => void;
  readonly onClear: () => void;
}

type Outcome =
  | { readonly kind: 'confirmed'; readonly text: string }
  | { readonly kind: 'rejected'; readonly text: string };

/** The slip of the selected outcome. */
export function BetSlip({ api, selection, nowMs, signedIn, onPlaced, onClear }: BetSlipProps) {
  const [stake, setStake] = useState('');
  const [busy, setBusy] = useState(false);
  // The last confirmation or refusal, and the pick it was about: a new pick starts a clean slip.
  const [placed, setPlaced] = useState<{ readonly key: string; readonly result: Outcome }>();
  const selectedKey = selection && `${selection.market.marketId}/${selection.outcomeId}`;
  const result = placed !== undefined && placed.key === selectedKey ? placed.result : undefined;

  if (selection === undefined || !isBettable(selection.market, nowMs)) {
    return (
      <section className="panel slip" data-testid="bet-slip" aria-labelledby="bet-slip-heading">
        <h2 id="bet-slip-heading">Bet slip</h2>
        {selection === undefined ? (
          <p className="muted">Pick an outcome of an open market.</p>
        ) : (
          <p className="muted" role="status" data-testid="bet-slip-closed">
            Betting on “{selection.market.title}” has closed. Pick an outcome of an open market.
          </p>
        )}
        {result && <Result result={result} />}
      </section>
    );
  }
  const { market, outcomeId } = selection;
  const key = `${market.marketId}/${outcomeId}`;
  const setResult = (next: Outcome | undefined) =>
    setPlaced(next === undefined ? undefined : { key, result: next });
  const outcome = market.outcomes.find((o) => o.outcomeId === outcomeId);
  const limits = market.stakeLimits;

  async function place(event: FormEvent) {
    event.preventDefault();
    const parsed = parseStake(stake, market.currency);
    if (!parsed.ok) {
      setResult({ kind: 'rejected', text: parsed.message });
      return;
    }
    setBusy(true);
    setResult(undefined);
    try {
      const res = await api.bets.placeBet({
        idempotencyKey: newIdempotencyKey(),
        marketId: market.marketId,
        outcomeId,
        currency: market.currency,
        stakeMinor: parsed.stakeMinor,
      });
      const bet = res.bet;
      if (bet) {
        const odds =
          res.indicativeDecimalOdds === ''
            ? ''
            : ` at ${formatOdds(res.indicativeDecimalOdds)} (indicative)`;
        const status =
          bet.status === BetStatus.PENDING
            ? 'pending confirmation'
            : betStatusLabel(bet.status).toLowerCase();
        setResult({
          kind: 'confirmed',
          text: `Bet ${status}: ${formatMoney(bet.stakeMinor, bet.currency)} on ${bet.outcomeTitle || outcome?.title || ''}${odds}.`,
        });
        setStake('');
        onPlaced(bet);
      }
    } catch (e) {
      const error = ConnectError.from(e);
      const rejection = error.findDetails(BetRejectionSchema)[0];
      setResult({
        kind: 'rejected',
        text: rejectionMessage(error.code, rejection, error.rawMessage),
      });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      className="panel slip"
      data-testid="bet-slip"
      aria-labelledby="bet-slip-heading"
      onSubmit={(e) => void place(e)}
    >
      <h2 id="bet-slip-heading">Bet slip</h2>
      <p data-testid="bet-slip-selection">
        <strong>{outcome?.title}</strong> <span className="muted">— {market.title}</span>
      </p>
      {market.kind === MarketKind.EXCHANGE && (
        <p className="muted">
          Exchange markets are bet from the app; this slip backs at the pool price.
        </p>
      )}
      <label>
        Stake ({market.currency})
        <input
          key={key}
          // A pick made by keyboard continues in the stake field.
          autoFocus
          inputMode="decimal"
          value={stake}
          onChange={(e) => setStake(e.target.value)}
          placeholder={market.currency === 'PTS' ? '100' : '10.00'}
          data-testid="bet-stake"
        />
      </label>
      {limits && (
        <p className="muted small">
          Min {formatMoney(limits.minStakeMinor, market.currency)} · max{' '}
          {formatMoney(limits.maxStakePerBetMinor, market.currency)} per bet
        </p>
      )}
      <div className="row">
        <button
          type="submit"
          className="primary"
          disabled={busy || !signedIn}
          data-testid="bet-submit"
        >
          {busy ? 'Placing…' : 'Place bet'}
        </button>
        <button type="button" onClick={onClear}>
          Clear
        </button>
      </div>
      {!signedIn && <p className="muted">Log in to bet.</p>}
      {result && <Result result={result} />}
    </form>
  );
}

function Result({ result }: { readonly result: Outcome }) {
  return result.kind === 'confirmed' ? (
    <p className="ok" role="status" data-testid="bet-confirmation">
      {result.text}
    </p>
  ) : (
    <p className="error" role="alert" data-testid="bet-error">
      {result.text}
    </p>
  );
}
