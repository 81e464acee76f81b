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
});

/** The settlement service's configuration, validated and frozen. */
export type SettlementConfig = Config<typeof settlementConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadSettlementConfig(env: Environment = process.env): SettlementConfig {
  return checkPlatformConfig(loadConfig(settlementConfigSpec, env));
}
