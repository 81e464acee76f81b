/**
 * Realtime fan-out (issue 5, "Must show"): BENCH_FANOUT_CLIENTS (default 10,000) socket.io clients,
 * in other processes, watch one market of a started realtime service (real port, consumers on the
 * in-process bus, embedded PGlite). Measured:
 *   (a) latency: an OddsChanged is published into the realtime service's bus (what the bet
 *       engine's outbox does after a bet commits) and timed until it reached the LAST client;
 *       p50 / p99 over BENCH_FANOUT_SAMPLES samples, spaced beyond the 100 ms conflation interval
 *       so each sample measures fan-out, not conflation;            target p99 ≤ 250 ms
 *   (b) throughput: BENCH_FANOUT_BURST messages of the same payload pushed back to back to the
 *       market room (RealtimeInternalService.Publish, unconflated) until every client has every
 *       one, next to a raw `ws` server broadcasting the same payload (JSON-encoded with the event
 *       name, as socket.io does) to the same number of raw `ws` clients;  target ≥ 0.3× raw ws
 *   (c) server memory per connection (RSS and heap after GC), socket.io and raw ws.
 * Everything stays on 127.0.0.1, and the bench stops by itself (BENCH_FANOUT_TIMEOUT_S, default
 * 900 s, then it fails). It needs about clients + 100 file descriptors per process: when the soft
 * `ulimit -n` is lower it re-executes itself under `ulimit -n <hard limit>`.
 *
 * Clients are spread over BENCH_FANOUT_CLIENT_PROCS processes (default 2); arrival times are taken
 * with `performance.timeOrigin + performance.now()`, comparable across processes of one machine.
 *
 * (a) and (b) are measured twice: on one realtime node (above), and on the cluster shape the
 * deployment runs (k8s/realtime.yaml: two replicas or more) — BENCH_FANOUT_NODES realtime processes
 * (default 2, or one per core) behind one Redis (socket.io Redis adapter, Redis Streams bus) and one
 * PostgreSQL database, the client processes spread over them. The p99 target is judged on the
 * cluster shape; the one-node figures are reported beside it. Why: a broadcast costs one write
 * system call per socket, about 16–20 µs on this machine's loopback (the receiver's TCP work is
 * charged to the sender), so one process needs about 200 ms for 10,000 sockets whatever the library
 * (the raw `ws` baseline's p50 is about 170–200 ms); a second node halves that serial part.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { create, toBinary, toJsonString } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Redis } from 'ioredis';
import pg from 'pg';
import { WebSocketServer, WebSocket } from 'ws';
import { io as connectSocketIo, type Socket } from 'socket.io-client';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { ChannelLinkedSchema } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import { MarketCreatedSchema } from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  RealtimeInternalService,
  RoomKind,
} from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import { createMemoryBus } from '@streambet/platform/bus/memory';
import { createRedisStreamsBus } from '@streambet/platform/bus/redis-streams';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import { startService } from '@streambet/platform/runtime/service-host';
import { repoPath, tsxBin } from '@streambet/testkit/process';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { realtimeService } from '@streambet/realtime/app';
import { loadRealtimeConfig } from '@streambet/realtime/config';
import { platformNodeFlags } from './lib/node-flags.js';
import { createBenchDatabase } from './lib/postgres.js';
import { printResults, type BenchResult } from './lib/report.js';
import { freePorts } from '@streambet/platform/runtime/free-ports';

/** Realtime's per-address limits, lifted: every client of this bench is 127.0.0.1. */
const benchAddressLimits = {
  REALTIME_MAX_CONNECTIONS: '1000000',
  REALTIME_MAX_CONNECTIONS_PER_ADDRESS: '1000000',
  REALTIME_ROOM_JOIN_BURST_PER_ADDRESS: '1000000',
  REALTIME_ROOM_JOINS_PER_SECOND_PER_ADDRESS: '1000000',
};

