/**
 * Markets: search by channel and state; a market's pool (outcomes, stakes, odds), settlement and
 * payouts; lock (now or retroactively), resolve, cancel, void a resolved market within its grace
 * period, retry a settlement. Each action passes the market's version, so acting on a market that
 * changed meanwhile is refused (ABORTED) instead of applied to a state the admin did not see.
 */
import { useCallback, useState } from 'react';
import { useLoad } from './hooks.js';
import type { Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { MarketState } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  PayoutKind,
  SettlementStatus,
  type Payout,
  type Settlement,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { Code, ConnectError } from '@connectrpc/connect';
import { ActionForm, useActionResult } from './action.js';
import type { PageProps } from './app.js';
import { enumName, errorText, fromLocalInput, money, routeHref, when } from './format.js';

const states = [
  MarketState.OPEN,
  MarketState.LOCKED,
  MarketState.RESOLVED,
  MarketState.CANCELED,
  MarketState.DRAFT,
];

export function MarketsPage({ api, route }: PageProps) {
  const selected = route.params.get('id') ?? '';
  const [channel, setChannel] = useState(route.params.get('channel') ?? '');
  const [state, setState] = useState<string>('');
  const [markets, setMarkets] = useState<Market[]>([]);
  const [error, setError] = useState<string>();

  const search = useCallback(async () => {
    try {
      const res = await api.pool.listMarkets({
        channelId: channel.trim(),
        states: state === '' ? [] : [Number(state)],
        page: { pageSize: 50 },
      });
      setMarkets(res.markets);
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api, channel, state]);
  useLoad(search);

  return (
    <div className="split">
      <section aria-labelledby="market-search-title">
        <h2 id="market-search-title">Search</h2>
        <form
          className="row wrap filters"
          onSubmit={(e) => {
            e.preventDefault();
            void search();
          }}
        >
          <label htmlFor="market-channel">
            Channel id
            <input
              id="market-channel"
              value={channel}
              placeholder="any channel"
              onChange={(e) => setChannel(e.target.value)}
              data-testid="market-channel"
            />
          </label>
          <label htmlFor="market-state">
            State
            <select
              id="market-state"
              value={state}
              onChange={(e) => setState(e.target.value)}
              data-testid="market-state"
            >
              <option value="">any state</option>
              {states.map((s) => (
                <option key={s} value={s}>
                  {enumName(MarketState, s)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Search</button>
        </form>
        {error !== undefined && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <ul className="list" data-testid="market-list">
          {markets.map((m) => (
            <li key={m.marketId}>
              <a
                href={routeHref('markets', { id: m.marketId, ...(channel ? { channel } : {}) })}
                aria-current={m.marketId === selected ? 'true' : undefined}
                data-testid={`market-${m.marketId}`}
              >
                <strong>{m.title}</strong>
                <span className="muted small">
                  {' '}
                  {enumName(MarketState, m.state)} · {money(m.totalStakedMinor, m.currency)} ·{' '}
                  {m.bettorCount.toString()} bettors
                </span>
              </a>
            </li>
          ))}
          {markets.length === 0 && <li className="muted">No markets match.</li>}
        </ul>
      </section>
      {selected !== '' && (
        <MarketDetail key={selected} api={api} marketId={selected} onChange={() => void search()} />
      )}
    </div>
  );
}

function MarketDetail(props: { api: PageProps['api']; marketId: string; onChange: () => void }) {
  const { api, marketId } = props;
  const [market, setMarket] = useState<Market>();
  const [settlement, setSettlement] = useState<Settlement>();
  const [payouts, setPayouts] = useState<Payout[]>([]);
  const [error, setError] = useState<string>();
  const [resultLine, report] = useActionResult();
  const [winner, setWinner] = useState('');
  const [lockAt, setLockAt] = useState('');
  /** When the market was last read: the void grace period is judged against it. */
  const [loadedAtMs, setLoadedAtMs] = useState(0);

  const load = useCallback(async () => {
    try {
      const m = (await api.pool.getMarket({ marketId })).market;
      setMarket(m);
      setLoadedAtMs(Date.now());
      setWinner((w) => (w === '' ? (m?.outcomes[0]?.outcomeId ?? '') : w));
      try {
        setSettlement((await api.settlements.getSettlement({ marketId })).settlement);
        setPayouts(
          (await api.settlements.listPayouts({ marketId, page: { pageSize: 50 } })).payouts,
        );
      } catch (e) {
        if (ConnectError.from(e).code !== Code.NotFound) throw e;
        setSettlement(undefined);
        setPayouts([]);
      }
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api, marketId]);
  useLoad(load);

  if (market === undefined) {
    return (
      <section className="panel">{error ?? <p className="muted">Loading the market…</p>}</section>
    );
  }
  const done = async (text: string) => {
    await load();
    props.onChange();
    return text;
  };
  const version = market.version;
  const graceOpen =
    market.state === MarketState.RESOLVED && loadedAtMs < Number(market.voidGraceEndsAtMs);

  return (
    <section className="panel" aria-labelledby="market-title" data-testid="market-detail">
      <h2 id="market-title">{market.title}</h2>
      <dl className="facts">
        <dt>State</dt>
        <dd data-testid="market-state-value">{enumName(MarketState, market.state)}</dd>
        <dt>Channel</dt>
        <dd>
          <a href={routeHref('markets', { channel: market.channelId })}>{market.channelId}</a>
        </dd>
        <dt>Pool</dt>
        <dd>
          {money(market.totalStakedMinor, market.currency)} from {market.bettorCount.toString()}{' '}
          bettors
        </dd>
        <dt>Created by</dt>
        <dd>
          <a href={routeHref('users', { id: market.createdByUserId })}>{market.createdByUserId}</a>
        </dd>
        <dt>Locked</dt>
        <dd>
          {when(market.lockedAtMs)}
          {market.retroactivelyVoidedBetCount > 0n &&
            ` (effective ${when(market.lockEffectiveAtMs)}, ${market.retroactivelyVoidedBetCount} bets voided)`}
        </dd>
        <dt>Resolved</dt>
        <dd>
          {when(market.resolvedAtMs)}
          {market.voidGraceEndsAtMs > 0n && ` · void grace ends ${when(market.voidGraceEndsAtMs)}`}
        </dd>
      </dl>
      <table>
        <caption>Outcomes</caption>
        <thead>
          <tr>
            <th scope="col">Outcome</th>
            <th scope="col">Staked</th>
            <th scope="col">Bets</th>
            <th scope="col">Odds</th>
          </tr>
        </thead>
        <tbody>
          {market.outcomes.map((o) => (
            <tr key={o.outcomeId}>
              <td>
                {o.title}
                {o.outcomeId === market.winningOutcomeId && ' ✓ winner'}
              </td>
              <td>{money(o.stakedMinor, market.currency)}</td>
              <td>{o.betCount.toString()}</td>
              <td>{o.decimalOdds || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {error !== undefined && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {resultLine}
      <div className="actions">
        {market.state === MarketState.OPEN && (
          <ActionForm
            onResult={report}
            label="Lock"
            testId="lock"
            askReason={false}
            run={async () => {
              const at = fromLocalInput(lockAt);
              const res = await api.pool.lockMarket({
                marketId,
                ...(at === undefined ? {} : { eventAtMs: BigInt(at) }),
                expectedVersion: version,
              });
              return done(
                `Locked; effective ${when(res.market?.lockEffectiveAtMs ?? 0n)}, ${res.market?.retroactivelyVoidedBetCount ?? 0n} bets voided`,
              );
            }}
          >
            <label htmlFor="lock-at">
              Retroactive instant (optional; bets after it are voided)
              <input
                id="lock-at"
                type="datetime-local"
                step={1}
                value={lockAt}
                onChange={(e) => setLockAt(e.target.value)}
              />
            </label>
          </ActionForm>
        )}
        {market.state === MarketState.LOCKED && (
          <ActionForm
            onResult={report}
            label="Resolve"
            testId="resolve"
            destructive
            askReason={false}
            run={async () => {
              await api.pool.resolveMarket({
                marketId,
                winningOutcomeId: winner,
                expectedVersion: version,
              });
              return done('Resolved; settlement pays out');
            }}
          >
            <label htmlFor="resolve-winner">
              Winning outcome
              <select
                id="resolve-winner"
                value={winner}
                onChange={(e) => setWinner(e.target.value)}
              >
                {market.outcomes.map((o) => (
                  <option key={o.outcomeId} value={o.outcomeId}>
                    {o.title}
                  </option>
                ))}
              </select>
            </label>
          </ActionForm>
        )}
        {[MarketState.DRAFT, MarketState.OPEN, MarketState.LOCKED].includes(market.state) && (
          <ActionForm
            onResult={report}
            label="Cancel market"
            testId="cancel"
            destructive
            reasonHint="e.g. stream ended unexpectedly"
            run={async (reason) => {
              await api.pool.cancelMarket({ marketId, reason, expectedVersion: version });
              return done('Canceled; every stake is refunded');
            }}
          />
        )}
        {market.state === MarketState.RESOLVED && (
          <ActionForm
            onResult={report}
            label="Void resolution"
            testId="void"
            destructive
            disabled={!graceOpen}
            reasonHint="e.g. wrong winner"
            run={async (reason) => {
              await api.pool.voidResolvedMarket({ marketId, reason, expectedVersion: version });
              return done('Voided; payouts reversed and stakes refunded');
            }}
          />
        )}
        {settlement !== undefined && (
          <ActionForm
            onResult={report}
            label="Retry settlement"
            testId="retry"
            askReason={false}
            run={async () => {
              const res = await api.settlements.retrySettlement({ marketId });
              return done(`Settlement ${enumName(SettlementStatus, res.settlement?.status ?? 0)}`);
            }}
          />
        )}
      </div>
      {settlement !== undefined && (
        <>
          <h3>Settlement</h3>
          <dl className="facts" data-testid="settlement">
            <dt>Status</dt>
            <dd>{enumName(SettlementStatus, settlement.status)}</dd>
            <dt>Paid</dt>
            <dd>
              {money(settlement.payoutTotalMinor, settlement.currency)} to{' '}
              {settlement.winnerCount.toString()} winners
            </dd>
            <dt>Commission</dt>
            <dd>
              {money(settlement.commissionMinor, settlement.currency)} (streamer{' '}
              {money(settlement.streamerShareMinor, settlement.currency)})
            </dd>
            <dt>Attempts</dt>
            <dd>
              {settlement.attemptCount}{' '}
              {settlement.lastError && `· last error: ${settlement.lastError}`}
            </dd>
          </dl>
          <table>
            <caption>Payouts (first 50)</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Kind</th>
                <th scope="col">Stake</th>
                <th scope="col">Payout</th>
                <th scope="col">Paid</th>
              </tr>
            </thead>
            <tbody>
              {payouts.map((p) => (
                <tr key={p.payoutId}>
                  <td>
                    <a href={routeHref('users', { id: p.userId })}>{p.userId}</a>
                  </td>
                  <td>{enumName(PayoutKind, p.kind)}</td>
                  <td>{money(p.stakeMinor, p.currency)}</td>
                  <td>{money(p.payoutMinor, p.currency)}</td>
                  <td>{when(p.paidAtMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <p className="muted small">
        Bets of one user on this market: open the user (Users page) — the bets API lists a
        market&apos;s bets per user for admins.
      </p>
    </section>
  );
}
