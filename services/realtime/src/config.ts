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
 * Every environment variable the realtime service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 */
export const realtimeConfigSpec = defineConfig({
  ...platformConfigSpec('realtime', []),
});

/** The realtime service's configuration, validated and frozen. */
export type RealtimeConfig = Config<typeof realtimeConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadRealtimeConfig(env: Environment = process.env): RealtimeConfig {
  return checkPlatformConfig(loadConfig(realtimeConfigSpec, env));
}
