/**
 * The YouTube quota budget: 1,000 linked channels polled for two simulated days stay within the
 * default 10,000 units in every 24-hour window (the token bucket bounds any window at the budget),
 * the fair-share interval, offline growth, error backoff and jitter.
 */
import { describe, expect, it } from 'vitest';
import {
  basePollIntervalMs,
  dayMs,
  fullBucket,
  nextPollDelayMs,
  reserveUnits,
  takeUnits,
  type QuotaBucket,
} from '../src/domain/youtube-quota.js';

const plan = { budgetUnitsPerDay: 10_000 };

/** Simulates `channels` channels polled for `days` days; returns the units spent per poll time. */
function simulate(channels: number, days: number, liveEvery = 7) {
  const minIntervalMs = 60_000;
  const base = basePollIntervalMs(channels, plan, minIntervalMs);
  let bucket: QuotaBucket = fullBucket(plan, 0);
  const next = Array.from({ length: channels }, (_, i) => (i * base) / channels);
  const offlineStreak = new Array<number>(channels).fill(0);
  const spends: { atMs: number; units: number }[] = [];
  let deferred = 0;
  // Step the clock a second at a time over due channels (the poller's tick).
  for (let now = 0; now < days * dayMs; now += 1000) {
    for (let i = 0; i < channels; i += 1) {
      if (next[i]! > now) continue;
      const live = i % liveEvery === 0;
      const cost = live ? 1 : 2;
      const taken = takeUnits(bucket, cost, now, plan, reserveUnits(plan));
      if (taken === undefined) {
        deferred += 1;
        next[i] = now + 5000;
        continue;
      }
      bucket = taken;
      spends.push({ atMs: now, units: cost });
      offlineStreak[i] = live ? 0 : offlineStreak[i]! + 1;
      next[i] =
        now +
        nextPollDelayMs({
          baseMs: base,
          offlineStreak: offlineStreak[i]!,
          errorStreak: 0,
          maxOfflineMs: 900_000,
          maxBackoffMs: 900_000,
          random: ((i * 7919) % 1000) / 1000,
        });
    }
  }
  return { base, spends, deferred };
}

function maxWindowUnits(spends: readonly { atMs: number; units: number }[]): number {
  let max = 0;
  let sum = 0;
  let start = 0;
  for (const spend of spends) {
    sum += spend.units;
    while (spends[start]!.atMs <= spend.atMs - dayMs) {
      sum -= spends[start]!.units;
      start += 1;
    }
    max = Math.max(max, sum);
  }
  return max;
}

describe('YouTube quota budget', () => {
  it('1,000 channels × 2 days: every 24-hour window spends at most 10,000 units', () => {
    const { base, spends } = simulate(1000, 2);
    // Fair share: 2 units × 1,000 channels a poll each ≈ every 5 h 10 min.
    expect(base).toBeGreaterThan(5 * 3_600_000);
    expect(base).toBeLessThan(5.5 * 3_600_000);
    const total = spends.reduce((a, s) => a + s.units, 0);
    expect(maxWindowUnits(spends)).toBeLessThanOrEqual(10_000);
    // And it is used, not starved: every channel polled several times a day.
    expect(total / 2).toBeGreaterThan(1000 * 4);
  });

  it('a few channels poll at the minimum interval; the bucket still bounds a burst of links', () => {
    expect(basePollIntervalMs(3, plan, 60_000)).toBe(60_000);
    // 100 channels: 1 poll each per ≈ 30 min.
    expect(basePollIntervalMs(100, plan, 60_000)).toBeGreaterThan(29 * 60_000);
    let bucket: QuotaBucket = fullBucket(plan, 0);
    let taken = 0;
    for (;;) {
      const next = takeUnits(bucket, 1, 0, plan);
      if (next === undefined) break;
      bucket = next;
      taken += 1;
    }
    // A burst at one instant takes at most the bucket (one hour of budget).
    expect(taken).toBe(Math.floor(10_000 / 24));
    // Refilled an hour later at the sustainable rate.
    expect(takeUnits(bucket, 300, 3_600_000, plan)).toBeDefined();
    expect(takeUnits(bucket, 500, 3_600_000, plan)).toBeUndefined();
  });

  it('grows while offline, backs off on errors, jitters only upwards', () => {
    const at = (offlineStreak: number, errorStreak: number, random = 0) =>
      nextPollDelayMs({
        baseMs: 60_000,
        offlineStreak,
        errorStreak,
        maxOfflineMs: 900_000,
        maxBackoffMs: 1_800_000,
        random,
      });
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => at(n, 0))).toEqual([
      60_000, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000,
    ]);
    expect([1, 2, 5, 10].map((n) => at(0, n))).toEqual([120_000, 240_000, 1_800_000, 1_800_000]);
    expect(at(0, 0, 0.999)).toBeGreaterThan(60_000);
    expect(at(0, 0, 0.999)).toBeLessThanOrEqual(72_000);
  });
});
