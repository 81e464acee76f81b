/**
 * The warehouse sink on every warehouse: batches by rows and by time (manual clock and timers),
 * a redelivered event counted once, and a warehouse outage: the sink buffers to its bound, refuses
 * beyond it (the bus keeps those events), and loses nothing once the warehouse is back — also
 * end to end through the in-process bus.
 */
import { BetPlacedSchema } from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { createMemoryBus } from '@streambet/platform/bus/memory';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { manualClock, manualScheduler, testEpochMs } from '@streambet/testkit/clock';
import { envelope } from '@streambet/testkit/events';
import { nextUlid } from '@streambet/testkit/ids';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWarehouseSink, SinkBackPressureError } from '../src/sink.js';
import type { Warehouse } from '../src/warehouse/warehouse.js';
import { toBigInt } from '../src/warehouse/warehouse.js';
import { warehouseTargets, withOutage, type TestWarehouse } from './warehouses.js';

const marketId = nextUlid();
const channelId = nextUlid();

function betPlaced(stakeMinor: bigint, at = testEpochMs, key = marketId): EventEnvelope {
  const betId = nextUlid();
  return envelope(
    'bet',
    key,
    BetPlacedSchema,
    {
      metadata: { producer: 'bet-engine', aggregateId: marketId },
      betId,
      marketId,
      channelId,
      userId: nextUlid(),
      outcomeId: nextUlid(),
      kind: MarketKind.POOL,
      currency: 'PTS',
      stakeMinor,
      placedAtMs: BigInt(at),
    },
    { occurredAtMs: at },
  );
}

async function stored(warehouse: Warehouse): Promise<{ events: number; handle: bigint }> {
  const [row] = await warehouse.select(
    `SELECT count(*) AS n, sum(amount_minor) AS handle FROM ${warehouse.dialect.facts} WHERE kind = 'bet_accepted'`,
  );
  return { events: Number(toBigInt(row?.n)), handle: toBigInt(row?.handle) };
}

