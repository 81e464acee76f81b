import { Counter, Gauge, Histogram } from 'prom-client';
import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import { AnalyticsService } from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { fraudThresholdsOf, type AnalyticsConfig } from './config.js';
import { createFraudConsumer } from './fraud/consumer.js';
import { createAuditConsumer, createSinkTask, createWarehouseConsumer } from './consumers.js';
import { analyticsMigrations } from './migrations/index.js';
import { analyticsPolicy } from './policy.js';
import { createAnalyticsServiceImpl } from './routes.js';
import { createWarehouseSink } from './sink.js';
import { createClickHouseWarehouse } from './warehouse/clickhouse-warehouse.js';
import { createSqlWarehouse } from './warehouse/sql-warehouse.js';
import type { Warehouse } from './warehouse/warehouse.js';

/**
 * The analytics service: a sink of every event family into the warehouse (ClickHouse when
 * ANALYTICS_CLICKHOUSE_URL is set, else the service's own SQL database) and GetMetrics over it;
 * the hash-chained audit log of every regulated state change (QueryAuditLog); the fraud rules over
 * the event stream, whose flags admins list and resolve (ListFraudFlags, ResolveFraudFlag).
 */
export const analyticsService: ServiceDefinition<AnalyticsConfig> = {
  name: 'analytics',
  migrations: analyticsMigrations,
  async create(ctx) {
    const config = ctx.config;
    const clickhouse = config.ANALYTICS_CLICKHOUSE_URL !== '';
    const warehouse: Warehouse = clickhouse
      ? await createClickHouseWarehouse({
          url: config.ANALYTICS_CLICKHOUSE_URL,
          database: config.ANALYTICS_CLICKHOUSE_DATABASE,
        })
      : createSqlWarehouse(ctx.sql);
    const flushMs = clickhouse ? config.ANALYTICS_SINK_FLUSH_MS : 0;
    const registers = [ctx.registry];
    const written = new Counter({
      name: 'analytics_sink_events_written_total',
      help: 'Events the sink stored in the warehouse',
      registers,
    });
    const batchSeconds = new Histogram({
      name: 'analytics_sink_write_seconds',
      help: 'Time of one warehouse insert (one batch)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    const failures = new Counter({
      name: 'analytics_sink_write_failures_total',
      help: 'Warehouse inserts that failed (the batch stays buffered and is retried)',
      registers,
    });
    const refused = new Counter({
      name: 'analytics_sink_refused_total',
      help: 'Events refused because the sink buffer was full (left to the bus for redelivery)',
      registers,
    });
    const sink = createWarehouseSink({
      warehouse,
      batchRows: config.ANALYTICS_SINK_BATCH_ROWS,
      flushMs,
      idleFlushMs: config.ANALYTICS_SINK_IDLE_FLUSH_MS,
      maxConcurrentWrites: clickhouse ? config.ANALYTICS_SINK_WRITERS : 1,
      maxBufferedEvents: config.ANALYTICS_SINK_BUFFER_EVENTS,
      retryMs: config.ANALYTICS_SINK_RETRY_MS,
      now: () => ctx.clock.now(),
      observer: {
        written: (events, durationMs) => {
          written.inc(events);
          batchSeconds.observe(durationMs / 1000);
        },
        writeFailed: (events, error) => {
          failures.inc();
          ctx.logger.warn({ err: error, events }, 'warehouse insert failed; will retry');
        },
        refused: () => refused.inc(),
      },
    });
    new Gauge({
      name: 'analytics_sink_buffered_events',
      help: 'Events held by the sink (buffered or being written)',
      registers,
      collect() {
        this.set(sink.buffered);
      },
    });
    return {
      routes(router) {
        router.service(
          AnalyticsService,
          createAnalyticsServiceImpl({
            warehouse,
            clock: ctx.clock,
            ingestLagMs: flushMs,
            sinkHealthy: () => sink.healthy,
            sql: ctx.sql,
          }),
        );
      },
      policy: analyticsPolicy,
      consumers: [
        createWarehouseConsumer(sink),
        createAuditConsumer({ clock: ctx.clock, sql: ctx.sql }),
        createFraudConsumer({
          thresholds: fraudThresholdsOf(config),
          clock: ctx.clock,
          sql: ctx.sql,
          onFlagRaised: () => ctx.outboxCommitted(),
        }),
      ],
      tasks: [createSinkTask(sink)],
      readiness: { warehouse: () => warehouse.ping() },
      stop: () => warehouse.close(),
    };
  },
};
