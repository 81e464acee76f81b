/**
 * Platform webhooks through the gateway, on the embedded platform (one process, PGlite, in-process
 * bus: what `npm start` runs, with the integration service's Twitch fake).
 *
 * Set-up (not timed): BENCH_WEBHOOK_CHANNELS (default 20) streamers, each linking a simulated
 * Twitch account through BeginChannelLink / consent / LinkChannel.
 *
 * 1. Throughput: BENCH_WEBHOOK_COUNT (default 3,000) signed EventSub notifications
 *    (stream.online / stream.offline, alternating per channel, each with its own message id)
 *    POSTed to the gateway's `/webhooks/twitch` by 50 concurrent senders (closed loop). Each 200
 *    comes after the HMAC check, the message id's dedupe claim, the channel's live-state change,
 *    its webhook-log row and its outbox event, in one committed transaction. Then every delivery
 *    is sent again: all must be acknowledged as replays without effect. Baseline, same run, same
 *    gateway and service: a no-op POST, an unsigned delivery the integration service refuses at
 *    once (403; it still writes its webhook-log row).                       target ≥ 0.5×
 *    Where the time goes (embedded): each accepted delivery changes a channel's live state, so
 *    besides its own transaction (group-committed with those verified meanwhile) it publishes an
 *    event that the outbox relay and the consumers (pool auto-lock, realtime, analytics) handle in
 *    their own statements, all on the one PGlite connection and event loop; the refusal baseline
 *    runs one INSERT. Knobs for a short run: BENCH_WEBHOOK_COUNT=1000 BENCH_WEBHOOK_SOCKETS=200
 *    BENCH_WEBHOOK_SAMPLES=2.
 * 2. Latency: BENCH_WEBHOOK_SOCKETS (default 1,000) anonymous viewer sockets watch one channel
 *    (`room:join` channel:<id>). BENCH_WEBHOOK_SAMPLES (default 5) times: the streamer opens an
 *    auto-lock market, the stream goes online, then a signed stream.offline is sent; per socket,
 *    the time from sending that webhook to the MarketLocked push on it. Reported: p50 / p99 over
 *    every socket of every sample.                                          target p99 ≤ 250 ms
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { MarketLockedSchema } from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { startEmbeddedPlatform } from '@streambet/gateway/embedded-platform';
import { createSeedKit, serviceTokensFrom } from '@streambet/gateway/seed';
import { devTwitchWebhookSecret, twitchSignature } from '@streambet/integration/testing';
import { generateServiceKeys } from '@streambet/platform/auth/tokens';
import { servicePorts } from '@streambet/platform/runtime/platform-config';
import { pgliteTemplate } from '@streambet/testkit/sql';
import { compare, printResults, type BenchResult } from './lib/report.js';

const CHANNELS = Number(process.env.BENCH_WEBHOOK_CHANNELS ?? 20);
const COUNT = Number(process.env.BENCH_WEBHOOK_COUNT ?? 3000);
const SOCKETS = Number(process.env.BENCH_WEBHOOK_SOCKETS ?? 1000);
const SAMPLES = Number(process.env.BENCH_WEBHOOK_SAMPLES ?? 5);
const SENDERS = 50;

const agent = new http.Agent({ keepAlive: true, maxSockets: SENDERS });

function post(url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

interface Delivery {
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A signed EventSub notification for `broadcaster`. */
function notification(type: 'stream.online' | 'stream.offline', broadcaster: string): Delivery {
  const id = randomBytes(12).toString('hex');
  const timestamp = new Date().toISOString();
  const body = JSON.stringify({
    subscription: {
      id: `sub-${type}-${broadcaster}`,
      type,
      version: '1',
      status: 'enabled',
      condition: { broadcaster_user_id: broadcaster },
      transport: { method: 'webhook', callback: 'https://example.com/webhooks/twitch' },
      created_at: timestamp,
    },
    event:
      type === 'stream.online'
        ? { id: id, broadcaster_user_id: broadcaster, type: 'live', started_at: timestamp }
        : { broadcaster_user_id: broadcaster },
  });
  return {
    headers: {
      'content-type': 'application/json',
      'twitch-eventsub-message-id': id,
      'twitch-eventsub-message-timestamp': timestamp,
      'twitch-eventsub-message-type': 'notification',
      'twitch-eventsub-message-signature': twitchSignature(
        devTwitchWebhookSecret,
        id,
        timestamp,
        new TextEncoder().encode(body),
      ),
    },
    body,
  };
}

