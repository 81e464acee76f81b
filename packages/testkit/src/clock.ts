/**
 * Time under the test's control: a clock moved by hand and timers that fire only when the test
 * says so. One implementation for every package's tests (the platform's `Clock` port takes it).
 */
import type { Clock } from '@streambet/platform/rpc/clock';

/** 2026-11-23T12:00:00Z (a Monday): where a manual clock starts unless told otherwise. */
export const testEpochMs = Date.UTC(2026, 10, 23, 12, 0, 0);

/** A clock tests move by hand; it never moves on its own. */
export interface ManualClock extends Clock {
  /** Jumps to `ms` (epoch milliseconds), forwards or backwards. */
  set(ms: number): void;
  /** Moves forward by `ms`. */
  advance(ms: number): void;
}

/** A clock at `startMs` (default {@link testEpochMs}) that moves only through `set`/`advance`. */
export function manualClock(startMs: number = testEpochMs): ManualClock {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    set: (ms) => {
      nowMs = ms;
    },
    advance: (ms) => {
      nowMs += ms;
    },
  };
}

/** A timer the code under test armed; `cancel` disarms it. */
export interface ManualTimer {
  cancel(): void;
}

/** Timers that fire only when the test says so, due by a manual clock. */
export interface ManualScheduler {
  /** Arms `fn` to run once the clock reaches now + `delayMs` and the test calls `runDue`. */
  setTimer(fn: () => void, delayMs: number): ManualTimer;
  /** Timers armed and not yet fired or canceled. */
  pending(): number;
  /** Fires every timer due at the clock's now; returns how many fired. */
  runDue(): number;
}

/** A scheduler whose timers come due by `clock`. */
export function manualScheduler(clock: Clock): ManualScheduler {
  const timers = new Set<{ dueMs: number; fn: () => void }>();
  return {
    setTimer(fn, delayMs) {
      const timer = { dueMs: clock.now() + delayMs, fn };
      timers.add(timer);
      return { cancel: () => void timers.delete(timer) };
    },
    pending: () => timers.size,
    runDue() {
      let fired = 0;
      for (const timer of [...timers]) {
        if (timer.dueMs <= clock.now()) {
          timers.delete(timer);
          timer.fn();
          fired += 1;
        }
      }
      return fired;
    },
  };
}
