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
 * Every environment variable the settlement service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 */
export const settlementConfigSpec = defineConfig({
  ...platformConfigSpec('settlement', ['user', 'pool', 'bet-engine']),
  SETTLEMENT_LEASE_MS: {
    schema: configSchemas.int(1000, 600_000),
    description:
      "How long a settlement attempt holds its run, in ms, renewed every third of it while it works; a crashed runner's run is taken over by another this long after its last renewal (plus one poll)",
    default: '5000',
  },
  SETTLEMENT_POLL_MS: {
    schema: configSchemas.int(100, 60_000),
    description:
      'How often each process looks for due settlement runs (new, failed past their backoff, or RUNNING under an expired lease), in ms; keep it well below SETTLEMENT_LEASE_MS',
    default: '1000',
  },
  SETTLEMENT_SWEEP_INTERVAL_MS: {
    schema: configSchemas.int(1000, 86_400_000),
    description:
      'How often settlement asks the pool for RESOLVED and CANCELED markets that have no settlement run (their event never arrived) and starts their runs, in ms',
    default: '60000',
  },
  SETTLEMENT_SWEEP_LOOKBACK_HOURS: {
    schema: configSchemas.int(1, 24 * 365),
    description:
      'How far back (by market creation) the missing-run sweep looks, in hours; default 30 days, the ledger hold expiry',
    default: '720',
  },
  SETTLEMENT_SWEEP_GRACE_MS: {
    schema: configSchemas.int(0, 3_600_000),
    description:
      'Markets finished less than this ago are left to their MarketResolved / MarketCanceled event by the missing-run sweep, in ms',
    default: '30000',
  },
});

/** The settlement service's configuration, validated and frozen. */
export type SettlementConfig = Config<typeof settlementConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadSettlementConfig(env: Environment = process.env): SettlementConfig {
  return checkPlatformConfig(loadConfig(settlementConfigSpec, env));
}
