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
import type { ChannelSettingsDocument } from './domain/channel-settings.js';

/**
 * Every environment variable the pool service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 */
export const poolConfigSpec = defineConfig({
  ...platformConfigSpec('pool', ['user', 'integration', 'bet-engine', 'settlement']),
});

/** The pool service's configuration, validated and frozen. */
export type PoolConfig = Config<typeof poolConfigSpec>;

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadPoolConfig(env: Environment = process.env): PoolConfig {
  return checkPlatformConfig(loadConfig(poolConfigSpec, env));
}

/**
 * Deployment settings of the pool's rules. They are constants for now rather than variables:
 * adding POOL_* variables changes the README's generated environment table, which is regenerated
 * with `npm run docs:env` by whoever owns it. The real currency must match the user service's.
 */
export interface PoolSettings {
  /** ISO 4217 code of the deployment's real currency; "PTS" is always offered too. */
  readonly realCurrency: string;
  /** How long after resolution an admin may still void a market (product.md: 10 min). */
  readonly voidGracePeriodMs: number;
  /** Channel settings until a channel's first UpdateChannelSettings (pool.proto ChannelSettings). */
  readonly channelDefaults: ChannelSettingsDocument;
  /** How often the auto-lock task looks for markets whose betting window elapsed. */
  readonly autoLockIntervalMs: number;
}

/** The settings every deployment runs with today. */
export const defaultPoolSettings: PoolSettings = Object.freeze({
  realCurrency: 'BRL',
  voidGracePeriodMs: 10 * 60_000,
  channelDefaults: Object.freeze({
    commissionBps: 500,
    streamerRevenueShareBps: 5000,
    broadcastDelaySeconds: 5,
    realMoneyStakeLimits: Object.freeze({
      minStakeMinor: 100n,
      maxStakePerBetMinor: 100_000n,
      maxStakePerUserMinor: 500_000n,
    }),
    pointsStakeLimits: Object.freeze({
      minStakeMinor: 1n,
      maxStakePerBetMinor: 100_000n,
      maxStakePerUserMinor: 1_000_000n,
    }),
    defaultBettingWindowSeconds: 300,
    autoLockOnOffline: true,
  }),
  autoLockIntervalMs: 1000,
});
