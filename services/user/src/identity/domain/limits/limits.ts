/**
 * Deposit and loss limits per rolling window (product.md, "Limits"): tightening applies at once
 * and cancels a pending loosening; loosening (raise or removal) applies 24 h after the request.
 * Repeating a pending loosening keeps its time; a different one replaces it and restarts the 24 h.
 */

/** Which limit. */
export type LimitKindName = 'deposit' | 'loss';

/** Window a limit is measured over; windows are rolling and end now. */
export type LimitPeriodName = 'daily' | 'weekly' | 'monthly';

/** Every period, shortest first (the order limits are listed in). */
export const limitPeriods: readonly LimitPeriodName[] = ['daily', 'weekly', 'monthly'];

const dayMs = 24 * 60 * 60 * 1000;

/** Length of each window: the last 24 hours, 7 days, 30 days. */
export const periodMs: Readonly<Record<LimitPeriodName, number>> = {
  daily: dayMs,
  weekly: 7 * dayMs,
  monthly: 30 * dayMs,
};

/** How long a loosening waits before it applies. */
export const looseningDelayMs = dayMs;

/** A scheduled loosening: the amount that will apply (null = no limit) and when. */
export interface PendingLimit {
  readonly amountMinor: bigint | null;
  readonly requestedAtMs: number;
  readonly effectiveAtMs: number;
}

/** One limit of one user: the amount in force (null = none) and any scheduled loosening. */
export interface LimitState {
  readonly amountMinor: bigint | null;
  readonly pending: PendingLimit | null;
}

/** No limit and nothing scheduled. */
export const noLimit: LimitState = Object.freeze({ amountMinor: null, pending: null });

/** The state at `nowMs`: a pending loosening whose time has come is in force. */
export function limitAt(state: LimitState, nowMs: number): LimitState {
  if (state.pending !== null && state.pending.effectiveAtMs <= nowMs) {
    return { amountMinor: state.pending.amountMinor, pending: null };
  }
  return state;
}

/** An event-worthy change of a limit (LimitChanged without metadata). */
export interface LimitChange {
  readonly previousAmountMinor: bigint | null;
  readonly amountMinor: bigint | null;
  readonly effectiveAtMs: number;
  /** True for a loosening that is not in force yet. */
  readonly scheduled: boolean;
  /** True when the user's request caused it; false for an earlier loosening coming into force. */
  readonly byRequest: boolean;
}

/** Outcome of a limit request. */
export interface LimitDecision {
  /** State to store (already resolved to `nowMs`). */
  readonly state: LimitState;
  /** When the requested value applies. */
  readonly effectiveAtMs: number;
  /** True when the requested value is in force now. */
  readonly appliedImmediately: boolean;
  /** Changes to publish: a due loosening that took effect first, then the request's own. */
  readonly changes: readonly LimitChange[];
}

/**
 * Decides a request to set a limit to `requestedMinor` (null = remove) at `nowMs`, from the stored
 * state (which may hold a loosening that became due and is applied first).
 */
export function decideLimitChange(
  stored: LimitState,
  requestedMinor: bigint | null,
  nowMs: number,
): LimitDecision {
  const changes: LimitChange[] = [];
  const current = limitAt(stored, nowMs);
  if (current !== stored && stored.pending !== null) {
    changes.push(dueChange(stored.amountMinor, stored.pending));
  }
  const amount = current.amountMinor;
  const tightening = requestedMinor !== null && (amount === null || requestedMinor < amount);
  const same = requestedMinor === amount;
  if (tightening || same) {
    const hadPending = current.pending !== null;
    const state: LimitState = { amountMinor: requestedMinor, pending: null };
    if (tightening || hadPending) {
      changes.push({
        previousAmountMinor: amount,
        amountMinor: requestedMinor,
        effectiveAtMs: nowMs,
        scheduled: false,
        byRequest: true,
      });
    }
    return { state, effectiveAtMs: nowMs, appliedImmediately: true, changes };
  }
  if (current.pending !== null && current.pending.amountMinor === requestedMinor) {
    return {
      state: current,
      effectiveAtMs: current.pending.effectiveAtMs,
      appliedImmediately: false,
      changes,
    };
  }
  const pending: PendingLimit = {
    amountMinor: requestedMinor,
    requestedAtMs: nowMs,
    effectiveAtMs: nowMs + looseningDelayMs,
  };
  changes.push({
    previousAmountMinor: amount,
    amountMinor: requestedMinor,
    effectiveAtMs: pending.effectiveAtMs,
    scheduled: true,
    byRequest: true,
  });
  return {
    state: { amountMinor: amount, pending },
    effectiveAtMs: pending.effectiveAtMs,
    appliedImmediately: false,
    changes,
  };
}

