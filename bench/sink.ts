/**
 * The analytics sink into ClickHouse, against `clickhouse-client` inserting the same rows.
 *
 * 1. Throughput: BENCH_SINK_EVENTS (default 200,000) events of a betting day's mix (BetPlaced
 *    mostly, with odds, wallet holds, settlements) on 2,000 market keys are published to the
 *    in-process bus at once; the analytics warehouse consumer (the real one: decode, facts, batched
 *    JSONEachRow inserts through @clickhouse/client, an event acked only once stored) drains them.
 *    Figure: events/s from the first publish to the last ack. Baseline, same run, same server:
 *    `clickhouse-client` inserting the very rows the sink wrote (events and facts tables,
 *    JSONEachRow from files), into a fresh database: events/s.
 * 2. Lag: BENCH_SINK_RATE (default 2,000) events/s for BENCH_SINK_SECONDS (default 10) s, each
 *    stamped when published; the lag of an event is from its publish to the moment its batch
 *    insert returned (ClickHouse answers queries with it from then on: the metrics read with FINAL,
 *    so nothing waits for a merge). Target p99 ≤ 2 s, with the sink's default batching
 *    (ANALYTICS_SINK_FLUSH_MS=250, ANALYTICS_SINK_IDLE_FLUSH_MS=20, ANALYTICS_SINK_BATCH_ROWS=5000, ANALYTICS_SINK_WRITERS=4). A count query at the end
 *    checks every event is there once.
 *
 * Needs ClickHouse at BENCH_CLICKHOUSE_URL (default http://127.0.0.1:8123) and `clickhouse-client`
 * on PATH. The consumer is subscribed as the service host does it: batch delivery
 * (`handleBatch`, up to 500 events per call, several of one key in publish order), so a key is no
 * longer limited to one event in flight while its insert runs. The in-process bus runs
 * BENCH_SINK_BUS_CALLS (default 20) calls per topic at once: 20 × 500 × 4 topics stays within the
 * sink's 50,000-event buffer, so no batch is refused (a refused batch waits out the bus backoff).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@clickhouse/client';
import {
  createClickHouseWarehouse,
  createWarehouseConsumer,
  createWarehouseSink,
  eventJson,
  factJson,
  toWarehouseRows,
} from '@streambet/analytics/testing';
import { BetPlacedSchema } from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import { SettlementCompletedSchema } from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { HoldPlacedSchema } from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { createMemoryBus } from '@streambet/platform/bus/memory';
import type { EventEnvelope, SubscribeOptions } from '@streambet/platform/bus/types';
import type { EventConsumer } from '@streambet/platform/runtime/service-host';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import { envelope } from '@streambet/testkit/events';
import { compare, printResults, type BenchResult } from './lib/report.js';

const URL_ = process.env.BENCH_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const EVENTS = Number(process.env.BENCH_SINK_EVENTS ?? 200_000);
const RATE = Number(process.env.BENCH_SINK_RATE ?? 2_000);
const SECONDS = Number(process.env.BENCH_SINK_SECONDS ?? 10);
const BATCH_ROWS = Number(process.env.BENCH_SINK_BATCH_ROWS ?? 5000);
const FLUSH_MS = 250;
const IDLE_FLUSH_MS = 20;
const WRITERS = Number(process.env.BENCH_SINK_WRITERS ?? 4);
const BUS_CALLS = Number(process.env.BENCH_SINK_BUS_CALLS ?? 20);
const run = promisify(execFile);

/**
 * The subscription the service host makes for the warehouse consumer: batch delivery (several
 * events of a key per call), retried without limit. `handler` is only the per-event fallback.
 */
function batchDelivery(consumer: EventConsumer): Omit<SubscribeOptions, 'handleBatch'> {
  if (!('handleIdempotently' in consumer) || consumer.handleBatchIdempotently === undefined) {
    throw new Error('unexpected consumer shape: the warehouse consumer takes batches');
  }
  return {
    group: 'analytics.warehouse',
    topics: consumer.topics,
    maxAttempts: 'unlimited',
    ...(consumer.batchMaxEvents === undefined ? {} : { batchMaxEvents: consumer.batchMaxEvents }),
    handler: (event) => consumer.handleIdempotently(event),
  };
}

const ulid = (ms: number): string => encodeUlid(ms, new Uint8Array(randomBytes(10)));
const markets = Array.from({ length: 2000 }, () => ulid(Date.now()));
const channels = Array.from({ length: 50 }, () => ulid(Date.now()));
const users = Array.from({ length: 20_000 }, () => ulid(Date.now()));

