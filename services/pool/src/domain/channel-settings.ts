/**
 * A channel's market settings (pool.proto ChannelSettings): commission, streamer revenue share,
 * broadcast delay, default stake limits and window, auto-lock on offline. Stored as one JSON
 * document per channel; the deployment's defaults apply until the first update. Pure rules:
 * validation, who may change what, and the merge of a partial update.
 */
import {
  ConcurrencyError,
  PermissionDeniedError,
  ValidationError,
  type FieldViolation,
} from '@streambet/platform/errors/domain-errors';
import {
  bettingWindowViolations,
  MAX_COMMISSION_BPS,
  stakeLimitViolations,
  type Actor,
  type MarketDefaults,
  type StakeLimits,
} from './market.js';

/** The settings document (what is stored as JSONB, bigints as decimal strings). */
export interface ChannelSettingsDocument extends MarketDefaults {
  /** Broadcast delay behind reality, 0–60 s: the default reach of a retroactive lock. */
  readonly broadcastDelaySeconds: number;
}

/** Largest broadcast delay (it is also the 60 s bound of a retroactive lock). */
export const MAX_BROADCAST_DELAY_SECONDS = 60;
/** Streamer revenue share bounds in bps. */
export const MAX_REVENUE_SHARE_BPS = 10_000;

/** A partial update: absent fields keep their value. */
export interface ChannelSettingsPatch {
  readonly commissionBps?: number;
  readonly streamerRevenueShareBps?: number;
  readonly broadcastDelaySeconds?: number;
  readonly realMoneyStakeLimits?: StakeLimits;
  readonly pointsStakeLimits?: StakeLimits;
  readonly defaultBettingWindowSeconds?: number;
  readonly autoLockOnOffline?: boolean;
}

/** Proto field names of the patch, for ChannelSettingsChanged.changed_fields. */
const fieldNames: Record<keyof ChannelSettingsPatch, string> = {
  commissionBps: 'commission_bps',
  streamerRevenueShareBps: 'streamer_revenue_share_bps',
  broadcastDelaySeconds: 'broadcast_delay_seconds',
  realMoneyStakeLimits: 'real_money_stake_limits',
  pointsStakeLimits: 'points_stake_limits',
  defaultBettingWindowSeconds: 'default_betting_window_seconds',
  autoLockOnOffline: 'auto_lock_on_offline',
};

/** Fields only an admin may change (pool.proto UpdateChannelSettings). */
const adminOnly: ReadonlyArray<keyof ChannelSettingsPatch> = [
  'commissionBps',
  'streamerRevenueShareBps',
];

