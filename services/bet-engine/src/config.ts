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
 * Every environment variable the bet-engine service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 */
export const betEngineConfigSpec = defineConfig({
  ...platformConfigSpec('bet-engine', ['user', 'pool']),
  BET_ENGINE_BATCHES_IN_FLIGHT: {
    schema: configSchemas.int(1, 64),
    description:
      'Placement batches one bet-engine process runs at once (1-64): one in its intake (writing intents) plus the ones reserving stakes or finalizing; more overlaps more round trips, fewer keeps batches larger when a downstream stalls',
    default: '3',
  },
});

/** The bet-engine service's configuration, validated and frozen. */
export type BetEngineConfig = Config<typeof betEngineConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadBetEngineConfig(env: Environment = process.env): BetEngineConfig {
  return checkPlatformConfig(loadConfig(betEngineConfigSpec, env));
}

/** Tunables of the bet engine that are not deployment configuration (tests pass their own). */
export interface BetEngineSettings {
  /** Most placements in one group commit (the ledger takes ≤ 1000 commands per call). */
  readonly maxBatchSize: number;
  /**
   * Timeout of every stake hold. Long enough for any market to lock and settle (the ledger's
   * maximum, 30 days); it only matters if a hold is ever orphaned, which the intent row prevents.
   */
  readonly holdTimeoutSeconds: number;
  /** How often reconciliation looks for PENDING bets and unfinished retroactive voids. */
  readonly reconcileIntervalMs: number;
  /** PENDING bets younger than this are left to the batch that wrote them (> the RPC deadline). */
  readonly reconcileMinAgeMs: number;
  /** Least time between two OddsChanged of one market (100 ms = at most 10 per second). */
  readonly oddsMinIntervalMs: number;
  /**
   * Load shedding: a PlaceBet arriving while the oldest queued placement has waited longer than
   * this is refused at once (RESOURCE_EXHAUSTED with a retry hint) instead of joining a queue
   * whose callers would time out — which would also trip the callers' circuit breakers. 2 s
   * leaves a batch room within the default 5 s RPC deadline.
   */
  readonly maxQueueWaitMs: number;
  /** Load shedding: most placements waiting for a batch (bounds memory whatever the clock does). */
  readonly maxQueuedPlacements: number;
}

/** The deployment's settings. */
export const defaultBetEngineSettings: BetEngineSettings = Object.freeze({
  maxBatchSize: 1000,
  holdTimeoutSeconds: 2_592_000,
  reconcileIntervalMs: 5_000,
  reconcileMinAgeMs: 15_000,
  oddsMinIntervalMs: 100,
  maxQueueWaitMs: 2_000,
  maxQueuedPlacements: 5_000,
});
