/**
 * Test harness of the pool's int tests: a fresh database per target with the platform's and the
 * pool's migrations, PoolService and PoolInternalService behind the production interceptor stack
 * (auth with real signed tokens) on an in-memory Connect transport, a manual service clock, the
 * in-process cache, and the consumers' handlers run through the real inbox (handleOnce).
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import type { Code } from '@connectrpc/connect';
import {
  ConnectError,
  createClient,
  createRouterTransport,
  type Client,
} from '@connectrpc/connect';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { ChannelLinkedSchema } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import type { CreateMarketRequestSchema } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  MarketKind,
  PoolInternalService,
  PoolService,
  type Market,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { authInterceptor } from '@streambet/platform/auth/auth-interceptor';
import type { UserRole } from '@streambet/platform/auth/caller';
import {
  createServiceTokenVerifier,
  createUserTokenVerifier,
} from '@streambet/platform/auth/tokens';
import { createMemoryCache, type MemoryCache } from '@streambet/platform/cache/memory';
import { createLogger } from '@streambet/platform/log/logger';
import { createMetricsRegistry } from '@streambet/platform/obs/metrics';
import { handleOnce } from '@streambet/platform/outbox/inbox';
import { platformMigrations } from '@streambet/platform/outbox/index';
import { createServerInterceptors } from '@streambet/platform/rpc/interceptors';
import { migrate } from '@streambet/platform/sql/migrate';
import type { SqlTarget, SqlTestDatabase } from '@streambet/testkit/sql';
import {
  createTestTokens,
  testTokenAudience,
  testTokenIssuer,
  type TestTokens,
} from '@streambet/testkit/tokens';
import { defaultPoolSettings, type PoolSettings } from '../src/config.js';
import {
  createIntegrationHandler,
  createLeaderboardHandler,
  createProjectionHandler,
} from '../src/consumers.js';
import { createProjections, type Projections } from '../src/projections.js';
import type { Downstreams } from '../src/downstreams.js';
import { createLeaderboards, type Leaderboards } from '../src/leaderboards.js';
import { poolMigrations } from '../src/migrations/index.js';
import { poolPolicy } from '../src/policy.js';
import { createPoolInternalServiceImpl, createPoolServiceImpl } from '../src/routes.js';
import { createPoolStore, type PoolStore } from '../src/store.js';

/** 2026-11-23T12:00:00Z (a Monday): every harness starts here. */
export const startMs = Date.UTC(2026, 10, 23, 12, 0, 0);

