import { z } from 'zod';
import {
  ConfigError,
  configSchemas,
  defineConfig,
  type Config,
  type ConfigProblem,
  type ConfigSpec,
} from '../config/load-config.js';
import { deliveryConfigSpec } from '../outbox/retention.js';

/** The deployables of the mesh, with the port each listens on by default (k8s, compose and `npm start` agree). */
export const servicePorts = Object.freeze({
  user: 7001,
  'bet-engine': 7002,
  pool: 7003,
  settlement: 7004,
  payment: 7005,
  integration: 7006,
  realtime: 7007,
  analytics: 7008,
  gateway: 8080,
} as const);

/** A deployable's name: `user`, `bet-engine`, …, `gateway`. */
export type ServiceName = keyof typeof servicePorts;

/** A service other services call; its URL variable is `<NAME>_SERVICE_URL` (`BET_ENGINE_SERVICE_URL`). */
export type DownstreamName = Exclude<ServiceName, 'gateway'>;

/** `bet-engine` → `BET_ENGINE_SERVICE_URL`. */
export function serviceUrlVariable(name: DownstreamName): `${string}_SERVICE_URL` {
  return `${name.toUpperCase().replaceAll('-', '_')}_SERVICE_URL`;
}

const jwkSchema = z
  .object({ kty: z.string(), kid: z.string().optional() })
  .loose()
  .refine((jwk) => jwk.kid !== undefined && jwk.kid !== '', 'the key needs a "kid"');
const jwksSchema = z.object({ keys: z.array(jwkSchema).min(1, 'needs at least one key') });

/** OTLP headers, `key=value` pairs separated by commas, values percent-encoded (W3C Baggage syntax). */
const otlpHeadersSchema = z.string().transform((value, ctx) => {
  const headers: Record<string, string> = {};
  for (const entry of value.split(',')) {
    if (entry.trim() === '') continue;
    const at = entry.indexOf('=');
    const key = at < 0 ? '' : entry.slice(0, at).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) {
      ctx.addIssue({ code: 'custom', message: 'each entry must be name=value' });
      return z.NEVER;
    }
    try {
      headers[key] = decodeURIComponent(entry.slice(at + 1).trim());
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `the value of ${key} is not valid percent-encoding`,
      });
      return z.NEVER;
    }
  }
  return headers;
});

/** A sampling ratio, 0 to 1. */
const ratioSchema = z
  .string()
  .regex(/^(0|1|0?\.\d+|1\.0*)$/, 'must be a number from 0 to 1')
  .transform(Number);

/**
 * The standard OpenTelemetry variables for exporting traces (OTLP over HTTP, protobuf, batched;
 * obs/otlp-export.ts). Export is off unless an endpoint is set. The batch processor's own
 * OTEL_BSP_* tuning is read by the SDK.
 */
export const tracingConfigSpec = defineConfig({
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    schema: z.union([z.literal(''), configSchemas.url(['http:', 'https:'])]),
    description:
      'Base URL of an OTLP/HTTP collector, e.g. http://otel-collector:4318; spans are POSTed to its /v1/traces path (protobuf, batched); empty = traces are not exported',
    default: '',
  },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
    schema: z.union([z.literal(''), configSchemas.url(['http:', 'https:'])]),
    description:
      'Full URL spans are sent to, used as given (overrides OTEL_EXPORTER_OTLP_ENDPOINT for traces); empty = derive from OTEL_EXPORTER_OTLP_ENDPOINT',
    default: '',
  },
  OTEL_EXPORTER_OTLP_HEADERS: {
    schema: otlpHeadersSchema,
    description:
      'Headers sent with every export, name=value pairs separated by commas (values percent-encoded), e.g. an API key',
    default: '',
    secret: true,
  },
  OTEL_SERVICE_NAME: {
    schema: z.string(),
    description:
      'service.name of exported spans; empty = the deployable (user, gateway, …; streambet for the embedded platform, whose spans say their service in streambet.service)',
    default: '',
  },
  OTEL_TRACES_SAMPLER: {
    schema: configSchemas.oneOf([
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ]),
    description:
      "Which traces are recorded: parentbased_* follow the caller's decision and apply the rest to new traces",
    default: 'parentbased_always_on',
  },
  OTEL_TRACES_SAMPLER_ARG: {
    schema: ratioSchema,
    description: 'Share of new traces recorded by the traceidratio samplers, 0 to 1',
    default: '1',
  },
});

