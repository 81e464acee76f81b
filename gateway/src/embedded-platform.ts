import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { JSONWebKeySet, JWK } from 'jose';
import {
  generateServiceKeys,
  generateSigningKeyPair,
  keyIdBelongsTo,
} from '@streambet/platform/auth/tokens';
import { createMemoryBus } from '@streambet/platform/bus/memory';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import {
  exitOnConfigError,
  loadConfig,
  type Environment,
} from '@streambet/platform/config/load-config';
import { createLogger } from '@streambet/platform/log/logger';
import { tracingOptions } from '@streambet/platform/obs/otlp-export';
import { initTracing } from '@streambet/platform/obs/tracing';
import type { EventBus } from '@streambet/platform/bus/types';
import { openEmbeddedDatabase } from '@streambet/platform/sql/pglite';
import { createPostgresSql } from '@streambet/platform/sql/postgres';
import type { Sql } from '@streambet/platform/sql/types';
import { schemaName, settleAll } from '@streambet/platform/runtime/infra';
import {
  serviceUrlVariable,
  servicePorts,
  tracingConfigSpec,
  type DownstreamName,
  type PlatformConfig,
  type ServiceName,
} from '@streambet/platform/runtime/platform-config';
import {
  startService,
  type RunningService,
  type ServiceDefinition,
} from '@streambet/platform/runtime/service-host';
import { analyticsService } from '@streambet/analytics/app';
import { loadAnalyticsConfig } from '@streambet/analytics/config';
import { betEngineService } from '@streambet/bet-engine/app';
import { loadBetEngineConfig } from '@streambet/bet-engine/config';
import { integrationService } from '@streambet/integration/app';
import { loadIntegrationConfig } from '@streambet/integration/config';
import { paymentService } from '@streambet/payment/app';
import { loadPaymentConfig } from '@streambet/payment/config';
import { poolService } from '@streambet/pool/app';
import { loadPoolConfig } from '@streambet/pool/config';
import { realtimeService } from '@streambet/realtime/app';
import { loadRealtimeConfig } from '@streambet/realtime/config';
import { settlementService } from '@streambet/settlement/app';
import { loadSettlementConfig } from '@streambet/settlement/config';
import { userService } from '@streambet/user/app';
import { loadUserConfig } from '@streambet/user/config';
import { loadGatewayConfig } from './config.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { serviceTokensFrom } from './seed/actors.js';
import { startDemo, type DemoOptions, type RunningDemo } from './seed/demo.js';
import { freePorts } from '@streambet/platform/runtime/free-ports';

/** A service of the mesh with its own config reader, types erased so the list can be iterated. */
interface EmbeddedEntry {
  readonly name: DownstreamName;
  start(env: Environment, deps: EntryDeps): Promise<RunningService>;
}

interface EntryDeps {
  readonly sqlFor: (service: DownstreamName) => Promise<Sql>;
  /** True when each service's SQL is its own pool (PostgreSQL), which the service then closes. */
  readonly servicesOwnSql: boolean;
  readonly bus: ReturnType<typeof createMemoryBus>;
}

function entry<C extends PlatformConfig>(
  definition: ServiceDefinition<C>,
  load: (env: Environment) => C,
): EmbeddedEntry {
  return {
    name: definition.name as DownstreamName,
    async start(env, deps) {
      const config = exitOnConfigError(() => load(env));
      const sql = await deps.sqlFor(definition.name as DownstreamName);
      // Each service gets its own in-process cache, as each gets its own key prefix on Redis.
      const cache = createMemoryCache();
      return startService(definition, {
        config,
        infra: {
          sql,
          bus: deps.bus,
          cache,
          close: async () => {
            await cache.close();
            if (deps.servicesOwnSql) await sql.close();
          },
        },
        ownsInfra: true,
      });
    },
  };
}

/** The services in start order: the user service first (it publishes the JWKS everyone verifies with). */
const entries: readonly EmbeddedEntry[] = [
  entry(userService, loadUserConfig),
  entry(poolService, loadPoolConfig),
  entry(betEngineService, loadBetEngineConfig),
  entry(settlementService, loadSettlementConfig),
  entry(paymentService, loadPaymentConfig),
  entry(integrationService, loadIntegrationConfig),
  entry(realtimeService, loadRealtimeConfig),
  entry(analyticsService, loadAnalyticsConfig),
];

/** Keys and secrets of the embedded platform, generated once and kept under the data folder. */
export interface EmbeddedKeys {
  /** Each service's own signing key (kid `<service>:<n>`), by service name. */
  readonly servicePrivateJwks: Readonly<Record<string, JWK>>;
  readonly servicePublicJwks: JSONWebKeySet;
  readonly userTokenPrivateJwk: JWK;
  readonly kycWebhookSecret: string;
  readonly deviceIdHashKey: string;
  /** USER_TOTP_SECRET_KEY: seals two-step secrets at rest (base64 of 32 bytes). */
  readonly totpSecretKey: string;
}

