import { describe, expect, it } from 'vitest';
import {
  describeIneligibility,
  evaluateEligibility,
  type EligibilityFacts,
} from '../../src/identity/domain/limits/eligibility.js';
import {
  applyDueLoosening,
  decideLimitChange,
  earliestFitMs,
  limitAt,
  noLimit,
  usedInWindow,
} from '../../src/identity/domain/limits/limits.js';
import {
  addCalendarMonths,
  decideCoolOff,
  decideSelfExclusion,
  selfExclusionActive,
} from '../../src/identity/domain/limits/restrictions.js';

const now = Date.UTC(2026, 10, 20, 12);
const hour = 3_600_000;
const day = 24 * hour;

describe('limit changes', () => {
  it('given no limit, when one is set, then it applies at once', () => {
    const decision = decideLimitChange(noLimit, 1_000n, now);
    expect(decision).toMatchObject({
      state: { amountMinor: 1_000n, pending: null },
      effectiveAtMs: now,
      appliedImmediately: true,
    });
    expect(decision.changes).toEqual([
      {
        previousAmountMinor: null,
        amountMinor: 1_000n,
        effectiveAtMs: now,
        scheduled: false,
        byRequest: true,
      },
    ]);
  });

  it('lowers at once and raises only after 24 h', () => {
    const lower = decideLimitChange({ amountMinor: 1_000n, pending: null }, 500n, now);
    expect(lower.state.amountMinor).toBe(500n);
    const raise = decideLimitChange(lower.state, 2_000n, now);
    expect(raise).toMatchObject({
      state: { amountMinor: 500n, pending: { amountMinor: 2_000n, effectiveAtMs: now + day } },
      appliedImmediately: false,
      effectiveAtMs: now + day,
    });
    expect(raise.changes[0]).toMatchObject({
      scheduled: true,
      previousAmountMinor: 500n,
      amountMinor: 2_000n,
    });
    expect(limitAt(raise.state, now + day - 1).amountMinor).toBe(500n);
    expect(limitAt(raise.state, now + day).amountMinor).toBe(2_000n);
  });

  it('treats removal as a loosening', () => {
    const removal = decideLimitChange({ amountMinor: 1_000n, pending: null }, null, now);
    expect(removal.state).toEqual({
      amountMinor: 1_000n,
      pending: { amountMinor: null, requestedAtMs: now, effectiveAtMs: now + day },
    });
    expect(limitAt(removal.state, now + day).amountMinor).toBeNull();
  });

  it('keeps the time of a repeated loosening, restarts it for a different one, and cancels it on tightening', () => {
    const first = decideLimitChange({ amountMinor: 1_000n, pending: null }, 2_000n, now).state;
    const repeat = decideLimitChange(first, 2_000n, now + hour);
    expect(repeat).toMatchObject({ state: first, effectiveAtMs: now + day, changes: [] });
    const other = decideLimitChange(first, 3_000n, now + hour);
    expect(other.effectiveAtMs).toBe(now + hour + day);
    const keep = decideLimitChange(first, 1_000n, now + hour);
    expect(keep).toMatchObject({
      state: { amountMinor: 1_000n, pending: null },
      appliedImmediately: true,
    });
    expect(keep.changes).toHaveLength(1);
    const tighten = decideLimitChange(first, 800n, now + hour);
    expect(tighten.state).toEqual({ amountMinor: 800n, pending: null });
  });

  it('applies a due loosening before deciding, and reports it', () => {
    const state = decideLimitChange({ amountMinor: 1_000n, pending: null }, 2_000n, now).state;
    const later = decideLimitChange(state, 1_500n, now + day + 1);
    expect(later.changes.map((c) => [c.amountMinor, c.scheduled, c.byRequest])).toEqual([
      [2_000n, false, false],
      [1_500n, false, true],
    ]);
    expect(applyDueLoosening(state, now + day - 1)).toBeUndefined();
    expect(applyDueLoosening(state, now + day)).toMatchObject({
      state: { amountMinor: 2_000n, pending: null },
    });
  });
});

