/**
 * Cool-off (24 h – 6 weeks) and self-exclusion (6 months, 1 year, permanent). Neither can be ended
 * early; a new request never shortens one in force (the later end wins, permanent beats all).
 */
import { ValidationError } from '@streambet/platform/errors/domain-errors';
import { daysInMonth } from '../accounts/age.js';

/** Shortest cool-off, in seconds (24 h). */
export const minCoolOffSeconds = 86_400;
/** Longest cool-off, in seconds (6 weeks). */
export const maxCoolOffSeconds = 3_628_800;

/**
 * End of the cool-off in force after a request for `durationSeconds` at `nowMs`, given the end of
 * any cool-off already in force (`currentUntilMs`, 0 or past = none).
 */
export function decideCoolOff(
  currentUntilMs: number,
  durationSeconds: number,
  nowMs: number,
): { readonly untilMs: number; readonly changed: boolean } {
  if (
    !Number.isInteger(durationSeconds) ||
    durationSeconds < minCoolOffSeconds ||
    durationSeconds > maxCoolOffSeconds
  ) {
    throw new ValidationError('cool-off refused', [
      {
        field: 'duration_seconds',
        description: `must be ${minCoolOffSeconds} (24 h) to ${maxCoolOffSeconds} (6 weeks) seconds, got ${durationSeconds}`,
      },
    ]);
  }
  const requested = nowMs + durationSeconds * 1000;
  if (currentUntilMs > nowMs && currentUntilMs >= requested) {
    return { untilMs: currentUntilMs, changed: false };
  }
  return { untilMs: requested, changed: true };
}

/** Self-exclusion lengths (the contract's SelfExclusionDuration without prefix). */
export type SelfExclusionDurationName = 'SIX_MONTHS' | 'ONE_YEAR' | 'PERMANENT';

/** A self-exclusion as stored: `untilMs` null means permanent. */
export interface SelfExclusionState {
  readonly duration: SelfExclusionDurationName;
  readonly startedAtMs: number;
  readonly untilMs: number | null;
}

/** `startMs` plus whole calendar months (UTC), the day clamped to the target month's length. */
export function addCalendarMonths(startMs: number, months: number): number {
  const start = new Date(startMs);
  const monthIndex = start.getUTCMonth() + months;
  const year = start.getUTCFullYear() + Math.floor(monthIndex / 12);
  const month = ((monthIndex % 12) + 12) % 12;
  const day = Math.min(start.getUTCDate(), daysInMonth(year, month + 1));
  return Date.UTC(
    year,
    month,
    day,
    start.getUTCHours(),
    start.getUTCMinutes(),
    start.getUTCSeconds(),
    start.getUTCMilliseconds(),
  );
}

/** True when `exclusion` is in force at `nowMs`. */
export function selfExclusionActive(exclusion: SelfExclusionState | null, nowMs: number): boolean {
  return exclusion !== null && (exclusion.untilMs === null || exclusion.untilMs > nowMs);
}

/**
 * The self-exclusion in force after a request for `duration` at `nowMs`: the longer of the current
 * one (if still in force) and the requested one. `changed` is false when the current one already
 * lasts at least as long.
 */
export function decideSelfExclusion(
  current: SelfExclusionState | null,
  duration: SelfExclusionDurationName | undefined,
  nowMs: number,
): { readonly exclusion: SelfExclusionState; readonly changed: boolean } {
  if (duration === undefined) {
    throw new ValidationError('self-exclusion refused', [
      { field: 'duration', description: 'is required (SIX_MONTHS, ONE_YEAR or PERMANENT)' },
    ]);
  }
  const untilMs =
    duration === 'PERMANENT' ? null : addCalendarMonths(nowMs, duration === 'SIX_MONTHS' ? 6 : 12);
  const requested: SelfExclusionState = { duration, startedAtMs: nowMs, untilMs };
  if (current !== null && selfExclusionActive(current, nowMs)) {
    const currentLonger =
      current.untilMs === null || (untilMs !== null && current.untilMs >= untilMs);
    if (currentLonger) return { exclusion: current, changed: false };
  }
  return { exclusion: requested, changed: true };
}