const CLIENTS = Number(process.env.BENCH_FANOUT_CLIENTS ?? 10_000);
const CLIENT_PROCS = Math.max(1, Number(process.env.BENCH_FANOUT_CLIENT_PROCS ?? 2));
const SAMPLES = Number(process.env.BENCH_FANOUT_SAMPLES ?? 200);
const BURST = Number(process.env.BENCH_FANOUT_BURST ?? 20);
const TIMEOUT_S = Number(process.env.BENCH_FANOUT_TIMEOUT_S ?? 900);
const SAMPLE_GAP_MS = 150;
/**
 * Samples sent and not counted after the clients connect: the first broadcasts also pay for
 * compiling the write path and collecting the connection phase's garbage (2–3 of them are 1.5×
 * the rest).
 */
const WARMUP_SAMPLES = Number(process.env.BENCH_FANOUT_WARMUP_SAMPLES ?? 5);
/** Realtime processes of the cluster phase; 0 or 1 skips it. */
const NODES = Number(process.env.BENCH_FANOUT_NODES ?? Math.max(2, os.cpus().length));
/**
 * V8 flags of the realtime nodes and the client processes: the platform's own (bench/run.ts gives
 * this process the same), unless BENCH_FANOUT_V8_FLAGS says otherwise.
 */
const V8_FLAGS =
  process.env.BENCH_FANOUT_V8_FLAGS === undefined
    ? platformNodeFlags
    : process.env.BENCH_FANOUT_V8_FLAGS.split(' ').filter((flag) => flag !== '');
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_DB = Number(process.env.BENCH_FANOUT_REDIS_DB ?? 11);
/**
 * The clients' implementation: `wire` (default) speaks the socket.io protocol over `ws` and parses
 * every event, `library` runs socket.io-client itself (its bookkeeping then competes with the
 * server for the same cores).
 */
const SOCKET_CLIENT: 'socketio' | 'socketio-wire' =
  process.env.BENCH_FANOUT_CLIENT === 'library' ? 'socketio' : 'socketio-wire';
const TICK_EVENT = 'bench.tick';

const here = fileURLToPath(import.meta.url);
const now = (): number => performance.timeOrigin + performance.now();

/** Messages between the bench and its client processes. */
type ToParent =
  | { type: 'ready'; connected: number; rssBytes: number }
  | { type: 'done'; kind: 'odds' | 'tick'; seq: number; lastAtMs: number }
  | { type: 'failed'; error: string }
  | { type: 'lost'; reason: string };

// ---------------------------------------------------------------- client process

