/** Source of "now" in epoch milliseconds; injectable so tests can move time without waiting. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