/** Event number `i` of a betting day's mix, stamped `atMs`. */
function eventAt(i: number, atMs: number): EventEnvelope {
  const marketId = markets[i % markets.length]!;
  const channelId = channels[i % channels.length]!;
  const userId = users[(i * 7919) % users.length]!;
  const options = { occurredAtMs: atMs };
  switch (i % 10) {
    case 7:
      return envelope('odds', marketId, OddsChangedSchema, { channelId }, options);
    case 8:
      return envelope(
        'wallet',
        userId,
        HoldPlacedSchema,
        { transfer: { transferId: ulid(atMs), amountMinor: 500n } },
        options,
      );
    case 9:
      return envelope(
        'settlement',
        marketId,
        SettlementCompletedSchema,
        {
          settlement: {
            marketId,
            channelId,
            currency: 'BRL',
            totalStakedMinor: 100_000n,
            payoutTotalMinor: 95_000n,
            commissionMinor: 5_000n,
            streamerShareMinor: 1_250n,
            completedAtMs: BigInt(atMs),
          },
        },
        options,
      );
    default:
      return envelope(
        'bet',
        marketId,
        BetPlacedSchema,
        {
          metadata: { producer: 'bet-engine', aggregateId: marketId, actorUserId: userId },
          betId: ulid(atMs),
          marketId,
          channelId,
          userId,
          outcomeId: markets[(i + 1) % markets.length],
          kind: MarketKind.POOL,
          currency: 'BRL',
          stakeMinor: BigInt(100 + (i % 5000)),
          heldMinor: BigInt(100 + (i % 5000)),
          placedAtMs: BigInt(atMs),
          client: { networkId: `net-${i % 997}`, deviceId: `dev-${i % 4999}`, app: 'web' },
        },
        options,
      );
  }
}

async function freshWarehouse(tag: string) {
  const database = `bench_sink_${tag}_${randomBytes(4).toString('hex')}`;
  const warehouse = await createClickHouseWarehouse({ url: URL_, database });
  return {
    database,
    warehouse,
    async drop() {
      await warehouse.close();
      const admin = createClient({ url: URL_ });
      await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await admin.close();
    },
  };
}

async function countEvents(database: string): Promise<number> {
  const client = createClient({ url: URL_ });
  try {
    const rows = await (
      await client.query({
        query: `SELECT count() AS n FROM (SELECT event_id FROM ${database}.events FINAL)`,
        format: 'JSONEachRow',
      })
    ).json<{ n: string }>();
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.close();
  }
}

/** The sink through the bus: events/s from first publish to last ack. */
async function sinkThroughput(events: readonly EventEnvelope[]): Promise<number> {
  const target = await freshWarehouse('sink');
  const bus = createMemoryBus({ concurrency: BUS_CALLS });
  let acked = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const inserts = { count: 0, events: 0, ms: 0, refused: 0 };
  const sink = createWarehouseSink({
    warehouse: target.warehouse,
    batchRows: BATCH_ROWS,
    flushMs: FLUSH_MS,
    idleFlushMs: IDLE_FLUSH_MS,
    maxConcurrentWrites: WRITERS,
    maxBufferedEvents: 50_000,
    retryMs: 1000,
    now: () => performance.now(),
    observer: {
      written: (count, durationMs) => {
        inserts.count += 1;
        inserts.events += count;
        inserts.ms += durationMs;
      },
      refused: () => {
        inserts.refused += 1;
      },
    },
  });
  const consumer = createWarehouseConsumer(sink);
  const subscription = await bus.subscribe({
    ...batchDelivery(consumer),
    handleBatch: async (batch) => {
      await consumer.handleBatchIdempotently!(batch);
      acked += batch.length;
      if (acked === events.length) resolveDone();
    },
  });
  try {
    const started = performance.now();
    await bus.publish(events);
    await done;
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `  sink: ${inserts.count} inserts, ${Math.round(inserts.events / Math.max(1, inserts.count))} events each, ` +
        `${Math.round(inserts.ms / Math.max(1, inserts.count))} ms each on average (${WRITERS} at once), ` +
        `${inserts.refused} refusals, ${seconds.toFixed(2)} s in all`,
    );
    const stored = await countEvents(target.database);
    if (stored !== events.length) throw new Error(`sink stored ${stored} of ${events.length}`);
    return events.length / seconds;
  } finally {
    await subscription.close();
    await bus.close();
    await target.drop();
  }
}

