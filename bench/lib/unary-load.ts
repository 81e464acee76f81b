/**
 * A load generator in its own process (so its CPU is not the server's): CONCURRENCY loops, each
 * calling BetEngineService.PlaceBet through the gateway back to back for DURATION_MS, every call
 * with its own idempotency key and the loop's user token. Prints one JSON line with the count of
 * OK calls, the errors by code and the latency percentiles (ms).
 *
 * Input (env): LOAD_SPEC = JSON {gatewayUrl, durationMs, warmupMs, marketId, outcomeIds, tokens}.
 */
import { createClient, ConnectError, Code } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { BetEngineService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';

interface LoadSpec {
  readonly gatewayUrl: string;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly marketId: string;
  readonly outcomeIds: string[];
  readonly tokens: string[];
  readonly round: string;
}

const spec = JSON.parse(process.env.LOAD_SPEC ?? '{}') as LoadSpec;
const transport = createConnectTransport({ baseUrl: spec.gatewayUrl, httpVersion: '2' });
const client = createClient(BetEngineService, transport);

const latenciesMs: number[] = [];
const errors: Record<string, number> = {};
let ok = 0;
const startMs = performance.now();
const measureFromMs = startMs + spec.warmupMs;
const endMs = measureFromMs + spec.durationMs;

async function loop(index: number): Promise<void> {
  const headers = { authorization: `Bearer ${spec.tokens[index % spec.tokens.length]}` };
  let n = 0;
  while (performance.now() < endMs) {
    n += 1;
    const t0 = performance.now();
    try {
      await client.placeBet(
        {
          idempotencyKey: `${spec.round}-${index}-${n}`,
          marketId: spec.marketId,
          outcomeId: spec.outcomeIds[(index + n) % spec.outcomeIds.length]!,
          currency: 'PTS',
          stakeMinor: 1n,
        },
        { headers },
      );
      if (t0 >= measureFromMs) {
        ok += 1;
        latenciesMs.push(performance.now() - t0);
      }
    } catch (error) {
      if (t0 >= measureFromMs) {
        const code = Code[ConnectError.from(error).code] ?? 'unknown';
        errors[code] = (errors[code] ?? 0) + 1;
      }
    }
  }
}

await Promise.all(spec.tokens.map((_, i) => loop(i)));
latenciesMs.sort((a, b) => a - b);
const pick = (q: number) =>
  latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(q * latenciesMs.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ ok, errors, seconds: spec.durationMs / 1000, p50Ms: pick(0.5), p99Ms: pick(0.99) })}\n`,
);
