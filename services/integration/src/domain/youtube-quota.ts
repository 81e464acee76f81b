/**
 * The YouTube Data API quota budget, pure. YouTube gives a project a number of quota units a day
 * (10,000 by default; reset at midnight Pacific time). Our calls, cheapest first:
 * `channels.list` (1 unit, linking: does the channel exist, its uploads playlist),
 * `playlistItems.list` on the uploads playlist (1 unit: the latest uploads, where a live broadcast
 * appears) and `videos.list?part=liveStreamingDetails` (1 unit: is one of them live, when did it
 * start or end). `search.list?eventType=live` (100 units) is never used.
 *
 * Enforcement is a token bucket kept in the database (one for all replicas): it holds at most
 * `capacityUnits` and refills at `(budget − capacity) / day`, so any 24-hour window, and hence any
 * Pacific calendar day, spends at most `capacity + (budget − capacity) = budget`. Polls leave
 * `reserveUnits` in the bucket for linking (1 unit each).
 *
 * Poll intervals: every linked channel gets the same fair share of the sustainable rate (a poll
 * costs at most {@link unitsPerPoll}), never less than the configured minimum; a channel that stays
 * offline polls less and less often (doubling, up to the offline maximum), and errors back off
 * exponentially; both with up to +20% jitter so polls do not bunch.
 */

/** One day in ms. */
export const dayMs = 86_400_000;

/** Units of one poll at most: playlistItems.list + videos.list (a live channel's poll costs 1). */
export const unitsPerPoll = 2;

/** Units of the calls we make. */
export const youtubeCallUnits = {
  channelsList: 1,
  playlistItemsList: 1,
  videosList: 1,
} as const;

/** The quota plan from config. */
export interface QuotaPlan {
  /** YouTube quota of the project, units per day. */
  readonly budgetUnitsPerDay: number;
}

/** Bucket capacity: one hour of the budget (bursts after downtime stay small). */
export function capacityUnits(plan: QuotaPlan): number {
  return plan.budgetUnitsPerDay / 24;
}

/** Units polls leave for linking. */
export function reserveUnits(plan: QuotaPlan): number {
  return Math.min(50, capacityUnits(plan) / 4);
}

/** Refill rate, units per ms: what the budget sustains once the bucket's capacity is set aside. */
export function refillUnitsPerMs(plan: QuotaPlan): number {
  return (plan.budgetUnitsPerDay - capacityUnits(plan)) / dayMs;
}

/** The bucket's state. */
export interface QuotaBucket {
  readonly tokens: number;
  readonly atMs: number;
}

/** A full bucket at `nowMs` (first use). */
export function fullBucket(plan: QuotaPlan, nowMs: number): QuotaBucket {
  return { tokens: capacityUnits(plan), atMs: nowMs };
}

/**
 * Takes `units` from the bucket at `nowMs`, leaving at least `keep` units: the new bucket, or
 * undefined when there is not enough (the caller waits `waitMs(...)`).
 */
export function takeUnits(
  bucket: QuotaBucket,
  units: number,
  nowMs: number,
  plan: QuotaPlan,
  keep = 0,
): QuotaBucket | undefined {
  const elapsedMs = Math.max(0, nowMs - bucket.atMs);
  const tokens = Math.min(capacityUnits(plan), bucket.tokens + elapsedMs * refillUnitsPerMs(plan));
  if (tokens - units < keep) return undefined;
  return { tokens: tokens - units, atMs: Math.max(nowMs, bucket.atMs) };
}

/**
 * The base poll interval when `channelCount` channels are polled: their fair share of the
 * sustainable rate, at least `minIntervalMs`.
 */
export function basePollIntervalMs(
  channelCount: number,
  plan: QuotaPlan,
  minIntervalMs: number,
): number {
  const sustainablePerDay = refillUnitsPerMs(plan) * dayMs - reserveUnits(plan);
  const share = Math.ceil((dayMs * Math.max(1, channelCount) * unitsPerPoll) / sustainablePerDay);
  return Math.max(minIntervalMs, share);
}

/** The delay before a channel's next poll. */
export function nextPollDelayMs(input: {
  readonly baseMs: number;
  /** Polls in a row that found the channel offline. */
  readonly offlineStreak: number;
  /** Polls in a row that failed. */
  readonly errorStreak: number;
  /** Longest interval of a channel that stays offline (never below the base). */
  readonly maxOfflineMs: number;
  /** Longest backoff after errors. */
  readonly maxBackoffMs: number;
  /** Uniform in [0, 1): jitter. */
  readonly random: number;
}): number {
  // Jitter only lengthens: the fair share is never undercut.
  const jitter = 1 + 0.2 * input.random;
  let delay = input.baseMs;
  if (input.errorStreak > 0) {
    delay = Math.min(
      Math.max(input.baseMs, input.maxBackoffMs),
      input.baseMs * 2 ** Math.min(input.errorStreak, 16),
    );
  } else if (input.offlineStreak > 0) {
    delay = Math.min(
      Math.max(input.baseMs, input.maxOfflineMs),
      input.baseMs * 2 ** Math.min(input.offlineStreak - 1, 16),
    );
  }
  return Math.round(delay * jitter);
}
