/**
 * One market in the console: live odds and pool per outcome, the betting countdown, and the
 * controls its state allows — lock (now, or N seconds ago up to 60: the retroactive instant; bets
 * after it are voided), resolve (pick the winner, then confirm), cancel (reason, then confirm).
 */
import { useState, type FormEvent } from 'react';
import type { MarketOdds } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketState, type Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Api } from '@streambet/client';
import { lockInstant, marketLimits } from '@streambet/client/studio';
import {
  bettingWindowText,
  countText,
  formatMoney,
  formatOdds,
  marketPhase,
  marketPhaseLabel,
} from '@streambet/client/view';
import { errorText } from '../hooks.js';

/** Props of {@link StudioMarket}. */
export interface StudioMarketProps {
  readonly api: Api;
  readonly market: Market;
  readonly odds: MarketOdds | undefined;
  readonly nowMs: number;
  readonly onChanged: (market: Market) => void;
}

type Step = { kind: 'idle' } | { kind: 'resolve'; outcomeId: string } | { kind: 'cancel' };

/** A market and its controls. */
export function StudioMarket({ api, market, odds, nowMs, onChanged }: StudioMarketProps) {
  const [secondsAgo, setSecondsAgo] = useState('');
  const [winner, setWinner] = useState('');
  const [reason, setReason] = useState('');
  const [step, setStep] = useState<Step>({ kind: 'idle' });
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string>();
  const [note, setNote] = useState<string>();
  const phase = marketPhase(market, nowMs);
  const titleId = `studio-market-${market.marketId}`;

  async function run(call: () => Promise<Market | undefined>, done?: (m: Market) => string) {
    setBusy(true);
    try {
      const changed = await call();
      if (changed !== undefined) {
        onChanged(changed);
        setNote(done?.(changed));
      }
      setFailure(undefined);
      setStep({ kind: 'idle' });
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  function lock(event: FormEvent) {
    event.preventDefault();
    const instant = lockInstant(secondsAgo, Date.now());
    if (!instant.ok) {
      setFailure(instant.error);
      return;
    }
    let note = '';
    void run(
      async () => {
        const res = await api.pool.lockMarket({
          marketId: market.marketId,
          ...(instant.eventAtMs === undefined ? {} : { eventAtMs: instant.eventAtMs }),
        });
        note = res.voidsConfirmed
          ? `; ${countText(res.voidedBetCount, 'late bet')} voided`
          : '; bets placed after the lock instant are being voided';
        return res.market;
      },
      (locked) =>
        `Locked ${Math.round(Number(locked.lockedAtMs - locked.lockEffectiveAtMs) / 1000)} s back${note}.`,
    );
  }

  const winnerTitle = market.outcomes.find((o) => o.outcomeId === market.winningOutcomeId)?.title;
  return (
    <article
      className={`panel market ${phase}`}
      aria-labelledby={titleId}
      data-testid="studio-market"
      data-market-id={market.marketId}
      data-market-state={phase}
    >
      <header className="market-head">
        <h3 id={titleId} data-testid="studio-market-title">
          {market.title}
        </h3>
        <span className={`badge ${phase}`} data-testid="studio-market-state">
          {marketPhaseLabel(phase)}
        </span>
      </header>
      <p className="muted market-meta">
        Pool {formatMoney(odds?.totalStakedMinor ?? market.totalStakedMinor, market.currency)} ·{' '}
        {countText(odds?.bettorCount ?? market.bettorCount, 'bettor')}
        {bettingWindowText(market, nowMs) !== '' && <> · {bettingWindowText(market, nowMs)}</>}
      </p>
      <ul className="studio-outcomes">
        {market.outcomes.map((outcome) => {
          const live = odds?.outcomes.find((o) => o.outcomeId === outcome.outcomeId);
          return (
            <li key={outcome.outcomeId} data-testid="studio-outcome">
              <span>
                {outcome.title}
                {market.winningOutcomeId === outcome.outcomeId && ' ✓'}
              </span>
              <span className="odds" data-testid="studio-outcome-odds">
                {formatOdds(live?.decimalOdds ?? outcome.decimalOdds)}
              </span>
              <span className="muted">
                {formatMoney(live?.stakedMinor ?? outcome.stakedMinor, market.currency)}
              </span>
            </li>
          );
        })}
      </ul>
      {market.state === MarketState.OPEN && (
        <form className="row" onSubmit={lock}>
          <label>
            Happened seconds ago
            <input
              className="studio-seconds"
              inputMode="numeric"
              value={secondsAgo}
              placeholder="delay"
              onChange={(e) => setSecondsAgo(e.target.value)}
              aria-describedby={`${titleId}-lock-help`}
              data-testid="lock-seconds"
            />
          </label>
          <button type="submit" className="primary" disabled={busy} data-testid="lock">
            Lock
          </button>
          <span className="muted small" id={`${titleId}-lock-help`}>
            0–{marketLimits.retroactiveMaxSeconds} s; blank uses the broadcast delay. Bets after the
            lock instant are voided.
          </span>
        </form>
      )}
      {market.state === MarketState.LOCKED && step.kind !== 'resolve' && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (winner === '') setFailure('Pick the winning outcome first.');
            else setStep({ kind: 'resolve', outcomeId: winner });
          }}
        >
          <label>
            Winner
            <select
              value={winner}
              onChange={(e) => setWinner(e.target.value)}
              data-testid="resolve-winner"
            >
              <option value="">Pick the winner…</option>
              {market.outcomes.map((o) => (
                <option key={o.outcomeId} value={o.outcomeId}>
                  {o.title}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="primary" data-testid="resolve">
            Resolve
          </button>
        </form>
      )}
      {step.kind === 'resolve' && (
        <div className="row" role="group" aria-label="Confirm the result">
          <span>
            Resolve with “{market.outcomes.find((o) => o.outcomeId === step.outcomeId)?.title}” as
            the winner? Payouts start at once.
          </span>
          <button
            type="button"
            className="primary"
            disabled={busy}
            data-testid="resolve-confirm"
            onClick={() =>
              void run(async () => {
                const res = await api.pool.resolveMarket({
                  marketId: market.marketId,
                  winningOutcomeId: step.outcomeId,
                });
                return res.market;
              })
            }
          >
            Confirm
          </button>
          <button type="button" onClick={() => setStep({ kind: 'idle' })}>
            Back
          </button>
        </div>
      )}
      {(market.state === MarketState.OPEN || market.state === MarketState.LOCKED) &&
        (step.kind === 'cancel' ? (
          <form
            className="row"
            aria-label="Confirm cancelling"
            onSubmit={(e) => {
              e.preventDefault();
              void run(async () => {
                const res = await api.pool.cancelMarket({
                  marketId: market.marketId,
                  reason: reason.trim() === '' ? 'Canceled by the streamer' : reason.trim(),
                });
                return res.market;
              });
            }}
          >
            <label className="grow">
              Why (shown to bettors)
              <input
                value={reason}
                maxLength={500}
                onChange={(e) => setReason(e.target.value)}
                data-testid="cancel-reason"
              />
            </label>
            <button type="submit" className="danger" disabled={busy} data-testid="cancel-confirm">
              Cancel and refund
            </button>
            <button type="button" onClick={() => setStep({ kind: 'idle' })}>
              Back
            </button>
          </form>
        ) : (
          <button type="button" onClick={() => setStep({ kind: 'cancel' })} data-testid="cancel">
            Cancel market…
          </button>
        ))}
      {market.state === MarketState.RESOLVED && winnerTitle !== undefined && (
        <p className="ok" data-testid="studio-market-result">
          Winner: {winnerTitle}
        </p>
      )}
      {note !== undefined && (
        <p className="muted small" role="status" data-testid="studio-market-note">
          {note}
        </p>
      )}
      {failure !== undefined && (
        <p className="error small" role="alert" data-testid="studio-market-error">
          {failure}
        </p>
      )}
    </article>
  );
}