async function runClients(): Promise<void> {
  const mode = process.env.FANOUT_MODE as 'socketio' | 'socketio-wire' | 'ws';
  const url = process.env.FANOUT_URL as string;
  const room = process.env.FANOUT_ROOM as string;
  const count = Number(process.env.FANOUT_COUNT);
  const send = (message: ToParent): void => {
    if (process.connected) process.send?.(message);
  };
  // The bench process ended (finished, failed or timed out): so do its clients.
  process.once('disconnect', () => process.exit(0));
  const arrivals = new Map<string, number>();
  // Clients still connected: a message counts as delivered to all once every live client has it
  // (a client dropped by a missed heartbeat under load must not hang the bench; it is reported).
  let live = count;
  const complete = (key: string): void => {
    arrivals.delete(key);
    const [kind, seq] = key.split(':') as ['odds' | 'tick', string];
    send({ type: 'done', kind, seq: Number(seq), lastAtMs: now() });
  };
  const arrived = (kind: 'odds' | 'tick', seq: number): void => {
    const key = `${kind}:${seq}`;
    const seen = (arrivals.get(key) ?? 0) + 1;
    arrivals.set(key, seen);
    if (seen >= live) complete(key);
  };
  let ready = false;
  const lost = (reason: string): void => {
    if (!ready) return;
    live -= 1;
    send({ type: 'lost', reason });
    for (const [key, seen] of arrivals) if (seen >= live) complete(key);
  };
  const onOdds = (payload: { odds?: { version?: string } }): void =>
    arrived('odds', Number(payload.odds?.version));
  const onTick = (payload: { seq: number }): void => arrived('tick', payload.seq);

  const sockets: Array<Socket | WebSocket> = [];
  /**
   * A socket.io client at the wire: Engine.IO v4 over a WebSocket (open `0`, ping `2` → pong `3`,
   * message `4`) carrying Socket.IO v5 packets (`40` connect, `42[event, payload]` event, `421[…]`
   * event with ack id 1, `431[…]` its ack). Every event is JSON-parsed as socket.io-client does;
   * what it leaves out is the client library's own bookkeeping (emitters, reconnection, timers),
   * which here would run for 5,000 clients per process on the server's 2 cores.
   */
  const connectWire = async (): Promise<void> => {
    const base = new URL(url);
    base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    base.pathname = '/socket.io/';
    base.search = '?EIO=4&transport=websocket';
    const socket = new WebSocket(base.toString(), { perMessageDeflate: false });
    sockets.push(socket);
    let joined: ((ok: boolean) => void) | undefined;
    let connected: (() => void) | undefined;
    let refused: ((error: Error) => void) | undefined;
    socket.on('close', () => lost('closed'));
    socket.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text === '2') {
        socket.send('3');
        return;
      }
      if (text.startsWith('42')) {
        const [event, payload] = JSON.parse(text.slice(2)) as [string, never];
        if (event === TICK_EVENT) onTick(payload);
        else if (event === OddsChangedSchema.typeName) onOdds(payload);
      } else if (text.startsWith('431')) {
        const [ack] = JSON.parse(text.slice(3)) as [{ ok: boolean }];
        joined?.(ack.ok);
      } else if (text.startsWith('40')) {
        connected?.();
      } else if (text.startsWith('0')) {
        socket.send('40');
      } else if (text.startsWith('44')) {
        refused?.(new Error(`socket.io connect refused: ${text}`));
      }
    });
    await new Promise<void>((resolve, reject) => {
      connected = resolve;
      refused = reject;
      socket.once('error', reject);
    });
    const ok = await new Promise<boolean>((resolve) => {
      joined = resolve;
      socket.send(`421${JSON.stringify(['room:join', { room }])}`);
    });
    if (!ok) throw new Error('room:join refused');
  };
  const connectOne = async (): Promise<void> => {
    if (mode === 'socketio') {
      const socket = connectSocketIo(url, {
        path: '/socket.io/',
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        timeout: 60_000,
      });
      sockets.push(socket);
      socket.on(OddsChangedSchema.typeName, onOdds);
      socket.on('disconnect', (reason) => lost(reason));
      socket.on(TICK_EVENT, onTick);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const ack = (await socket.timeout(60_000).emitWithAck('room:join', { room })) as {
        ok: boolean;
      };
      if (!ack.ok) throw new Error(`room:join refused: ${JSON.stringify(ack)}`);
    } else if (mode === 'socketio-wire') {
      await connectWire();
    } else {
      const socket = new WebSocket(url);
      sockets.push(socket);
      socket.on('close', () => lost('closed'));
      socket.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString()) as { event: string; payload: never };
        if (message.event === TICK_EVENT) onTick(message.payload);
        else onOdds(message.payload);
      });
      await once(socket, 'open');
    }
  };
  try {
    const startedAt = now();
    const parallel = 250;
    for (let started = 0; started < count; started += parallel) {
      await Promise.all(
        Array.from({ length: Math.min(parallel, count - started) }, () => connectOne()),
      );
    }
    process.stderr.write(
      `fanout client ${process.pid}: ${sockets.length} ${mode} clients connected in ${((now() - startedAt) / 1000).toFixed(1)} s\n`,
    );
    ready = true;
    send({ type: 'ready', connected: sockets.length, rssBytes: process.memoryUsage().rss });
  } catch (error) {
    send({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
  }
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'exit') return;
    ready = false;
    for (const socket of sockets) {
      if (socket instanceof WebSocket) socket.terminate();
      else socket.disconnect();
    }
    process.exit(0);
  });
}

// ---------------------------------------------------------------- bench process

