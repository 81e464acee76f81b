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
 * Every environment variable the user service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 */
export const userConfigSpec = defineConfig({
  ...platformConfigSpec('user'),
});

/** The user service's configuration, validated and frozen. */
export type UserConfig = Config<typeof userConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadUserConfig(env: Environment = process.env): UserConfig {
  return checkPlatformConfig(loadConfig(userConfigSpec, env));
}
