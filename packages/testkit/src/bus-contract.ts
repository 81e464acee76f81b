/**
 * The event-bus contract: one vitest suite every `EventBus` adapter must pass, so services can
 * swap the in-process bus for Redis Streams or Kafka without changing behaviour.
 *
 * Deterministic by construction: tests wait for conditions (N events arrived, a handler was
 * entered) with a generous timeout instead of sleeping, use unique topics and groups per test,
 * and check timing only as lower bounds (a retry never comes before its backoff).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { deadLetterHeaders } from '@streambet/platform/bus/envelope';
import type {
  EventBus,
  EventEnvelope,
  EventHandler,
  Subscription,
} from '@streambet/platform/bus/types';
import type { BusFixture, BusTuning } from './bus.js';
import { pingEnvelope } from './events.js';

/** Options of {@link describeEventBusContract}. */
export interface EventBusContractOptions extends Partial<BusTuning> {
  /** When set, the suite is registered as skipped with this reason in its title. */
  readonly skipReason?: string | undefined;
  /** Longest wait for any awaited condition. Default 20,000 ms. */
  readonly timeoutMs?: number;
  /** Whether different keys must be seen in flight at the same time. Default true. */
  readonly expectsConcurrencyAcrossKeys?: boolean;
}

/**
 * Registers the contract suite for one adapter. `factory` makes a fresh bus per test (its
 * `dispose` closes it and removes what the test created); `createPeer`, when present, gives
 * another process on the same bus for the multi-member tests.
 */
