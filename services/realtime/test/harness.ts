/**
 * Harness of the realtime int tests: the service as the platform runs it (startService: real
 * port, migrations, consumers on the in-process bus, auth with real signed tokens), socket.io
 * clients against its port, Connect clients for its RPCs, and a log capture to check that bad
 * input is logged.
 */
import { randomBytes } from 'node:crypto';
import type { DescMessage, MessageInitShape } from '@bufbuild/protobuf';
import { createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { io, type Socket } from 'socket.io-client';
import { Platform, Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { ChannelLinkedSchema } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import { MarketCreatedSchema } from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { UserRegisteredSchema } from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import {
  RealtimeInternalService,
  RealtimeService,
} from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import type { UserRole } from '@streambet/platform/auth/caller';
import { createMemoryBus } from '@streambet/platform/bus/memory';
import type { EventBus } from '@streambet/platform/bus/types';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import type { Cache } from '@streambet/platform/cache/types';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import { createLogger } from '@streambet/platform/log/logger';
import { startService, type RunningService } from '@streambet/platform/runtime/service-host';
import { manualClock, type ManualClock } from '@streambet/testkit/clock';
import { envelope } from '@streambet/testkit/events';
import type { SqlTestDatabase } from '@streambet/testkit/sql';
import { createTestTokens, type TestTokens } from '@streambet/testkit/tokens';
import { createRealtimeServiceDefinition } from '../src/app.js';
import {
  defaultRealtimeSettings,
  loadRealtimeConfig,
  type RealtimeSettings,
} from '../src/config.js';
import type { AckResponse } from '../src/socket-server.js';

/** A fresh ULID. */
export function ulid(): string {
  return encodeUlid(Date.now(), randomBytes(10));
}

/** Waits until `condition` holds (polling), failing after `timeoutMs`. */
export async function waitUntil(
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export { envelope } from '@streambet/testkit/events';

/** Options of {@link startRealtime}. */
export interface StartOptions {
  readonly settings?: RealtimeSettings;
  /** Extra config variables (CACHE=redis, REDIS_URL). */
  readonly env?: Record<string, string>;
  readonly cache?: Cache;
  readonly bus?: EventBus;
}

/** A started realtime service and its helpers. */
export interface RealtimeHarness {
  readonly service: RunningService;
  readonly url: string;
  readonly bus: EventBus;
  readonly clock: ManualClock;
  readonly tokens: TestTokens;
  /** JSON log lines the service wrote. */
  readonly logs: Array<Record<string, unknown>>;
  readonly rpc: Client<typeof RealtimeService>;
  readonly internal: Client<typeof RealtimeInternalService>;
  publish<D extends DescMessage>(
    topic: string,
    key: string,
    schema: D,
    init: MessageInitShape<D>,
  ): Promise<void>;
  /** Links a channel (ChannelLinked on the bus) and waits until the service knows it. */
  linkChannel(channelId: string, ownerUserId: string): Promise<void>;
  /** Creates a market (MarketCreated on the bus) and waits until a socket can join its room. */
  createMarket(marketId: string, channelId: string): Promise<void>;
  /** Registers a user (UserRegistered on the bus) and waits until the service knows it. */
  registerUser(userId: string, displayName: string, admin?: boolean): Promise<void>;
  /** A connected socket.io client, anonymous or signed in as `user`. */
  connect(user?: { userId: string; role: UserRole }, transports?: string[]): Promise<Socket>;
  /** Call options of a user. */
  as(userId: string, role: UserRole): Promise<{ headers: { authorization: string } }>;
  close(): Promise<void>;
}

/** Emits `event` with `payload` and resolves with the acknowledgement. */
export function request(socket: Socket, event: string, payload: unknown): Promise<AckResponse> {
  return socket.timeout(5000).emitWithAck(event, payload) as Promise<AckResponse>;
}

/** Resolves with the next `event` on `socket` whose payload satisfies `match`. */
export function next<T = Record<string, unknown>>(
  socket: Socket,
  event: string,
  match: (payload: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve) => {
    const listener = (payload: T): void => {
      if (!match(payload)) return;
      socket.off(event, listener);
      resolve(payload);
    };
    socket.on(event, listener);
  });
}

/** Starts the service on `db` with a manual clock. */
export async function startRealtime(
  db: SqlTestDatabase,
  options: StartOptions = {},
): Promise<RealtimeHarness> {
  const bus = options.bus ?? createMemoryBus();
  const clock = manualClock(Date.now());
  const tokens = await createTestTokens();
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service: 'realtime',
    level: 'info',
    destination: {
      write(line: string) {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  const config = loadRealtimeConfig({
    STREAMBET_MODE: 'embedded',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_MS: '500',
    ...tokens.serviceEnv('realtime'),
    ...options.env,
  });
  const cache = options.cache ?? createMemoryCache({ now: () => clock.now() });
  const service = await startService(
    createRealtimeServiceDefinition(options.settings ?? defaultRealtimeSettings),
    {
      config,
      infra: { sql: db.sql, bus, cache, close: async () => {} },
      userJwks: tokens.userJwks,
      clock,
      logger,
    },
  );
  const transport = createConnectTransport({ baseUrl: service.url, httpVersion: '1.1' });
  const rpc = createClient(RealtimeService, transport);
  const internal = createClient(RealtimeInternalService, transport);
  const sockets: Socket[] = [];
  const channelKnown = async (channelId: string) => {
    try {
      await rpc.getChatSettings({ channelId });
      return true;
    } catch {
      return false;
    }
  };

  const harness: RealtimeHarness = {
    service,
    url: service.url,
    bus,
    clock,
    tokens,
    logs,
    rpc,
    internal,
    async publish(topic, key, schema, init) {
      await bus.publish([envelope(topic, key, schema, init)]);
    },
    async linkChannel(channelId, ownerUserId) {
      await harness.publish('integration', channelId, ChannelLinkedSchema, {
        channelId,
        ownerUserId,
        platform: Platform.TWITCH,
        platformChannelId: `p-${channelId}`,
        handle: channelId.toLowerCase(),
        displayName: channelId,
      });
      await waitUntil(() => channelKnown(channelId), `channel ${channelId} linked`);
    },
    async createMarket(marketId, channelId) {
      await harness.publish('market', marketId, MarketCreatedSchema, {
        marketId,
        channelId,
        title: 'Who wins?',
      });
      const probe = await harness.connect();
      await waitUntil(
        async () => (await request(probe, 'room:join', { room: `market:${marketId}` })).ok,
        `market ${marketId} known`,
      );
      probe.disconnect();
    },
    async registerUser(userId, displayName, admin = false) {
      await harness.publish('user', userId, UserRegisteredSchema, {
        userId,
        displayName,
        email: `${userId.toLowerCase()}@example.com`,
        roles: admin ? [Role.VIEWER, Role.ADMIN] : [Role.VIEWER],
      });
      await waitUntil(async () => {
        const rows = await db.sql.query('SELECT 1 FROM rt_users WHERE user_id = $1', [userId]);
        return rows.rows.length > 0;
      }, `user ${userId} registered`);
    },
    async connect(user, transports = ['websocket']) {
      const token = user === undefined ? undefined : await tokens.userToken(user.userId, user.role);
      const socket = io(service.url, {
        path: '/socket.io/',
        transports,
        reconnection: false,
        forceNew: true,
        ...(token === undefined ? {} : { auth: { token } }),
      });
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      return socket;
    },
    async as(userId, role) {
      return { headers: await tokens.userHeaders(userId, role) };
    },
    async close() {
      for (const socket of sockets) socket.disconnect();
      await service.shutdown();
      if (options.bus === undefined) await bus.close();
    },
  };
  return harness;
}