/** A clock tests move by hand. */
export interface ManualClock {
  now(): number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function manualClock(start = startMs): ManualClock {
  let nowMs = start;
  return {
    now: () => nowMs,
    set: (ms) => (nowMs = ms),
    advance: (ms) => (nowMs += ms),
  };
}

/** Settings of every test: the deployment's, with BRL as the real currency. */
export const testSettings: PoolSettings = { ...defaultPoolSettings, realCurrency: 'BRL' };

/** Call options of a caller. */
export interface CallOptions {
  readonly headers: { authorization: string };
}

export interface Harness {
  readonly db: SqlTestDatabase;
  readonly clock: ManualClock;
  readonly cache: MemoryCache;
  readonly store: PoolStore;
  readonly leaderboards: Leaderboards;
  readonly pool: Client<typeof PoolService>;
  readonly internal: Client<typeof PoolInternalService>;
  readonly tokens: TestTokens;
  /** Call options of a user acting in `role`. */
  as(userId: string, role: UserRole): Promise<CallOptions>;
  /** Call options of another service (internal RPCs). */
  service(name?: string): Promise<CallOptions>;
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
  readonly projections: Projections;
  /** Links a channel to its owner as the integration service's ChannelLinked would. */
  linkChannel(channelId: string, ownerUserId: string, platform?: Platform): Promise<void>;
  /** Outbox rows of one key (market or channel id), oldest first. */
  outbox(key: string): Promise<Array<{ type: string; payload: Uint8Array; topic: string }>>;
  dispose(): Promise<void>;
}

let eventCounter = 0;

export async function createHarness(
  target: SqlTarget,
  settings: PoolSettings = testSettings,
  downstreams: Downstreams = {},
): Promise<Harness> {
  const db = await target.create();
  await migrate(db.sql, 'pool', [...platformMigrations, ...poolMigrations]);
  const clock = manualClock();
  const cache = createMemoryCache({ now: () => clock.now() });
  const store = createPoolStore({ sql: db.sql, clock, settings });
  const leaderboards = createLeaderboards({ sql: db.sql, cache });
  const projections = createProjections(db.sql);
  const logger = createLogger({ service: 'pool', level: 'silent' });
  const tokens = await createTestTokens();
  const serviceJwks = JSON.parse(tokens.serviceEnv.SERVICE_TOKEN_PUBLIC_JWKS) as {
    keys: Array<Record<string, unknown>>;
  };
  const transport = createRouterTransport(
    (router) => {
      router.service(
        PoolService,
        createPoolServiceImpl({ store, leaderboards, projections, clock, downstreams }),
      );
      router.service(PoolInternalService, createPoolInternalServiceImpl({ store }));
    },
    {
      router: {
        interceptors: createServerInterceptors({
          logger,
          registry: createMetricsRegistry({ service: 'pool', collectDefaultMetrics: false }),
          auth: authInterceptor({
            verifyUserToken: createUserTokenVerifier({
              jwks: tokens.userJwks,
              issuer: testTokenIssuer,
              audience: testTokenAudience,
            }),
            verifyServiceToken: createServiceTokenVerifier({ publicJwks: serviceJwks }),
            policy: poolPolicy,
          }),
        }),
      },
    },
  );
  const integration = createIntegrationHandler({ store, leaderboards, clock, logger });
  const settlement = createLeaderboardHandler({ leaderboards, clock });
  const projection = createProjectionHandler({ projections });

  const harness: Harness = {
    db,
    clock,
    cache,
    store,
    leaderboards,
    pool: createClient(PoolService, transport),
    internal: createClient(PoolInternalService, transport),
    tokens,
    async as(userId, role) {
      return { headers: await tokens.userHeaders(userId, role) };
    },
    async service(name = 'bet-engine') {
      return { headers: { authorization: `Bearer ${await tokens.serviceToken(name)}` } };
    },
    integrationEvent(eventId, schema, init) {
      const payload = toBinary(schema, create(schema, init));
      return handleOnce(db.sql, 'pool.integration', { id: eventId }, (tx) =>
        integration(schema.typeName, payload, tx, clock.now()),
      );
    },
    settlementEvent(eventId, schema, init) {
      const payload = toBinary(schema, create(schema, init));
      return handleOnce(db.sql, 'pool.leaderboard', { id: eventId }, (tx) =>
        settlement(schema.typeName, payload, tx),
      );
    },
    projectionEvent(eventId, schema, init) {
      const payload = toBinary(schema, create(schema, init));
      return handleOnce(db.sql, 'pool.projections', { id: eventId }, (tx) =>
        projection(schema.typeName, payload, tx),
      );
    },
    projections,
    async linkChannel(channelId, ownerUserId, platform = Platform.TWITCH) {
      eventCounter += 1;
      await harness.integrationEvent(`link-${eventCounter}-${channelId}`, ChannelLinkedSchema, {
        channelId,
        ownerUserId,
        platform,
        platformChannelId: `p-${channelId}`,
        handle: channelId.toLowerCase(),
        displayName: channelId,
      });
    },
    async outbox(key) {
      const result = await db.sql.query<{ type: string; payload: Uint8Array; topic: string }>(
        'SELECT type, payload, topic FROM outbox WHERE key = $1 ORDER BY seq',
        [key],
      );
      return result.rows;
    },
    dispose: () => db.dispose(),
  };
  return harness;
}

/** The Connect code and raw message of a failing call. */
export async function failure(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    return { code: connectError.code, message: connectError.rawMessage };
  }
  throw new Error('call unexpectedly succeeded');
}

let keyCounter = 0;

/** A valid CreateMarket request on `channelId`, overridable field by field. */
export function marketRequest(
  channelId: string,
  overrides: MessageInitShape<typeof CreateMarketRequestSchema> = {},
): MessageInitShape<typeof CreateMarketRequestSchema> {
  keyCounter += 1;
  return {
    idempotencyKey: `key-${keyCounter}`,
    channelId,
    title: 'Will she win this match?',
    outcomes: [{ title: 'Yes' }, { title: 'No' }],
    currency: 'PTS',
    kind: MarketKind.POOL,
    bettingWindowSeconds: 120,
    ...overrides,
  };
}

/** Outcome id by index of a market. */
export function outcomeId(market: Market | undefined, index: number): string {
  const id = market?.outcomes[index]?.outcomeId;
  if (id === undefined) throw new Error(`market has no outcome ${index}`);
  return id;
}
