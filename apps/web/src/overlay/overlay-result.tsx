/**
 * The result part of the overlay: how many viewers won and what they shared (settlement
 * GetSettlement, public), and the channel's top winners of the day (GetLeaderboard, public: the
 * overlay has no login). Both are read again every few seconds while the result is on screen,
 * since settlement and the leaderboard follow the resolution by a moment.
 */
import { useEffect, useState } from 'react';
import {
  LeaderboardPeriod,
  LeaderboardScope,
  type LeaderboardEntry,
  type Market,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  SettlementStatus,
  type Settlement,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import type { Api } from '@streambet/client';
import { countText, formatMoney } from '@streambet/client/view';
import { useInterval } from '../hooks.js';

/** How many of the day's top winners the overlay names. */
const topCount = 3;

/** Props of {@link OverlayResult}. */
export interface OverlayResultProps {
  readonly api: Api;
  readonly market: Market;
}

/** Winners of a resolved market and the channel's top winners today. */
export function OverlayResult({ api, market }: OverlayResultProps) {
  const [settlement, setSettlement] = useState<Settlement>();
  const [top, setTop] = useState<readonly LeaderboardEntry[]>([]);
  const [round, setRound] = useState(0);
  useInterval(() => setRound((r) => r + 1), 3_000);

  useEffect(() => {
    let stale = false;
    api.settlements
      .getSettlement({ marketId: market.marketId })
      .then((res) => {
        if (!stale) setSettlement(res.settlement);
      })
      .catch(() => undefined);
    api.pool
      .getLeaderboard({
        scope: LeaderboardScope.CHANNEL,
        channelId: market.channelId,
        period: LeaderboardPeriod.DAILY,
        currency: market.currency,
        page: { pageSize: topCount },
      })
      .then((res) => {
        if (!stale) setTop(res.entries.filter((e) => e.netProfitMinor > 0n).slice(0, topCount));
      })
      .catch(() => undefined);
    return () => {
      stale = true;
    };
  }, [api, market.marketId, market.channelId, market.currency, round]);

  const done =
    settlement?.status === SettlementStatus.COMPLETED ||
    settlement?.status === SettlementStatus.REFUNDED;
  return (
    <div className="overlay-result" data-testid="overlay-result">
      <p data-testid="overlay-winners">
        {!done
          ? 'Paying out…'
          : settlement.status === SettlementStatus.REFUNDED
            ? 'Nobody backed the winner: every stake is refunded.'
            : `${countText(settlement.winnerCount, 'winner')} shared ${formatMoney(
                settlement.payoutTotalMinor,
                settlement.currency,
              )}`}
      </p>
      {top.length > 0 && (
        <>
          <h3 className="overlay-top-title">Top winners today</h3>
          <ol className="overlay-top" data-testid="overlay-top">
            {top.map((entry) => (
              <li key={entry.userId} data-testid="overlay-top-entry">
                <span>{entry.displayName === '' ? 'A viewer' : entry.displayName}</span>
                <strong>+{formatMoney(entry.netProfitMinor, market.currency)}</strong>
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
