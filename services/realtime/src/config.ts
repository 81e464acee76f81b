import {
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
}

/** Defaults of {@link SocketLimits}. */
export const defaultSocketLimits: SocketLimits = Object.freeze({
  maxMessageBytes: 16 * 1024,
  eventBurst: 20,
  eventsPerSecond: 10,
  maxRoomsPerSocket: 50,
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
