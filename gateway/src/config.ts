import {
  defineConfig,
  loadConfig,
  type Config,
  type Environment,
} from '@streambet/platform/config/load-config';
import {
  cacheConfigSpec,
  downstreamConfigSpec,
  serverConfigSpec,
  userTokenConfigSpec,
} from '@streambet/platform/runtime/platform-config';
import { downstreamNames } from './public-services.js';

/**
 * Every environment variable the gateway reads (the only reader of the environment in the gateway).
 * The gateway keeps no state of its own: it needs where to listen, how to check user tokens, where
 * each service is, and the cache its rate limits will use.
 */
export const gatewayConfigSpec = defineConfig({
  ...serverConfigSpec('gateway'),
  ...userTokenConfigSpec,
  ...downstreamConfigSpec(downstreamNames),
  ...cacheConfigSpec,
});

/** The gateway's configuration, validated and frozen. */
export type GatewayConfig = Config<typeof gatewayConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadGatewayConfig(env: Environment = process.env): GatewayConfig {
  return loadConfig(gatewayConfigSpec, env);
}
