/**
 * Test harness of the pool's int tests: a fresh database per target with the platform's and the
 * pool's migrations, PoolService and PoolInternalService behind the production interceptor stack
 * (auth with real signed tokens) on an in-memory Connect transport, a manual service clock, the
 * in-process cache, and the consumers' handlers run through the real inbox (handleOnce).
 */
import type { DescMessage, MessageInitShape } from '@bufbuild/protobuf';
import type { Code } from '@connectrpc/connect';
import { ConnectError, type Client } from '@connectrpc/connect';
import type { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import type {
  Market,
  PoolInternalService,
  PoolService,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { UserRole } from '@streambet/platform/auth/caller';
import type { MemoryCache } from '@streambet/platform/cache/memory';
import { manualClock, type ManualClock } from '@streambet/testkit/clock';
import { asService, asUser, type CallOptions } from '@streambet/testkit/rpc';
import type { SqlTarget, SqlTestDatabase } from '@streambet/testkit/sql';
import { createTestTokens, type TestTokens } from '@streambet/testkit/tokens';
import type { PoolSettings } from '../src/config.js';
import type { Downstreams } from '../src/downstreams.js';
import type { Leaderboards } from '../src/leaderboards.js';
import type { Projections } from '../src/projections.js';
import type { PoolStore } from '../src/store.js';
import { createPoolTestService, testPoolSettings } from '../src/testing.js';

export { marketRequest } from '../src/testing.js';
export { manualClock, testEpochMs as startMs, type ManualClock } from '@streambet/testkit/clock';
export type { CallOptions } from '@streambet/testkit/rpc';

/** Settings of every test: the deployment's, with BRL as the real currency. */
export const testSettings: PoolSettings = testPoolSettings;

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

/** A fresh database of `target` with the pool's real handlers on an in-memory transport. */
export async function createHarness(
  target: SqlTarget,
  settings: PoolSettings = testSettings,
  downstreams: Downstreams = {},
): Promise<Harness> {
  const db = await target.create();
  const clock = manualClock();
  const tokens = await createTestTokens();
  const pool = await createPoolTestService({ sql: db.sql, clock, tokens, settings, downstreams });
  return {
    db,
    clock,
    cache: pool.cache,
    store: pool.store,
    leaderboards: pool.leaderboards,
    pool: pool.pool,
    internal: pool.internal,
    tokens,
    as: (userId, role) => asUser(tokens, userId, role),
    service: (name = 'bet-engine') => asService(tokens, name),
    integrationEvent: (eventId, schema, init) => pool.integrationEvent(eventId, schema, init),
    settlementEvent: (eventId, schema, init) => pool.settlementEvent(eventId, schema, init),
    projectionEvent: (eventId, schema, init) => pool.projectionEvent(eventId, schema, init),
    projections: pool.projections,
    linkChannel: (channelId, ownerUserId, platform) =>
      pool.linkChannel(channelId, ownerUserId, platform),
    async outbox(key) {
      const result = await db.sql.query<{ type: string; payload: Uint8Array; topic: string }>(
        'SELECT type, payload, topic FROM outbox WHERE key = $1 ORDER BY seq',
        [key],
      );
      return result.rows;
    },
    dispose: () => db.dispose(),
  };
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

/** Outcome id by index of a market. */
export function outcomeId(market: Market | undefined, index: number): string {
  const id = market?.outcomes[index]?.outcomeId;
  if (id === undefined) throw new Error(`market has no outcome ${index}`);
  return id;
}
