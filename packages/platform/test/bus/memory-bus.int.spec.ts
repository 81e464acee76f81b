import { describe, expect, it } from 'vitest';
import { pingEnvelope } from '@streambet/testkit/events';
import type { Timer } from '@streambet/platform/bus/keyed-dispatcher';
import { createMemoryBus } from '@streambet/platform/bus/memory';
import type { EventEnvelope } from '@streambet/platform/bus/types';

describe('memory bus specifics', () => {
  it('waits base·2^(n-1) between attempts, capped at retryMaxMs (injected timer, no real waiting)', async () => {
    const timer = manualTimer();
    const bus = createMemoryBus({ retryBaseMs: 100, retryMaxMs: 300, timer });
    let attempts = 0;
    await bus.subscribe({
      group: 'g',
      topics: ['t'],
      maxAttempts: 5,
      handler: () => {
        attempts += 1;
        return Promise.reject(new Error('always'));
      },
    });
    const dead = collect();
    await bus.subscribe({ group: 'dlq', topics: ['t.dlq'], handler: dead.handler });
    await bus.publish([pingEnvelope('t', 'k', 0)]);
    for (let retry = 0; retry < 4; retry += 1) await timer.fireNext();
    await dead.until(1);
    expect(timer.requestedDelaysMs).toEqual([100, 200, 300, 300]);
    expect(attempts).toBe(5);
    await bus.close();
  });

  it('replays at most retainPerTopic events to a group that subscribes later', async () => {
    const bus = createMemoryBus({ retainPerTopic: 3 });
    await bus.publish([0, 1, 2, 3, 4].map((seq) => pingEnvelope('t', `k${seq}`, seq)));
    const late = collect();
    await bus.subscribe({ group: 'late', topics: ['t'], handler: late.handler });
    await late.until(3);
    await bus.publish([pingEnvelope('t', 'k5', 5)]);
    await late.until(4);
    expect(late.events.map((event) => event.headers.seq)).toEqual(['2', '3', '4', '5']);
    await bus.close();
  });

  it('runs at most `concurrency` handlers at once per group and topic', async () => {
    const bus = createMemoryBus({ concurrency: 2 });
    let inFlight = 0;
    let maxInFlight = 0;
    const done = collect();
    await bus.subscribe({
      group: 'g',
      topics: ['t'],
      handler: async (event) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        for (let turn = 0; turn < 3; turn += 1)
          await new Promise((resolve) => setImmediate(resolve));
        inFlight -= 1;
        await done.handler(event);
      },
    });
    await bus.publish(Array.from({ length: 12 }, (_, seq) => pingEnvelope('t', `k${seq}`, seq)));
    await done.until(12);
    expect(maxInFlight).toBe(2);
    await bus.close();
  });

  it('delivers a private copy: changing the payload buffer after publish changes nothing', async () => {
    const bus = createMemoryBus();
    const received = collect();
    await bus.subscribe({ group: 'g', topics: ['t'], handler: received.handler });
    const sent = pingEnvelope('t', 'k', 0);
    const bytes = sent.payload;
    const original = Array.from(bytes);
    await bus.publish([sent]);
    bytes.fill(0);
    await received.until(1);
    expect(Array.from(received.events[0]?.payload ?? [])).toEqual(original);
    await bus.close();
  });

  it('never runs a handler inside publish()', async () => {
    const bus = createMemoryBus();
    let handled = false;
    const received = collect();
    await bus.subscribe({
      group: 'g',
      topics: ['t'],
      handler: async (event) => {
        handled = true;
        await received.handler(event);
      },
    });
    await bus.publish([pingEnvelope('t', 'k', 0)]);
    expect(handled).toBe(false);
    await received.until(1);
    await bus.close();
  });
});

/** A Timer that records requested delays and fires callbacks only when the test says so. */
function manualTimer(): Timer & { requestedDelaysMs: number[]; fireNext(): Promise<void> } {
  const pending: Array<{ callback: () => void; handle: number }> = [];
  const requestedDelaysMs: number[] = [];
  const waiters: Array<() => void> = [];
  let nextHandle = 0;
  return {
    requestedDelaysMs,
    setTimeout(callback, delayMs) {
      requestedDelaysMs.push(delayMs);
      nextHandle += 1;
      pending.push({ callback, handle: nextHandle });
      for (const wake of waiters.splice(0)) wake();
      return nextHandle;
    },
    clearTimeout(handle) {
      const index = pending.findIndex((entry) => entry.handle === handle);
      if (index >= 0) pending.splice(index, 1);
    },
    async fireNext() {
      while (pending.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
      pending.shift()?.callback();
    },
  };
}

function collect() {
  const events: EventEnvelope[] = [];
  const waiters: Array<() => void> = [];
  return {
    events,
    handler: (event: EventEnvelope) => {
      events.push(event);
      for (const wake of waiters.splice(0)) wake();
      return Promise.resolve();
    },
    async until(count: number) {
      while (events.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}
