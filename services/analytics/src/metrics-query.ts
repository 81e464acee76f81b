/**
 * The metrics, computed from the warehouse's facts with one set of queries for both adapters
 * (SQL and ClickHouse): the same events give the same figures from either. Definitions are the
 * contract's (analytics.proto, MetricsFigures):
 * - handle, bets, active bettors: facts `bet_accepted` / `bet_matched` in the span, except bets
 *   voided later (`bet_voided`) and bets of markets refunded in full (`refunded`);
 * - GGR, commission, streamer share, markets settled: facts `settled`, `refunded` and `reversed`
 *   in the span (by completion instant);
 * - settlement time: completion minus the market's `market_resolved` instant, per market settled
 *   in the span, percentiles by nearest rank.
 */
import { percentile, type MetricsQuery } from './domain/metrics.js';
import { literal, toBigInt, type Warehouse } from './warehouse/warehouse.js';

/** Figures of one span (the contract's MetricsFigures). */
export interface Figures {
  readonly startMs: number;
  readonly endMs: number;
  readonly handleMinor: bigint;
  readonly ggrMinor: bigint;
  readonly commissionMinor: bigint;
  readonly streamerShareMinor: bigint;
  readonly activeBettors: number;
  readonly betsCount: number;
  readonly marketsSettled: number;
  readonly settlementTimeP50Ms: number;
  readonly settlementTimeP95Ms: number;
  readonly settlementTimeP99Ms: number;
}

/** One channel's revenue over the range. */
export interface ChannelRevenue {
  readonly channelId: string;
  readonly ownerUserId: string;
  readonly handleMinor: bigint;
  readonly ggrMinor: bigint;
  readonly commissionMinor: bigint;
  readonly streamerShareMinor: bigint;
  readonly marketsSettled: number;
}

/** GetMetrics' answer before translation to the contract. */
export interface MetricsResult {
  readonly buckets: readonly Figures[];
  readonly totals: Figures;
  readonly channels: readonly ChannelRevenue[];
}

/** Runs the metrics queries of `query` on `warehouse`. */
export async function queryMetrics(
  warehouse: Warehouse,
  query: MetricsQuery,
): Promise<MetricsResult> {
  const { dialect: d } = warehouse;
  const F = d.facts;
  const cur = literal(query.currency);
  const range = `occurred_at_ms >= ${query.fromMs} AND occurred_at_ms < ${query.toMs}`;
  const channel = query.channelId === '' ? '' : ` AND channel_id = ${literal(query.channelId)}`;
  const bucket = `${d.intDiv(`occurred_at_ms - ${query.scheme.offsetMs}`, String(query.scheme.widthMs))} * ${query.scheme.widthMs} + ${query.scheme.offsetMs}`;
  const betsWhere =
    `kind IN ('bet_accepted', 'bet_matched') AND currency = ${cur} AND ${range}${channel}` +
    ` AND bet_id NOT IN (SELECT bet_id FROM ${F} WHERE kind = 'bet_voided' AND currency = ${cur})` +
    ` AND market_id NOT IN (SELECT market_id FROM ${F} WHERE kind = 'refunded' AND currency = ${cur})`;
  const settledKinds = `kind IN ('settled', 'refunded')`;
  const settleWhere = `kind IN ('settled', 'refunded', 'reversed') AND currency = ${cur} AND ${range}${channel}`;
  const betFigures = `sum(amount_minor) AS handle_minor,
      sum(CASE WHEN kind = 'bet_accepted' THEN 1 ELSE 0 END) AS bets_count,
      count(DISTINCT user_id) AS active_bettors`;
  const settleFigures = `sum(amount_minor) AS ggr_minor, sum(commission_minor) AS commission_minor,
      sum(streamer_share_minor) AS streamer_share_minor,
      sum(CASE WHEN ${settledKinds} THEN 1 ELSE 0 END) AS markets_settled`;
  const settledInRange = `SELECT market_id FROM ${F} WHERE ${settledKinds} AND currency = ${cur} AND ${range}${channel}`;

  const [betBuckets, betTotals, settleBuckets, completions, resolutions] = await Promise.all([
    warehouse.select(
      `SELECT ${bucket} AS bucket_ms, ${betFigures} FROM ${F} WHERE ${betsWhere} GROUP BY bucket_ms`,
    ),
    warehouse.select(`SELECT ${betFigures} FROM ${F} WHERE ${betsWhere}`),
    warehouse.select(
      `SELECT ${bucket} AS bucket_ms, ${settleFigures} FROM ${F} WHERE ${settleWhere} GROUP BY bucket_ms`,
    ),
    warehouse.select(
      `SELECT market_id, occurred_at_ms FROM ${F} WHERE ${settledKinds} AND currency = ${cur} AND ${range}${channel}`,
    ),
    warehouse.select(
      `SELECT market_id, min(occurred_at_ms) AS resolved_at_ms FROM ${F}
       WHERE kind = 'market_resolved' AND market_id IN (${settledInRange}) GROUP BY market_id`,
    ),
  ]);

  const resolvedAt = new Map(
    resolutions.map((row) => [String(row.market_id), Number(toBigInt(row.resolved_at_ms))]),
  );
  const timesByBucket = new Map<number, number[]>();
  const allTimes: number[] = [];
  for (const row of completions) {
    const resolved = resolvedAt.get(String(row.market_id));
    if (resolved === undefined) continue; // canceled before resolution: no settlement time
    const completedAt = Number(toBigInt(row.occurred_at_ms));
    const start =
      Math.floor((completedAt - query.scheme.offsetMs) / query.scheme.widthMs) *
        query.scheme.widthMs +
      query.scheme.offsetMs;
    const time = Math.max(0, completedAt - resolved);
    allTimes.push(time);
    const list = timesByBucket.get(start) ?? [];
    list.push(time);
    timesByBucket.set(start, list);
  }
  const betsBy = new Map(betBuckets.map((row) => [Number(toBigInt(row.bucket_ms)), row]));
  const settleBy = new Map(settleBuckets.map((row) => [Number(toBigInt(row.bucket_ms)), row]));
  const figures = (
    startMs: number,
    endMs: number,
    bets: Record<string, unknown> | undefined,
    settle: Record<string, unknown> | undefined,
    times: readonly number[],
  ): Figures => ({
    startMs,
    endMs,
    handleMinor: toBigInt(bets?.handle_minor),
    ggrMinor: toBigInt(settle?.ggr_minor),
    commissionMinor: toBigInt(settle?.commission_minor),
    streamerShareMinor: toBigInt(settle?.streamer_share_minor),
    activeBettors: Number(toBigInt(bets?.active_bettors)),
    betsCount: Number(toBigInt(bets?.bets_count)),
    marketsSettled: Number(toBigInt(settle?.markets_settled)),
    settlementTimeP50Ms: percentile(times, 50),
    settlementTimeP95Ms: percentile(times, 95),
    settlementTimeP99Ms: percentile(times, 99),
  });
  const buckets = query.bucketStarts.map((start) =>
    figures(
      start,
      start + query.scheme.widthMs,
      betsBy.get(start),
      settleBy.get(start),
      timesByBucket.get(start) ?? [],
    ),
  );
  const settleTotals: Record<string, bigint> = {
    ggr_minor: 0n,
    commission_minor: 0n,
    streamer_share_minor: 0n,
    markets_settled: 0n,
  };
  for (const row of settleBuckets) {
    for (const key of Object.keys(settleTotals)) {
      settleTotals[key] = settleTotals[key]! + toBigInt(row[key]);
    }
  }
  const totals = figures(query.fromMs, query.toMs, betTotals[0], settleTotals, allTimes);
  const channels = await queryChannels(warehouse, query, betsWhere, settleWhere);
  return { buckets, totals, channels };
}

