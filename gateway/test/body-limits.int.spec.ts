/**
 * Request bodies are capped at the edge before anything else is spent on them: an over-sized
 * body, or a small compressed one that inflates past the cap (a compression bomb), is refused
 * with RESOURCE_EXHAUSTED unparsed and counted on /metrics; the gateway then still answers.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestGateway, stopGateways } from './harness.js';

const listMarkets = '/streambet.pool.v1.PoolService/ListMarkets';

async function refusedCount(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('rpc_server_requests_too_large_total{') &&
        l.includes('rpc_method="ListMarkets"'),
    );
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

afterAll(async () => {
  await stopGateways();
});

describe('request body limits at the gateway', () => {
  it('given a body over RPC_MAX_BODY_BYTES, then RESOURCE_EXHAUSTED, counted, and nothing else is spent', async () => {
    const gateway = await startTestGateway({ RPC_MAX_BODY_BYTES: '65536' });
    const body = JSON.stringify({ channelId: 'x'.repeat(100 * 1024) });
    const answer = await fetch(`${gateway.url}${listMarkets}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(answer.status).toBe(429);
    const error = (await answer.json()) as { code: string; message: string };
    expect(error.code).toBe('resource_exhausted');
    expect(error.message).toContain('65536');
    expect(await refusedCount(gateway.metricsUrl)).toBe(1);
  });

  it('given a gzip bomb (256 KiB inflating to 256 MiB), then it is refused once 64 KiB are inflated', async () => {
    const gateway = await startTestGateway({ RPC_MAX_BODY_BYTES: '65536' });
    const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024, 0x20), { level: 9 });
    expect(bomb.length).toBeLessThan(300 * 1024);
    const answer = await fetch(`${gateway.url}${listMarkets}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(answer.status).toBe(429);
    expect(((await answer.json()) as { code: string }).code).toBe('resource_exhausted');
    expect(await refusedCount(gateway.metricsUrl)).toBe(1);

    // The same bomb over gRPC (compressed message flag set, grpc-encoding gzip).
    const frame = Buffer.alloc(5 + bomb.length);
    frame.writeUInt8(1, 0);
    frame.writeUInt32BE(bomb.length, 1);
    bomb.copy(frame, 5);
    const grpc = await fetch(`${gateway.url}${listMarkets}`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web+proto', 'grpc-encoding': 'gzip' },
      body: frame,
    });
    const trailers = Buffer.from(await grpc.arrayBuffer()).toString('latin1');
    const status = grpc.headers.get('grpc-status') ?? /grpc-status: ?(\d+)/.exec(trailers)?.[1];
    expect(status).toBe('8'); // RESOURCE_EXHAUSTED
    expect(await refusedCount(gateway.metricsUrl)).toBe(2);

    // Still serving: a normal call reaches the (absent) pool and fails for that reason only.
    const normal = await fetch(`${gateway.url}${listMarkets}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(((await normal.json()) as { code: string }).code).toBe('unavailable');
  });
});
