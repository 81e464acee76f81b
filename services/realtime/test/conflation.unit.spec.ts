import { describe, expect, it } from 'vitest';
import { createConflator } from '../src/domain/conflation.js';
import { createFanout, type Timers } from '../src/fanout.js';

/** Timers driven by hand together with the clock: `advance` fires what became due, in order. */
function manualTime(start = 1_000_000) {
  let nowMs = start;
  let nextId = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    setTimeout(fn, ms) {
      nextId += 1;
      pending.set(nextId, { at: nowMs + ms, fn });
      return nextId;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    clock: { now: () => nowMs },
    timers,
    advance(ms: number) {
      const until = nowMs + ms;
      for (;;) {
        const due = [...pending.entries()]
          .filter(([, t]) => t.at <= until)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (due === undefined) break;
        pending.delete(due[0]);
        nowMs = due[1].at;
        due[1].fn();
      }
      nowMs = until;
    },
  };
}

describe('conflator (pure)', () => {
  it('emits the first snapshot at once, then at most one per interval, the latest pending one', () => {
    const c = createConflator<string>({ intervalMs: 100 });
    expect(c.offer('m1', 'v1', 1n, 0)).toEqual({ action: 'emit' });
    expect(c.offer('m1', 'v2', 2n, 10)).toEqual({ action: 'defer', dueAtMs: 100 });
    expect(c.offer('m1', 'v3', 3n, 50)).toEqual({ action: 'defer', dueAtMs: 100 });
    expect(c.takeDue(99)).toEqual([]);
    expect(c.takeDue(100)).toEqual([{ key: 'm1', value: 'v3' }]);
    expect(c.offer('m1', 'v4', 4n, 150)).toEqual({ action: 'defer', dueAtMs: 200 });
    expect(c.offer('m1', 'v5', 5n, 400)).toEqual({ action: 'defer', dueAtMs: 200 });
    expect(c.takeDue(400)).toEqual([{ key: 'm1', value: 'v5' }]);
    expect(c.offer('m1', 'v6', 6n, 500)).toEqual({ action: 'emit' });
  });

  it('drops snapshots whose version is not newer than one delivered or pending', () => {
    const c = createConflator<string>({ intervalMs: 100 });
    c.offer('m1', 'v5', 5n, 0);
    expect(c.offer('m1', 'v5 again', 5n, 200)).toEqual({ action: 'drop', reason: 'stale-version' });
    expect(c.offer('m1', 'v4', 4n, 200)).toEqual({ action: 'drop', reason: 'stale-version' });
    expect(c.offer('m1', 'v7', 7n, 210)).toEqual({ action: 'emit' });
    expect(c.offer('m1', 'v9', 9n, 220)).toMatchObject({ action: 'defer' });
    expect(c.offer('m1', 'v8', 8n, 230)).toEqual({ action: 'drop', reason: 'stale-version' });
    expect(c.takeDue(310)).toEqual([{ key: 'm1', value: 'v9' }]);
  });

  it('keeps keys independent and forgets idle ones', () => {
    const c = createConflator<string>({ intervalMs: 100, retainIdleMs: 1000 });
    expect(c.offer('m1', 'a', 1n, 0).action).toBe('emit');
    expect(c.offer('m2', 'b', 1n, 1).action).toBe('emit');
    expect(c.size).toBe(2);
    c.offer('m3', 'c', 1n, 5000);
    expect(c.size).toBe(1);
  });
});

describe('fan-out with a manual clock', () => {
  it('delivers at most 10 odds snapshots per second per market, the newest each time, never an older one', () => {
    const t = manualTime();
    const delivered: Array<{ room: string; version: number; atMs: number }> = [];
    const fanout = createFanout({
      emit: (room, _event, payload) =>
        delivered.push({ room, version: (payload as { v: number }).v, atMs: t.clock.now() }),
      clock: t.clock,
      timers: t.timers,
      conflationIntervalMs: 100,
    });
    const start = t.clock.now();
    // 1000 snapshots over one second (one per ms) on market A, and a late, older one.
    for (let v = 1; v <= 1000; v += 1) {
      fanout.sendConflated('market:A', 'odds', { v }, 'odds', BigInt(v));
      if (v === 500) fanout.sendConflated('market:A', 'odds', { v: 3 }, 'odds', 3n);
      t.advance(1);
    }
    t.advance(200);
    const versions = delivered.map((d) => d.version);
    expect(versions[0]).toBe(1);
    expect(versions.at(-1)).toBe(1000);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    expect(new Set(versions).size).toBe(versions.length);
    const firstSecond = delivered.filter((d) => d.atMs < start + 1000);
    expect(firstSecond.length).toBeLessThanOrEqual(10);
    for (let i = 1; i < delivered.length; i += 1) {
      expect(delivered[i]!.atMs - delivered[i - 1]!.atMs).toBeGreaterThanOrEqual(100);
    }
    // A second market is not held back by the first.
    fanout.sendConflated('market:B', 'odds', { v: 1 }, 'odds', 1n);
    expect(delivered.at(-1)).toMatchObject({ room: 'market:B', version: 1 });
  });

  it('sends unconflated messages at once and stops on close', () => {
    const t = manualTime();
    const delivered: unknown[] = [];
    const fanout = createFanout({
      emit: (_room, _event, payload) => delivered.push(payload),
      clock: t.clock,
      timers: t.timers,
      conflationIntervalMs: 100,
    });
    fanout.send('user:U', 'bet', { n: 1 });
    fanout.sendConflated('market:A', 'odds', { n: 2 }, 'odds');
    fanout.sendConflated('market:A', 'odds', { n: 3 }, 'odds');
    fanout.close();
    t.advance(1000);
    expect(delivered).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
