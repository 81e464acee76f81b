import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  memoryDeadLetters,
  redisDeadLetters,
  type DeadLetterStore,
} from '@streambet/platform/bus/dead-letters';
import { deadLetterHeaders } from '@streambet/platform/bus/envelope';
import { createMemoryBus } from '@streambet/platform/bus/memory';
import type { EventBus, EventEnvelope } from '@streambet/platform/bus/types';
import { createRedisStreamsFixture, REDIS_BUS_SKIP_REASON } from '@streambet/testkit/bus';
import { realServers } from '@streambet/testkit/env';
import { pingEnvelope } from '@streambet/testkit/events';

/** Waits until `count` items were pushed (no sleeps: resolved by the pushes themselves). */
function inbox<T>() {
  const items: T[] = [];
  let waiters: Array<() => void> = [];
  return {
    items,
    push(item: T) {
      items.push(item);
      const pending = waiters;
      waiters = [];
      for (const wake of pending) wake();
    },
    async waitFor(count: number): Promise<void> {
      while (items.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

interface Target {
  readonly name: string;
  readonly skip: string | undefined;
  open(): Promise<{ bus: EventBus; store: DeadLetterStore; dispose(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'memory',
    skip: undefined,
    open() {
      const bus = createMemoryBus({ retryBaseMs: 1 });
      return Promise.resolve({ bus, store: memoryDeadLetters(bus), dispose: () => bus.close() });
    },
  },
  {
    name: 'redis-streams',
    skip: realServers.redisUrl === '' ? REDIS_BUS_SKIP_REASON : undefined,
    async open() {
      const fixture = await createRedisStreamsFixture(realServers.redisUrl);
      const redis = new Redis(realServers.redisUrl);
      const store = redisDeadLetters({
        redis,
        bus: fixture.bus,
        streamPrefix: fixture.streamPrefix,
        partitions: 2,
      });
      return {
        bus: fixture.bus,
        store,
        async dispose() {
          redis.disconnect();
          await fixture.dispose();
        },
      };
    },
  },
];

for (const target of targets) {
  describe.skipIf(target.skip !== undefined)(`dead letters on ${target.name}`, () => {
    let dispose: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await dispose?.();
      dispose = undefined;
    });

    it('lists a dead letter with its group, error and attempts, and replays it to that group', async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      const { bus, store } = opened;
      const topic = `dl-${randomUUID().slice(0, 8)}`;
      const group = `g-${randomUUID().slice(0, 8)}`;
      let healthy = false;
      const deadLettered = inbox<EventEnvelope>();
      const handled = inbox<EventEnvelope>();
      await bus.subscribe({
        group,
        topics: [topic],
        maxAttempts: 2,
        onDeadLettered: (event) => deadLettered.push(event),
        handler: (event) => {
          if (!healthy) return Promise.reject(new Error('settlement database down'));
          handled.push(event);
          return Promise.resolve();
        },
      });
      const poison = pingEnvelope(topic, 'market-9', 0, { headers: { 'request-id': 'r-9' } });
      const other = pingEnvelope(topic, 'market-8', 1);
      await bus.publish([poison]);
      await deadLettered.waitFor(1);
      healthy = true;
      await bus.publish([other]);
      await handled.waitFor(1);

      const listed = await store.list(topic);
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({
        originalTopic: topic,
        group,
        error: 'Error: settlement database down',
        attempts: 2,
      });
      expect(listed[0]?.event.id).toBe(poison.id);
      expect(await store.list(topic, { group: 'someone-else' })).toEqual([]);
      expect(await store.list(topic, { eventId: 'no-such-event' })).toEqual([]);
      await expect(store.replay(topic, {})).rejects.toThrow(/needs --group or --event-id/);

      const replayed = await store.replay(topic, { group });
      expect(replayed.map((deadLetter) => deadLetter.event.id)).toEqual([poison.id]);
      await handled.waitFor(2);
      const again = handled.items[1] as EventEnvelope;
      expect(again.id).toBe(poison.id);
      expect(again.topic).toBe(topic);
      expect(again.headers['request-id']).toBe('r-9');
      expect(again.headers[deadLetterHeaders.replayForGroup]).toBe(group);
      expect(again.headers[deadLetterHeaders.error]).toBeUndefined();
      if (target.name === 'redis-streams') expect(await store.list(topic)).toEqual([]);
    });
  });
}
