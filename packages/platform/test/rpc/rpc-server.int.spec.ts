import http from 'node:http';
import net from 'node:net';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import { trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { createServiceClient } from '../../src/rpc/client.js';
import { EchoService, startEchoServer, type EchoServer } from '../fixtures/echo-service.js';

const opened: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const resource of opened.splice(0).reverse()) await resource.close();
});

async function start(options: Parameters<typeof startEchoServer>[0] = {}): Promise<EchoServer> {
  const echo = await startEchoServer(options);
  opened.push({
    close: async () => {
      echo.state.releaseSlow();
      await echo.server.shutdown(1000);
    },
  });
  return echo;
}

function httpGet(
  url: string,
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      })
      .once('error', reject);
  });
}

const transports: Record<string, (baseUrl: string) => Transport> = {
  'Connect over HTTP/1.1': (baseUrl) => createConnectTransport({ baseUrl, httpVersion: '1.1' }),
  'gRPC-Web over HTTP/1.1': (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: '1.1' }),
  'Connect over HTTP/2': (baseUrl) => createConnectTransport({ baseUrl, httpVersion: '2' }),
  'gRPC over HTTP/2': (baseUrl) => createGrpcTransport({ baseUrl }),
};
const expected: Record<string, { httpVersion: string; protocol: string }> = {
  'Connect over HTTP/1.1': { httpVersion: '1.1', protocol: 'connect' },
  'gRPC-Web over HTTP/1.1': { httpVersion: '1.1', protocol: 'grpc-web' },
  'Connect over HTTP/2': { httpVersion: '2.0', protocol: 'connect' },
  'gRPC over HTTP/2': { httpVersion: '2.0', protocol: 'grpc' },
};

