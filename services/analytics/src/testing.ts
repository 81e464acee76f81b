/**
 * The analytics service for other packages' tests: its migrations on a given database and its RPCs on
 * an in-memory Connect transport behind the production interceptor stack and its access policy.
 * Its handlers arrive with the analytics and fraud flags issue; until then, exactly as app.ts serves the
 * contract, every RPC a caller is allowed to make answers UNIMPLEMENTED.
 */
import {
  createClient,
  createRouterTransport,
  type Client,
  type Transport,
} from '@connectrpc/connect';
import { AnalyticsService } from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { platformMigrations } from '@streambet/platform/outbox/index';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { testServerInterceptors } from '@streambet/testkit/rpc';
import type { TestTokens } from '@streambet/testkit/tokens';
import { analyticsMigrations } from './migrations/index.js';
import { analyticsPolicy } from './policy.js';

/** Inputs of {@link createAnalyticsTestService}. */
export interface AnalyticsTestServiceOptions {
  /** The service's database, migrated here; omit it when the test needs only the RPCs. */
  readonly sql?: Sql;
  /** Keys the interceptors' auth verifies callers' tokens with. */
  readonly tokens: TestTokens;
}

/** The analytics service's RPCs in memory, and a client of them. */
export interface AnalyticsTestService {
  readonly transport: Transport;
  readonly analytics: Client<typeof AnalyticsService>;
}

/** Migrates `options.sql` (when given) and serves the analytics service on an in-memory transport. */
export async function createAnalyticsTestService(
  options: AnalyticsTestServiceOptions,
): Promise<AnalyticsTestService> {
  if (options.sql !== undefined) {
    await migrate(options.sql, 'analytics', [...platformMigrations, ...analyticsMigrations]);
  }
  const transport = createRouterTransport((router) => router.service(AnalyticsService, {}), {
    router: { interceptors: testServerInterceptors(options.tokens, analyticsPolicy, 'analytics') },
  });
  return { transport, analytics: createClient(AnalyticsService, transport) };
}