/**
 * The limit after `change` (the state transition of one LimitChanged): a scheduled loosening
 * becomes the pending one (requested one delay before it applies); anything else is the amount
 * in force from now on, with nothing pending. Folding a decision's `changes` over the stored
 * state gives the decision's `state`.
 */
export function evolveLimit(state: LimitState, change: LimitChange): LimitState {
  if (change.scheduled) {
    return {
      amountMinor: state.amountMinor,
      pending: {
        amountMinor: change.amountMinor,
        requestedAtMs: change.effectiveAtMs - looseningDelayMs,
        effectiveAtMs: change.effectiveAtMs,
      },
    };
  }
  return { amountMinor: change.amountMinor, pending: null };
}

/**
 * For the sweeper: if the stored state's loosening is due at `nowMs`, the state to store and the
 * change to publish (scheduled = false); otherwise undefined.
 */
export function applyDueLoosening(
  stored: LimitState,
  nowMs: number,
): { readonly state: LimitState; readonly change: LimitChange } | undefined {
  if (stored.pending === null || stored.pending.effectiveAtMs > nowMs) return undefined;
  return {
    state: { amountMinor: stored.pending.amountMinor, pending: null },
    change: dueChange(stored.amountMinor, stored.pending),
  };
}

function dueChange(previous: bigint | null, pending: PendingLimit): LimitChange {
  return {
    previousAmountMinor: previous,
    amountMinor: pending.amountMinor,
    effectiveAtMs: pending.effectiveAtMs,
    scheduled: false,
    byRequest: false,
  };
}

/** A dated amount that counts against a limit (a deposit, or a realised loss/win as ±). */
export interface DatedAmount {
  readonly atMs: number;
  readonly amountMinor: bigint;
}

/** Sum of the amounts inside the window of `period` ending at `nowMs` (never below zero). */
export function usedInWindow(
  entries: readonly DatedAmount[],
  period: LimitPeriodName,
  nowMs: number,
): bigint {
  const from = nowMs - periodMs[period];
  let sum = 0n;
  for (const entry of entries)
    if (entry.atMs > from && entry.atMs <= nowMs) sum += entry.amountMinor;
  return sum < 0n ? 0n : sum;
}

/**
 * Earliest instant ≥ `nowMs` at which `amountMinor` more fits under `limitMinor` as entries leave
 * the rolling window (each entry leaves exactly one period after it happened). Null when it never
 * fits (the amount alone is above the limit).
 */
export function earliestFitMs(
  entries: readonly DatedAmount[],
  period: LimitPeriodName,
  limitMinor: bigint,
  amountMinor: bigint,
  nowMs: number,
): number | null {
  if (amountMinor > limitMinor) return null;
  const from = nowMs - periodMs[period];
  const inWindow = entries
    .filter((e) => e.atMs > from && e.atMs <= nowMs)
    .sort((a, b) => a.atMs - b.atMs);
  let used = inWindow.reduce((sum, e) => sum + e.amountMinor, 0n);
  if (used + amountMinor <= limitMinor) return nowMs;
  for (const entry of inWindow) {
    used -= entry.amountMinor;
    if (used + amountMinor <= limitMinor) return entry.atMs + periodMs[period];
  }
  return null;
}
