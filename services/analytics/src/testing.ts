/**
 * The analytics service for other packages' tests: its migrations on a given database, its RPCs on
 * an in-memory Connect transport behind the production interceptor stack and its access policy,
 * and its consumers to feed events with (`ingest`: the warehouse sink, and the audit log and the
 * fraud rules through the inbox when a database is given), exactly as the bus consumers do.
 * Without a database only the access policy answers (handlers need the warehouse).
 */
import {
  createClient,
  createRouterTransport,
  type Client,
  type Transport,
} from '@connectrpc/connect';
import { AnalyticsService } from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { platformMigrations } from '@streambet/platform/outbox/index';
import type { Clock } from '@streambet/platform/rpc/clock';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { testServerInterceptors } from '@streambet/testkit/rpc';
import type { TestTokens } from '@streambet/testkit/tokens';
import { handleOnce } from '@streambet/platform/outbox/inbox';
import { createAuditConsumer } from './consumers.js';
import type { FraudThresholds } from './domain/fraud.js';
import { createFraudConsumer } from './fraud/consumer.js';
import { analyticsMigrations } from './migrations/index.js';
import { analyticsPolicy } from './policy.js';
import { createAnalyticsServiceImpl } from './routes.js';
import { createWarehouseSink } from './sink.js';
import { createSqlWarehouse } from './warehouse/sql-warehouse.js';
import type { Warehouse } from './warehouse/warehouse.js';

/** Inputs of {@link createAnalyticsTestService}. */
export interface AnalyticsTestServiceOptions {
  /** The service's database, migrated here; omit it when the test needs only the access policy. */
  readonly sql?: Sql;
  /** Another warehouse than the SQL one on `sql` (e.g. a ClickHouse test database). */
  readonly warehouse?: Warehouse;
  /** Keys the interceptors' auth verifies callers' tokens with. */
  readonly tokens: TestTokens;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** The fraud rules' thresholds; default: the configuration's defaults. */
  readonly fraudThresholds?: FraudThresholds;
}

/** The fraud thresholds of the configuration's defaults (config.ts). */
export const defaultFraudThresholds: FraudThresholds = {
  lateBetWindowMs: 10_000,
  lateBetMinAccounts: 3,
  cyclingLookbackMs: 72 * 3_600_000,
  cyclingMinDepositMinor: 10_000n,
  cyclingMaxStakeBps: 2000,
  cyclingMinWithdrawBps: 8000,
  velocityWindowMs: 60_000,
  velocityMaxBets: 30,
  retroVoidLookbackMs: 168 * 3_600_000,
  retroVoidMinCount: 3,
};

/** The analytics service's RPCs in memory, and a client of them. */
export interface AnalyticsTestService {
  readonly transport: Transport;
  readonly analytics: Client<typeof AnalyticsService>;
  /** Stores events in the warehouse as the bus consumer would (resolves once stored). */
  ingest(events: readonly EventEnvelope[]): Promise<void>;
}

/** Migrates `options.sql` (when given) and serves the analytics service on an in-memory transport. */
export async function createAnalyticsTestService(
  options: AnalyticsTestServiceOptions,
): Promise<AnalyticsTestService> {
  if (options.sql !== undefined) {
    await migrate(options.sql, 'analytics', [...platformMigrations, ...analyticsMigrations]);
  }
  const warehouse =
    options.warehouse ?? (options.sql === undefined ? undefined : createSqlWarehouse(options.sql));
  const clock = options.clock ?? { now: () => Date.now() };
  const sink =
    warehouse === undefined
      ? undefined
      : createWarehouseSink({
          warehouse,
          batchRows: 1000,
          flushMs: 0,
          maxBufferedEvents: 1_000_000,
          retryMs: 100,
        });
  const audit = createAuditConsumer({ clock });
  const fraud = createFraudConsumer({
    thresholds: options.fraudThresholds ?? defaultFraudThresholds,
    clock,
  });
  const transport = createRouterTransport(
    (router) =>
      router.service(
        AnalyticsService,
        warehouse === undefined
          ? {}
          : createAnalyticsServiceImpl({
              warehouse,
              clock,
              ingestLagMs: 0,
              ...(options.sql === undefined ? {} : { sql: options.sql }),
            }),
      ),
    {
      router: {
        interceptors: testServerInterceptors(options.tokens, analyticsPolicy, 'analytics'),
      },
    },
  );
  return {
    transport,
    analytics: createClient(AnalyticsService, transport),
    async ingest(events) {
      if (sink === undefined)
        throw new Error('createAnalyticsTestService: no warehouse (pass sql)');
      await Promise.all(events.map((event) => sink.accept(event)));
      if (options.sql === undefined || !('handle' in audit) || !('handle' in fraud)) return;
      for (const event of events) {
        await handleOnce(options.sql, 'analytics.audit', event, (tx) => audit.handle(event, tx));
        if (fraud.topics.includes(event.topic)) {
          await handleOnce(options.sql, 'analytics.fraud', event, (tx) => fraud.handle(event, tx));
        }
      }
    },
  };
}

/** The sink and the ClickHouse warehouse, for the sink bench (`npm run bench -- sink`). */
export { createWarehouseSink } from './sink.js';
export {
  createClickHouseWarehouse,
  eventJson,
  factJson,
} from './warehouse/clickhouse-warehouse.js';
export { createWarehouseConsumer } from './consumers.js';
export { toWarehouseRows } from './domain/facts.js';
