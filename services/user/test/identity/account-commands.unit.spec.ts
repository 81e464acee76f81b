/**
 * Account and limit commands as decide → events, evolve → state: the events a command produces,
 * the state they fold into, and the refusals (a thrown domain error, nothing decided).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IllegalStateError, ValidationError } from '@streambet/platform/errors/domain-errors';
import {
  decideFreeze,
  decideGrantStreamer,
  decideSelfExclude,
  decideStartCoolOff,
  decideUnfreeze,
  evolveAccount,
  type AccountEvent,
  type AccountState,
} from '../../src/identity/domain/accounts/account.js';
import {
  applyDueLoosening,
  decideLimitChange,
  evolveLimit,
  looseningDelayMs,
  type LimitState,
} from '../../src/identity/domain/limits/limits.js';

const now = Date.UTC(2026, 10, 20, 12);
const day = 86_400_000;

const viewer: AccountState = {
  status: 'active',
  frozenReason: '',
  roles: ['viewer'],
  coolOffUntilMs: 0,
  selfExclusion: null,
};

const fold = <S extends AccountState>(state: S, events: readonly AccountEvent[]): S =>
  events.reduce((s, e) => evolveAccount(s, e), state);

describe('account commands', () => {
  it('given no cool-off, when one starts, then CoolOffStarted sets its end; a shorter one later decides nothing', () => {
    const events = decideStartCoolOff(viewer, 2 * 86_400, now);
    expect(events).toEqual([{ type: 'CoolOffStarted', untilMs: now + 2 * day }]);
    const after = fold(viewer, events);
    expect(after.coolOffUntilMs).toBe(now + 2 * day);
    expect(decideStartCoolOff(after, 86_400, now)).toEqual([]);
    expect(() => decideStartCoolOff(viewer, 60, now)).toThrow(ValidationError);
  });

  it('given a six-month exclusion, when a permanent one is asked, then it replaces it; a shorter one decides nothing', () => {
    const six = fold(viewer, decideSelfExclude(viewer, 'SIX_MONTHS', now));
    expect(six.selfExclusion).toMatchObject({ duration: 'SIX_MONTHS', startedAtMs: now });
    const permanent = fold(six, decideSelfExclude(six, 'PERMANENT', now));
    expect(permanent.selfExclusion).toEqual({
      duration: 'PERMANENT',
      startedAtMs: now,
      untilMs: null,
    });
    expect(decideSelfExclude(permanent, 'ONE_YEAR', now)).toEqual([]);
  });

  it('given an active viewer, when frozen twice and unfrozen, then the first reason holds and unfreezing clears it', () => {
    const events = decideFreeze(viewer, '  chargeback  ');
    expect(events).toEqual([{ type: 'UserFrozen', reason: 'chargeback' }]);
    const frozen = fold(viewer, events);
    expect(frozen).toMatchObject({ status: 'frozen', frozenReason: 'chargeback' });
    expect(decideFreeze(frozen, 'again')).toEqual([]);
    const unfrozen = fold(frozen, decideUnfreeze(frozen, 'resolved'));
    expect(unfrozen).toEqual(viewer);
    expect(decideUnfreeze(unfrozen, 'resolved')).toEqual([]);
  });

  it('given an admin, when frozen, then FAILED_PRECONDITION and no event', () => {
    const admin: AccountState = { ...viewer, roles: ['viewer', 'admin'] };
    expect(() => decideFreeze(admin, 'x')).toThrow(IllegalStateError);
  });

  it('given a viewer, when granted streamer twice, then one UserRoleGranted with the canonical role set', () => {
    const admin = { ...viewer, roles: ['admin', 'viewer'] as const, email: 'kept@example.com' };
    const events = decideGrantStreamer(admin);
    expect(events).toEqual([
      { type: 'UserRoleGranted', role: 'streamer', roles: ['viewer', 'streamer', 'admin'] },
    ]);
    const after = fold(admin, events);
    expect(after.email).toBe('kept@example.com');
    expect(decideGrantStreamer(after)).toEqual([]);
  });
});

describe('limit changes as events', () => {
  const amount = fc.option(fc.bigInt({ min: 1n, max: 5_000n }), { nil: null });
  const stored: fc.Arbitrary<LimitState> = fc
    .record({
      amountMinor: amount,
      pending: fc.option(
        fc.record({
          amountMinor: amount,
          effectiveAtMs: fc.integer({ min: now - 2 * day, max: now + 2 * day }),
        }),
        { nil: null },
      ),
    })
    .map((s) => ({
      amountMinor: s.amountMinor,
      pending:
        s.pending === null
          ? null
          : { ...s.pending, requestedAtMs: s.pending.effectiveAtMs - looseningDelayMs },
    }));

  it('folding a decision’s changes over the stored limit gives the state it decided (none: the stored state)', () => {
    fc.assert(
      fc.property(stored, amount, (limit, requested) => {
        const decision = decideLimitChange(limit, requested, now);
        const after = decision.changes.reduce(evolveLimit, limit);
        expect(after).toEqual(decision.state);
      }),
    );
  });

  it('a due loosening folds into the state the sweeper stores', () => {
    fc.assert(
      fc.property(stored, (limit) => {
        const due = applyDueLoosening(limit, now);
        if (due !== undefined) expect(evolveLimit(limit, due.change)).toEqual(due.state);
      }),
    );
  });
});