export function describeEventBusContract(
  name: string,
  factory: () => Promise<BusFixture>,
  options: EventBusContractOptions = {},
): void {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const retryBaseMs = options.retryBaseMs ?? 20;
  const title = options.skipReason === undefined ? name : `${name} (${options.skipReason})`;

  describe.skipIf(options.skipReason !== undefined)(`EventBus contract: ${title}`, () => {
    let fixture: BusFixture | undefined;
    const open = async (): Promise<BusFixture> => {
      fixture = await factory();
      return fixture;
    };
    const peerOf = async (current: BusFixture): Promise<EventBus> =>
      current.createPeer === undefined ? current.bus : current.createPeer();

    afterEach(async () => {
      const current = fixture;
      fixture = undefined;
      await current?.dispose();
    });

    it('ping resolves while the bus is open', async () => {
      const { bus } = await open();
      await expect(bus.ping()).resolves.toBeUndefined();
    });

    it('round-trips id, type, key, payload bytes, headers and occurredAtMs unchanged', async () => {
      const { bus } = await open();
      const topic = uniqueTopic();
      const received = collector(timeoutMs);
      const subscription = await bus.subscribe({
        group: uniqueGroup(),
        topics: [topic],
        handler: received.handler,
      });
      const allBytes = Uint8Array.from({ length: 256 }, (_, index) => index);
      const full = pingEnvelope(topic, 'market-1', 0, {
        payload: allBytes,
        type: 'streambet.events.v1.MarketOpened',
        headers: {
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          'x-text': 'ünï € 😀',
        },
        occurredAtMs: 1_700_000_000_123,
      });
      const empty = pingEnvelope(topic, 'market-2', 1, { payload: new Uint8Array(0), headers: {} });
      await bus.publish([full, empty]);
      await received.waitForCount(2, 'both events');
      const byId = new Map(received.events.map((got) => [got.id, got]));
      for (const sent of [full, empty]) {
        const got = byId.get(sent.id);
        expect(got).toBeDefined();
        expect(got?.payload).toBeInstanceOf(Uint8Array);
        expect({ ...got, payload: Array.from(got?.payload ?? []) }).toEqual({
          ...sent,
          payload: Array.from(sent.payload),
        });
      }
      await subscription.close();
    });

    it('delivers every event to every consumer group', async () => {
      const { bus } = await open();
      const topic = uniqueTopic();
      const first = collector(timeoutMs);
      const second = collector(timeoutMs);
      await bus.subscribe({ group: uniqueGroup(), topics: [topic], handler: first.handler });
      await bus.subscribe({ group: uniqueGroup(), topics: [topic], handler: second.handler });
      const events = Array.from({ length: 20 }, (_, seq) =>
        pingEnvelope(topic, `key-${seq % 5}`, seq),
      );
      await bus.publish(events);
      await first.waitForCount(20, 'group 1 to get all events');
      await second.waitForCount(20, 'group 2 to get all events');
      const ids = events.map((sent) => sent.id).sort();
      expect(first.ids().sort()).toEqual(ids);
      expect(second.ids().sort()).toEqual(ids);
    });

    it('splits work between two members of one group without duplicates', async () => {
      const current = await open();
      const peer = await peerOf(current);
      const topic = uniqueTopic();
      const group = uniqueGroup();
      const both = collector(timeoutMs);
      const perMember = [0, 0];
      await current.bus.subscribe({
        group,
        topics: [topic],
        handler: async (got) => {
          perMember[0] = (perMember[0] ?? 0) + 1;
          await both.handler(got);
        },
      });
      await peer.subscribe({
        group,
        topics: [topic],
        handler: async (got) => {
          perMember[1] = (perMember[1] ?? 0) + 1;
          await both.handler(got);
        },
      });
      const events = Array.from({ length: 40 }, (_, seq) =>
        pingEnvelope(topic, `key-${seq % 20}`, seq),
      );
      await current.bus.publish(events);
      await both.waitForDistinct(40, 'all 40 events across the two members');
      expect(both.events).toHaveLength(40);
      // A later event is handled only after the group got past the earlier ones; no duplicates meanwhile.
      const barrier = pingEnvelope(topic, 'barrier', 99);
      await current.bus.publish([barrier]);
      await both.waitForDistinct(41, 'the barrier event');
      expect(both.events).toHaveLength(41);
      expect((perMember[0] ?? 0) + (perMember[1] ?? 0)).toBe(41);
    });

    it('keeps per-key order under concurrency across many interleaved keys', async () => {
      const { bus } = await open();
      const topic = uniqueTopic();
      const keys = 8;
      const perKey = 25;
      const inFlightByKey = new Map<string, number>();
      const seenByKey = new Map<string, number[]>();
      let inFlight = 0;
      let maxInFlight = 0;
      let overlaps = 0;
      const done = collector(timeoutMs);
      await bus.subscribe({
        group: uniqueGroup(),
        topics: [topic],
        handler: async (got) => {
          const seq = Number(got.headers.seq);
          if ((inFlightByKey.get(got.key) ?? 0) > 0) overlaps += 1;
          inFlightByKey.set(got.key, (inFlightByKey.get(got.key) ?? 0) + 1);
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          // Vary handler duration (in event-loop turns, not wall time) so keys interleave.
          for (let turn = 0; turn < (seq % 4) + 1; turn += 1)
            await new Promise((resolve) => setImmediate(resolve));
          seenByKey.set(got.key, [...(seenByKey.get(got.key) ?? []), Math.floor(seq / keys)]);
          inFlight -= 1;
          inFlightByKey.set(got.key, (inFlightByKey.get(got.key) ?? 1) - 1);
          await done.handler(got);
        },
      });
      const events = Array.from({ length: keys * perKey }, (_, seq) =>
        pingEnvelope(topic, `aggregate-${seq % keys}`, seq),
      );
      await bus.publish(events);
      await done.waitForCount(keys * perKey, 'every event of every key');
      expect(overlaps).toBe(0);
      for (let key = 0; key < keys; key += 1) {
        expect(seenByKey.get(`aggregate-${key}`)).toEqual(
          Array.from({ length: perKey }, (_, index) => index),
        );
      }
      if (options.expectsConcurrencyAcrossKeys !== false) expect(maxInFlight).toBeGreaterThan(1);
    });

    it('redelivers a failed event with exponential backoff until it succeeds, holding back its key', async () => {
      const { bus } = await open();
      const topic = uniqueTopic();
      const attemptsAtMs: number[] = [];
      const order: string[] = [];
      const done = collector(timeoutMs);
      await bus.subscribe({
        group: uniqueGroup(),
        topics: [topic],
        maxAttempts: 5,
        handler: async (got) => {
          if (got.headers.seq === '0') {
            attemptsAtMs.push(performance.now());
            if (attemptsAtMs.length < 3)
              throw new Error(`transient failure ${attemptsAtMs.length}`);
          }
          order.push(got.headers.seq ?? '?');
          await done.handler(got);
        },
      });
      await bus.publish([pingEnvelope(topic, 'same-key', 0), pingEnvelope(topic, 'same-key', 1)]);
      await done.waitForCount(2, 'the retried event and the one behind it');
      expect(attemptsAtMs).toHaveLength(3);
      expect(order).toEqual(['0', '1']);
      const [first, second, third] = attemptsAtMs as [number, number, number];
      // Lower bounds only (2 ms slack for millisecond timer granularity): never earlier than the backoff.
      expect(second - first).toBeGreaterThanOrEqual(retryBaseMs - 2);
      expect(third - second).toBeGreaterThanOrEqual(2 * retryBaseMs - 2);
    });

    it('moves an event to <topic>.dlq with the error and attempts after maxAttempts', async () => {
      const { bus } = await open();
      const topic = uniqueTopic();
      const group = uniqueGroup();
      const dead = collector(timeoutMs);
      await bus.subscribe({
        group: uniqueGroup(),
        topics: [`${topic}.dlq`],
        handler: dead.handler,
      });
      let attempts = 0;
      const reported = collector(timeoutMs);
      const reportedErrors: unknown[] = [];
      await bus.subscribe({
        group,
        topics: [topic],
        maxAttempts: 3,
        handler: () => {
          attempts += 1;
          return Promise.reject(new Error(`boom #${attempts}`));
        },
        onDeadLettered: (event, error) => {
          reportedErrors.push(error);
          void reported.handler(event);
        },
      });
      const poison = pingEnvelope(topic, 'poison', 0, { headers: { 'x-origin': 'contract' } });
      await bus.publish([poison]);
      await dead.waitForCount(1, 'the dead-lettered event');
      await reported.waitForCount(1, 'onDeadLettered to report the dead letter');
      expect(reported.ids()).toEqual([poison.id]);
      expect(String(reportedErrors[0])).toBe('Error: boom #3');
      const got = dead.events[0] as EventEnvelope;
      expect(attempts).toBe(3);
      expect(got.id).toBe(poison.id);
      expect(got.topic).toBe(`${topic}.dlq`);
      expect(got.key).toBe(poison.key);
      expect(got.type).toBe(poison.type);
      expect(Array.from(got.payload)).toEqual(Array.from(poison.payload));
      expect(got.headers['x-origin']).toBe('contract');
      expect(got.headers[deadLetterHeaders.error]).toBe('Error: boom #3');
      expect(got.headers[deadLetterHeaders.attempts]).toBe('3');
      expect(got.headers[deadLetterHeaders.group]).toBe(group);
      expect(got.headers[deadLetterHeaders.originalTopic]).toBe(topic);
    });

    it("retries without limit with maxAttempts: 'unlimited', never dead-letters, keeps its key held", async () => {
      const { bus } = await open();
      const topic = uniqueTopic();
      const dead = collector(timeoutMs);
      await bus.subscribe({
        group: uniqueGroup(),
        topics: [`${topic}.dlq`],
        handler: dead.handler,
      });
      // One more failure than the default attempts (5): a bounded subscription would give up first.
      const failures = 6;
      let attempts = 0;
      const order: string[] = [];
      const done = collector(timeoutMs);
      let deadLettered = 0;
      await bus.subscribe({
        group: uniqueGroup(),
        topics: [topic],
        maxAttempts: 'unlimited',
        onDeadLettered: () => (deadLettered += 1),
        handler: async (got) => {
          if (got.headers.seq === '0') {
            attempts += 1;
            if (attempts <= failures) throw new Error(`still failing #${attempts}`);
          }
          order.push(got.headers.seq ?? '?');
          await done.handler(got);
        },
      });
      await bus.publish([pingEnvelope(topic, 'held', 0), pingEnvelope(topic, 'held', 1)]);
      await done.waitForCount(2, 'the event that failed 6 times and the one behind it');
      expect(attempts).toBe(failures + 1);
      expect(order).toEqual(['0', '1']);
      expect(deadLettered).toBe(0);
      expect(dead.events).toHaveLength(0);
    });

    it('rejects a maxAttempts that is neither a positive integer nor unlimited', async () => {
      const { bus } = await open();
      for (const maxAttempts of [0, -1, 1.5, Number.POSITIVE_INFINITY]) {
        await expect(
          bus.subscribe({
            group: uniqueGroup(),
            topics: [uniqueTopic()],
            maxAttempts,
            handler: () => Promise.resolve(),
          }),
        ).rejects.toThrow(/maxAttempts must be an integer >= 1 or 'unlimited'/);
      }
    });

    it('redelivers to another member of the group when a consumer goes away without acknowledging', async () => {
      const current = await open();
      const dying = await peerOf(current);
      const topic = uniqueTopic();
      const group = uniqueGroup();
      const failedOnce = collector(timeoutMs);
      const doomed: Subscription = await dying.subscribe({
        group,
        topics: [topic],
        maxAttempts: 10,
        handler: async (got) => {
          await failedOnce.handler(got);
          throw new Error('consumer is going down');
        },
      });
      const sent = pingEnvelope(topic, 'k', 0);
      await current.bus.publish([sent]);
      await failedOnce.waitForCount(1, 'the first member to receive (and fail) the event');
      await doomed.close();
      const survivor = collector(timeoutMs);
      await current.bus.subscribe({
        group,
        topics: [topic],
        maxAttempts: 10,
        handler: survivor.handler,
      });
      await survivor.waitForCount(1, 'the surviving member to get the unacknowledged event');
      expect(survivor.ids()).toEqual([sent.id]);
    });

    it('starts a new group from the beginning by default, or at new events with fromBeginning: false', async () => {
      const { bus } = await open();
      const topic = uniqueTopic();
      const before = [0, 1, 2].map((seq) => pingEnvelope(topic, `k${seq}`, seq));
      await bus.publish(before);
      const early = collector(timeoutMs);
      const late = collector(timeoutMs);
      await bus.subscribe({ group: uniqueGroup(), topics: [topic], handler: early.handler });
      await bus.subscribe({
        group: uniqueGroup(),
        topics: [topic],
        fromBeginning: false,
        handler: late.handler,
      });
      const after = pingEnvelope(topic, 'k9', 9);
      await bus.publish([after]);
      await early.waitForCount(4, 'the replayed and the new events');
      await late.waitForCount(1, 'the new event');
      expect(early.ids().sort()).toEqual([...before, after].map((sent) => sent.id).sort());
      expect(late.ids()).toEqual([after.id]);
    });

    it('close() waits for in-flight handlers, is idempotent and stops delivery', async () => {
      const { bus } = await open();
      const topic = uniqueTopic();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const entered = collector(timeoutMs);
      let handlerFinished = false;
      const slow = await bus.subscribe({
        group: uniqueGroup(),
        topics: [topic],
        handler: async (got) => {
          await entered.handler(got);
          await gate;
          handlerFinished = true;
        },
      });
      const closedGroup = collector(timeoutMs);
      const toClose = await bus.subscribe({
        group: uniqueGroup(),
        topics: [topic],
        handler: closedGroup.handler,
      });
      const control = collector(timeoutMs);
      await bus.subscribe({ group: uniqueGroup(), topics: [topic], handler: control.handler });

      await bus.publish([pingEnvelope(topic, 'k', 0)]);
      await entered.waitForCount(1, 'the slow handler to start');
      await control.waitForCount(1, 'the control group');
      await closedGroup.waitForCount(1, 'the group about to close');

      let slowClosed = false;
      const closingSlow = slow.close().then(() => (slowClosed = true));
      await new Promise((resolve) => setImmediate(resolve));
      expect(slowClosed).toBe(false);
      release();
      await closingSlow;
      expect(handlerFinished).toBe(true);
      await slow.close();

      await Promise.all([toClose.close(), toClose.close()]);
      await toClose.close();
      await bus.publish([pingEnvelope(topic, 'k', 1)]);
      await control.waitForCount(2, 'the control group to get the event published after close');
      expect(closedGroup.events).toHaveLength(1);
      expect(entered.events).toHaveLength(1);

      await Promise.all([bus.close(), bus.close()]);
      await bus.close();
      await expect(bus.publish([pingEnvelope(topic, 'k', 2)])).rejects.toThrow(/closed/);
      await expect(bus.ping()).rejects.toThrow(/closed/);
    });

    it('handleBatch: several events of a key per call, in order, a key never in two calls at once', async () => {
      const { bus } = await open();
      const topic = uniqueTopic();
      const keys = 4;
      const perKey = 30;
      const busyKeys = new Set<string>();
      const seenByKey = new Map<string, number[]>();
      let overlaps = 0;
      let mostOfOneKeyInACall = 0;
      const done = collector(timeoutMs);
      const handleBatch = async (batch: readonly EventEnvelope[]): Promise<void> => {
        const batchKeys = new Set(batch.map((got) => got.key));
        for (const key of batchKeys) {
          if (busyKeys.has(key)) overlaps += 1;
          busyKeys.add(key);
          const ofKey = batch.filter((got) => got.key === key).length;
          mostOfOneKeyInACall = Math.max(mostOfOneKeyInACall, ofKey);
        }
        await new Promise((resolve) => setImmediate(resolve));
        for (const got of batch) {
          const seq = Number(got.headers.seq);
          seenByKey.set(got.key, [...(seenByKey.get(got.key) ?? []), Math.floor(seq / keys)]);
        }
        for (const key of batchKeys) busyKeys.delete(key);
        for (const got of batch) await done.handler(got);
      };
      await bus.subscribe({
        group: uniqueGroup(),
        topics: [topic],
        batchMaxEvents: 50,
        handleBatch,
        // The Kafka adapter delivers one event per call through `handler`.
        handler: (got) => handleBatch([got]),
      });
      await bus.publish(
        Array.from({ length: keys * perKey }, (_, seq) =>
          pingEnvelope(topic, `aggregate-${seq % keys}`, seq),
        ),
      );
      await done.waitForCount(keys * perKey, 'every event of every key');
      expect(overlaps).toBe(0);
      for (let key = 0; key < keys; key += 1) {
        expect(seenByKey.get(`aggregate-${key}`)).toEqual(
          Array.from({ length: perKey }, (_, index) => index),
        );
      }
      if (bus.kind !== 'kafka') expect(mostOfOneKeyInACall).toBeGreaterThan(1);
    });

    it('handleBatch: a failed call is retried per key with its head alone; a poison event is dead-lettered by itself', async () => {
      const { bus } = await open();
      const topic = uniqueTopic();
      const dead = collector(timeoutMs);
      await bus.subscribe({
        group: uniqueGroup(),
        topics: [`${topic}.dlq`],
        handler: dead.handler,
      });
      const poison = pingEnvelope(topic, 'poison', 0);
      const mates = [
        pingEnvelope(topic, 'a', 1),
        pingEnvelope(topic, 'a', 2),
        pingEnvelope(topic, 'b', 3),
        pingEnvelope(topic, 'poison', 4),
      ];
      const handled = collector(timeoutMs);
      const handleBatch = async (batch: readonly EventEnvelope[]): Promise<void> => {
        if (batch.some((got) => got.id === poison.id)) throw new Error('poison in this batch');
        for (const got of batch) await handled.handler(got);
      };
      await bus.subscribe({
        group: uniqueGroup(),
        topics: [topic],
        maxAttempts: 2,
        handleBatch,
        handler: (got) => handleBatch([got]),
      });
      await bus.publish([poison, ...mates]);
      await handled.waitForCount(mates.length, "the poison event's batch-mates");
      await dead.waitForCount(1, 'the poison event in the dead-letter topic');
      expect(dead.ids()).toEqual([poison.id]);
      expect(new Set(handled.ids())).toEqual(new Set(mates.map((event) => event.id)));
      const ofA = handled.events.filter((got) => got.key === 'a').map((got) => got.headers.seq);
      expect(ofA).toEqual(['1', '2']);
    });

    it('rejects malformed events at publish with a message naming the problem', async () => {
      const { bus } = await open();
      const topic = uniqueTopic();
      await expect(bus.publish([{ ...pingEnvelope(topic, 'k', 0), id: '' }])).rejects.toThrow(
        /id must be a non-empty string/,
      );
      await expect(
        bus.publish([{ ...pingEnvelope(topic, 'k', 0), topic: 'Bad Topic' }]),
      ).rejects.toThrow(/invalid topic/);
      await expect(
        bus.publish([pingEnvelope(topic, 'k', 0, { headers: { 'sb-id': 'x' } })]),
      ).rejects.toThrow(/reserved prefix/);
    });
  });
}

