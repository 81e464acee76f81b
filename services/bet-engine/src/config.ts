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
 * Every environment variable the bet-engine service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 */
export const betEngineConfigSpec = defineConfig({
  ...platformConfigSpec('bet-engine', ['user', 'pool']),
});

/** The bet-engine service's configuration, validated and frozen. */
export type BetEngineConfig = Config<typeof betEngineConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadBetEngineConfig(env: Environment = process.env): BetEngineConfig {
  return checkPlatformConfig(loadConfig(betEngineConfigSpec, env));
}