describe('rolling windows', () => {
  const deposits = [
    { atMs: now - 23 * hour, amountMinor: 300n },
    { atMs: now - 2 * hour, amountMinor: 500n },
    { atMs: now - 2 * day, amountMinor: 900n },
  ];
  it('counts entries inside the window ending now', () => {
    expect(usedInWindow(deposits, 'daily', now)).toBe(800n);
    expect(usedInWindow(deposits, 'weekly', now)).toBe(1_700n);
    expect(usedInWindow([{ atMs: now - day, amountMinor: 1n }], 'daily', now)).toBe(0n);
  });

  it('finds the earliest instant the same amount fits as old entries leave', () => {
    expect(earliestFitMs(deposits, 'daily', 1_000n, 200n, now)).toBe(now);
    expect(earliestFitMs(deposits, 'daily', 1_000n, 400n, now)).toBe(now + hour);
    expect(earliestFitMs(deposits, 'daily', 1_000n, 600n, now)).toBe(now + 22 * hour);
    expect(earliestFitMs(deposits, 'daily', 1_000n, 1_001n, now)).toBeNull();
  });
});

describe('cool-off and self-exclusion', () => {
  it('accepts 24 h to 6 weeks and never shortens a running cool-off', () => {
    expect(() => decideCoolOff(0, 86_399, now)).toThrow(
      /duration_seconds: must be 86400 \(24 h\) to 3628800/,
    );
    expect(() => decideCoolOff(0, 3_628_801, now)).toThrow(/duration_seconds/);
    expect(decideCoolOff(0, 86_400, now)).toEqual({ untilMs: now + day, changed: true });
    expect(decideCoolOff(now + 3 * day, 86_400, now)).toEqual({
      untilMs: now + 3 * day,
      changed: false,
    });
    expect(decideCoolOff(now + day, 2 * 86_400, now)).toEqual({
      untilMs: now + 2 * day,
      changed: true,
    });
  });

  it('adds calendar months, clamping the day', () => {
    expect(addCalendarMonths(Date.UTC(2026, 7, 31, 10), 6)).toBe(Date.UTC(2027, 1, 28, 10));
    expect(addCalendarMonths(Date.UTC(2027, 1, 28), 12)).toBe(Date.UTC(2028, 1, 28));
  });

  it('keeps the longer exclusion; permanent beats everything; none ends early', () => {
    const six = decideSelfExclusion(null, 'SIX_MONTHS', now).exclusion;
    expect(six.untilMs).toBe(Date.UTC(2027, 4, 20, 12));
    // the later end applies: the same duration a day later extends it by a day
    expect(decideSelfExclusion(six, 'SIX_MONTHS', now + day).exclusion.untilMs).toBe(
      Date.UTC(2027, 4, 21, 12),
    );
    const year = decideSelfExclusion(six, 'ONE_YEAR', now + day);
    expect(year.changed).toBe(true);
    expect(decideSelfExclusion(year.exclusion, 'SIX_MONTHS', now + 2 * day)).toEqual({
      exclusion: year.exclusion,
      changed: false,
    });
    const permanent = decideSelfExclusion(year.exclusion, 'PERMANENT', now + day).exclusion;
    expect(permanent.untilMs).toBeNull();
    expect(decideSelfExclusion(permanent, 'ONE_YEAR', now + 2 * day)).toEqual({
      exclusion: permanent,
      changed: false,
    });
    expect(selfExclusionActive(permanent, now + 100 * 365 * day)).toBe(true);
    expect(selfExclusionActive(six, Date.UTC(2027, 4, 20, 12))).toBe(false);
    expect(() => decideSelfExclusion(null, undefined, now)).toThrow(/duration: is required/);
  });
});