/** Collects delivered events and resolves waits when enough arrived (or rejects after the timeout). */
function collector(timeoutMs: number) {
  const events: EventEnvelope[] = [];
  let waiters: Array<() => void> = [];
  const check = () => {
    const pending = waiters;
    waiters = [];
    for (const waiter of pending) waiter();
  };
  function waitUntil(done: () => boolean, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timeout = setTimeout(() => {
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what} (got ${events.length} deliveries)`,
          ),
        );
      }, timeoutMs);
      const waiter = () => {
        if (done()) {
          clearTimeout(timeout);
          resolve();
        } else {
          waiters.push(waiter);
        }
      };
      waiters.push(waiter);
    });
  }
  const handler: EventHandler = (got) => {
    events.push(got);
    check();
    return Promise.resolve();
  };
  return {
    events,
    handler,
    ids: () => events.map((got) => got.id),
    waitForCount: (count: number, what: string) => waitUntil(() => events.length >= count, what),
    waitForDistinct: (count: number, what: string) =>
      waitUntil(() => new Set(events.map((got) => got.id)).size >= count, what),
  };
}

function uniqueTopic(): string {
  return `ct-${randomUUID().slice(0, 12)}`;
}

function uniqueGroup(): string {
  return `cg-${randomUUID().slice(0, 12)}`;
}
