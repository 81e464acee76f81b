/**
 * The integration service for other packages' tests: its migrations on a given database and its RPCs on
 * an in-memory Connect transport behind the production interceptor stack and its access policy.
 * Its handlers arrive with the streaming platform integrations issue; until then, exactly as app.ts serves the
 * contract, every RPC a caller is allowed to make answers UNIMPLEMENTED.
 */
import {
  createClient,
  createRouterTransport,
  type Client,
  type Transport,
} from '@connectrpc/connect';
import { IntegrationService } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import { platformMigrations } from '@streambet/platform/outbox/index';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { testServerInterceptors } from '@streambet/testkit/rpc';
import type { TestTokens } from '@streambet/testkit/tokens';
import { integrationMigrations } from './migrations/index.js';
import { integrationPolicy } from './policy.js';

/** Inputs of {@link createIntegrationTestService}. */
export interface IntegrationTestServiceOptions {
  /** The service's database, migrated here; omit it when the test needs only the RPCs. */
  readonly sql?: Sql;
  /** Keys the interceptors' auth verifies callers' tokens with. */
  readonly tokens: TestTokens;
}

/** The integration service's RPCs in memory, and a client of them. */
export interface IntegrationTestService {
  readonly transport: Transport;
  readonly integration: Client<typeof IntegrationService>;
}

/** Migrates `options.sql` (when given) and serves the integration service on an in-memory transport. */
export async function createIntegrationTestService(
  options: IntegrationTestServiceOptions,
): Promise<IntegrationTestService> {
  if (options.sql !== undefined) {
    await migrate(options.sql, 'integration', [...platformMigrations, ...integrationMigrations]);
  }
  const transport = createRouterTransport((router) => router.service(IntegrationService, {}), {
    router: {
      interceptors: testServerInterceptors(options.tokens, integrationPolicy, 'integration'),
    },
  });
  return { transport, integration: createClient(IntegrationService, transport) };
}