function intInRange(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

/** Every rule a settings document must keep, as field violations (empty when valid). */
export function settingsViolations(settings: ChannelSettingsPatch): FieldViolation[] {
  const violations: FieldViolation[] = [];
  if (
    settings.commissionBps !== undefined &&
    !intInRange(settings.commissionBps, 0, MAX_COMMISSION_BPS)
  ) {
    violations.push({
      field: 'commission_bps',
      description: `must be between 0 and ${MAX_COMMISSION_BPS}`,
    });
  }
  if (
    settings.streamerRevenueShareBps !== undefined &&
    !intInRange(settings.streamerRevenueShareBps, 0, MAX_REVENUE_SHARE_BPS)
  ) {
    violations.push({
      field: 'streamer_revenue_share_bps',
      description: `must be between 0 and ${MAX_REVENUE_SHARE_BPS}`,
    });
  }
  if (
    settings.broadcastDelaySeconds !== undefined &&
    !intInRange(settings.broadcastDelaySeconds, 0, MAX_BROADCAST_DELAY_SECONDS)
  ) {
    violations.push({
      field: 'broadcast_delay_seconds',
      description: `must be between 0 and ${MAX_BROADCAST_DELAY_SECONDS} seconds`,
    });
  }
  if (settings.realMoneyStakeLimits !== undefined) {
    violations.push(
      ...stakeLimitViolations(settings.realMoneyStakeLimits, 'real_money_stake_limits'),
    );
  }
  if (settings.pointsStakeLimits !== undefined) {
    violations.push(...stakeLimitViolations(settings.pointsStakeLimits, 'points_stake_limits'));
  }
  if (settings.defaultBettingWindowSeconds !== undefined) {
    violations.push(
      ...bettingWindowViolations(
        settings.defaultBettingWindowSeconds,
        'default_betting_window_seconds',
      ),
    );
  }
  return violations;
}

/** Checks a full document (deployment defaults at start, stored documents on read). */
export function assertValidSettings(settings: ChannelSettingsDocument, what: string): void {
  const violations = settingsViolations(settings);
  if (violations.length > 0) throw new ValidationError(`invalid ${what}`, violations);
}

/**
 * Decides UpdateChannelSettings: the owner (as streamer) may change the broadcast delay, default
 * limits, window and auto-lock; only an admin the commission and revenue share. Returns the new
 * document and the proto names of the fields that actually changed (empty: nothing to write).
 */
export function decideSettingsUpdate(
  current: ChannelSettingsDocument,
  currentVersion: number,
  patch: ChannelSettingsPatch,
  context: {
    readonly actor: Actor;
    readonly channelOwnerUserId: string;
    readonly expectedVersion: number;
  },
): { settings: ChannelSettingsDocument; changedFields: string[] } {
  const actor = context.actor;
  const isAdmin = actor.kind === 'system' || actor.role === 'admin';
  if (
    !isAdmin &&
    !(
      actor.kind === 'user' &&
      actor.role === 'streamer' &&
      actor.userId === context.channelOwnerUserId
    )
  ) {
    throw new PermissionDeniedError("only the channel's owner or an admin may change its settings");
  }
  const violations = settingsViolations(patch);
  if (violations.length > 0) throw new ValidationError('invalid channel settings', violations);
  if (!isAdmin) {
    const forbidden = adminOnly
      .filter((key) => patch[key] !== undefined)
      .map((key) => fieldNames[key]);
    if (forbidden.length > 0) {
      throw new PermissionDeniedError(`only an admin may change ${forbidden.join(' and ')}`);
    }
  }
  if (context.expectedVersion !== 0 && context.expectedVersion !== currentVersion) {
    throw new ConcurrencyError(
      `channel settings are at version ${currentVersion}, not ${context.expectedVersion}: re-read them and decide again`,
    );
  }
  const next: ChannelSettingsDocument = {
    commissionBps: patch.commissionBps ?? current.commissionBps,
    streamerRevenueShareBps: patch.streamerRevenueShareBps ?? current.streamerRevenueShareBps,
    broadcastDelaySeconds: patch.broadcastDelaySeconds ?? current.broadcastDelaySeconds,
    realMoneyStakeLimits: patch.realMoneyStakeLimits ?? current.realMoneyStakeLimits,
    pointsStakeLimits: patch.pointsStakeLimits ?? current.pointsStakeLimits,
    defaultBettingWindowSeconds:
      patch.defaultBettingWindowSeconds ?? current.defaultBettingWindowSeconds,
    autoLockOnOffline: patch.autoLockOnOffline ?? current.autoLockOnOffline,
  };
  const changedFields = (Object.keys(fieldNames) as Array<keyof ChannelSettingsPatch>)
    .filter((key) => !sameValue(current[key], next[key]))
    .map((key) => fieldNames[key]);
  return { settings: next, changedFields };
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const x = a as StakeLimits;
    const y = b as StakeLimits;
    return (
      x.minStakeMinor === y.minStakeMinor &&
      x.maxStakePerBetMinor === y.maxStakePerBetMinor &&
      x.maxStakePerUserMinor === y.maxStakePerUserMinor
    );
  }
  return a === b;
}
