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
 * Every environment variable the analytics service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 */
export const analyticsConfigSpec = defineConfig({
  ...platformConfigSpec('analytics', []),
});

/** The analytics service's configuration, validated and frozen. */
export type AnalyticsConfig = Config<typeof analyticsConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadAnalyticsConfig(env: Environment = process.env): AnalyticsConfig {
  return checkPlatformConfig(loadConfig(analyticsConfigSpec, env));
}