/** The client processes of one phase. */
interface ClientFleet {
  readonly children: ChildProcess[];
  /** Resolves with the last arrival time once every process reported (kind, seq). */
  waitFor(kind: 'odds' | 'tick', seq: number): Promise<number>;
  readonly clientRssBytes: number;
  /** Clients that disconnected after the fleet was ready (missed heartbeats under load). */
  lost(): number;
  close(): Promise<void>;
}

async function startFleet(
  mode: 'socketio' | 'socketio-wire' | 'ws',
  urls: readonly string[],
  room: string,
): Promise<ClientFleet> {
  const children: ChildProcess[] = [];
  const reports = new Map<string, number[]>();
  const waiters = new Map<string, () => void>();
  let rss = 0;
  let lostClients = 0;
  const readiness: Array<Promise<void>> = [];
  for (let i = 0; i < CLIENT_PROCS; i += 1) {
    const count = Math.floor(CLIENTS / CLIENT_PROCS) + (i < CLIENTS % CLIENT_PROCS ? 1 : 0);
    const child = fork(here, ['--client'], {
      execArgv: ['--import', 'tsx', ...V8_FLAGS],
      env: {
        ...process.env,
        FANOUT_MODE: mode,
        FANOUT_URL: urls[i % urls.length]!,
        FANOUT_ROOM: room,
        FANOUT_COUNT: String(count),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    readiness.push(
      new Promise<void>((resolve, reject) => {
        child.on('message', (message: ToParent) => {
          if (message.type === 'ready') {
            rss += message.rssBytes;
            resolve();
          } else if (message.type === 'failed') {
            reject(new Error(`client process: ${message.error}`));
          } else if (message.type === 'lost') {
            lostClients += 1;
            if (lostClients <= 5)
              process.stderr.write(`fanout: a ${mode} client disconnected (${message.reason})\n`);
          } else {
            const key = `${message.kind}:${message.seq}`;
            const list = reports.get(key) ?? [];
            list.push(message.lastAtMs);
            reports.set(key, list);
            if (list.length === CLIENT_PROCS) waiters.get(key)?.();
          }
        });
        child.once('exit', (code) => reject(new Error(`client process exited (${code})`)));
      }),
    );
  }
  await Promise.all(readiness);
  return {
    children,
    clientRssBytes: rss,
    lost: () => lostClients,
    async waitFor(kind, seq) {
      const key = `${kind}:${seq}`;
      if ((reports.get(key)?.length ?? 0) < CLIENT_PROCS) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => waiters.set(key, resolve)),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`${mode}: ${key} not delivered to every client within 60 s`)),
              60_000,
            );
          }),
        ]).finally(() => clearTimeout(timer));
      }
      const last = Math.max(...(reports.get(key) ?? []));
      reports.delete(key);
      waiters.delete(key);
      return last;
    },
    async close() {
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null) return;
          const exited = once(child, 'exit');
          child.send({ type: 'exit' });
          await exited;
        }),
      );
    },
  };
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** RSS, and JS heap plus buffers after full GCs (the steadier figure per connection). */
async function memory(): Promise<{ rss: number; heap: number }> {
  for (let i = 0; i < 3; i += 1) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const usage = process.memoryUsage();
  return { rss: usage.rss, heap: usage.heapUsed + usage.external };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

function figure(
  name: string,
  value: number,
  unit: string,
  baseline: number,
  target: string,
  met: boolean,
): BenchResult {
  return {
    name,
    value: round1(value),
    unit,
    baseline: round1(baseline),
    ratio: baseline > 0 ? Math.round((value / baseline) * 100) / 100 : 0,
    target,
    met,
  };
}

const ulid = (): string => encodeUlid(Date.now(), randomBytes(10));
let eventSequence = 0;
function envelope(topic: string, key: string, type: string, payload: Uint8Array): EventEnvelope {
  eventSequence += 1;
  return {
    id: `fanout-bench-${eventSequence}`,
    topic,
    key,
    type,
    payload,
    headers: {},
    occurredAtMs: Date.now(),
  };
}

/** What one socket.io deployment (one node, or a cluster) measured. */
interface SocketIoFigures {
  /** Commit → last client, ms, sorted. */
  readonly latencies: number[];
  readonly deliveriesPerSecond: number;
}

/**
 * (a) SAMPLES odds updates published as the bet engine's outbox would, each timed to its arrival
 * at the last client, spaced beyond the conflation interval; then (b) a burst of BURST messages
 * through RealtimeInternalService.Publish, timed until every client has every one.
 */
async function measureSocketIo(
  label: string,
  fleet: ClientFleet,
  options: {
    publishOdds: (seq: number) => Promise<void>;
    internalUrl: string;
    serviceToken: string;
    marketId: string;
    tickPayload: (seq: number) => string;
  },
): Promise<SocketIoFigures> {
  const latencies: number[] = [];
  for (let seq = 1; seq <= WARMUP_SAMPLES + SAMPLES; seq += 1) {
    const startedAt = now();
    await options.publishOdds(seq);
    const latency = (await fleet.waitFor('odds', seq)) - startedAt;
    if (seq <= WARMUP_SAMPLES) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_GAP_MS));
      continue;
    }
    latencies.push(latency);
    if (latencies.length % 50 === 0) {
      process.stderr.write(
        `fanout (${label}): ${latencies.length}/${SAMPLES} samples, last ${latencies.at(-1)?.toFixed(1)} ms\n`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_GAP_MS));
  }
  latencies.sort((a, b) => a - b);

  const internal = createClient(
    RealtimeInternalService,
    createConnectTransport({ baseUrl: options.internalUrl, httpVersion: '1.1' }),
  );
  const burstStart = now();
  await internal.publish(
    {
      messages: Array.from({ length: BURST }, (_, i) => ({
        room: { kind: RoomKind.MARKET, id: options.marketId },
        eventName: TICK_EVENT,
        payloadJson: options.tickPayload(i + 1),
      })),
    },
    { headers: { authorization: `Bearer ${options.serviceToken}` } },
  );
  let burstEnd = 0;
  for (let seq = 1; seq <= BURST; seq += 1) {
    burstEnd = Math.max(burstEnd, await fleet.waitFor('tick', seq));
  }
  const deliveriesPerSecond = (CLIENTS * BURST) / ((burstEnd - burstStart) / 1000);
  process.stderr.write(
    `fanout (${label}): socket.io p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
      `p99 ${percentile(latencies, 99).toFixed(1)} ms, slowest ${latencies
        .slice(-3)
        .map((ms) => ms.toFixed(1))
        .join(', ')} ms, fastest ${latencies[0]?.toFixed(1)} ms; ` +
      `${Math.round(deliveriesPerSecond)} deliveries/s; clients lost ${fleet.lost()}\n`,
  );
  return { latencies, deliveriesPerSecond };
}

/** Polls /health/ready until the process answers 200; fails if it exits first. */
async function waitReady(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`realtime node on ${port} exited (${child.exitCode})`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`realtime node on ${port} was not ready within 120 s`);
}

/**
 * The cluster shape (architecture.md): NODES realtime processes sharing rooms through the
 * socket.io Redis adapter, fed by the Redis Streams bus (one node consumes each event, the adapter
 * carries its emit to the others) and sharing one PostgreSQL database; the client processes are
 * spread over the nodes as a load balancer would spread viewers. Uses a Redis logical database of
 * its own (BENCH_FANOUT_REDIS_DB, flushed before and after) and a throwaway PostgreSQL database.
 */
async function runCluster(options: {
  readonly env: Record<string, string>;
  readonly setup: readonly EventEnvelope[];
  readonly marketId: string;
  readonly room: string;
  readonly serviceToken: string;
  readonly oddsPayload: (seq: number) => Uint8Array;
  readonly tickPayload: (seq: number) => string;
}): Promise<SocketIoFigures> {
  const database = await createBenchDatabase('fanout');
  const redisUrl = new URL(REDIS_URL);
  redisUrl.pathname = `/${REDIS_DB}`;
  const admin = new Redis(redisUrl.toString(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  await admin.flushdb();
  const ports = await freePorts(NODES);
  const nodes = ports.map((port) =>
    spawn(tsxBin, [repoPath('services/realtime/src/main.ts')], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ...options.env,
        STREAMBET_MODE: 'cluster',
        // Every bench client connects from 127.0.0.1: lift the per-address caps meant for the
        // public (10,000 sockets from one address, each joining the market room).
        ...benchAddressLimits,
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: database.url,
        DATABASE_POOL_SIZE: '3',
        CACHE: 'redis',
        EVENT_BUS: 'redis-streams',
        REDIS_URL: redisUrl.toString(),
        DATA_DIR: os.tmpdir(),
        NODE_OPTIONS: V8_FLAGS.join(' '),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    }),
  );
  const bus = createRedisStreamsBus({
    url: redisUrl.toString(),
    streamPrefix: 'streambet:bus',
    consumerName: `fanout-bench-${process.pid}`,
  });
  let fleet: ClientFleet | undefined;
  try {
    await Promise.all(ports.map((port, i) => waitReady(port, nodes[i]!)));
    await bus.publish([...options.setup]);
    const projection = new pg.Client({ connectionString: database.url });
    await projection.connect();
    try {
      for (;;) {
        const known = await projection.query('SELECT 1 FROM rt_markets WHERE market_id = $1', [
          options.marketId,
        ]);
        if (known.rows.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await projection.end();
    }
    const urls = ports.map((port) => `http://127.0.0.1:${port}`);
    fleet = await startFleet(SOCKET_CLIENT, urls, options.room);
    return await measureSocketIo(`${NODES} nodes`, fleet, {
      publishOdds: (seq) =>
        bus.publish([
          envelope('odds', options.marketId, OddsChangedSchema.typeName, options.oddsPayload(seq)),
        ]),
      internalUrl: urls[0]!,
      serviceToken: options.serviceToken,
      marketId: options.marketId,
      tickPayload: options.tickPayload,
    });
  } finally {
    await fleet?.close();
    await bus.close();
    await Promise.all(
      nodes.map(async (node) => {
        if (node.exitCode !== null) return;
        const exited = once(node, 'exit');
        node.kill('SIGTERM');
        await exited;
      }),
    );
    await admin.flushdb();
    await admin.quit();
    await database.drop();
  }
}

