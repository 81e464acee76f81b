import os from 'node:os';
import path from 'node:path';
import type { EventBus } from '../bus/types.js';
import { createMemoryBus } from '../bus/memory.js';
import { createRedisStreamsBus } from '../bus/redis-streams.js';
import { createKafkaBus } from '../bus/kafka.js';
import type { Cache } from '../cache/types.js';
import { createMemoryCache } from '../cache/memory.js';
import { createRedisCache } from '../cache/redis.js';
import type { Logger } from '../log/logger.js';
import { openEmbeddedDatabase, type EmbeddedDatabase } from '../sql/pglite.js';
import { createPostgresSql } from '../sql/postgres.js';
import type { Sql } from '../sql/types.js';
import type { PlatformConfig, ServiceName } from './platform-config.js';

/**
 * The shared infrastructure a service runs on: its database, the event bus and the cache.
 * In cluster mode each process opens its own from config ({@link openInfra}); in embedded mode
 * one PGlite, one memory bus and one memory cache are shared by every service in the process.
 */
export interface Infra {
  readonly sql: Sql;
  readonly bus: EventBus;
  readonly cache: Cache;
  /** Closes what this object opened (bus, cache, database), in that order. Idempotent. */
  close(): Promise<void>;
}

/** `bet-engine` → `bet_engine`: the embedded schema (and default database name) of a service. */
export function schemaName(service: ServiceName): string {
  return service.replaceAll('-', '_');
}

/**
 * Opens a standalone process's infrastructure from its config: PostgreSQL when DATABASE_URL is set
 * (else an embedded PGlite under DATA_DIR/<service>), the EVENT_BUS adapter and the CACHE adapter.
 */
export async function openInfra(
  service: ServiceName,
  config: PlatformConfig,
  logger: Logger,
): Promise<Infra> {
  let embedded: EmbeddedDatabase | undefined;
  const sql =
    config.DATABASE_URL === ''
      ? await (async () => {
          embedded = await openEmbeddedDatabase({ dataDir: path.join(config.DATA_DIR, service) });
          return embedded.forSchema(schemaName(service));
        })()
      : createPostgresSql({
          connectionString: config.DATABASE_URL,
          maxConnections: config.DATABASE_POOL_SIZE,
          applicationName: service,
          onIdleConnectionError: (error) =>
            logger.warn({ err: error }, 'idle PostgreSQL connection failed; it will be replaced'),
        });
  const busLogger = logger.child({ component: 'bus' });
  const bus: EventBus =
    config.EVENT_BUS === 'memory'
      ? createMemoryBus({ logger: busLogger })
      : config.EVENT_BUS === 'redis-streams'
        ? createRedisStreamsBus({
            url: config.REDIS_URL,
            streamPrefix: 'streambet:bus',
            consumerName: `${service}-${os.hostname()}-${process.pid}`,
            logger: busLogger,
          })
        : createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: service, logger: busLogger });
  const cache: Cache =
    config.CACHE === 'memory'
      ? createMemoryCache()
      : createRedisCache({ url: config.REDIS_URL, keyPrefix: `streambet:${service}:` });
  let closing: Promise<void> | undefined;
  return {
    sql,
    bus,
    cache,
    close() {
      closing ??= (async () => {
        await settleAll(logger, [() => bus.close(), () => cache.close(), () => sql.close()]);
        if (embedded !== undefined) await embedded.close();
      })();
      return closing;
    },
  };
}

/** Runs every step even when some fail; failures are logged, not thrown (shutdown must finish). */
export async function settleAll(
  logger: Logger,
  steps: ReadonlyArray<() => Promise<void>>,
): Promise<void> {
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      logger.error({ err: error }, 'shutdown step failed');
    }
  }
}