async function queryChannels(
  warehouse: Warehouse,
  query: MetricsQuery,
  betsWhere: string,
  settleWhere: string,
): Promise<ChannelRevenue[]> {
  const F = warehouse.dialect.facts;
  const [handles, revenue] = await Promise.all([
    warehouse.select(
      `SELECT channel_id, sum(amount_minor) AS handle_minor FROM ${F} WHERE ${betsWhere} GROUP BY channel_id`,
    ),
    warehouse.select(
      `SELECT channel_id, sum(amount_minor) AS ggr_minor, sum(commission_minor) AS commission_minor,
         sum(streamer_share_minor) AS streamer_share_minor,
         sum(CASE WHEN kind IN ('settled', 'refunded') THEN 1 ELSE 0 END) AS markets_settled
       FROM ${F} WHERE ${settleWhere} GROUP BY channel_id`,
    ),
  ]);
  const byChannel = new Map<string, ChannelRevenue>();
  const entry = (channelId: string): ChannelRevenue =>
    byChannel.get(channelId) ?? {
      channelId,
      ownerUserId: '',
      handleMinor: 0n,
      ggrMinor: 0n,
      commissionMinor: 0n,
      streamerShareMinor: 0n,
      marketsSettled: 0,
    };
  for (const row of handles) {
    const id = String(row.channel_id);
    if (id === '') continue;
    byChannel.set(id, { ...entry(id), handleMinor: toBigInt(row.handle_minor) });
  }
  for (const row of revenue) {
    const id = String(row.channel_id);
    if (id === '') continue;
    byChannel.set(id, {
      ...entry(id),
      ggrMinor: toBigInt(row.ggr_minor),
      commissionMinor: toBigInt(row.commission_minor),
      streamerShareMinor: toBigInt(row.streamer_share_minor),
      marketsSettled: Number(toBigInt(row.markets_settled)),
    });
  }
  const top = [...byChannel.values()]
    .sort((a, b) =>
      a.ggrMinor !== b.ggrMinor
        ? a.ggrMinor > b.ggrMinor
          ? -1
          : 1
        : a.handleMinor !== b.handleMinor
          ? a.handleMinor > b.handleMinor
            ? -1
            : 1
          : a.channelId < b.channelId
            ? -1
            : 1,
    )
    .slice(0, query.channelLimit);
  if (top.length === 0) return top;
  const owners = await warehouse.select(
    `SELECT channel_id, max(user_id) AS owner_user_id FROM ${F}
     WHERE kind = 'market_created' AND channel_id IN (${top.map((c) => literal(c.channelId)).join(', ')})
     GROUP BY channel_id`,
  );
  const ownerOf = new Map(owners.map((row) => [String(row.channel_id), String(row.owner_user_id)]));
  return top.map((c) => ({ ...c, ownerUserId: ownerOf.get(c.channelId) ?? '' }));
}