describe('eligibility', () => {
  const facts: EligibilityFacts = {
    frozen: false,
    dateOfBirth: { year: 1990, month: 1, day: 1 },
    kycStatus: 'VERIFIED',
    lifetimeDepositsMinor: 0n,
    coolOffUntilMs: 0,
    selfExclusion: null,
    depositLimits: {
      daily: { amountMinor: 1_000n, pending: null },
      weekly: noLimit,
      monthly: noLimit,
    },
    lossLimits: { daily: noLimit, weekly: { amountMinor: 500n, pending: null }, monthly: noLimit },
    deposits: [{ atMs: now - hour, amountMinor: 800n }],
    losses: [{ atMs: now - 2 * day, amountMinor: 450n }],
  };
  const policy = { realCurrency: 'BRL', kycThresholdMinor: 10_000n };
  const ask = (
    f: EligibilityFacts,
    action: 'BET' | 'DEPOSIT' | 'WITHDRAW',
    amountMinor: bigint,
    currency = 'BRL',
  ) => evaluateEligibility(f, { action, amountMinor, currency }, policy, now);

  it('allows what fits', () => {
    expect(ask(facts, 'DEPOSIT', 200n)).toEqual({ allowed: true, reasons: [] });
    expect(ask(facts, 'BET', 50n).allowed).toBe(true);
  });

  it('refuses a deposit over a limit, saying what is left and from when the amount fits', () => {
    const answer = ask(facts, 'DEPOSIT', 300n);
    expect(answer.reasons).toEqual([
      {
        reason: 'DEPOSIT_LIMIT_EXCEEDED',
        untilMs: now + 23 * hour,
        limit: { period: 'daily', limitMinor: 1_000n, remainingMinor: 200n },
      },
    ]);
    expect(describeIneligibility('DEPOSIT', answer.reasons[0]!, 'BRL')).toBe(
      'deposit refused: daily deposit limit of 1000 BRL minor units would be exceeded; 200 still allowed now, the same amount fits from 2026-11-21T11:00:00.000Z',
    );
  });

  it('refuses a real-money bet over a loss limit but never limits play money', () => {
    expect(ask(facts, 'BET', 100n).reasons.map((r) => [r.reason, r.limit?.remainingMinor])).toEqual(
      [['LOSS_LIMIT_EXCEEDED', 50n]],
    );
    expect(ask(facts, 'BET', 100n, 'PTS').allowed).toBe(true);
  });

  it('counts open real-money stakes against a loss limit as if they were lost', () => {
    expect(ask(facts, 'BET', 50n).allowed).toBe(true);
    const atRisk = { ...facts, openStakesMinor: 30n };
    expect(ask(atRisk, 'BET', 50n).reasons.map((r) => [r.reason, r.limit?.remainingMinor])).toEqual(
      [['LOSS_LIMIT_EXCEEDED', 20n]],
    );
    expect(ask(atRisk, 'BET', 20n).allowed).toBe(true);
    expect(ask(atRisk, 'BET', 500n, 'PTS').allowed).toBe(true);
  });

  it('blocks bets and deposits while cooling off or self-excluded, but not withdrawals', () => {
    const cooling = { ...facts, coolOffUntilMs: now + day };
    expect(ask(cooling, 'BET', 1n, 'PTS').reasons).toEqual([
      { reason: 'COOLING_OFF', untilMs: now + day },
    ]);
    expect(ask(cooling, 'DEPOSIT', 1n).reasons.map((r) => r.reason)).toEqual(['COOLING_OFF']);
    expect(ask(cooling, 'WITHDRAW', 1n).allowed).toBe(true);
    const excluded = {
      ...facts,
      selfExclusion: { duration: 'PERMANENT' as const, startedAtMs: now - day, untilMs: null },
    };
    expect(ask(excluded, 'BET', 1n).reasons).toEqual([{ reason: 'SELF_EXCLUDED', untilMs: 0 }]);
    expect(describeIneligibility('BET', { reason: 'SELF_EXCLUDED', untilMs: 0 }, 'BRL')).toBe(
      'bet refused: self-excluded permanently',
    );
    expect(ask(excluded, 'WITHDRAW', 1n).allowed).toBe(true);
  });

  it('reports every reason at once', () => {
    const everything = {
      ...facts,
      frozen: true,
      kycStatus: 'NOT_STARTED' as const,
      dateOfBirth: { year: 2010, month: 1, day: 1 },
      coolOffUntilMs: now + day,
      lifetimeDepositsMinor: 20_000n,
    };
    expect(ask(everything, 'DEPOSIT', 5_000n).reasons.map((r) => r.reason)).toEqual([
      'ACCOUNT_FROZEN',
      'COOLING_OFF',
      'UNDER_AGE',
      'KYC_REQUIRED',
      'DEPOSIT_LIMIT_EXCEEDED',
    ]);
    expect(ask(everything, 'WITHDRAW', 1n).reasons.map((r) => r.reason)).toEqual([
      'ACCOUNT_FROZEN',
      'UNDER_AGE',
      'KYC_REQUIRED',
    ]);
  });
});