describe('createRpcServer: one port, four ways in', () => {
  it.each(Object.keys(transports))(
    'serves %s, with a request id in context and response header',
    async (name) => {
      const echo = await start();
      const client = createClient(EchoService, transports[name]!(echo.address.url));
      let responseRequestId: string | null = null;
      const res = await client.echo(
        { text: `hi ${name}` },
        {
          headers: { 'x-request-id': 'req-abc-123' },
          onHeader: (h) => (responseRequestId = h.get('x-request-id')),
        },
      );
      expect(res.text).toBe(`hi ${name}`);
      expect({ httpVersion: res.httpVersion, protocol: res.protocol }).toEqual(expected[name]);
      expect(res.requestId).toBe('req-abc-123');
      expect(responseRequestId).toBe('req-abc-123');

      const stream: number[] = [];
      for await (const m of client.count({ count: 3 })) stream.push(m.n);
      expect(stream).toEqual([1, 2, 3]);
    },
  );

  it('recognises HTTP/2 when the preface arrives in pieces, and HTTP/1.1 garbage gets a 400', async () => {
    const echo = await start();
    const { port } = echo.address;
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
    const emptySettingsFrame = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const firstFrame = await new Promise<Buffer>((resolve, reject) => {
      // The pause only makes a split delivery likely; the assertion holds either way.
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(preface.subarray(0, 5), () =>
          setTimeout(
            () => socket.write(Buffer.concat([preface.subarray(5), emptySettingsFrame])),
            20,
          ),
        );
      });
      socket.once('data', (chunk: Buffer) => {
        socket.destroy();
        resolve(chunk);
      });
      socket.once('error', reject);
    });
    expect(firstFrame[3]).toBe(4); // the server's connection preface: a SETTINGS frame

    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end('PRX nonsense\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
  });

  it('generates a request id when the caller sends none (or an unsafe one) and logs one line per call', async () => {
    const echo = await start();
    const client = createClient(
      EchoService,
      createConnectTransport({ baseUrl: echo.address.url, httpVersion: '1.1' }),
    );
    const first = await client.echo({ text: 'a' });
    const second = await client.echo(
      { text: 'b' },
      { headers: { 'x-request-id': 'bad id with spaces' } },
    );
    expect(first.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.requestId).not.toBe(first.requestId);

    const rpcLines = echo.logs.lines().filter((l) => l.msg === 'rpc');
    expect(rpcLines).toHaveLength(2);
    expect(rpcLines[0]).toMatchObject({
      service: 'echo',
      procedure: 'streambet.testing.v1.EchoService/Echo',
      code: 'ok',
      requestId: first.requestId,
    });
    expect(typeof rpcLines[0]!.duration_ms).toBe('number');
    expect(rpcLines[0]!.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('continues the caller trace: the handler and its log lines see the client span trace id', async () => {
    const echo = await start();
    const logger = createLogger({ service: 'test', level: 'silent' });
    const downstream = createServiceClient(EchoService, {
      baseUrl: echo.address.url,
      logger,
      breaker: false,
    });
    opened.push({ close: () => downstream.close() });
    const tracer = trace.getTracer('test');
    const { traceId, res } = await tracer.startActiveSpan('test-root', async (span) => {
      const res = await downstream.client.echo({ text: 'traced' });
      span.end();
      return { traceId: span.spanContext().traceId, res };
    });
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.traceId).toBe(traceId);
    const line = echo.logs.lines().find((l) => l.msg === 'rpc');
    expect(line?.traceId).toBe(traceId);
  });

  it('serves Prometheus metrics with the rpc counter and duration histogram', async () => {
    const echo = await start();
    const client = createClient(EchoService, createGrpcTransport({ baseUrl: echo.address.url }));
    await client.echo({ text: 'x' });
    await expect(client.fail({ kind: 'not-found' })).rejects.toThrow();
    const metrics = await httpGet(`${echo.address.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body).toMatch(
      /rpc_server_requests_total\{rpc_service="streambet.testing.v1.EchoService",rpc_method="Echo",code="ok",service="echo"\} 1/,
    );
    expect(metrics.body).toMatch(
      /rpc_server_requests_total\{[^}]*rpc_method="Fail",code="not_found"[^}]*\} 1/,
    );
    expect(metrics.body).toMatch(/rpc_server_duration_seconds_bucket\{[^}]*rpc_method="Echo"/);
  });

  it('answers liveness and readiness; readiness is 503 naming the failing check', async () => {
    let databaseUp = true;
    const echo = await start({
      checks: {
        database: () =>
          databaseUp ? Promise.resolve() : Promise.reject(new Error('connection refused')),
        cache: () => Promise.resolve(),
      },
    });
    expect((await httpGet(`${echo.address.url}/health/live`)).status).toBe(200);
    const ready = await httpGet(`${echo.address.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ok' });

    databaseUp = false;
    const notReady = await httpGet(`${echo.address.url}/health/ready`);
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body)).toEqual({
      status: 'failing',
      failing: { database: 'connection refused' },
    });
    expect((await httpGet(`${echo.address.url}/health/live`)).status).toBe(200);
  });

  it('shuts down gracefully: an in-flight slow call finishes, new calls are refused', async () => {
    const echo = await start();
    const h2 = createClient(EchoService, createGrpcTransport({ baseUrl: echo.address.url }));
    const h1 = createClient(
      EchoService,
      createConnectTransport({ baseUrl: echo.address.url, httpVersion: '1.1' }),
    );
    const slowOverH2 = h2.slow({ text: 'in flight h2' });
    const slowOverH1 = h1.slow({ text: 'in flight h1' });
    await echo.state.whenSlowWaiting(2);

    const stopped = echo.server.shutdown(10_000);
    expect(echo.health.liveness().status).toBe(503);
    expect((await echo.health.readiness()).status).toBe(503);

    const fresh = createClient(
      EchoService,
      createConnectTransport({ baseUrl: echo.address.url, httpVersion: '1.1' }),
    );
    await expect(fresh.echo({ text: 'new' })).rejects.toSatisfy(
      (e: unknown) => ConnectError.from(e).code === Code.Unavailable,
    );
    const freshH2 = createClient(EchoService, createGrpcTransport({ baseUrl: echo.address.url }));
    await expect(freshH2.echo({ text: 'new' })).rejects.toSatisfy(
      (e: unknown) => ConnectError.from(e).code === Code.Unavailable,
    );
    expect(echo.server.inFlight).toBe(2);

    echo.state.releaseSlow();
    await expect(slowOverH2).resolves.toMatchObject({ text: 'in flight h2' });
    await expect(slowOverH1).resolves.toMatchObject({ text: 'in flight h1' });
    await stopped;
    expect(echo.server.inFlight).toBe(0);
    expect(echo.state.attempts.get('Echo')).toBeUndefined();
  });

  it('after the grace period, aborts calls still running and closes', async () => {
    const echo = await start();
    const h2 = createClient(EchoService, createGrpcTransport({ baseUrl: echo.address.url }));
    const stuck = h2.slow({ text: 'never released' }).then(
      () => undefined,
      (error: unknown) => ConnectError.from(error),
    );
    await echo.state.whenSlowWaiting(1);
    await echo.server.shutdown(50);
    const error = await stuck;
    expect(error?.code).toBe(Code.Unavailable);
    expect(error?.rawMessage).toBe('server shut down before the call finished; retry');
    expect(
      echo.logs.lines().some((l) => l.msg === 'grace period over; aborting in-flight calls'),
    ).toBe(true);
  });
});
