/**
 * Overview: live handle, GGR, active bettors, open markets and settlement latency — the last
 * hour by minute (or the last day by hour) from GetMetrics, refreshed every 5 seconds.
 */
import { useCallback, useMemo, useState } from 'react';
import type { GetMetricsResponse } from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { Granularity } from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { MarketState } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { PageProps } from './app.js';
import { TimeChart, type ChartSeries } from './chart.js';
import { duration, errorText, money, when } from './format.js';
import { useLoad } from './hooks.js';

const refreshMs = 5_000;
const spans = {
  hour: { label: 'Last hour, by minute', ms: 3_600_000, granularity: Granularity.MINUTE },
  day: { label: 'Last day, by hour', ms: 86_400_000, granularity: Granularity.HOUR },
} as const;

const moneySeries: readonly ChartSeries[] = [
  { label: 'Handle', color: '#a78bfa' },
  { label: 'GGR', color: '#22c55e' },
];
const bettorSeries: readonly ChartSeries[] = [{ label: 'Active bettors', color: '#f59e0b' }];
const latencySeries: readonly ChartSeries[] = [
  { label: 'p50', color: '#60a5fa' },
  { label: 'p95', color: '#f59e0b' },
  { label: 'p99', color: '#f87171' },
];

export function OverviewPage({ api }: PageProps) {
  const [currency, setCurrency] = useState('PTS');
  const [span, setSpan] = useState<keyof typeof spans>('hour');
  const [metrics, setMetrics] = useState<GetMetricsResponse>();
  const [openMarkets, setOpenMarkets] = useState<string>('…');
  const [error, setError] = useState<string>();

  const load = useCallback(async () => {
    const { ms, granularity } = spans[span];
    const toMs = Date.now();
    try {
      const [m, open] = await Promise.all([
        api.analytics.getMetrics({
          fromMs: BigInt(toMs - ms),
          toMs: BigInt(toMs),
          granularity,
          currency,
          channelLimit: 5,
        }),
        api.pool.listMarkets({ states: [MarketState.OPEN], page: { pageSize: 200 } }),
      ]);
      setMetrics(m);
      setOpenMarkets(`${open.markets.length}${open.page?.nextPageToken ? '+' : ''}`);
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, [api, currency, span]);
  useLoad(load, refreshMs);

  const unit = (v: number) => money(BigInt(Math.round(v)), currency);
  const formatMoney = useCallback(
    (v: number) => money(BigInt(Math.round(v)), currency),
    [currency],
  );
  const data = useMemo(() => {
    const buckets = metrics?.buckets ?? [];
    return {
      xs: buckets.map((b) => Number(b.startMs) / 1000),
      money: [buckets.map((b) => Number(b.handleMinor)), buckets.map((b) => Number(b.ggrMinor))],
      bettors: [buckets.map((b) => Number(b.activeBettors))],
      latency: [
        buckets.map((b) => Number(b.settlementTimeP50Ms)),
        buckets.map((b) => Number(b.settlementTimeP95Ms)),
        buckets.map((b) => Number(b.settlementTimeP99Ms)),
      ],
    };
  }, [metrics]);
  const totals = metrics?.totals;

  return (
    <>
      <div className="row wrap filters">
        <label htmlFor="metrics-currency">
          Currency
          <select
            id="metrics-currency"
            value={currency}
            onChange={(e) => setCurrency(e.target.value)}
            data-testid="metrics-currency"
          >
            <option value="PTS">PTS (play money)</option>
            <option value="BRL">BRL</option>
            <option value="USD">USD</option>
            <option value="EUR">EUR</option>
          </select>
        </label>
        <label htmlFor="metrics-span">
          Range
          <select
            id="metrics-span"
            value={span}
            onChange={(e) => setSpan(e.target.value as keyof typeof spans)}
          >
            {Object.entries(spans).map(([key, s]) => (
              <option key={key} value={key}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <p className="muted small" aria-live="polite">
          As of {metrics === undefined ? '…' : when(metrics.asOfMs)} · refreshed every 5 s
        </p>
      </div>
      {error !== undefined && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <section className="tiles" aria-label="Totals over the range">
        <Tile
          label="Handle"
          value={totals ? unit(Number(totals.handleMinor)) : '…'}
          testId="tile-handle"
        />
        <Tile label="GGR" value={totals ? unit(Number(totals.ggrMinor)) : '…'} testId="tile-ggr" />
        <Tile
          label="Active bettors"
          value={totals ? totals.activeBettors.toString() : '…'}
          testId="tile-bettors"
        />
        <Tile label="Open markets" value={openMarkets} testId="tile-open-markets" />
        <Tile
          label="Settlement p95"
          value={totals ? duration(totals.settlementTimeP95Ms) : '…'}
          testId="tile-latency"
        />
      </section>
      <section className="charts" aria-label="Charts">
        <TimeChart
          title={`Handle and GGR (${currency})`}
          testId="chart-money"
          xs={data.xs}
          ys={data.money}
          series={moneySeries}
          format={formatMoney}
        />
        <TimeChart
          title="Active bettors"
          testId="chart-bettors"
          xs={data.xs}
          ys={data.bettors}
          series={bettorSeries}
          format={formatCount}
        />
        <TimeChart
          title="Settlement latency"
          testId="chart-latency"
          xs={data.xs}
          ys={data.latency}
          series={latencySeries}
          format={duration}
        />
      </section>
      <section className="panel" aria-labelledby="channels-title">
        <h2 id="channels-title">Top channels by GGR</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Handle</th>
              <th scope="col">GGR</th>
              <th scope="col">Streamer share</th>
              <th scope="col">Settled</th>
            </tr>
          </thead>
          <tbody>
            {(metrics?.channelRevenue ?? []).map((c) => (
              <tr key={c.channelId}>
                <td>
                  <a href={`#/markets?channel=${c.channelId}`}>{c.channelId}</a>
                </td>
                <td>{money(c.handleMinor, currency)}</td>
                <td>{money(c.ggrMinor, currency)}</td>
                <td>{money(c.streamerShareMinor, currency)}</td>
                <td>{c.marketsSettled.toString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}

const formatCount = (v: number) => String(Math.round(v));

function Tile(props: { label: string; value: string; testId: string }) {
  return (
    <div className="tile" data-testid={props.testId}>
      <span className="muted small">{props.label}</span>
      <strong>{props.value}</strong>
    </div>
  );
}
