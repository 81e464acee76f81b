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
 * Every environment variable the pool service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 */
export const poolConfigSpec = defineConfig({
  ...platformConfigSpec('pool', ['user', 'integration']),
});

/** The pool service's configuration, validated and frozen. */
export type PoolConfig = Config<typeof poolConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadPoolConfig(env: Environment = process.env): PoolConfig {
  return checkPlatformConfig(loadConfig(poolConfigSpec, env));
}
