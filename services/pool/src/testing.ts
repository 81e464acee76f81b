/**
 * The pool service for other packages' tests: its real store, routes and consumer handlers on a
 * given database, PoolService and PoolInternalService behind the production interceptor stack
 * (auth with really signed test tokens) on an in-memory Connect transport. Nothing here opens a
 * port or reads the environment.
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import {
  createClient,
  createRouterTransport,
  type Client,
  type Transport,
} from '@connectrpc/connect';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { ChannelLinkedSchema } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import {
  MarketKind,
  PoolInternalService,
  PoolService,
  type CreateMarketRequestSchema,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { createMemoryCache, type MemoryCache } from '@streambet/platform/cache/memory';
import { handleOnce } from '@streambet/platform/outbox/inbox';
import { platformMigrations } from '@streambet/platform/outbox/index';
import type { Clock } from '@streambet/platform/rpc/clock';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { testLogger, testServerInterceptors } from '@streambet/testkit/rpc';
import type { TestTokens } from '@streambet/testkit/tokens';
import { defaultPoolSettings, type PoolSettings } from './config.js';
import {
  createIntegrationHandler,
  createLeaderboardHandler,
  createProjectionHandler,
} from './consumers.js';
import type { Downstreams } from './downstreams.js';
import { createLeaderboards, type Leaderboards } from './leaderboards.js';
import { poolMigrations } from './migrations/index.js';
import { poolPolicy } from './policy.js';
import { createProjections, type Projections } from './projections.js';
import { createPoolInternalServiceImpl, createPoolServiceImpl } from './routes.js';
import { createPoolStore, type PoolStore } from './store.js';
import { createTemplateStore, type TemplateStore } from './templates.js';

/** Settings of tests: the deployment's, with BRL as the real currency. */
export const testPoolSettings: PoolSettings = { ...defaultPoolSettings, realCurrency: 'BRL' };

/** Inputs of {@link createPoolTestService}. */
export interface PoolTestServiceOptions {
  /** The pool's database; migrated here (platform + pool migrations). */
  readonly sql: Sql;
  readonly clock: Clock;
  /** Keys the transport's auth verifies callers' tokens with. */
  readonly tokens: TestTokens;
  readonly settings?: PoolSettings;
  readonly downstreams?: Downstreams;
}

/** The pool's real pieces on one database, and clients of its RPCs. */
export interface PoolTestService {
  readonly cache: MemoryCache;
  readonly store: PoolStore;
  readonly templates: TemplateStore;
  readonly leaderboards: Leaderboards;
  readonly projections: Projections;
  /** PoolService and PoolInternalService, production interceptors, in memory. */
  readonly transport: Transport;
  readonly pool: Client<typeof PoolService>;
  readonly internal: Client<typeof PoolInternalService>;
  /** Delivers an integration event through the inbox; false when it was a duplicate. */
  integrationEvent<D extends DescMessage>(
    eventId: string,
    schema: D,
    init: MessageInitShape<D>,
  ): Promise<boolean>;
  /** Delivers a settlement event to the leaderboard consumer through the inbox. */
  settlementEvent<D extends DescMessage>(
    eventId: string,
    schema: D,
    init: MessageInitShape<D>,
  ): Promise<boolean>;
  /** Delivers an odds or user event to the projections consumer through the inbox. */
  projectionEvent<D extends DescMessage>(
    eventId: string,
    schema: D,
    init: MessageInitShape<D>,
  ): Promise<boolean>;
  /** Links a channel to its owner as the integration service's ChannelLinked does. */
  linkChannel(channelId: string, ownerUserId: string, platform?: Platform): Promise<void>;
}

let linkCounter = 0;

/** Migrates `sql` and serves the pool's real handlers on an in-memory transport. */
export async function createPoolTestService(
  options: PoolTestServiceOptions,
): Promise<PoolTestService> {
  const { sql, clock, tokens } = options;
  const settings = options.settings ?? testPoolSettings;
  await migrate(sql, 'pool', [...platformMigrations, ...poolMigrations]);
  const cache = createMemoryCache({ now: () => clock.now() });
  const store = createPoolStore({ sql, clock, settings });
  const leaderboards = createLeaderboards({ sql, cache });
  const projections = createProjections(sql);
  const templates = createTemplateStore({ sql, clock, store });
  const logger = testLogger('pool');
  const downstreams = options.downstreams ?? {};
  const transport = createRouterTransport(
    (router) => {
      router.service(
        PoolService,
        createPoolServiceImpl({
          store,
          leaderboards,
          projections,
          clock,
          downstreams,
          templates,
        }),
      );
      router.service(PoolInternalService, createPoolInternalServiceImpl({ store }));
    },
    { router: { interceptors: testServerInterceptors(tokens, poolPolicy, 'pool', logger) } },
  );
  const integration = createIntegrationHandler({ store, leaderboards, clock, logger });
  const settlement = createLeaderboardHandler({ leaderboards, clock });
  const projection = createProjectionHandler({ projections });

  const service: PoolTestService = {
    cache,
    store,
    templates,
    leaderboards,
    projections,
    transport,
    pool: createClient(PoolService, transport),
    internal: createClient(PoolInternalService, transport),
    integrationEvent(eventId, schema, init) {
      const payload = toBinary(schema, create(schema, init));
      return handleOnce(sql, 'pool.integration', { id: eventId }, (tx) =>
        integration(schema.typeName, payload, tx, clock.now()),
      );
    },
    settlementEvent(eventId, schema, init) {
      const payload = toBinary(schema, create(schema, init));
      return handleOnce(sql, 'pool.leaderboard', { id: eventId }, (tx) =>
        settlement(schema.typeName, payload, tx),
      );
    },
    projectionEvent(eventId, schema, init) {
      const payload = toBinary(schema, create(schema, init));
      return handleOnce(sql, 'pool.projections', { id: eventId }, (tx) =>
        projection(schema.typeName, payload, tx),
      );
    },
    async linkChannel(channelId, ownerUserId, platform = Platform.TWITCH) {
      linkCounter += 1;
      await service.integrationEvent(`link-${linkCounter}-${channelId}`, ChannelLinkedSchema, {
        channelId,
        ownerUserId,
        platform,
        platformChannelId: `p-${channelId}`,
        handle: channelId.toLowerCase(),
        displayName: channelId,
      });
    },
  };
  return service;
}

let requestCounter = 0;

/** A valid CreateMarket request on `channelId`, overridable field by field. */
export function marketRequest(
  channelId: string,
  overrides: MessageInitShape<typeof CreateMarketRequestSchema> = {},
): MessageInitShape<typeof CreateMarketRequestSchema> {
  requestCounter += 1;
  return {
    idempotencyKey: `key-${requestCounter}`,
    channelId,
    title: 'Will she win this match?',
    outcomes: [{ title: 'Yes' }, { title: 'No' }],
    currency: 'PTS',
    kind: MarketKind.POOL,
    bettingWindowSeconds: 120,
    ...overrides,
  };
}