async function runBench(): Promise<void> {
  const channelId = ulid();
  const marketId = ulid();
  const room = `market:${marketId}`;
  const oddsInit = (version: bigint) => ({
    channelId,
    odds: {
      marketId,
      kind: MarketKind.POOL,
      currency: 'PTS',
      totalStakedMinor: 125_000n + version,
      bettorCount: 42n,
      outcomes: [
        { outcomeId: ulid(), stakedMinor: 75_000n, decimalOdds: '1.58' },
        { outcomeId: ulid(), stakedMinor: 50_000n + version, decimalOdds: '2.37' },
      ],
      version,
      computedAtMs: BigInt(Date.now()),
    },
  });

  // --- socket.io through the realtime service
  const db = await sqlTargets()[0]!.create();
  const bus = createMemoryBus();
  const tokens = await createTestTokens();
  const config = loadRealtimeConfig({
    STREAMBET_MODE: 'embedded',
    ...benchAddressLimits,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    SHUTDOWN_GRACE_MS: '1000',
    ...tokens.serviceEnv('realtime'),
  });
  const service = await startService(realtimeService, {
    config,
    infra: { sql: db.sql, bus, cache: createMemoryCache(), close: async () => {} },
    userJwks: tokens.userJwks,
  });
  const setup = [
    envelope(
      'integration',
      channelId,
      ChannelLinkedSchema.typeName,
      toBinary(
        ChannelLinkedSchema,
        create(ChannelLinkedSchema, {
          channelId,
          ownerUserId: ulid(),
          platform: Platform.TWITCH,
          handle: 'bench',
        }),
      ),
    ),
    envelope(
      'market',
      marketId,
      MarketCreatedSchema.typeName,
      toBinary(MarketCreatedSchema, create(MarketCreatedSchema, { marketId, channelId })),
    ),
  ];
  await bus.publish(setup);
  for (;;) {
    const known = await db.sql.query('SELECT 1 FROM rt_markets WHERE market_id = $1', [marketId]);
    if (known.rows.length > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  const payloadJson = toJsonString(OddsChangedSchema, create(OddsChangedSchema, oddsInit(0n)));
  const oddsPayload = (seq: number): Uint8Array =>
    toBinary(OddsChangedSchema, create(OddsChangedSchema, oddsInit(BigInt(seq))));

  const before = await memory();
  const connectStart = now();
  const fleet = await startFleet(SOCKET_CLIENT, [service.url], room);
  const connectSeconds = (now() - connectStart) / 1000;
  const after = await memory();
  const socketIoRssPerConn = (after.rss - before.rss) / CLIENTS;
  const socketIoHeapPerConn = (after.heap - before.heap) / CLIENTS;

  const tickPayload = (seq: number): string => `{"seq":${seq},"snapshot":${payloadJson}}`;
  const serviceToken = await tokens.serviceToken('bet-engine');
  const single = await measureSocketIo('1 node', fleet, {
    publishOdds: async (seq) =>
      bus.publish([envelope('odds', marketId, OddsChangedSchema.typeName, oddsPayload(seq))]),
    internalUrl: service.url,
    serviceToken,
    marketId,
    tickPayload,
  });
  const latencies = single.latencies;
  const socketIoDeliveriesPerSecond = single.deliveriesPerSecond;
  const socketIoClientRss = fleet.clientRssBytes;
  const socketIoLost = fleet.lost();
  await fleet.close();
  await service.shutdown();
  await bus.close();
  await db.dispose();

  const cluster =
    NODES > 1
      ? await runCluster({
          env: { LOG_LEVEL: 'warn', SHUTDOWN_GRACE_MS: '1000', ...tokens.serviceEnv('realtime') },
          setup,
          marketId,
          room,
          serviceToken,
          oddsPayload,
          tickPayload,
        })
      : undefined;

  // --- raw ws baseline: same payloads, same client count, no socket.io.
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const { port } = wss.address() as { port: number };
  const wsBefore = await memory();
  const wsFleet = await startFleet('ws', [`ws://127.0.0.1:${port}`], room);
  const wsAfter = await memory();
  const broadcast = (data: string): void => {
    for (const client of wss.clients) client.send(data);
  };
  const wsLatencies: number[] = [];
  for (let seq = 1; seq <= WARMUP_SAMPLES + Math.min(SAMPLES, 20); seq += 1) {
    const startedAt = now();
    const json = toJsonString(OddsChangedSchema, create(OddsChangedSchema, oddsInit(BigInt(seq))));
    broadcast(`{"event":"${OddsChangedSchema.typeName}","payload":${json}}`);
    const latency = (await wsFleet.waitFor('odds', seq)) - startedAt;
    if (seq > WARMUP_SAMPLES) wsLatencies.push(latency);
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_GAP_MS));
  }
  wsLatencies.sort((a, b) => a - b);
  const wsBurstStart = now();
  for (let seq = 1; seq <= BURST; seq += 1) {
    broadcast(`{"event":"${TICK_EVENT}","payload":${tickPayload(seq)}}`);
  }
  let wsBurstEnd = 0;
  for (let seq = 1; seq <= BURST; seq += 1) {
    wsBurstEnd = Math.max(wsBurstEnd, await wsFleet.waitFor('tick', seq));
  }
  const wsDeliveriesPerSecond = (CLIENTS * BURST) / ((wsBurstEnd - wsBurstStart) / 1000);
  await wsFleet.close();
  await new Promise<void>((resolve) => wss.close(() => resolve()));

  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const kib = (bytes: number): number => bytes / 1024;
  process.stderr.write(
    `fanout: ${CLIENTS} clients in ${CLIENT_PROCS} processes connected in ${connectSeconds.toFixed(1)} s; ` +
      `socket.io latency p50 ${p50.toFixed(1)} ms p99 ${p99.toFixed(1)} ms max ${latencies.at(-1)?.toFixed(1)} ms; ` +
      `raw ws latency p50 ${percentile(wsLatencies, 50).toFixed(1)} ms; ` +
      `deliveries/s socket.io ${Math.round(socketIoDeliveriesPerSecond)} raw ws ${Math.round(wsDeliveriesPerSecond)}; ` +
      `client processes RSS socket.io ${Math.round(socketIoClientRss / 2 ** 20)} MiB; ` +
      `payload ${payloadJson.length} B; clients lost socket.io ${socketIoLost} raw ws ${wsFleet.lost()}; ` +
      `cpus ${os.cpus().length}, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
  );
  printResults('fanout', [
    figure('socket.io p50 commit→last client, 1 node', p50, 'ms', 250, 'reported', true),
    figure(
      'socket.io p99 commit→last client, 1 node',
      p99,
      'ms',
      250,
      cluster === undefined ? '≤ 250 ms' : 'reported',
      cluster === undefined ? p99 <= 250 : true,
    ),
    ...(cluster === undefined
      ? []
      : [
          figure(
            `socket.io p50 commit→last client, ${NODES} nodes (Redis adapter + Redis Streams bus)`,
            percentile(cluster.latencies, 50),
            'ms',
            250,
            'reported',
            true,
          ),
          figure(
            `socket.io p99 commit→last client, ${NODES} nodes (Redis adapter + Redis Streams bus)`,
            percentile(cluster.latencies, 99),
            'ms',
            250,
            '≤ 250 ms',
            percentile(cluster.latencies, 99) <= 250,
          ),
        ]),
    figure(
      'raw ws p50 broadcast→last client',
      percentile(wsLatencies, 50),
      'ms',
      p50,
      'reference',
      true,
    ),
    figure(
      'socket.io deliveries/s vs raw ws',
      socketIoDeliveriesPerSecond,
      'deliveries/s',
      wsDeliveriesPerSecond,
      '≥ 0.3×',
      socketIoDeliveriesPerSecond >= 0.3 * wsDeliveriesPerSecond,
    ),
    figure(
      'socket.io server RSS per connection vs raw ws',
      kib(socketIoRssPerConn),
      'KiB',
      kib((wsAfter.rss - wsBefore.rss) / CLIENTS),
      'reported',
      true,
    ),
    figure(
      'socket.io server heap+buffers per connection vs raw ws',
      kib(socketIoHeapPerConn),
      'KiB',
      kib((wsAfter.heap - wsBefore.heap) / CLIENTS),
      'reported',
      true,
    ),
  ]);
}

/** Re-executes under a raised `ulimit -n` when the soft limit is too low for the sockets. */
function ensureFileLimit(): boolean {
  const needed = CLIENTS + 200;
  const soft = Number(spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isFinite(soft) || soft >= needed || process.env.FANOUT_REEXEC === '1') return false;
  const hard = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  if (hard !== 'unlimited' && Number(hard) < needed) {
    throw new Error(`ulimit -n hard limit ${hard} is below the ${needed} descriptors needed`);
  }
  const args = [process.execPath, '--import', 'tsx', here].map((a) => `'${a}'`).join(' ');
  const result = spawnSync('sh', ['-c', `ulimit -n ${hard} && exec ${args}`], {
    stdio: 'inherit',
    env: { ...process.env, FANOUT_REEXEC: '1' },
  });
  process.exitCode = result.status ?? 1;
  return true;
}

if (process.argv.includes('--client')) {
  await runClients();
} else if (!ensureFileLimit()) {
  const timer = setTimeout(() => {
    process.stderr.write(`fanout bench did not finish within ${TIMEOUT_S} s\n`);
    process.exit(1);
  }, TIMEOUT_S * 1000);
  timer.unref();
  try {
    await runBench();
  } catch (error) {
    process.stderr.write(
      `fanout bench failed: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exitCode = 1;
  }
  // Lingering handles (PGlite, timers of closed clients) must not keep a finished bench alive.
  process.exit(process.exitCode ?? 0);
}
