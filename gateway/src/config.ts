import { z } from 'zod';
import {
  ConfigError,
  configSchemas,
  defineConfig,
  loadConfig,
  type Config,
  type Environment,
} from '@streambet/platform/config/load-config';
import {
  cacheConfigSpec,
  downstreamConfigSpec,
  modeConfigSpec,
  runModeProblems,
  serverConfigSpec,
  storageConfigSpec,
  userTokenConfigSpec,
} from '@streambet/platform/runtime/platform-config';
import { downstreamNames } from './public-services.js';

/** An origin as browsers send it: scheme, host and optional port, no path (or `*` for any). */
const originSchema = z
  .string()
  .refine(
    (value) => value === '*' || /^https?:\/\/[^/\s]+$/.test(value),
    'each entry must be an origin such as https://app.example.com (no path, no trailing slash) or *',
  );

/** What the edge itself decides: rate limits, CORS, webhook bodies, the web app's files. */
const edgeConfigSpec = defineConfig({
  RATE_LIMIT_IP_BURST: {
    schema: configSchemas.int(1, 1_000_000),
    description:
      'Calls one client address may make in a burst before it is refused (RESOURCE_EXHAUSTED)',
    default: '200',
  },
  RATE_LIMIT_IP_PER_SECOND: {
    schema: configSchemas.int(0, 1_000_000),
    description:
      'Sustained calls per second allowed per client address (token refill rate); 0 turns the per-address limit off',
    default: '50',
  },
  RATE_LIMIT_USER_BURST: {
    schema: configSchemas.int(1, 1_000_000),
    description:
      'Calls one signed-in user (JWT subject) may make in a burst before they are refused',
    default: '60',
  },
  RATE_LIMIT_USER_PER_SECOND: {
    schema: configSchemas.int(0, 1_000_000),
    description:
      'Sustained calls per second allowed per signed-in user; 0 turns the per-user limit off',
    default: '20',
  },
  METRICS_PORT: {
    schema: z.union([z.literal('').transform(() => undefined), configSchemas.port()]),
    description:
      'Internal TCP port of GET /metrics (Prometheus); the public PORT answers /metrics with 404. Empty = PORT + 1000 (9080), or a free port when PORT is 0',
    default: '',
  },
  TRUSTED_PROXY_HOPS: {
    schema: configSchemas.int(0, 10),
    description:
      'Reverse proxies in front of the gateway whose X-Forwarded-For entries are trusted for the client address (0 = use the TCP peer)',
    default: '0',
  },
  CORS_ALLOWED_ORIGINS: {
    schema: configSchemas.list().pipe(z.array(originSchema)),
    description:
      'Comma-separated web origins allowed to call the API from a browser (e.g. http://localhost:5173), or * for any; empty = same origin only',
    default: '',
  },
  WEBHOOK_MAX_BODY_BYTES: {
    schema: configSchemas.int(1, 64 * 1024 * 1024),
    description: 'Largest webhook body passed on to a service; bigger ones are refused with 413',
    default: String(1024 * 1024),
  },
  WEB_DIR: {
    schema: z.string(),
    description:
      "Folder of the built web app served at /; empty = the repo's apps/web/dist when it has an index.html, none = no web app (the status page is then at /)",
    default: '',
  },
});

/**
 * Every environment variable the gateway reads (the only reader of the environment in the gateway).
 * The gateway keeps no state of its own: it needs where to listen, how to check user tokens, where
 * each service is, the cache its rate limits use, and its edge policies.
 */
export const gatewayConfigSpec = defineConfig({
  ...modeConfigSpec,
  ...serverConfigSpec('gateway'),
  ...userTokenConfigSpec,
  ...downstreamConfigSpec(downstreamNames),
  ...cacheConfigSpec,
  ...edgeConfigSpec,
});

/** The gateway's configuration, validated and frozen. */
export type GatewayConfig = Config<typeof gatewayConfigSpec>;

/**
 * Reads and validates the configuration; throws a ConfigError naming every bad or missing variable,
 * and in cluster mode (the default) the in-process cache (rate limits would not be shared).
 */
export function loadGatewayConfig(env: Environment = process.env): GatewayConfig {
  const config = loadConfig(gatewayConfigSpec, env);
  const problems = runModeProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * What the embedded runner (`npm start`, embedded.ts) itself reads: where its data lives, whether
 * the demo runs, how it logs. Each service it starts still reads its own variables through its own
 * spec (from the same environment, with the embedded values on top).
 */
export const embeddedConfigSpec = defineConfig({
  STREAMBET_MODE: {
    // A container that says cluster but runs `npm start` by mistake stops here instead of
    // serving from PGlite and in-process fakes.
    schema: z.literal(
      'embedded',
      'must be embedded (or unset): npm start runs the embedded platform; cluster deployables run their own main.ts',
    ),
    description:
      'The embedded runner always runs in embedded mode; cluster here is refused (exit 78)',
    default: 'embedded',
  },
  DATA_DIR: storageConfigSpec.DATA_DIR,
  LOG_LEVEL: serverConfigSpec('gateway').LOG_LEVEL,
  DEMO: {
    schema: configSchemas.oneOf(['on', 'off']),
    description:
      'on: seed the live demo (a channel, an open market, simulated bettors) at start; off: start empty',
    default: 'on',
  },
});

/** The embedded runner's configuration, validated and frozen. */
export type EmbeddedConfig = Config<typeof embeddedConfigSpec>;

/** Reads and validates the embedded runner's configuration; throws a ConfigError naming every bad variable. */
export function loadEmbeddedConfig(env: Environment = process.env): EmbeddedConfig {
  return loadConfig(embeddedConfigSpec, env);
}