/** Answers other than the expected one, by status, over the whole run. */
const statuses = new Map<number, number>();

async function closedLoop<T>(items: readonly T[], send: (item: T) => Promise<number>, ok: number) {
  let next = 0;
  let failures = 0;
  const failed: T[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        const status = await send(item).catch(() => 0);
        if (status !== ok) {
          failures += 1;
          failed.push(item);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  // Only the expected answers count.
  return { perSecond: (items.length - failures) / seconds, failures, failed };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const pair = await generateServiceKeys(Object.keys(servicePorts));
const platform = await startEmbeddedPlatform({
  ports: 'free',
  env: {
    LOG_LEVEL: 'silent',
    USER_SCRYPT_LOG_N: '10',
    RATE_LIMIT_IP_PER_SECOND: '0',
    RATE_LIMIT_USER_PER_SECOND: '0',
    REALTIME_MAX_CONNECTIONS_PER_ADDRESS: String(SOCKETS + 100),
    REALTIME_ROOM_JOIN_BURST_PER_ADDRESS: String(SOCKETS + 100),
    REALTIME_ROOM_JOINS_PER_SECOND_PER_ADDRESS: String(SOCKETS + 100),
  },
  template: await pgliteTemplate(),
  keys: { servicePrivateJwks: pair.privateJwks, servicePublicJwks: pair.publicJwks },
});
const sockets: Socket[] = [];
try {
  const kit = createSeedKit({
    gatewayUrl: platform.gatewayUrl,
    userServiceUrl: platform.serviceUrls.get('user')!,
    serviceToken: serviceTokensFrom(pair.privateJwks),
    bus: platform.bus,
  });
  const run = randomBytes(3).toString('hex');
  const streamers: { broadcaster: string; channelId: string; headers: Record<string, string> }[] =
    [];
  for (let i = 0; i < CHANNELS; i += 1) {
    const owner = await kit.register(`wh${run}${i}@example.com`, `Wh${run}${i}`);
    const broadcaster = String(700_000 + i);
    const { streamer, channelId } = await kit.linkChannels(owner, 'streambet demo password', [
      { platform: Platform.TWITCH, platformUserId: broadcaster, login: `wh${run}${i}` },
    ]);
    streamers.push({ broadcaster, channelId, headers: { ...streamer.headers } });
  }
  const webhookUrl = `${platform.gatewayUrl}/webhooks/twitch`;
  console.error(`webhooks: ${CHANNELS} channels linked`);

  // 1. Throughput (baseline first), then every delivery again: all replays.
  const deliveries = Array.from({ length: COUNT }, (_, i) =>
    notification(
      Math.floor(i / CHANNELS) % 2 === 0 ? 'stream.online' : 'stream.offline',
      streamers[i % CHANNELS]!.broadcaster,
    ),
  );
  const baseline = await closedLoop(
    deliveries,
    (d) => post(webhookUrl, { 'content-type': 'application/json' }, d.body),
    403,
  );
  const accepted = await closedLoop(deliveries, (d) => post(webhookUrl, d.headers, d.body), 200);
  // Twitch delivers again what did not get its 200 (not timed).
  let pending = accepted.failed;
  // A delivery whose 504 came after its commit is acknowledged as a replay (204): done too.
  for (let attempt = 0; attempt < 5 && pending.length > 0; attempt += 1) {
    pending = (
      await closedLoop(
        pending,
        async (d) => {
          const status = await post(webhookUrl, d.headers, d.body);
          return status === 204 ? 200 : status;
        },
        200,
      )
    ).failed;
  }
  const replays = await closedLoop(deliveries, (d) => post(webhookUrl, d.headers, d.body), 204);

  console.error(`webhooks: throughput measured`);
  // 2. Latency: sockets on the first channel's room.
  const target = streamers[0]!;
  const arrivals: ((atMs: number) => void)[] = [];
  for (let i = 0; i < SOCKETS; i += 1) {
    const socket = io(platform.gatewayUrl, { transports: ['websocket'], forceNew: true });
    sockets.push(socket);
    socket.on(MarketLockedSchema.typeName, () => arrivals[i]?.(performance.now()));
  }
  await Promise.all(
    sockets.map(async (socket) => {
      if (!socket.connected) {
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', reject);
        });
      }
      const ack = (await socket
        .timeout(60_000)
        .emitWithAck('room:join', { room: `channel:${target.channelId}` })) as { ok: boolean };
      if (!ack.ok) throw new Error(`room:join refused: ${JSON.stringify(ack)}`);
    }),
  );
  console.error(`webhooks: ${SOCKETS} sockets watching`);
  await kit.pool.updateChannelSettings(
    { channelId: target.channelId, broadcastDelaySeconds: 0 },
    { headers: target.headers },
  );
  const latencies: number[] = [];
  let missing = 0;
  for (let sample = 0; sample < SAMPLES; sample += 1) {
    await kit.pool.createMarket(
      {
        idempotencyKey: `bench-wh-${run}-${sample}`,
        channelId: target.channelId,
        title: `Sample ${sample}: stream ends first?`,
        outcomes: [{ title: 'Yes' }, { title: 'No' }],
        currency: 'PTS',
        kind: MarketKind.POOL,
        bettingWindowSeconds: 1800,
        autoLockOnOffline: true,
        openNow: true,
      },
      { headers: target.headers },
    );
    const online = notification('stream.online', target.broadcaster);
    if ((await post(webhookUrl, online.headers, online.body)) !== 200) throw new Error('online');
    const offline = notification('stream.offline', target.broadcaster);
    const waits = sockets.map(
      (_, i) =>
        new Promise<number>((resolve) => {
          const timer = setTimeout(() => resolve(Number.POSITIVE_INFINITY), 10_000);
          arrivals[i] = (atMs) => {
            clearTimeout(timer);
            arrivals[i] = undefined as unknown as (atMs: number) => void;
            resolve(atMs - sentAt);
          };
        }),
    );
    const sentAt = performance.now();
    const status = await post(webhookUrl, offline.headers, offline.body);
    if (status !== 200) throw new Error(`stream.offline answered ${status}`);
    for (const ms of await Promise.all(waits)) {
      if (Number.isFinite(ms)) latencies.push(ms);
      else missing += 1;
    }
  }
  latencies.sort((a, b) => a - b);
  const p99 = missing > 0 ? Number.POSITIVE_INFINITY : percentile(latencies, 99);
  console.error(
    `webhooks: ${Math.round(accepted.perSecond)}/s accepted (${accepted.failures} not 200), ` +
      `baseline ${Math.round(baseline.perSecond)}/s, replays ${replays.failures} not 204; ` +
      `offline → LOCKED on ${SOCKETS} sockets × ${SAMPLES}: p50 ${Math.round(percentile(latencies, 50))} ms, ` +
      `p99 ${Math.round(p99)} ms, missing ${missing}; other answers ${JSON.stringify([...statuses])}`,
  );
  const results: BenchResult[] = [
    compare(
      'signed Twitch webhooks committed (dedupe + live state + outbox) per second vs no-op POST',
      pending.length === 0 && replays.failures === 0 ? accepted.perSecond : 0,
      'webhooks/s',
      baseline.perSecond,
      0.5,
    ),
    {
      name: `stream.offline webhook → MarketLocked on ${SOCKETS} sockets, p99`,
      value: Number.isFinite(p99) ? Math.round(p99) : -1,
      unit: 'ms',
      baseline: 250,
      ratio: Number.isFinite(p99) ? Math.round((p99 / 250) * 100) / 100 : 0,
      target: '≤ 250 ms',
      met: Number.isFinite(p99) && p99 <= 250,
    },
  ];
  printResults('webhooks', results);
} finally {
  for (const socket of sockets) socket.close();
  await platform.shutdown();
}