/** Variables of any process that serves RPCs: where it listens, how it logs, how it stops, where its traces go. */
export function serverConfigSpec(name: ServiceName) {
  return defineConfig({
    HOST: {
      schema: configSchemas.string(),
      description: 'Interface to listen on: 0.0.0.0 in containers, 127.0.0.1 to stay local',
      default: '0.0.0.0',
    },
    PORT: {
      schema: configSchemas.port(),
      description:
        'TCP port for Connect, gRPC, gRPC-Web, /metrics and /health/* (0 picks a free port)',
      default: String(servicePorts[name]),
    },
    LOG_LEVEL: {
      schema: configSchemas.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
      description: 'Lowest pino log level written to stdout',
      default: 'info',
    },
    SHUTDOWN_GRACE_MS: {
      schema: configSchemas.int(0, 600_000),
      description:
        'How long in-flight calls may take to finish on SIGTERM before they are aborted, in ms',
      default: '10000',
    },
    RPC_MAX_BODY_BYTES: {
      schema: configSchemas.int(1024, 64 * 1024 * 1024),
      description:
        'Largest RPC request accepted, in bytes, also after decompression (compression bombs stop there); bigger ones get RESOURCE_EXHAUSTED unread. Gateway 65536 (public requests are small), services 4194304 (batches between services)',
      default: String(name === 'gateway' ? 64 * 1024 : 4 * 1024 * 1024),
    },
    ...tracingConfigSpec,
  });
}

/** Variables for verifying user access tokens (issued by the user service). */
export const userTokenConfigSpec = defineConfig({
  USER_JWKS_URL: {
    schema: configSchemas.url(['http:', 'https:']),
    description: 'Where the user service publishes its JWKS (public keys of user access tokens)',
    default: `http://127.0.0.1:${servicePorts.user}/.well-known/jwks.json`,
  },
  USER_TOKEN_ISSUER: {
    schema: configSchemas.string(),
    description: 'Expected iss claim of user access tokens',
    default: 'streambet-user',
  },
  USER_TOKEN_AUDIENCE: {
    schema: configSchemas.string(),
    description: 'Expected aud claim of user access tokens',
    default: 'streambet',
  },
});

/** Variables of a process that calls other services: their URLs and the default deadline. */
export function downstreamConfigSpec(downstreams: readonly DownstreamName[]) {
  const urls: Record<
    string,
    { schema: ReturnType<typeof configSchemas.url>; description: string; default: string }
  > = {};
  for (const downstream of downstreams) {
    urls[serviceUrlVariable(downstream)] = {
      schema: configSchemas.url(['http:', 'https:']),
      description: `Base URL of the ${downstream} service, e.g. http://${downstream}:${servicePorts[downstream]}`,
      default: `http://127.0.0.1:${servicePorts[downstream]}`,
    };
  }
  return defineConfig({
    RPC_TIMEOUT_MS: {
      schema: configSchemas.int(1, 120_000),
      description: 'Default deadline of every call to another service, in ms',
      default: '5000',
    },
    ...(urls as Record<`${string}_SERVICE_URL`, (typeof urls)[string]>),
  });
}

/** The two ways to run (architecture.md): what a process may fall back to when a dependency is unset. */
export type RunMode = 'cluster' | 'embedded';

/**
 * The run mode every deployable reads. It defaults to `cluster`, the safe side: a container that
 * forgets a variable stops (exit 78 naming it) instead of running on PGlite and in-process fakes.
 * The embedded runner (`npm start`) and tests set `embedded` explicitly.
 */
export const modeConfigSpec = defineConfig({
  STREAMBET_MODE: {
    schema: configSchemas.oneOf(['cluster', 'embedded']),
    description:
      'cluster: every real dependency is required (DATABASE_URL; EVENT_BUS redis-streams or kafka; CACHE=redis) and no fake is wired (StartKyc answers FAILED_PRECONDITION until a real KYC provider exists); embedded: PGlite, the in-process bus and cache and the fake KYC provider are allowed (npm start and tests set it)',
    default: 'cluster',
  },
});

/** Variables choosing the cache adapter (also used by the gateway's rate limits). */
export const cacheConfigSpec = defineConfig({
  CACHE: {
    schema: configSchemas.oneOf(['memory', 'redis']),
    description:
      'Cache, leaderboard and rate-limit store: memory (one process only; STREAMBET_MODE=embedded only) or redis (REDIS_URL)',
    default: 'memory',
  },
  REDIS_URL: {
    schema: configSchemas.url(['redis:', 'rediss:']),
    description: 'Redis for CACHE=redis and EVENT_BUS=redis-streams, redis://host:6379/0',
    default: 'redis://127.0.0.1:6379',
  },
});

/** Variables of a service's own storage and event bus. */
export const storageConfigSpec = defineConfig({
  DATABASE_URL: {
    schema: z.union([z.literal(''), configSchemas.url(['postgres:', 'postgresql:'])]),
    description:
      "This service's own PostgreSQL database, postgres://user:pass@host:5432/db; empty = embedded PGlite under DATA_DIR (STREAMBET_MODE=embedded only)",
    default: '',
    secret: true,
  },
  DATABASE_POOL_SIZE: {
    schema: configSchemas.int(1, 100),
    description:
      'Connections in the PostgreSQL pool (replicas x pool must stay under max_connections)',
    default: '10',
  },
  DATA_DIR: {
    schema: configSchemas.string(),
    description: 'Folder for embedded data (PGlite, generated keys) when DATABASE_URL is empty',
    default: './data',
  },
  EVENT_BUS: {
    schema: configSchemas.oneOf(['memory', 'redis-streams', 'kafka']),
    description:
      'Event bus adapter: memory (one process only; STREAMBET_MODE=embedded only), redis-streams (REDIS_URL) or kafka (KAFKA_BROKERS)',
    default: 'memory',
  },
  KAFKA_BROKERS: {
    schema: configSchemas.list(),
    description: 'Comma-separated Kafka bootstrap brokers host:port; required when EVENT_BUS=kafka',
    default: '',
  },
});