/** Lets pending promise callbacks and I/O callbacks run. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

function tracked(promise: Promise<void>): { done: () => boolean; promise: Promise<void> } {
  let done = false;
  const observed = promise.then(() => {
    done = true;
  });
  return { done: () => done, promise: observed };
}

describe.each(warehouseTargets().map((t) => [t.name, t] as const))(
  'warehouse sink on %s',
  (_name, target) => {
    let db: TestWarehouse;
    beforeEach(async () => {
      db = await target.create();
    });
    afterEach(async () => {
      await db.dispose();
    });

    it('writes a batch as soon as it holds batchRows events', async () => {
      const clock = manualClock();
      const timers = manualScheduler(clock);
      const sink = createWarehouseSink({
        warehouse: db.warehouse,
        batchRows: 3,
        flushMs: 60_000,
        maxBufferedEvents: 100,
        retryMs: 1000,
        timers,
      });
      await Promise.all([100n, 200n, 300n].map((stake) => sink.accept(betPlaced(stake))));
      expect(await stored(db.warehouse)).toEqual({ events: 3, handle: 600n });
      expect(timers.pending()).toBe(0);
    });

    it('writes a partial batch flushMs after its first event, not before', async () => {
      const clock = manualClock();
      const timers = manualScheduler(clock);
      const sink = createWarehouseSink({
        warehouse: db.warehouse,
        batchRows: 1000,
        flushMs: 500,
        maxBufferedEvents: 100,
        retryMs: 1000,
        timers,
      });
      const first = tracked(sink.accept(betPlaced(10n)));
      clock.advance(300);
      const second = tracked(sink.accept(betPlaced(20n)));
      await tick();
      expect(timers.runDue()).toBe(0);
      expect(first.done() || second.done()).toBe(false);
      expect(await stored(db.warehouse)).toEqual({ events: 0, handle: 0n });
      clock.advance(200);
      expect(timers.runDue()).toBe(1);
      await Promise.all([first.promise, second.promise]);
      expect(await stored(db.warehouse)).toEqual({ events: 2, handle: 30n });
    });

    it('writes early once the buffer stops growing for idleFlushMs, well before flushMs', async () => {
      const clock = manualClock();
      const timers = manualScheduler(clock);
      const sink = createWarehouseSink({
        warehouse: db.warehouse,
        batchRows: 1000,
        flushMs: 500,
        idleFlushMs: 20,
        maxBufferedEvents: 100,
        retryMs: 1000,
        timers,
      });
      const first = tracked(sink.accept(betPlaced(1n)));
      clock.advance(20);
      const second = tracked(sink.accept(betPlaced(2n)));
      expect(timers.runDue()).toBe(1); // grew since the last look: wait another 20 ms
      await tick();
      expect(first.done()).toBe(false);
      clock.advance(20);
      expect(timers.runDue()).toBe(1); // no growth: write now
      await Promise.all([first.promise, second.promise]);
      expect(await stored(db.warehouse)).toEqual({ events: 2, handle: 3n });
      // A steady trickle (one event per 20 ms, never idle) still goes out by flushMs.
      const trickle = [tracked(sink.accept(betPlaced(1n)))];
      for (let ms = 20; ms < 500; ms += 20) {
        clock.advance(20);
        trickle.push(tracked(sink.accept(betPlaced(1n))));
        timers.runDue();
        await tick();
      }
      expect(trickle.some((t) => t.done())).toBe(false);
      clock.advance(20);
      expect(timers.runDue()).toBe(1);
      await Promise.all(trickle.map((t) => t.promise));
      expect(await stored(db.warehouse)).toEqual({ events: 27, handle: 28n });
    });

    it('runs up to maxConcurrentWrites inserts at once, never more', async () => {
      let running = 0;
      let most = 0;
      const counting: Warehouse = {
        ...db.warehouse,
        write: async (batch) => {
          running += 1;
          most = Math.max(most, running);
          try {
            await db.warehouse.write(batch);
          } finally {
            running -= 1;
          }
        },
      };
      const sink = createWarehouseSink({
        warehouse: counting,
        batchRows: 2,
        flushMs: 60_000,
        maxConcurrentWrites: 2,
        maxBufferedEvents: 100,
        retryMs: 1000,
      });
      await Promise.all(Array.from({ length: 8 }, () => sink.accept(betPlaced(5n))));
      expect(most).toBe(2);
      expect(await stored(db.warehouse)).toEqual({ events: 8, handle: 40n });
    });

    it('counts a redelivered event once, in the same batch or a later one', async () => {
      const sink = createWarehouseSink({
        warehouse: db.warehouse,
        batchRows: 10,
        flushMs: 0,
        maxBufferedEvents: 100,
        retryMs: 1000,
      });
      const event = betPlaced(700n);
      await Promise.all([sink.accept(event), sink.accept(event), sink.accept(betPlaced(1n))]);
      await sink.accept(event);
      expect(await stored(db.warehouse)).toEqual({ events: 2, handle: 701n });
    });

    it('buffers to its bound while the warehouse is down, refuses beyond it, and loses nothing', async () => {
      const clock = manualClock();
      const timers = manualScheduler(clock);
      const warehouse = withOutage(db.warehouse);
      warehouse.down = true;
      const failures: number[] = [];
      const sink = createWarehouseSink({
        warehouse,
        batchRows: 2,
        flushMs: 0,
        maxBufferedEvents: 4,
        retryMs: 1000,
        timers,
        observer: { writeFailed: (events) => failures.push(events) },
      });
      const held = [1n, 2n, 3n, 4n].map((stake) => tracked(sink.accept(betPlaced(stake))));
      await tick();
      // flushMs 0: the first event went alone (nothing else was buffered yet) and failed.
      expect(failures).toEqual([1]);
      expect(sink.healthy).toBe(false);
      expect(sink.buffered).toBe(4);
      const refusedEvent = betPlaced(5n);
      await expect(sink.accept(refusedEvent)).rejects.toBeInstanceOf(SinkBackPressureError);
      expect(sink.buffered).toBe(4);

      clock.advance(1000);
      expect(timers.runDue()).toBe(1);
      await tick();
      expect(failures).toEqual([1, 2]);
      expect(held.some((h) => h.done())).toBe(false);

      warehouse.down = false;
      clock.advance(1000);
      expect(timers.runDue()).toBe(1);
      await Promise.all(held.map((h) => h.promise));
      expect(sink.healthy).toBe(true);
      await sink.accept(refusedEvent); // the bus's redelivery
      expect(await stored(db.warehouse)).toEqual({ events: 5, handle: 15n });
      expect(sink.buffered).toBe(0);
    });

    it('through the in-process bus: an outage holds events unacked, then every one lands once', async () => {
      const warehouse = withOutage(db.warehouse);
      warehouse.down = true;
      const bus = createMemoryBus({ retryBaseMs: 5, retryMaxMs: 50 });
      const sink = createWarehouseSink({
        warehouse,
        batchRows: 50,
        flushMs: 0,
        maxBufferedEvents: 8,
        retryMs: 20,
      });
      const subscription = await bus.subscribe({
        group: 'analytics.warehouse',
        topics: ['bet'],
        maxAttempts: 'unlimited',
        handler: (event) => sink.accept(event),
      });
      try {
        // One key per event: the bus delivers a key's events one at a time.
        const events = Array.from({ length: 40 }, (_, i) =>
          betPlaced(BigInt(i + 1), testEpochMs, nextUlid()),
        );
        await bus.publish([...events, events[0]!, events[1]!]);
        await expect.poll(() => sink.buffered).toBe(8);
        warehouse.down = false;
        await expect
          .poll(() => stored(db.warehouse), { timeout: 20_000 })
          .toEqual({
            events: 40,
            handle: 820n,
          });
      } finally {
        await subscription.close();
        await bus.close();
      }
    });

    it('takes a batch delivery whole or not at all, and an oversized one only into an empty buffer', async () => {
      const clock = manualClock();
      const timers = manualScheduler(clock);
      const warehouse = withOutage(db.warehouse);
      warehouse.down = true;
      const sink = createWarehouseSink({
        warehouse,
        batchRows: 100,
        flushMs: 1000,
        maxBufferedEvents: 4,
        retryMs: 1000,
        timers,
      });
      const oversized = tracked(sink.acceptBatch([1n, 2n, 3n, 4n, 5n].map((s) => betPlaced(s))));
      expect(sink.buffered).toBe(5);
      await expect(sink.acceptBatch([betPlaced(6n)])).rejects.toBeInstanceOf(SinkBackPressureError);
      expect(sink.buffered).toBe(5);
      warehouse.down = false;
      clock.advance(1000);
      expect(timers.runDue()).toBe(1);
      await oversized.promise;
      const three = tracked(sink.acceptBatch([6n, 7n, 8n].map((s) => betPlaced(s))));
      await expect(sink.acceptBatch([9n, 10n].map((s) => betPlaced(s)))).rejects.toBeInstanceOf(
        SinkBackPressureError,
      );
      expect(sink.buffered).toBe(3);
      clock.advance(1000);
      expect(timers.runDue()).toBe(1);
      await three.promise;
      expect(await stored(db.warehouse)).toEqual({ events: 8, handle: 36n });
    });

    it('through batch deliveries: many events of one key in flight, an outage loses none', async () => {
      const warehouse = withOutage(db.warehouse);
      warehouse.down = true;
      const bus = createMemoryBus({ retryBaseMs: 5, retryMaxMs: 50 });
      const sink = createWarehouseSink({
        warehouse,
        batchRows: 50,
        flushMs: 0,
        maxBufferedEvents: 8,
        retryMs: 20,
      });
      let mostPerCall = 0;
      const subscription = await bus.subscribe({
        group: 'analytics.warehouse',
        topics: ['bet'],
        maxAttempts: 'unlimited',
        batchMaxEvents: 8,
        handleBatch: (events) => {
          mostPerCall = Math.max(mostPerCall, events.length);
          return sink.acceptBatch(events);
        },
        handler: (event) => sink.accept(event),
      });
      try {
        // One key for all: one event per call would hold a single event in flight.
        const events = Array.from({ length: 40 }, (_, i) => betPlaced(BigInt(i + 1)));
        await bus.publish(events.slice(0, 1));
        // Held unacked while the warehouse is down; the rest of the key queues behind it.
        await expect.poll(() => sink.buffered).toBe(1);
        await bus.publish([...events.slice(1), events[0]!, events[1]!]);
        expect(sink.buffered).toBe(1);
        warehouse.down = false;
        await expect
          .poll(() => stored(db.warehouse), { timeout: 20_000 })
          .toEqual({ events: 40, handle: 820n });
        expect(mostPerCall).toBeGreaterThan(1);
        expect(mostPerCall).toBeLessThanOrEqual(8);
      } finally {
        await subscription.close();
        await bus.close();
      }
    });
  },
);
