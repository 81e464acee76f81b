/**
 * The signed-in viewer's panels: wallet balances, my bets, and the channel leaderboard. Each
 * reloads when `refreshKey` changes (a user event arrived on the socket or a bet was placed) and
 * polls, faster while the socket is down.
 */
import { useCallback, useEffect, useState } from 'react';
import type { Bet } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  LeaderboardPeriod,
  LeaderboardScope,
  type GetLeaderboardResponse,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Api } from '@streambet/client';
import {
  betStatusLabel,
  formatMinor,
  formatMoney,
  shownBalances,
  voidReasonLabel,
} from '@streambet/client/view';
import { errorText, useInterval } from './hooks.js';
import { useWalletBook } from './wallet/wallet-live.js';

/** Props shared by the account panels. */
export interface AccountPanelProps {
  readonly api: Api;
  readonly refreshKey: number;
  readonly live: boolean;
}

/** Loads with `load` now, whenever `refreshKey` changes, and every `periodMs`. */
function useReload(load: () => Promise<void>, refreshKey: number, periodMs: number) {
  useEffect(() => {
    void load();
  }, [load, refreshKey]);
  useInterval(() => void load(), periodMs);
}

/**
 * Available balance per currency (held amounts shown apart): points always, a real currency only
 * when the viewer holds money in it (a play-money demo shows no "R$ 0.00"), each in its
 * currency's own formatting. Balances follow the wallet screen's rule (wallet/wallet-live.ts):
 * loaded by RPC, and a pushed snapshot applied only when its ledger sequence is newer.
 */
export function WalletPanel({ api, refreshKey, live }: AccountPanelProps) {
  const { book, error } = useWalletBook(api, refreshKey, live);
  return (
    <section className="wallet" data-testid="wallet" aria-label="Wallet">
      {shownBalances(book).map((b) => (
        <span
          key={b.currency}
          className="balance"
          data-testid={`wallet-${b.currency}`}
          data-available-minor={b.availableMinor.toString()}
          title={`Held in bets: ${formatMinor(b.pendingMinor, b.currency)}`}
        >
          {formatMinor(b.availableMinor, b.currency)}
          {b.pendingMinor > 0n && (
            <span className="muted small">
              {' '}
              (+{formatMinor(b.pendingMinor, b.currency)} in bets)
            </span>
          )}
        </span>
      ))}
      {error !== undefined && <span className="error small">{error}</span>}
    </section>
  );
}

/** The viewer's latest bets with status and result. */
export function MyBetsPanel({ api, refreshKey, live }: AccountPanelProps) {
  const [bets, setBets] = useState<readonly Bet[]>([]);
  const [error, setError] = useState<string>();
  const load = useCallback(async () => {
    try {
      setBets((await api.bets.listMyBets({ page: { pageSize: 20 } })).bets);
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api]);
  useReload(load, refreshKey, live ? 15_000 : 3_000);
  return (
    <section className="panel" data-testid="my-bets">
      <h2>My bets</h2>
      {error !== undefined && <p className="error small">{error}</p>}
      {bets.length === 0 && error === undefined && <p className="muted">No bets yet.</p>}
      <ul className="bets">
        {bets.map((bet) => {
          const voidText = voidReasonLabel(bet.voidReason);
          return (
            <li
              key={bet.betId}
              data-testid="my-bet"
              data-bet-id={bet.betId}
              data-bet-status={betStatusLabel(bet.status).toLowerCase()}
            >
              <div>
                <strong>{bet.outcomeTitle}</strong>{' '}
                <span className="muted">— {bet.marketTitle}</span>
              </div>
              <div className="row between">
                <span>{formatMoney(bet.stakeMinor, bet.currency)}</span>
                <span
                  className={`badge ${betStatusLabel(bet.status).toLowerCase()}`}
                  data-testid="my-bet-status"
                >
                  {betStatusLabel(bet.status)}
                  {voidText !== '' && ` (${voidText})`}
                </span>
                {bet.payoutMinor > 0n && (
                  <span data-testid="my-bet-payout">
                    paid {formatMoney(bet.payoutMinor, bet.currency)}
                  </span>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** Props of {@link LeaderboardPanel}. */
export interface LeaderboardPanelProps extends AccountPanelProps {
  readonly channelId: string;
  readonly currency: string;
}

/** The channel's all-time leaderboard by net profit, with the viewer's own rank. */
export function LeaderboardPanel({ api, refreshKey, channelId, currency }: LeaderboardPanelProps) {
  const [board, setBoard] = useState<GetLeaderboardResponse>();
  const [period, setPeriod] = useState(LeaderboardPeriod.ALL_TIME);
  const [error, setError] = useState<string>();
  const load = useCallback(async () => {
    try {
      setBoard(
        await api.pool.getLeaderboard({
          scope: LeaderboardScope.CHANNEL,
          channelId,
          period,
          currency,
          page: { pageSize: 10 },
        }),
      );
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api, channelId, period, currency]);
  useReload(load, refreshKey, 10_000);
  const periods: Array<[LeaderboardPeriod, string]> = [
    [LeaderboardPeriod.DAILY, 'Today'],
    [LeaderboardPeriod.WEEKLY, 'Week'],
    [LeaderboardPeriod.ALL_TIME, 'All time'],
  ];
  return (
    <section className="panel" data-testid="leaderboard">
      <h2>Leaderboard</h2>
      <div className="tabs">
        {periods.map(([p, label]) => (
          <button
            key={p}
            type="button"
            className={p === period ? 'tab active' : 'tab'}
            aria-pressed={p === period}
            onClick={() => setPeriod(p)}
          >
            {label}
          </button>
        ))}
      </div>
      {error !== undefined && <p className="error small">{error}</p>}
      {board !== undefined && board.entries.length === 0 && (
        <p className="muted">Nobody has settled a bet here yet.</p>
      )}
      <ol className="board">
        {board?.entries.map((entry) => (
          <li key={entry.userId} data-testid="leaderboard-entry">
            <span className="rank">{String(entry.rank)}</span>
            <span className="name">{entry.displayName}</span>
            <span className={entry.netProfitMinor < 0n ? 'loss' : 'gain'}>
              {formatMoney(entry.netProfitMinor, currency)}
            </span>
          </li>
        ))}
      </ol>
      {board?.callerEntry && (
        <p className="muted small" data-testid="leaderboard-me">
          You: #{String(board.callerEntry.rank)} ·{' '}
          {formatMoney(board.callerEntry.netProfitMinor, currency)}
        </p>
      )}
    </section>
  );
}
