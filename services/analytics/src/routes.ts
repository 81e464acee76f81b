/**
 * AnalyticsService: proto ↔ domain translation. Roles are checked by the access policy
 * (policy.ts: admin only). A warehouse that cannot answer is UNAVAILABLE.
 */
import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import {
  ChannelRevenueSchema,
  Granularity as ProtoGranularity,
  MetricsFiguresSchema,
  type AnalyticsService,
  type MetricsFigures,
} from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { UnavailableError } from '@streambet/platform/errors/domain-errors';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql } from '@streambet/platform/sql/types';
import { exportAuditLog } from './audit-export-routes.js';
import { queryAuditLog } from './audit-routes.js';
import { listFraudFlags, resolveFraudFlag } from './fraud-routes.js';
import { planMetricsQuery, type Granularity } from './domain/metrics.js';
import { queryMetrics, type Figures } from './metrics-query.js';
import type { Warehouse } from './warehouse/warehouse.js';

/** Dependencies of the route implementations. */
export interface RouteDeps {
  readonly warehouse: Warehouse;
  readonly clock: Clock;
  /** How far behind the bus the warehouse may be (the sink's batching delay), ms. */
  readonly ingestLagMs: number;
  /** Whether the sink's last write succeeded (metrics answer UNAVAILABLE while it fails). */
  readonly sinkHealthy?: () => boolean;
  /** The service's own database (audit log, fraud flags); without it those RPCs are not served. */
  readonly sql?: Sql;
}

const GRANULARITY: Partial<Record<ProtoGranularity, Granularity>> = {
  [ProtoGranularity.MINUTE]: 'minute',
  [ProtoGranularity.HOUR]: 'hour',
  [ProtoGranularity.DAY]: 'day',
  [ProtoGranularity.WEEK]: 'week',
};

function figuresToProto(f: Figures): MetricsFigures {
  return create(MetricsFiguresSchema, {
    startMs: BigInt(f.startMs),
    endMs: BigInt(f.endMs),
    handleMinor: f.handleMinor,
    ggrMinor: f.ggrMinor,
    commissionMinor: f.commissionMinor,
    streamerShareMinor: f.streamerShareMinor,
    activeBettors: BigInt(f.activeBettors),
    betsCount: BigInt(f.betsCount),
    marketsSettled: BigInt(f.marketsSettled),
    settlementTimeP50Ms: BigInt(f.settlementTimeP50Ms),
    settlementTimeP95Ms: BigInt(f.settlementTimeP95Ms),
    settlementTimeP99Ms: BigInt(f.settlementTimeP99Ms),
  });
}

const warehouseDown = (cause: unknown): UnavailableError =>
  new UnavailableError('the analytics warehouse is not answering; try again shortly', {
    cause,
    retryAfterMs: 5_000,
  });

/** The AnalyticsService handlers implemented so far. */
export function createAnalyticsServiceImpl(
  deps: RouteDeps,
): Partial<ServiceImpl<typeof AnalyticsService>> {
  return {
    async getMetrics(request) {
      const query = planMetricsQuery({
        fromMs: Number(request.fromMs),
        toMs: Number(request.toMs),
        granularity: GRANULARITY[request.granularity],
        currency: request.currency,
        channelId: request.channelId,
        channelLimit: request.channelLimit,
      });
      if (deps.sinkHealthy !== undefined && !deps.sinkHealthy()) {
        throw warehouseDown(new Error('the warehouse sink cannot write'));
      }
      const asOfMs = deps.clock.now() - deps.ingestLagMs;
      let result;
      try {
        result = await queryMetrics(deps.warehouse, query);
      } catch (error) {
        throw warehouseDown(error);
      }
      return {
        currency: query.currency,
        buckets: result.buckets.map(figuresToProto),
        totals: figuresToProto(result.totals),
        channelRevenue: result.channels.map((c) =>
          create(ChannelRevenueSchema, {
            channelId: c.channelId,
            ownerUserId: c.ownerUserId,
            handleMinor: c.handleMinor,
            ggrMinor: c.ggrMinor,
            commissionMinor: c.commissionMinor,
            streamerShareMinor: c.streamerShareMinor,
            marketsSettled: BigInt(c.marketsSettled),
          }),
        ),
        asOfMs: BigInt(asOfMs),
      };
    },
    ...(deps.sql === undefined
      ? {}
      : {
          queryAuditLog: (request) => queryAuditLog(deps.sql!, request),
          exportAuditLog: (request) => exportAuditLog(deps.sql!, request),
          listFraudFlags: (request) => listFraudFlags(deps.sql!, request),
          resolveFraudFlag: (request, context) =>
            resolveFraudFlag(deps.sql!, deps.clock, request, context),
        }),
  };
}
