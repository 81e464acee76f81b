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
import type { FraudThresholds } from './domain/fraud.js';

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
    default: '250',
  },
  ANALYTICS_SINK_IDLE_FLUSH_MS: {
    schema: configSchemas.int(0, 60_000),
    description:
      'With ClickHouse: write a partial batch early when no event arrived for this long, in ms (the bus delivers no more until the buffered events are acked); 0 = off',
    default: '20',
  },
  ANALYTICS_SINK_WRITERS: {
    schema: configSchemas.int(1, 16),
    description:
      'With ClickHouse: inserts the sink runs at once (the SQL warehouse always uses one)',
    default: '4',
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
  ANALYTICS_FRAUD_LATE_BET_WINDOW_MS: {
    schema: configSchemas.int(1000, 600_000),
    description:
      'Late-bet cluster rule: bets this long before a manual or retroactive lock (its effective instant) count as late, in ms',
    default: '10000',
  },
  ANALYTICS_FRAUD_LATE_BET_MIN_ACCOUNTS: {
    schema: configSchemas.int(2, 1000),
    description:
      'Late-bet cluster rule: distinct accounts on one device or network among late bets that raise a flag',
    default: '3',
  },
  ANALYTICS_FRAUD_CYCLING_LOOKBACK_HOURS: {
    schema: configSchemas.int(1, 24 * 90),
    description:
      'Deposit–withdraw cycling rule: how far back deposits and stakes count for a withdrawal, in hours',
    default: '72',
  },
  ANALYTICS_FRAUD_CYCLING_MIN_DEPOSIT_MINOR: {
    schema: configSchemas.int(1, Number.MAX_SAFE_INTEGER),
    description:
      'Deposit–withdraw cycling rule: deposits (minor units, real currency) below this in the lookback are not judged',
    default: '10000',
  },
  ANALYTICS_FRAUD_CYCLING_MAX_STAKE_BPS: {
    schema: configSchemas.int(0, 10_000),
    description:
      'Deposit–withdraw cycling rule: "little betting" means stakes below this share of the deposits, in basis points',
    default: '2000',
  },
  ANALYTICS_FRAUD_CYCLING_MIN_WITHDRAW_BPS: {
    schema: configSchemas.int(1, 100_000),
    description:
      'Deposit–withdraw cycling rule: the withdrawal takes at least this share of the deposits back, in basis points',
    default: '8000',
  },
  ANALYTICS_FRAUD_VELOCITY_WINDOW_MS: {
    schema: configSchemas.int(1000, 3_600_000),
    description: 'Velocity rule: the sliding window bets are counted in, in ms',
    default: '60000',
  },
  ANALYTICS_FRAUD_VELOCITY_MAX_BETS: {
    schema: configSchemas.int(2, 100_000),
    description: 'Velocity rule: bets by one user within the window that raise a flag',
    default: '30',
  },
  ANALYTICS_FRAUD_RETRO_VOID_LOOKBACK_HOURS: {
    schema: configSchemas.int(1, 24 * 365),
    description:
      'Repeated retroactive voids rule: how far back voids by retroactive locks count, in hours',
    default: '168',
  },
  ANALYTICS_FRAUD_RETRO_VOID_MIN_MARKETS: {
    schema: configSchemas.int(1, 1000),
    description:
      'Repeated retroactive voids rule: markets on which a user had bets voided by retroactive locks (within the lookback) that raise a flag',
    default: '3',
  },
});

/** The fraud rules' thresholds from the configuration. */
export function fraudThresholdsOf(config: AnalyticsConfig): FraudThresholds {
  return {
    lateBetWindowMs: config.ANALYTICS_FRAUD_LATE_BET_WINDOW_MS,
    lateBetMinAccounts: config.ANALYTICS_FRAUD_LATE_BET_MIN_ACCOUNTS,
    cyclingLookbackMs: config.ANALYTICS_FRAUD_CYCLING_LOOKBACK_HOURS * 3_600_000,
    cyclingMinDepositMinor: BigInt(config.ANALYTICS_FRAUD_CYCLING_MIN_DEPOSIT_MINOR),
    cyclingMaxStakeBps: config.ANALYTICS_FRAUD_CYCLING_MAX_STAKE_BPS,
    cyclingMinWithdrawBps: config.ANALYTICS_FRAUD_CYCLING_MIN_WITHDRAW_BPS,
    velocityWindowMs: config.ANALYTICS_FRAUD_VELOCITY_WINDOW_MS,
    velocityMaxBets: config.ANALYTICS_FRAUD_VELOCITY_MAX_BETS,
    retroVoidLookbackMs: config.ANALYTICS_FRAUD_RETRO_VOID_LOOKBACK_HOURS * 3_600_000,
    retroVoidMinCount: config.ANALYTICS_FRAUD_RETRO_VOID_MIN_MARKETS,
  };
}

/** The analytics service's configuration, validated and frozen. */
export type AnalyticsConfig = Config<typeof analyticsConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadAnalyticsConfig(env: Environment = process.env): AnalyticsConfig {
  return checkPlatformConfig(loadConfig(analyticsConfigSpec, env));
}
