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
 * Every environment variable the settlement service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 */
export const settlementConfigSpec = defineConfig({
  ...platformConfigSpec('settlement', ['user', 'pool', 'bet-engine']),
});

/** The settlement service's configuration, validated and frozen. */
export type SettlementConfig = Config<typeof settlementConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadSettlementConfig(env: Environment = process.env): SettlementConfig {
  return checkPlatformConfig(loadConfig(settlementConfigSpec, env));
}