/** Fills in whatever `given` lacks with fresh keys (an older keys.json, or a test's partial set). */
async function completeKeys(given: Partial<EmbeddedKeys>): Promise<EmbeddedKeys> {
  // A key per service, bound to its name (an older keys.json had one shared key: replaced).
  const names = Object.keys(servicePorts);
  const service =
    given.servicePrivateJwks !== undefined &&
    given.servicePublicJwks !== undefined &&
    names.every((name) => keyIdBelongsTo(given.servicePrivateJwks?.[name]?.kid, name))
      ? { privateJwks: given.servicePrivateJwks, publicJwks: given.servicePublicJwks }
      : await generateServiceKeys(names);
  return {
    servicePrivateJwks: service.privateJwks,
    servicePublicJwks: service.publicJwks,
    userTokenPrivateJwk:
      given.userTokenPrivateJwk ?? (await generateSigningKeyPair('embedded-user')).privateJwk,
    kycWebhookSecret: given.kycWebhookSecret ?? randomBytes(24).toString('base64url'),
    deviceIdHashKey: given.deviceIdHashKey ?? randomBytes(24).toString('base64url'),
    totpSecretKey: given.totpSecretKey ?? randomBytes(32).toString('base64'),
  };
}

async function loadOrCreateKeys(dataDir: string): Promise<EmbeddedKeys> {
  const file = path.join(dataDir, 'keys.json');
  let stored: Partial<EmbeddedKeys> = {};
  try {
    stored = JSON.parse(await fs.promises.readFile(file, 'utf8')) as Partial<EmbeddedKeys>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const keys = await completeKeys(stored);
  if (JSON.stringify(keys) !== JSON.stringify(stored)) {
    await fs.promises.writeFile(file, JSON.stringify(keys), { mode: 0o600 });
  }
  return keys;
}

/** Options of {@link startEmbeddedPlatform}. */
export interface EmbeddedPlatformOptions {
  /** Where PGlite and the generated keys live; undefined = in memory (tests). */
  readonly dataDir?: string;
  /** `default`: 7001–7008 and 8080 (npm start); `free`: whatever the OS gives (tests). */
  readonly ports: 'default' | 'free';
  /** Base environment (LOG_LEVEL, …); the embedded values override it. Default process.env. */
  readonly env?: Environment;
  /** A data-folder template for in-memory PGlite (tests: skips initdb). */
  readonly template?: Blob;
  /** Keys to use (tests mint tokens with them); missing ones are generated (and kept in dataDir). */
  readonly keys?: Partial<EmbeddedKeys>;
  /**
   * A PostgreSQL URL per service instead of the shared PGlite (benchmarks that read PostgreSQL's
   * own statistics per service database). The databases must exist; the platform closes the pools.
   */
  readonly postgresUrlFor?: (service: DownstreamName) => string;
  /** Seed and run the live demo (npm start): a channel, an open market and simulated bettors. */
  readonly demo?: DemoOptions;
}

/** The whole platform in one process. */
export interface EmbeddedPlatform {
  readonly gatewayUrl: string;
  readonly serviceUrls: ReadonlyMap<DownstreamName, string>;
  readonly startupMs: number;
  /**
   * The in-process event bus every service shares. Lets a test or the demo seed publish what a
   * service that is not in the flow (e.g. integration's ChannelLinked) would publish.
   */
  readonly bus: EventBus;
  /** A service credential signed with the platform's service key, as `service` (seeding, tests). */
  serviceToken(service: string): Promise<string>;
  /** The demo's channel, when the demo runs. */
  readonly demoChannelId: string | undefined;
  /**
   * Gateway first, then services in reverse start order, then bus and database; last, every span
   * ended so far is exported (when OTEL_EXPORTER_OTLP_* is set). Idempotent.
   */
  shutdown(): Promise<void>;
}

/**
 * Starts every service and the gateway in this process on the embedded defaults: one PGlite with a
 * schema per service, one in-process bus, an in-process cache per service. Each service still
 * listens on its own port and calls the others over HTTP/2, exactly as in cluster mode.
 */
export async function startEmbeddedPlatform(
  options: EmbeddedPlatformOptions,
): Promise<EmbeddedPlatform> {
  const startedAtMs = Date.now();
  const baseEnv = options.env ?? process.env;
  // One process, one tracer provider: its resource is `streambet` (or OTEL_SERVICE_NAME) and each
  // span names its service in `streambet.service`. The services validate the same OTEL_* values.
  const tracing = initTracing(
    tracingOptions(
      exitOnConfigError(() => loadConfig(tracingConfigSpec, baseEnv)),
      'streambet',
    ),
  );
  const logger = createLogger({
    service: 'streambet',
    level: (baseEnv.LOG_LEVEL as 'info' | undefined) ?? 'info',
  });
  if (options.dataDir !== undefined) await fs.promises.mkdir(options.dataDir, { recursive: true });
  const keys =
    options.dataDir === undefined
      ? await completeKeys(options.keys ?? {})
      : await loadOrCreateKeys(options.dataDir);
  const postgresUrlFor = options.postgresUrlFor;
  const db =
    postgresUrlFor === undefined
      ? await openEmbeddedDatabase({
          ...(options.dataDir === undefined
            ? {}
            : { dataDir: path.join(options.dataDir, 'pglite') }),
          ...(options.template === undefined ? {} : { template: options.template }),
        })
      : undefined;
  const sqlFor = async (service: DownstreamName): Promise<Sql> =>
    postgresUrlFor === undefined
      ? db!.forSchema(schemaName(service))
      : createPostgresSql({
          connectionString: postgresUrlFor(service),
          maxConnections: 20,
          applicationName: service,
        });
  const bus = createMemoryBus({ logger: logger.child({ component: 'bus' }) });

  const ports =
    options.ports === 'default'
      ? [...entries.map((e) => servicePorts[e.name]), servicePorts.gateway]
      : await freePorts(entries.length + 1);
  const urls = new Map<DownstreamName, string>(
    entries.map((e, i) => [e.name, `http://127.0.0.1:${ports[i] ?? 0}`]),
  );
  const sharedEnv: Record<string, string | undefined> = {
    ...baseEnv,
    // One process on PGlite and in-process bus and caches: the mode that allows them (and the fake
    // KYC provider), whatever the surrounding environment says.
    STREAMBET_MODE: 'embedded',
    HOST: '127.0.0.1',
    DATABASE_URL: '',
    EVENT_BUS: 'memory',
    CACHE: 'memory',
    ...(options.dataDir === undefined ? {} : { DATA_DIR: options.dataDir }),
    SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify(keys.servicePublicJwks),
    USER_TOKEN_PRIVATE_JWK: JSON.stringify(keys.userTokenPrivateJwk),
    KYC_WEBHOOK_SECRET: keys.kycWebhookSecret,
    DEVICE_ID_HASH_KEY: keys.deviceIdHashKey,
    USER_TOTP_SECRET_KEY: keys.totpSecretKey,
    USER_JWKS_URL: `${urls.get('user')}/.well-known/jwks.json`,
  };
  for (const [name, url] of urls) sharedEnv[serviceUrlVariable(name)] = url;

  const running: RunningService[] = [];
  let gateway: RunningGateway | undefined;
  let demo: RunningDemo | undefined;
  const serviceToken = serviceTokensFrom(keys.servicePrivateJwks);
  // Each service gets only its own signing key, as in a cluster.
  const ownKey = (name: ServiceName): Record<string, string> => ({
    SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify(keys.servicePrivateJwks[name]),
  });
  const shutdown = async (): Promise<void> => {
    await settleAll(logger, [
      async () => demo?.stop(),
      async () => gateway?.shutdown(),
      ...[...running].reverse().map((service) => () => service.shutdown()),
      () => bus.close(),
      async () => db?.close(),
      () => tracing.forceFlush(),
    ]);
  };
  try {
    for (const [i, e] of entries.entries()) {
      running.push(
        await e.start(
          { ...sharedEnv, ...ownKey(e.name), PORT: String(ports[i]) },
          { sqlFor, servicesOwnSql: postgresUrlFor !== undefined, bus },
        ),
      );
    }
    const gatewayConfig = exitOnConfigError(() =>
      loadGatewayConfig({
        ...sharedEnv,
        ...ownKey('gateway'),
        PORT: String(ports[entries.length]),
      }),
    );
    gateway = await startGateway({ config: gatewayConfig });
    if (options.demo !== undefined) {
      demo = await startDemo(
        { gatewayUrl: gateway.url, userServiceUrl: urls.get('user')!, serviceToken, bus },
        logger.child({ component: 'demo' }),
        options.demo,
      );
    }
  } catch (error) {
    await shutdown();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    gatewayUrl: gateway.url,
    serviceUrls: urls,
    startupMs: Date.now() - startedAtMs,
    bus,
    serviceToken,
    demoChannelId: demo?.channelId,
    shutdown: () => (stopping ??= shutdown()),
  };
}
