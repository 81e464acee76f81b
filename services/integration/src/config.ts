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
 * Every environment variable the integration service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 */
export const integrationConfigSpec = defineConfig({
  ...platformConfigSpec('integration', ['user', 'pool']),
});

/** The integration service's configuration, validated and frozen. */
export type IntegrationConfig = Config<typeof integrationConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadIntegrationConfig(env: Environment = process.env): IntegrationConfig {
  return checkPlatformConfig(loadConfig(integrationConfigSpec, env));
}
