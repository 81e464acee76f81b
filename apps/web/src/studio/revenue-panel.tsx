/**
 * The channel's revenue so far: its streamer revenue-share payouts (settlement ListPayouts, the
 * caller's own rows), summed per currency. Each such payout is one credit of the streamer's
 * `streamer:<id>:revenue` ledger account for one market of this channel, so the sum is the
 * channel's part of that account; reversed payouts (a void after resolution) do not count.
 */
import { useEffect, useState } from 'react';
import { PayoutKind } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import type { Payout } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import type { Api } from '@streambet/client';
import { channelRevenue } from '@streambet/client/studio';
import { formatMoney } from '@streambet/client/view';
import { errorText } from '../hooks.js';

/** Pages of 200 read at most (2,000 settled markets); beyond that the figure says "at least". */
const maxPages = 10;

/** Props of {@link RevenuePanel}. */
export interface RevenuePanelProps {
  readonly api: Api;
  readonly channelId: string;
  /** Bumped by the app when a payout reached the user (reload then). */
  readonly refreshKey: number;
}

/** Revenue of one channel per currency. */
export function RevenuePanel({ api, channelId, refreshKey }: RevenuePanelProps) {
  const [totals, setTotals] = useState<ReadonlyMap<string, bigint>>();
  const [partial, setPartial] = useState(false);
  const [failure, setFailure] = useState<string>();

  useEffect(() => {
    let stale = false;
    (async () => {
      const payouts: Payout[] = [];
      let pageToken = '';
      let pages = 0;
      do {
        const res = await api.settlements.listPayouts({
          kinds: [PayoutKind.STREAMER_REVENUE_SHARE],
          page: { pageSize: 200, pageToken },
        });
        payouts.push(...res.payouts);
        pageToken = res.page?.nextPageToken ?? '';
        pages += 1;
      } while (pageToken !== '' && pages < maxPages);
      if (stale) return;
      setTotals(channelRevenue(payouts, channelId));
      setPartial(pageToken !== '');
      setFailure(undefined);
    })().catch((e: unknown) => {
      if (!stale) setFailure(errorText(e));
    });
    return () => {
      stale = true;
    };
  }, [api, channelId, refreshKey]);

  return (
    <section className="panel" aria-labelledby="revenue-title" data-testid="studio-revenue">
      <h2 id="revenue-title">Revenue so far</h2>
      {failure !== undefined && <p className="error small">{failure}</p>}
      {totals === undefined ? (
        failure === undefined && <p className="muted small">Loading…</p>
      ) : totals.size === 0 ? (
        <p className="muted" data-testid="revenue-none">
          Nothing yet: your share of the commission arrives as markets settle.
        </p>
      ) : (
        <ul className="studio-revenue">
          {[...totals].map(([currency, amountMinor]) => (
            <li key={currency} data-testid="revenue-total" data-currency={currency}>
              {partial ? 'at least ' : ''}
              <strong>{formatMoney(amountMinor, currency)}</strong>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
