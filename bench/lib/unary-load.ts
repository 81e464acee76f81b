/**
 * A load generator in its own process (so its CPU is not the server's), calling
 * BetEngineService.PlaceBet through the gateway, every call with its own idempotency key and its
 * client's user token, in one of two shapes:
 * - `closed` (default): one loop per client, each calling back to back for DURATION_MS — the most
 *   the system takes (throughput); latency is then concurrency / throughput (Little's law).
 * - `paced`: open loop — each client places bets at `ratePerClient` per second on average
 *   (exponential gaps, i.e. Poisson arrivals), whether or not its previous call has returned;
 *   latency is timed from each call's scheduled instant, so a slow answer is never hidden by the
 *   next call waiting for it (no coordinated omission). This is latency at a stated load.
 * Prints one JSON line: OK calls, errors by code, latency percentiles (ms), calls offered.
 *
 * Input (env): LOAD_SPEC = JSON {gatewayUrl, durationMs, warmupMs, marketId, outcomeIds, tokens,
 * round, mode?, ratePerClient?, exchange?}. With `exchange` (an EXCHANGE market) clients with an
 * even index BACK and the others LAY, all at `exchange.decimalOdds`, so orders of different
 * users cross and match (and no user ever meets their own order).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClient, ConnectError, Code } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import {
  BetEngineService,
  BetSide,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';

interface LoadSpec {
  readonly gatewayUrl: string;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly marketId: string;
  readonly outcomeIds: string[];
  readonly tokens: string[];
  readonly round: string;
  readonly mode?: 'closed' | 'paced';
  readonly ratePerClient?: number;
  readonly exchange?: { readonly decimalOdds: string };
}

const spec = JSON.parse(process.env.LOAD_SPEC ?? '{}') as LoadSpec;
const transport = createConnectTransport({ baseUrl: spec.gatewayUrl, httpVersion: '2' });
const client = createClient(BetEngineService, transport);

const latenciesMs: number[] = [];
const errors: Record<string, number> = {};
let ok = 0;
let offered = 0;
const startMs = performance.now();
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
setTimeout(() => loopDelay.enable(), spec.warmupMs).unref();
const measureFromMs = startMs + spec.warmupMs;
const endMs = measureFromMs + spec.durationMs;

/** One PlaceBet; counted when it was scheduled inside the measured window. */
async function placeOne(index: number, n: number, scheduledAtMs: number): Promise<void> {
  const headers = { authorization: `Bearer ${spec.tokens[index % spec.tokens.length]}` };
  const measured = scheduledAtMs >= measureFromMs;
  if (measured) offered += 1;
  try {
    await client.placeBet(
      {
        idempotencyKey: `${spec.round}-${index}-${n}`,
        marketId: spec.marketId,
        outcomeId: spec.outcomeIds[(index + n) % spec.outcomeIds.length]!,
        currency: 'PTS',
        stakeMinor: 1n,
        ...(spec.exchange === undefined
          ? {}
          : {
              side: index % 2 === 0 ? BetSide.BACK : BetSide.LAY,
              decimalOdds: spec.exchange.decimalOdds,
            }),
      },
      { headers },
    );
    if (measured) {
      ok += 1;
      latenciesMs.push(performance.now() - scheduledAtMs);
    }
  } catch (error) {
    if (measured) {
      const code = Code[ConnectError.from(error).code] ?? 'unknown';
      errors[code] = (errors[code] ?? 0) + 1;
    }
  }
}

async function closedLoop(index: number): Promise<void> {
  let n = 0;
  while (performance.now() < endMs) {
    n += 1;
    await placeOne(index, n, performance.now());
  }
}

async function pacedClient(index: number, ratePerSecond: number): Promise<void> {
  const calls: Promise<void>[] = [];
  // A random phase, then exponential gaps: clients do not fire in lockstep.
  let next = startMs + Math.random() * (1000 / ratePerSecond);
  let n = 0;
  while (next < endMs) {
    const waitMs = next - performance.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    n += 1;
    calls.push(placeOne(index, n, next));
    next += -Math.log(1 - Math.random()) * (1000 / ratePerSecond);
  }
  await Promise.all(calls);
}

if (spec.mode === 'paced') {
  const rate = spec.ratePerClient ?? 1;
  await Promise.all(spec.tokens.map((_, i) => pacedClient(i, rate)));
} else {
  await Promise.all(spec.tokens.map((_, i) => closedLoop(i)));
}
latenciesMs.sort((a, b) => a - b);
const pick = (q: number) =>
  latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(q * latenciesMs.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ ok, offered, errors, seconds: spec.durationMs / 1000, p50Ms: pick(0.5), p99Ms: pick(0.99), loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6 })}\n`,
);