/** clickhouse-client inserting the same rows (events and facts, JSONEachRow files): events/s. */
async function clientThroughput(events: readonly EventEnvelope[]): Promise<number> {
  const target = await freshWarehouse('client');
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'bench-sink-'));
  try {
    const rows = events.map(toWarehouseRows);
    const eventsFile = path.join(dir, 'events.jsonl');
    const factsFile = path.join(dir, 'facts.jsonl');
    fs.writeFileSync(eventsFile, rows.map((r) => JSON.stringify(eventJson(r.event))).join('\n'));
    fs.writeFileSync(
      factsFile,
      rows.flatMap((r) => r.facts.map((f) => JSON.stringify(factJson(f)))).join('\n'),
    );
    const { hostname, port } = new URL(URL_);
    const insert = (table: string, file: string) =>
      run('sh', [
        '-c',
        `clickhouse-client --host ${hostname} --port 9000 --query "INSERT INTO ${target.database}.${table} FORMAT JSONEachRow" < ${file}`,
      ]);
    void port;
    const started = performance.now();
    await insert('facts', factsFile);
    await insert('events', eventsFile);
    const seconds = (performance.now() - started) / 1000;
    const stored = await countEvents(target.database);
    if (stored !== events.length) throw new Error(`clickhouse-client stored ${stored}`);
    return events.length / seconds;
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
    await target.drop();
  }
}

/** Publish → stored lag at a steady rate: p50/p99 in ms. */
async function lagAtRate(): Promise<{ p50: number; p99: number; total: number }> {
  const target = await freshWarehouse('lag');
  const bus = createMemoryBus({ concurrency: BUS_CALLS });
  const publishedAt = new Map<string, number>();
  const lags: number[] = [];
  const sink = createWarehouseSink({
    warehouse: target.warehouse,
    batchRows: BATCH_ROWS,
    flushMs: FLUSH_MS,
    idleFlushMs: IDLE_FLUSH_MS,
    maxConcurrentWrites: WRITERS,
    maxBufferedEvents: 50_000,
    retryMs: 1000,
  });
  const consumer = createWarehouseConsumer(sink);
  const subscription = await bus.subscribe({
    ...batchDelivery(consumer),
    handleBatch: async (batch) => {
      await consumer.handleBatchIdempotently!(batch);
      const at = performance.now();
      for (const event of batch) lags.push(at - publishedAt.get(event.id)!);
    },
  });
  const total = RATE * SECONDS;
  try {
    const tickMs = 20;
    const perTick = Math.max(1, Math.round((RATE * tickMs) / 1000));
    const started = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE) + 1);
      const batch: EventEnvelope[] = [];
      while (sent < due && batch.length < perTick * 5) {
        const event = eventAt(sent, Date.now());
        publishedAt.set(event.id, performance.now());
        batch.push(event);
        sent += 1;
      }
      if (batch.length > 0) await bus.publish(batch);
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
    while (lags.length < total) await new Promise((resolve) => setTimeout(resolve, 50));
    const stored = await countEvents(target.database);
    if (stored !== total) throw new Error(`lag run stored ${stored} of ${total}`);
    lags.sort((a, b) => a - b);
    const at = (p: number) =>
      lags[Math.min(lags.length - 1, Math.ceil((p / 100) * lags.length) - 1)]!;
    return { p50: at(50), p99: at(99), total };
  } finally {
    await subscription.close();
    await bus.close();
    await target.drop();
  }
}

const now = Date.now();
const events = Array.from({ length: EVENTS }, (_, i) => eventAt(i, now + i));
const version = (await run('clickhouse-client', ['--version'])).stdout.trim();
console.log(
  `sink bench: ${EVENTS} events, ClickHouse at ${URL_} (${version}), ${os.cpus().length} cores`,
);
const baseline = await clientThroughput(events);
console.log(
  `clickhouse-client: ${Math.round(baseline)} events/s (events + facts rows, JSONEachRow)`,
);
const measured = await sinkThroughput(events);
console.log(`bus → sink → ClickHouse: ${Math.round(measured)} events/s`);
const lag = await lagAtRate();
console.log(
  `lag at ${RATE} events/s for ${SECONDS} s (${lag.total} events): p50 ${Math.round(lag.p50)} ms, p99 ${Math.round(lag.p99)} ms`,
);
const results: BenchResult[] = [
  compare('sink events/s vs clickhouse-client', measured, 'events/s', baseline, 0.5),
  {
    name: `p99 lag event→queryable at ${RATE} events/s`,
    value: Math.round(lag.p99),
    unit: 'ms',
    baseline: 2000,
    ratio: Math.round((lag.p99 / 2000) * 100) / 100,
    target: '≤ 2000 ms',
    met: lag.p99 <= 2000,
  },
];
printResults('sink', results);