/** Variables of the service credential that internal RPCs require. */
export const serviceTokenConfigSpec = defineConfig({
  SERVICE_TOKEN_PRIVATE_JWK: {
    schema: configSchemas.json(jwkSchema),
    description:
      "This service's own Ed25519 private JWK (JSON) for minting service credentials, with kid `<service>:<n>` (a token is accepted only under a key id of the service it names); `npm run keys` makes one per service",
    secret: true,
  },
  SERVICE_TOKEN_PUBLIC_JWKS: {
    schema: configSchemas.json(jwksSchema),
    description:
      "JWKS (JSON) of every service credential key accepted on internal RPCs (each service's public key); `npm run keys` makes it",
  },
});

/**
 * The variables every StreamBet service reads, in one place so they are named, defaulted and
 * documented the same way everywhere. A service's `config.ts` spreads this into its own spec and
 * adds its own variables; `loadConfig` then reads them all at once. Defaults suit a developer's
 * machine except STREAMBET_MODE (cluster unless told otherwise): containers set HOST,
 * DATABASE_URL, EVENT_BUS, CACHE and the keys (k8s/); `npm start` and tests set embedded.
 */
export function platformConfigSpec(name: ServiceName, downstreams: readonly DownstreamName[] = []) {
  return defineConfig({
    ...modeConfigSpec,
    ...serverConfigSpec(name),
    ...storageConfigSpec,
    ...deliveryConfigSpec,
    ...cacheConfigSpec,
    ...userTokenConfigSpec,
    ...serviceTokenConfigSpec,
    ...downstreamConfigSpec(downstreams),
  });
}

/** The platform part of any service's loaded config. */
export type PlatformConfig = Config<ReturnType<typeof platformConfigSpec>>;

/** The variables {@link runModeProblems} looks at; the gateway has no database or bus. */
export interface RunModeConfig {
  readonly STREAMBET_MODE: RunMode;
  readonly CACHE: 'memory' | 'redis';
  readonly DATABASE_URL?: string;
  readonly EVENT_BUS?: 'memory' | 'redis-streams' | 'kafka';
}

/**
 * What cluster mode refuses: an embedded fallback where a real dependency belongs (PGlite for an
 * empty DATABASE_URL, the in-process bus or cache, which only reach one process). One problem per
 * variable; none in embedded mode, which keeps every default.
 */
export function runModeProblems(config: RunModeConfig): ConfigProblem[] {
  if (config.STREAMBET_MODE !== 'cluster') return [];
  const problems: ConfigProblem[] = [];
  if (config.DATABASE_URL === '') {
    problems.push({
      name: 'DATABASE_URL',
      problem:
        'is not set but STREAMBET_MODE=cluster (embedded PGlite is for STREAMBET_MODE=embedded only)',
      expected: "this service's own PostgreSQL database, postgres://user:pass@host:5432/db",
    });
  }
  if (config.EVENT_BUS === 'memory') {
    problems.push({
      name: 'EVENT_BUS',
      problem:
        'is memory (also its default) but STREAMBET_MODE=cluster (the in-process bus reaches no other process)',
      expected: 'redis-streams (with REDIS_URL) or kafka (with KAFKA_BROKERS)',
    });
  }
  if (config.CACHE === 'memory') {
    problems.push({
      name: 'CACHE',
      problem:
        'is memory (also its default) but STREAMBET_MODE=cluster (replicas would not share caches and rate limits)',
      expected: 'redis (with REDIS_URL)',
    });
  }
  return problems;
}

/**
 * Checks that span variables (loadConfig checks one variable at a time): a bus or cache adapter
 * needs its server, and cluster mode needs every real dependency ({@link runModeProblems}). Throws
 * a ConfigError naming each offending variable, like loadConfig.
 */
export function checkPlatformConfig<C extends PlatformConfig>(config: C): C {
  const problems: ConfigProblem[] = runModeProblems(config);
  if (config.EVENT_BUS === 'kafka' && config.KAFKA_BROKERS.length === 0) {
    problems.push({
      name: 'KAFKA_BROKERS',
      problem: 'is not set but EVENT_BUS=kafka',
      expected: 'comma-separated Kafka brokers host:port',
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** A service's config spec: the platform's variables plus its own. */
export type ServiceConfigSpec = ReturnType<typeof platformConfigSpec> & ConfigSpec;

/**
 * The base URL of a downstream from a loaded config (its `<NAME>_SERVICE_URL`). Throws when the
 * service's config spec did not declare that downstream: a wiring mistake, caught at start.
 */
export function serviceUrl(config: object, downstream: DownstreamName): string {
  const variable = serviceUrlVariable(downstream);
  const value = (config as Record<string, unknown>)[variable];
  if (typeof value !== 'string') {
    throw new Error(
      `${variable} is not part of this service's config: add '${downstream}' to its downstreams`,
    );
  }
  return value;
}
