/**
 * The realtime service for other packages' tests: its real store, chat and fan-out on a given
 * database, RealtimeService and RealtimeInternalService behind the production interceptor stack
 * on an in-memory Connect transport. Instead of socket.io rooms, pushes land in `emitted`, in
 * delivery order. Nothing here opens a port or reads the environment.
 */
import {
  createClient,
  createRouterTransport,
  type Client,
  type Transport,
} from '@connectrpc/connect';
import {
  RealtimeInternalService,
  RealtimeService,
} from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import type { Cache } from '@streambet/platform/cache/types';
import { platformMigrations } from '@streambet/platform/outbox/index';
import type { Clock } from '@streambet/platform/rpc/clock';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { testLogger, testServerInterceptors } from '@streambet/testkit/rpc';
import type { TestTokens } from '@streambet/testkit/tokens';
import { createChat, type Chat } from './chat.js';
import { defaultRealtimeSettings, type RealtimeSettings } from './config.js';
import { createFanout, type Fanout } from './fanout.js';
import { realtimeMigrations } from './migrations/index.js';
import { realtimePolicy } from './policy.js';
import { createRealtimeInternalServiceImpl, createRealtimeServiceImpl } from './routes.js';
import { createRealtimeStore, type RealtimeStore } from './store.js';

/** Inputs of {@link createRealtimeTestService}. */
export interface RealtimeTestServiceOptions {
  /** The realtime service's database; migrated here (platform + realtime migrations). */
  readonly sql: Sql;
  readonly clock: Clock;
  /** Keys the interceptors' auth verifies callers' tokens with. */
  readonly tokens: TestTokens;
  /** Default: the in-process cache on `clock`. */
  readonly cache?: Cache;
  readonly settings?: RealtimeSettings;
}

/** One push the fan-out delivered to a room. */
export interface EmittedPush {
  readonly room: string;
  readonly event: string;
  readonly payload: unknown;
}

/** The realtime service's real pieces on one database, and clients of its RPCs. */
export interface RealtimeTestService {
  readonly store: RealtimeStore;
  readonly chat: Chat;
  readonly fanout: Fanout;
  /** Every push delivered so far, oldest first. */
  readonly emitted: EmittedPush[];
  readonly transport: Transport;
  readonly realtime: Client<typeof RealtimeService>;
  readonly internal: Client<typeof RealtimeInternalService>;
  /** Stops the fan-out's conflation timer. */
  close(): void;
}

/** Migrates `sql` and serves the realtime service's real handlers on an in-memory transport. */
export async function createRealtimeTestService(
  options: RealtimeTestServiceOptions,
): Promise<RealtimeTestService> {
  const { sql, clock, tokens } = options;
  const settings = options.settings ?? defaultRealtimeSettings;
  await migrate(sql, 'realtime', [...platformMigrations, ...realtimeMigrations]);
  const logger = testLogger('realtime');
  const store = createRealtimeStore(sql);
  const emitted: EmittedPush[] = [];
  const fanout = createFanout({
    emit: (room, event, payload) => emitted.push({ room, event, payload }),
    clock,
    conflationIntervalMs: settings.conflationIntervalMs,
  });
  const chat = createChat({
    store,
    cache: options.cache ?? createMemoryCache({ now: () => clock.now() }),
    clock,
    fanout,
    logger,
  });
  const transport = createRouterTransport(
    (router) => {
      router.service(RealtimeService, createRealtimeServiceImpl({ chat }));
      router.service(RealtimeInternalService, createRealtimeInternalServiceImpl({ fanout }));
    },
    {
      router: { interceptors: testServerInterceptors(tokens, realtimePolicy, 'realtime', logger) },
    },
  );
  return {
    store,
    chat,
    fanout,
    emitted,
    transport,
    realtime: createClient(RealtimeService, transport),
    internal: createClient(RealtimeInternalService, transport),
    close: () => fanout.close(),
  };
}
