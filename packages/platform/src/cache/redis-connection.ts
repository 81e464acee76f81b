/**
 * ioredis connection handling shared by the Redis cache and the Redis Streams bus: how a
 * connection is opened (bounded retries so calls fail instead of hanging while Redis is down),
 * how it is closed without hanging, and how its errors become messages a person can act on.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { UnavailableError } from '../errors/domain-errors.js';

/** Connection settings every adapter-owned ioredis client gets unless overridden. */
export const defaultRedisOptions: Readonly<RedisOptions> = Object.freeze({
  /** Fail a command after one reconnect attempt instead of queueing it forever. */
  maxRetriesPerRequest: 1,
  connectTimeout: 5_000,
  commandTimeout: 5_000,
  /** `streambet` shows up in CLIENT LIST, which helps when hunting a connection leak. */
  connectionName: 'streambet',
});

/** An adapter's Redis connection: the client, and whether the adapter owns (and so closes) it. */
export interface RedisHandle {
  readonly redis: Redis;
  readonly owned: boolean;
  /** Last connection-level error seen on the client, for error messages. */
  lastError(): Error | undefined;
}

/**
 * Uses `redis` when given (the caller keeps ownership) or opens a client for `url`.
 * Throws a RangeError when neither or both are given.
 */
export function openRedis(
  what: string,
  source: { url?: string | undefined; redis?: Redis | undefined },
  overrides: RedisOptions = {},
): RedisHandle {
  if ((source.url === undefined) === (source.redis === undefined)) {
    throw new RangeError(`${what}: pass exactly one of { url } or { redis }`);
  }
  const redis =
    source.redis ?? new Redis(source.url as string, { ...defaultRedisOptions, ...overrides });
  return watchErrors(redis, source.redis === undefined);
}

/** A second, adapter-owned connection with the same settings (blocking reads need their own). */
export function duplicateRedis(handle: RedisHandle, overrides: RedisOptions = {}): RedisHandle {
  return watchErrors(handle.redis.duplicate(overrides), true);
}

function watchErrors(redis: Redis, owned: boolean): RedisHandle {
  let last: Error | undefined;
  // Without a listener ioredis prints "Unhandled error event" for every failed reconnect;
  // commands still reject with their own error, which is what callers see.
  const onError = (error: Error) => {
    last = error;
  };
  redis.on('error', onError);
  return { redis, owned, lastError: () => last };
}

/**
 * Closes an owned connection: QUIT when connected (pending replies arrive first), otherwise a
 * hard disconnect so close never waits for a reconnect loop. Never throws.
 */
export async function closeRedis(handle: RedisHandle): Promise<void> {
  if (!handle.owned) return;
  const { redis } = handle;
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through to disconnect
    }
  }
  redis.disconnect(false);
}

/** Whether `error` is an error reply from the Redis server (bad arguments, WRONGTYPE, script error). */
export function isRedisReplyError(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'ReplyError' || error.constructor.name === 'ReplyError')
  );
}

/**
 * Maps a failed Redis call to a clear error: server replies (a bug or wrong data) stay plain
 * Errors naming the operation; anything else (refused, timed out, closed) is an
 * {@link UnavailableError} so the RPC edge answers UNAVAILABLE. Its message is safe to show a
 * client (no host names); the details (the ioredis error and the last connection error) are in
 * `cause`, which is what gets logged.
 */
export function toRedisError(
  component: string,
  operation: string,
  error: unknown,
  handle?: RedisHandle,
  subject?: string,
): Error {
  const detail = error instanceof Error ? error.message : String(error);
  const target = subject === undefined ? operation : `${operation} ${subject}`;
  if (isRedisReplyError(error)) {
    return new Error(`${component}: ${target} was rejected by Redis: ${detail}`, { cause: error });
  }
  const last = handle?.lastError();
  const connection =
    last !== undefined && last.message !== detail
      ? ` (last connection error: ${last.message})`
      : '';
  const cause = new Error(`redis ${target} failed: ${detail}${connection}`, { cause: error });
  return new UnavailableError(`${component} unavailable: ${operation} failed`, { cause });
}
