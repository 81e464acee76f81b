/**
 * The whole user service as `main.ts` wires it (its app definition, config loaded from an
 * environment, the platform's service host on a real port), on a test database with the in-process
 * bus and cache injected. For tests about what the config decides: the run mode, the served JWKS.
 */
import { createMemoryBus } from '@streambet/platform/bus/memory';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import type { Environment } from '@streambet/platform/config/load-config';
import { createLogger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import { startService, type RunningService } from '@streambet/platform/runtime/service-host';
import type { Sql } from '@streambet/platform/sql/types';
import type { JSONWebKeySet } from 'jose';
import { userService } from '../src/app.js';
import { loadUserConfig } from '../src/config.js';

/** Variables every start needs besides the test's own (cheap scrypt, no log noise). */
export const wholeServiceEnv = {
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'silent',
  SHUTDOWN_GRACE_MS: '1000',
  USER_SCRYPT_LOG_N: '10',
  KYC_WEBHOOK_SECRET: 'whsec_whole_service_0123',
  DEVICE_ID_HASH_KEY: 'device-key-whole-service',
} as const;

/** Fetches the JWKS the running service serves at /.well-known/jwks.json. */
export async function servedJwks(baseUrl: string): Promise<JSONWebKeySet> {
  const res = await fetch(`${baseUrl}/.well-known/jwks.json`);
  if (res.status !== 200) throw new Error(`JWKS answered ${res.status}`);
  return (await res.json()) as JSONWebKeySet;
}

/**
 * Starts the user service with `env` (on top of {@link wholeServiceEnv}) on `sql`. The service
 * verifies the user tokens of incoming calls against its own served JWKS, as a verifier that
 * fetches USER_JWKS_URL would. The database is not closed on shutdown.
 */
export async function startWholeUserService(
  sql: Sql,
  env: Environment,
  clock: Clock,
): Promise<RunningService> {
  const config = loadUserConfig({ ...wholeServiceEnv, ...env });
  const logger = createLogger({ service: 'user', level: 'silent' });
  const bus = createMemoryBus({ logger });
  const cache = createMemoryCache({ now: () => clock.now() });
  let url = '';
  const service = await startService(userService, {
    config,
    infra: {
      sql,
      bus,
      cache,
      async close() {
        await bus.close();
        await cache.close();
      },
    },
    ownsInfra: true,
    logger,
    clock,
    userJwks: () => servedJwks(url),
  });
  url = service.url;
  return service;
}
