import {
  configSchemas,
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
  ANALYTICS_CLICKHOUSE_URL: {
    schema: configSchemas.url(['http:', 'https:']).or(configSchemas.oneOf([''])),
    description:
      "ClickHouse HTTP URL of the warehouse, e.g. http://user:pass@clickhouse:8123; empty = the service's own SQL database is the warehouse (embedded)",
    default: '',
  },
  ANALYTICS_CLICKHOUSE_DATABASE: {
    schema: configSchemas.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a database name'),
    description: 'ClickHouse database of the warehouse (created when missing)',
    default: 'streambet_analytics',
  },
  ANALYTICS_SINK_BATCH_ROWS: {
    schema: configSchemas.int(1, 100_000),
    description:
      'Most events the warehouse sink writes in one insert; a full batch is written at once',
    default: '5000',
  },
  ANALYTICS_SINK_FLUSH_MS: {
    schema: configSchemas.int(0, 60_000),
    description:
      'With ClickHouse: longest an event waits for its insert batch to fill, in ms (0 = write as soon as the previous insert finished). The SQL warehouse always writes as soon as the previous insert committed, so the in-process bus is never held back',
    default: '500',
  },
  ANALYTICS_SINK_BUFFER_EVENTS: {
    schema: configSchemas.int(1, 10_000_000),
    description:
      'Most events the sink holds while the warehouse is down or slow; beyond it events are left unacknowledged on the bus (back-pressure) until the warehouse catches up',
    default: '20000',
  },
  ANALYTICS_SINK_RETRY_MS: {
    schema: configSchemas.int(10, 600_000),
    description: 'Delay before the sink writes a failed batch again, in ms',
    default: '1000',
  },
});

/** The analytics service's configuration, validated and frozen. */
export type AnalyticsConfig = Config<typeof analyticsConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadAnalyticsConfig(env: Environment = process.env): AnalyticsConfig {
  return checkPlatformConfig(loadConfig(analyticsConfigSpec, env));
}
