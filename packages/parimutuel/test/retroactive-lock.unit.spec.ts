import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '@streambet/platform/errors/domain-errors';
import { resolveLockInstant, splitByLockInstant } from '../src/retroactive-lock.js';

describe('retroactive lock: splitting bets', () => {
  it('given bets before, at and after the lock instant, when split, then only those strictly after are voided', () => {
    const bets = [
      { id: 'before', acceptedAtMs: 999n },
      { id: 'at', acceptedAtMs: 1000n },
      { id: 'after', acceptedAtMs: 1001n },
    ];
    const { kept, voided } = splitByLockInstant(bets, 1000n);
    expect(kept.map((b) => b.id)).toEqual(['before', 'at']);
    expect(voided.map((b) => b.id)).toEqual(['after']);
  });

  it('given timestamps as numbers and as bigints, when split, then they compare exactly', () => {
    const bets = [
      { id: 'n-after', acceptedAtMs: 1_700_000_000_001 },
      { id: 'b-at', acceptedAtMs: 1_700_000_000_000n },
    ];
    expect(splitByLockInstant(bets, 1_700_000_000_000).voided.map((b) => b.id)).toEqual([
      'n-after',
    ]);
    expect(splitByLockInstant(bets, 1_700_000_000_000n).kept.map((b) => b.id)).toEqual(['b-at']);
  });

  it('given no bets, when split, then both sides are empty', () => {
    expect(splitByLockInstant([], 0n)).toEqual({ kept: [], voided: [] });
  });

  it('given an invalid lock instant or bet timestamp, when split, then a ValidationError names it', () => {
    expect(() => splitByLockInstant([], -1)).toThrow(/lock_effective_at_ms/);
    expect(() => splitByLockInstant([], 1.5)).toThrow(ValidationError);
    expect(() =>
      splitByLockInstant([{ acceptedAtMs: 10 }, { acceptedAtMs: Number.NaN }], 5n),
    ).toThrow(/bets\[1\]\.accepted_at_ms/);
  });

  it('given any bets, when split, then the sides partition them in order around the instant', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 100n }), { maxLength: 50 }),
        fc.bigInt({ min: 0n, max: 100n }),
        (times, lockMs) => {
          const bets = times.map((acceptedAtMs, i) => ({ i, acceptedAtMs }));
          const { kept, voided } = splitByLockInstant(bets, lockMs);
          expect(kept.every((b) => b.acceptedAtMs <= lockMs)).toBe(true);
          expect(voided.every((b) => b.acceptedAtMs > lockMs)).toBe(true);
          expect([...kept, ...voided].map((b) => b.i).sort((x, y) => x - y)).toEqual(
            bets.map((b) => b.i),
          );
          expect(kept.map((b) => b.i)).toEqual([...kept.map((b) => b.i)].sort((x, y) => x - y));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('retroactive lock: the lock instant', () => {
  const nowMs = 1_700_000_100_000n;
  const openedAtMs = 1_700_000_000_000n;

  it('given no event instant, when locking, then the instant is now minus the broadcast delay', () => {
    expect(resolveLockInstant({ nowMs, broadcastDelaySeconds: 15, openedAtMs })).toBe(
      nowMs - 15_000n,
    );
    expect(resolveLockInstant({ nowMs, broadcastDelaySeconds: 0, openedAtMs })).toBe(nowMs);
  });

  it('given an event instant exactly 60 s back, when locking, then it is used', () => {
    expect(
      resolveLockInstant({
        nowMs,
        eventAtMs: nowMs - 60_000n,
        broadcastDelaySeconds: 5,
        openedAtMs,
      }),
    ).toBe(nowMs - 60_000n);
  });

  it('given an event instant more than 60 s back, when locking, then it is refused', () => {
    expect(() =>
      resolveLockInstant({
        nowMs,
        eventAtMs: nowMs - 60_001n,
        broadcastDelaySeconds: 5,
        openedAtMs,
      }),
    ).toThrow(/event_at_ms/);
  });

  it('given an event instant in the future or before the opening, when locking, then it is clamped to now or to the opening', () => {
    expect(
      resolveLockInstant({
        nowMs,
        eventAtMs: nowMs + 5_000n,
        broadcastDelaySeconds: 5,
        openedAtMs,
      }),
    ).toBe(nowMs);
    expect(
      resolveLockInstant({
        nowMs,
        eventAtMs: nowMs - 30_000n,
        broadcastDelaySeconds: 5,
        openedAtMs: nowMs - 10_000n,
      }),
    ).toBe(nowMs - 10_000n);
  });

  it('given a broadcast delay outside 0..60 s, when locking, then it is refused', () => {
    expect(() => resolveLockInstant({ nowMs, broadcastDelaySeconds: 61, openedAtMs })).toThrow(
      /broadcast_delay_seconds/,
    );
  });
});
