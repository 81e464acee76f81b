/**
 * Deposits credited by signed webhooks, through the gateway, on the embedded platform (one
 * process, PGlite, in-process bus: what `npm start` runs, with the fake providers).
 *
 * Set-up (not timed): BENCH_DEPOSIT_USERS (default 50) viewers register and connect a socket.io
 * client each (their user room); each starts BENCH_DEPOSITS_PER_USER (default 20) card deposits
 * through the gateway; the fake Stripe marks every PaymentIntent succeeded and hands back its
 * signed `payment_intent.succeeded` delivery (the payment service's `/fake/simulate`).
 *
 * 1. Throughput: all deliveries POSTed to the gateway's `/webhooks/stripe` by 50 concurrent
 *    senders (closed loop); each answer is a 200 only after the verification, the ledger credit
 *    (psp_clearing → wallet), the payment's commit and its outbox row (credits that arrive while a
 *    batch commits share the next ledger call and payment transaction). Figure: credited
 *    webhooks/s. Baseline, same run, same gateway and service: a no-op POST — an unsigned delivery
 *    the payment service refuses at once (400) after the same gateway pass-through.
 * 2. Latency: one more deposit per user, their webhooks sent open loop at BENCH_DEPOSIT_RATE
 *    (default 10/s, below the measured capacity); per deposit, the time from sending the webhook to the DepositSucceeded push
 *    on its owner's socket (the wallet credited, the realtime service told). Reported: p50/p99.
 *
 * Every wallet is checked at the end: credited exactly its deposits.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { createClient } from '@connectrpc/connect';
import { io, type Socket } from 'socket.io-client';
import {
  PaymentProvider,
  PaymentService,
} from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { startEmbeddedPlatform } from '@streambet/gateway/embedded-platform';
import { createSeedKit, serviceTokensFrom, type Actor } from '@streambet/gateway/seed';
import { generateServiceKeys } from '@streambet/platform/auth/tokens';
import { servicePorts } from '@streambet/platform/runtime/platform-config';
import { pgliteTemplate } from '@streambet/testkit/sql';
import { compare, printResults } from './lib/report.js';

const USERS = Number(process.env.BENCH_DEPOSIT_USERS ?? 50);
const PER_USER = Number(process.env.BENCH_DEPOSITS_PER_USER ?? 20);
const RATE = Number(process.env.BENCH_DEPOSIT_RATE ?? 10);
const SENDERS = 50;
const AMOUNT = 1000n;

interface Delivery {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

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
  // Only the expected answers count: a 504 is no credit the sender can rely on.
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
    PAYMENT_DEPOSIT_MIN_MINOR: '100',
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
  const payments = createClient(PaymentService, kit.connect);
  const users = createClient(UserService, kit.connect);
  const paymentUrl = platform.serviceUrls.get('payment')!;
  const run = randomBytes(3).toString('hex');

  const actors: Actor[] = [];
  for (let i = 0; i < USERS; i += 1) {
    actors.push(await kit.register(`dep${run}${i}@example.com`, `Dep${run}${i}`));
  }
  const pushes = new Map<string, (atMs: number) => void>();
  for (const actor of actors) {
    const socket = io(platform.gatewayUrl, {
      auth: { token: actor.accessToken },
      transports: ['websocket'],
    });
    socket.on('streambet.events.v1.DepositSucceeded', (payload: { paymentId?: string }) => {
      const done = pushes.get(payload.paymentId ?? '');
      if (done !== undefined) done(performance.now());
    });
    sockets.push(socket);
  }
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve, reject) => {
          if (socket.connected) resolve();
          socket.once('connect', () => resolve());
          socket.once('connect_error', reject);
        }),
    ),
  );

  /** `count` deposits per user, created 8 at a time (set-up, not timed), with their deliveries. */
  async function deposits(round: string, count: number): Promise<Delivery[]> {
    const jobs = actors.flatMap((actor) =>
      Array.from({ length: count }, (_, j) => ({ actor, key: `${round}-${j}` })),
    );
    const out: Delivery[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++]!;
          const { payment } = await payments.createDeposit(
            {
              idempotencyKey: job.key,
              provider: PaymentProvider.STRIPE,
              amount: { currency: 'BRL', amountMinor: AMOUNT },
            },
            { headers: job.actor.headers, timeoutMs: 30_000 },
          );
          const control = await fetch(`${paymentUrl}/fake/simulate`, {
            method: 'POST',
            body: JSON.stringify({
              provider: 'stripe',
              outcome: 'succeed',
              payment_id: payment!.paymentId,
            }),
          });
          const delivery = (await control.json()) as Delivery;
          out.push({
            ...delivery,
            headers: { ...delivery.headers, 'x-payment-id': payment!.paymentId },
          });
        }
      }),
    );
    return out;
  }

  // 1. Throughput, with the no-op baseline right before it.
  const batch = await deposits('t', PER_USER);
  const noop = Array.from({ length: batch.length }, () => '{"id":"evt_noop"}');
  const baseline = await closedLoop(
    noop,
    (body) =>
      post(`${platform.gatewayUrl}/webhooks/stripe`, { 'content-type': 'application/json' }, body),
    400,
  );
  const credited = await closedLoop(
    batch,
    (d) => post(`${platform.gatewayUrl}${d.path}`, d.headers, d.body),
    200,
  );

  // The provider delivers again whatever did not get a 200 (not timed).
  let redelivered = 0;
  let pending = credited.failed;
  for (let attempt = 0; attempt < 5 && pending.length > 0; attempt += 1) {
    redelivered += pending.length;
    pending = (
      await closedLoop(
        pending,
        (d) => post(`${platform.gatewayUrl}${d.path}`, d.headers, d.body),
        200,
      )
    ).failed;
  }

  // 2. Latency: one webhook per user, open loop at RATE/s, until each owner's socket got the push.
  const latency = await deposits('l', 1);
  const waits: Promise<number>[] = [];
  const intervalMs = 1000 / RATE;
  const startedAt = performance.now();
  for (const [i, delivery] of latency.entries()) {
    const due = startedAt + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const paymentId = delivery.headers['x-payment-id']!;
    const sentAt = performance.now();
    waits.push(
      new Promise<number>((resolve) => {
        const timer = setTimeout(() => resolve(Number.POSITIVE_INFINITY), 30_000);
        pushes.set(paymentId, (atMs) => {
          clearTimeout(timer);
          resolve(atMs - sentAt);
        });
      }),
    );
    void (async () => {
      // A delivery that does not get its 200 is delivered again a second later, as Stripe would.
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const status = await post(
          `${platform.gatewayUrl}${delivery.path}`,
          delivery.headers,
          delivery.body,
        ).catch(() => 0);
        if (status === 200) return;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();
  }
  const latencies = (await Promise.all(waits)).sort((a, b) => a - b);
  const missing = latencies.filter((ms) => !Number.isFinite(ms)).length;

  // Every wallet holds exactly its deposits.
  let wrong = 0;
  for (const actor of actors) {
    const wallet = await users.getWallet({}, { headers: actor.headers });
    const real = wallet.balances.find((b) => b.currency === 'BRL')?.availableMinor ?? 0n;
    if (real !== AMOUNT * BigInt(PER_USER + 1)) wrong += 1;
  }

  console.log(
    `deposits: ${USERS} users × ${PER_USER} deposits; credited webhooks ${credited.perSecond.toFixed(0)}/s ` +
      `(${credited.failures} non-200), no-op POST ${baseline.perSecond.toFixed(0)}/s ` +
      `(${baseline.failures} non-400); webhook → DepositSucceeded push at ${RATE}/s: ` +
      `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ` +
      `${missing} pushes missing; wallets wrong: ${wrong}; redelivered ${redelivered}; ` +
      `non-200 answers by status ${JSON.stringify(Object.fromEntries(statuses))}; ` +
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${os.cpus().length} cores`,
  );
  printResults('deposits', [
    compare(
      'credited webhooks/s vs no-op POST',
      credited.perSecond,
      'webhooks/s',
      baseline.perSecond,
      0.5,
    ),
    {
      name: `webhook → wallet push p99 at ${RATE}/s`,
      value: Math.round(percentile(latencies, 99) * 10) / 10,
      unit: 'ms',
      baseline: Math.round(percentile(latencies, 50) * 10) / 10,
      ratio: 0,
      target: 'reported (baseline = p50)',
      met: missing === 0 && wrong === 0,
    },
  ]);
} finally {
  for (const socket of sockets) socket.close();
  agent.destroy();
  await platform.shutdown();
}
