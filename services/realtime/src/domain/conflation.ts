/**
 * Conflation of pushed snapshots (odds, pool totals): per key at most one delivery per interval,
 * the latest snapshot wins, and a snapshot whose version is not newer than one already delivered
 * or pending is dropped. Pure: the caller passes the time and runs the timer, so the rule is
 * tested with a manual clock. The first snapshot after a quiet interval goes out at once, which
 * keeps the latency of a single bet at the fan-out cost instead of a full interval.
 */

/** What to do with an offered snapshot. */
export type ConflationDecision =
  | { readonly action: 'emit' }
  | { readonly action: 'defer'; readonly dueAtMs: number }
  | { readonly action: 'drop'; readonly reason: 'stale-version' };

/** A deferred snapshot that became due. */
export interface DueSnapshot<T> {
  readonly key: string;
  readonly value: T;
}

interface KeyState<T> {
  lastEmitAtMs: number;
  /** Highest version delivered or pending; undefined for unversioned keys. */
  highestVersion: bigint | undefined;
  pending: { value: T; dueAtMs: number } | undefined;
  touchedAtMs: number;
}

/** Options of {@link createConflator}. */
export interface ConflatorOptions {
  /** Minimum time between two deliveries of one key, in ms (100 = at most 10 per second). */
  readonly intervalMs: number;
  /** Idle keys (nothing pending, untouched this long) are forgotten, in ms; default 10 min. */
  readonly retainIdleMs?: number;
}

/** Per-key conflation state; see the module comment for the rules. */
export interface Conflator<T> {
  /**
   * Offers a snapshot of `key` at `nowMs`. `emit`: deliver it now (recorded as delivered);
   * `defer`: it replaced the pending one and becomes due at `dueAtMs`; `drop`: its version is
   * not newer than one delivered or pending. Unversioned snapshots (version undefined) are never
   * dropped, only coalesced (latest offered wins).
   */
  offer(key: string, value: T, version: bigint | undefined, nowMs: number): ConflationDecision;
  /** Removes and returns the pending snapshots due at `nowMs` (recording them as delivered). */
  takeDue(nowMs: number): Array<DueSnapshot<T>>;
  /** Earliest due time of a pending snapshot, or undefined when none is pending. */
  nextDueAtMs(): number | undefined;
  /** Keys currently tracked (for tests and metrics). */
  readonly size: number;
}

/** Creates an empty {@link Conflator}. */
export function createConflator<T>(options: ConflatorOptions): Conflator<T> {
  const { intervalMs } = options;
  const retainIdleMs = options.retainIdleMs ?? 600_000;
  const keys = new Map<string, KeyState<T>>();

  const prune = (nowMs: number): void => {
    for (const [key, state] of keys) {
      if (state.pending === undefined && nowMs - state.touchedAtMs >= retainIdleMs)
        keys.delete(key);
    }
  };
  let lastPruneMs = Number.NEGATIVE_INFINITY;

  return {
    offer(key, value, version, nowMs) {
      if (nowMs - lastPruneMs >= retainIdleMs) {
        prune(nowMs);
        lastPruneMs = nowMs;
      }
      const state = keys.get(key);
      if (state === undefined) {
        keys.set(key, {
          lastEmitAtMs: nowMs,
          highestVersion: version,
          pending: undefined,
          touchedAtMs: nowMs,
        });
        return { action: 'emit' };
      }
      if (
        version !== undefined &&
        state.highestVersion !== undefined &&
        version <= state.highestVersion
      ) {
        return { action: 'drop', reason: 'stale-version' };
      }
      state.touchedAtMs = nowMs;
      if (version !== undefined) state.highestVersion = version;
      if (state.pending === undefined && nowMs - state.lastEmitAtMs >= intervalMs) {
        state.lastEmitAtMs = nowMs;
        return { action: 'emit' };
      }
      const dueAtMs = state.pending?.dueAtMs ?? state.lastEmitAtMs + intervalMs;
      state.pending = { value, dueAtMs };
      return { action: 'defer', dueAtMs };
    },
    takeDue(nowMs) {
      const due: Array<DueSnapshot<T>> = [];
      for (const [key, state] of keys) {
        if (state.pending !== undefined && state.pending.dueAtMs <= nowMs) {
          due.push({ key, value: state.pending.value });
          state.pending = undefined;
          state.lastEmitAtMs = nowMs;
          state.touchedAtMs = nowMs;
        }
      }
      return due;
    },
    nextDueAtMs() {
      let next: number | undefined;
      for (const state of keys.values()) {
        if (state.pending !== undefined && (next === undefined || state.pending.dueAtMs < next)) {
          next = state.pending.dueAtMs;
        }
      }
      return next;
    },
    get size() {
      return keys.size;
    },
  };
}
