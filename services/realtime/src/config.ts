import {
  configSchemas,
  defineConfig,
  loadConfig,
  type Config,
  type Environment,
} from '@streambet/platform/config/load-config';
import {
  checkPlatformConfig,
  platformConfigSpec,
} from '@streambet/platform/runtime/platform-config';

/**
 * Every environment variable the realtime service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 * The socket.io Redis adapter is used when CACHE=redis (REDIS_URL), so every realtime node shares
 * rooms exactly when they share rate-limit buckets.
 */
export const realtimeConfigSpec = defineConfig({
  ...platformConfigSpec('realtime', []),
  REALTIME_MAX_CONNECTIONS: {
    schema: configSchemas.int(1, 1_000_000),
    description:
      'socket.io connections one realtime process accepts in total; more are refused (connect_error RESOURCE_EXHAUSTED) so a client reconnects to another node',
    default: '10000',
  },
  REALTIME_MAX_CONNECTIONS_PER_ADDRESS: {
    schema: configSchemas.int(1, 1_000_000),
    description:
      'socket.io connections one client address may hold on one realtime process (households and offices share an address); more are refused with connect_error RESOURCE_EXHAUSTED',
    default: '50',
  },
  REALTIME_ROOM_JOIN_BURST_PER_ADDRESS: {
    schema: configSchemas.int(1, 10_000_000),
    description:
      "room:join calls one client address may make at once across its sockets (each join reads the room and a channel's chat history); more wait for the refill",
    default: '200',
  },
  REALTIME_ROOM_JOINS_PER_SECOND_PER_ADDRESS: {
    schema: configSchemas.int(1, 10_000_000),
    description: 'Sustained room:join calls per second allowed per client address (refill rate)',
    default: '50',
  },
  REALTIME_TRUSTED_PROXY_HOPS: {
    schema: configSchemas.int(0, 10),
    description:
      'Proxies in front of realtime whose X-Forwarded-For entries give the client address: 1 = the gateway (realtime is internal, reachable only from the gateway, which sets the header to the one address it trusts); 0 = the TCP peer',
    default: '1',
  },
});

/** The realtime service's configuration, validated and frozen. */
export type RealtimeConfig = Config<typeof realtimeConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadRealtimeConfig(env: Environment = process.env): RealtimeConfig {
  return checkPlatformConfig(loadConfig(realtimeConfigSpec, env));
}

/** Limits of the socket protocol. */
export interface SocketLimits {
  /** Largest frame a client may send, in bytes (engine.io maxHttpBufferSize); larger closes the connection. */
  readonly maxMessageBytes: number;
  /** Per-socket budget of client events: burst size and refill per second. */
  readonly eventBurst: number;
  readonly eventsPerSecond: number;
  /** Rooms one socket may watch besides its own and its user room. */
  readonly maxRoomsPerSocket: number;
  /**
   * `room:join` budget per client address across its sockets (each join reads the room's
   * existence and a channel's chat history): burst size and refill per second.
   */
  readonly joinBurstPerAddress: number;
  readonly joinsPerSecondPerAddress: number;
  /** How long a channel found linked is trusted without asking the database again, in ms. */
  readonly channelCacheMs: number;
}

/** Connection caps of one realtime process (REALTIME_MAX_CONNECTIONS*). */
export interface ConnectionLimits {
  /** socket.io connections this process holds in total. */
  readonly maxConnections: number;
  /** socket.io connections one client address holds on this process. */
  readonly maxConnectionsPerAddress: number;
  /** Proxies whose X-Forwarded-For entries are trusted (REALTIME_TRUSTED_PROXY_HOPS). */
  readonly trustedProxyHops: number;
}

/** The connection caps of `config`. */
export function connectionLimitsOf(config: RealtimeConfig): ConnectionLimits {
  return {
    maxConnections: config.REALTIME_MAX_CONNECTIONS,
    maxConnectionsPerAddress: config.REALTIME_MAX_CONNECTIONS_PER_ADDRESS,
    trustedProxyHops: config.REALTIME_TRUSTED_PROXY_HOPS,
  };
}

/** Defaults of {@link SocketLimits}. */
export const defaultSocketLimits: SocketLimits = Object.freeze({
  maxMessageBytes: 16 * 1024,
  eventBurst: 20,
  eventsPerSecond: 10,
  maxRoomsPerSocket: 50,
  joinBurstPerAddress: 200,
  joinsPerSecondPerAddress: 50,
  channelCacheMs: 5_000,
});

/**
 * Deployment settings of the live layer. Constants rather than variables for now (like the pool's
 * settings): new variables change the README's generated table, which its owner regenerates.
 */
export interface RealtimeSettings {
  /** Minimum ms between two conflated deliveries per room and key: 100 = odds ≤ 10/s per market. */
  readonly conflationIntervalMs: number;
  readonly socket: SocketLimits;
  /** Redis pub/sub channel prefix of the socket.io adapter. */
  readonly adapterKey: string;
}

/** The settings every deployment runs with today. */
export const defaultRealtimeSettings: RealtimeSettings = Object.freeze({
  conflationIntervalMs: 100,
  socket: defaultSocketLimits,
  adapterKey: 'streambet:realtime:socket.io',
});
