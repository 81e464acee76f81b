import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PoolService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import { loadGatewayConfig } from '../src/config.js';
import { startGateway } from '../src/gateway.js';
import { webhookRoutes } from '../src/proxy.js';
import { isHashedAsset } from '../src/static-files.js';
import { captureLogs, startFakePool, startTestGateway, stopGateways } from './harness.js';

let pool: Awaited<ReturnType<typeof startFakePool>>;
beforeAll(async () => {
  pool = await startFakePool();
});
afterAll(async () => {
  await pool?.shutdown();
});
afterEach(async () => {
  await stopGateways();
});

describe('CORS', () => {
  it('given an allowed web origin, then a preflight is answered with the Connect and gRPC-Web headers, and the call exposes its status headers', async () => {
    const gateway = await startTestGateway({
      POOL_SERVICE_URL: pool.url,
      CORS_ALLOWED_ORIGINS: 'https://app.streambet.test, http://localhost:5173',
    });
    const url = `${gateway.url}/streambet.pool.v1.PoolService/ListMarkets`;
    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,connect-protocol-version,authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST, GET');
    const allowed = preflight.headers.get('access-control-allow-headers')?.split(', ') ?? [];
    expect(allowed).toEqual(
      expect.arrayContaining([
        'content-type',
        'connect-protocol-version',
        'connect-timeout-ms',
        'x-grpc-web',
        'x-user-agent',
        'grpc-timeout',
        'authorization',
        'x-request-id',
      ]),
    );
    expect(preflight.headers.get('vary')).toBe('Origin');

    const call = await fetch(url, {
      method: 'POST',
      headers: {
        origin: 'https://app.streambet.test',
        'content-type': 'application/json',
        'connect-protocol-version': '1',
      },
      body: '{}',
    });
    expect(call.status).toBe(200);
    expect(call.headers.get('access-control-allow-origin')).toBe('https://app.streambet.test');
    const exposed = call.headers.get('access-control-expose-headers')?.split(', ') ?? [];
    expect(exposed).toEqual(
      expect.arrayContaining(['grpc-status', 'grpc-message', 'x-request-id', 'retry-after']),
    );
  });

  it('given an origin not on the list, then no CORS headers are sent (the browser blocks it) and the preflight grants nothing', async () => {
    const gateway = await startTestGateway({
      POOL_SERVICE_URL: pool.url,
      CORS_ALLOWED_ORIGINS: 'https://app.streambet.test',
    });
    const url = `${gateway.url}/streambet.pool.v1.PoolService/ListMarkets`;
    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
    const call = await fetch(url, {
      method: 'POST',
      headers: { origin: 'https://evil.test', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(call.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('given a malformed origin in the config, then the variable is named', () => {
    expect(() =>
      loadGatewayConfig({ CORS_ALLOWED_ORIGINS: 'https://ok.test,https://bad.test/' }),
    ).toThrow(/CORS_ALLOWED_ORIGINS: .* is invalid \(each entry must be an origin/);
  });
});

describe('request ids', () => {
  it('given a client request id, then it reaches the service, comes back in the answer and is in the log line; without one, one is made up', async () => {
    const logs = captureLogs();
    const gateway = await startTestGateway({ POOL_SERVICE_URL: pool.url }, { logger: logs.logger });
    const markets = createClient(
      PoolService,
      createConnectTransport({ baseUrl: gateway.url, httpVersion: '1.1' }),
    );
    let echoed: string | null = null;
    await markets.listMarkets(
      {},
      {
        headers: { 'x-request-id': 'client-req-42' },
        onHeader: (h) => (echoed = h.get('x-request-id')),
      },
    );
    expect(echoed).toBe('client-req-42');
    expect(pool.calls.at(-1)?.requestId).toBe('client-req-42');
    expect(
      logs.lines.find((l) => l.msg === 'rpc' && l.requestId === 'client-req-42')?.procedure,
    ).toBe('streambet.pool.v1.PoolService/ListMarkets');

    let generated: string | null = null;
    await createClient(PoolService, createGrpcTransport({ baseUrl: gateway.url })).listMarkets(
      {},
      {
        headers: { 'x-request-id': 'has spaces, not echoed' },
        onHeader: (h) => (generated = h.get('x-request-id')),
      },
    );
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(pool.calls.at(-1)?.requestId).toBe(generated);
  });
});

/** A stand-in for the services that receive webhooks: records what arrives, answers 202. */
async function startRecorder(): Promise<{
  url: string;
  received: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }>;
  close(): Promise<void>;
}> {
  const received: Array<{
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
  }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      res.writeHead(202, { 'content-type': 'application/json', 'x-provider-ack': 'yes' });
      res.end('{"status":"queued"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('webhook passthrough', () => {
  it('given each provider route, then the raw body and signature headers reach the owning service unchanged, and its answer comes back', async () => {
    const recorders = {
      user: await startRecorder(),
      integration: await startRecorder(),
      payment: await startRecorder(),
    };
    try {
      const logs = captureLogs();
      const gateway = await startTestGateway(
        {
          USER_SERVICE_URL: recorders.user.url,
          INTEGRATION_SERVICE_URL: recorders.integration.url,
          PAYMENT_SERVICE_URL: recorders.payment.url,
        },
        { logger: logs.logger },
      );
      // Bytes a JSON parser would normalise: odd spacing, key order, a non-UTF-8 byte.
      const body = Buffer.concat([
        Buffer.from('{ "b":1,\n  "a" : "ç" , "raw":"'),
        Buffer.from([0xff]),
        Buffer.from('"}'),
      ]);
      const secret = 'whsec_gateway_test';
      for (const [provider, downstream] of Object.entries(webhookRoutes)) {
        const signature = createHmac('sha256', secret).update(body).digest('hex');
        const answer = await fetch(`${gateway.url}/webhooks/${provider}?attempt=2`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-signature': `sha256=${signature}`,
            'stripe-signature': `t=1,v1=${signature}`,
            'x-request-id': `hook-${provider}`,
            // Forged: with no trusted proxy the gateway passes on only the TCP peer.
            'x-forwarded-for': '203.0.113.66',
          },
          body,
        });
        expect(answer.status).toBe(202);
        expect(await answer.text()).toBe('{"status":"queued"}');
        expect(answer.headers.get('x-provider-ack')).toBe('yes');
        expect(answer.headers.get('x-request-id')).toBe(`hook-${provider}`);
        const arrived = recorders[downstream].received.at(-1)!;
        expect(arrived.method).toBe('POST');
        expect(arrived.url).toBe(`/webhooks/${provider}?attempt=2`);
        expect(arrived.body.equals(body)).toBe(true);
        expect(createHmac('sha256', secret).update(arrived.body).digest('hex')).toBe(signature);
        expect(arrived.headers['x-signature']).toBe(`sha256=${signature}`);
        expect(arrived.headers['stripe-signature']).toBe(`t=1,v1=${signature}`);
        expect(arrived.headers['content-type']).toBe('application/json');
        expect(arrived.headers['x-request-id']).toBe(`hook-${provider}`);
        expect(arrived.headers['x-forwarded-for']).toBe('127.0.0.1');
        expect(
          logs.lines.find((l) => l.msg === 'webhook' && l.requestId === `hook-${provider}`),
        ).toMatchObject({ path: `/webhooks/${provider}`, downstream, status: 202 });
      }
      expect(recorders.user.received).toHaveLength(1);
      expect(recorders.integration.received).toHaveLength(2);
      expect(recorders.payment.received).toHaveLength(2);
    } finally {
      for (const recorder of Object.values(recorders)) await recorder.close();
    }
  });

  it('given a body over the limit, an unknown provider, a GET or a service that is down, then the gateway answers itself and nothing reaches a service', async () => {
    const recorder = await startRecorder();
    try {
      const gateway = await startTestGateway({
        PAYMENT_SERVICE_URL: recorder.url,
        WEBHOOK_MAX_BODY_BYTES: '1024',
      });
      const tooBig = await fetch(`${gateway.url}/webhooks/stripe`, {
        method: 'POST',
        body: Buffer.alloc(1025, 'a'),
      });
      expect(tooBig.status).toBe(413);
      expect(await tooBig.json()).toEqual({ error: 'webhook body exceeds 1024 bytes' });
      // Streamed without a length: refused once the limit is passed.
      const chunked = await fetch(`${gateway.url}/webhooks/stripe`, {
        method: 'POST',
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < 4; i += 1) controller.enqueue(new Uint8Array(400));
            controller.close();
          },
        }),
        duplex: 'half',
      });
      expect(chunked.status).toBe(413);
      const exactly = await fetch(`${gateway.url}/webhooks/stripe`, {
        method: 'POST',
        body: Buffer.alloc(1024, 'a'),
      });
      expect(exactly.status).toBe(202);
      expect(recorder.received).toHaveLength(1);

      expect(
        (await fetch(`${gateway.url}/webhooks/paypal`, { method: 'POST', body: '{}' })).status,
      ).toBe(404);
      const get = await fetch(`${gateway.url}/webhooks/stripe`);
      expect(get.status).toBe(405);
      expect(get.headers.get('allow')).toBe('POST');
      const down = await fetch(`${gateway.url}/webhooks/kyc`, { method: 'POST', body: '{}' });
      expect(down.status).toBe(502);
      expect(await down.json()).toEqual({
        error: 'the user service is temporarily unavailable; retry shortly',
      });
    } finally {
      await recorder.close();
    }
  });
});

describe('the web app and the status page', () => {
  let webDir: string;
  beforeAll(async () => {
    webDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'sbtest-web-'));
    await fs.promises.mkdir(path.join(webDir, 'assets'));
    await fs.promises.writeFile(
      path.join(webDir, 'index.html'),
      '<!doctype html><div id="root"></div>',
    );
    await fs.promises.writeFile(path.join(webDir, 'assets', 'index-B4xR9_k2.js'), 'console.log(1)');
    await fs.promises.writeFile(path.join(webDir, 'assets', 'index-Cq81mZxa.css'), 'body{}');
    await fs.promises.writeFile(path.join(webDir, 'favicon.svg'), '<svg/>');
    await fs.promises.writeFile(
      path.join(webDir, 'assets', 'vendor-Zq0Lm3Xy.js'),
      'export const odds = "2.50";\n'.repeat(2000),
    );
    await fs.promises.writeFile(path.join(os.tmpdir(), 'sbtest-secret.txt'), 'secret');
  });
  afterAll(async () => {
    await fs.promises.rm(webDir, { recursive: true, force: true });
  });

  it('given a built web app, then its files are served with their types, hashed assets cached for a year, app routes fall back to index.html, and the status page moves to /status', async () => {
    const gateway = await startTestGateway({ WEB_DIR: webDir, POOL_SERVICE_URL: pool.url });
    expect(gateway.webDir).toBe(webDir);
    const index = await fetch(`${gateway.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(await index.text()).toContain('id="root"');

    const script = await fetch(`${gateway.url}/assets/index-B4xR9_k2.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await script.text()).toBe('console.log(1)');
    const style = await fetch(`${gateway.url}/assets/index-Cq81mZxa.css`);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const icon = await fetch(`${gateway.url}/favicon.svg`);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(icon.headers.get('cache-control')).toBe('no-cache');

    const etag = icon.headers.get('etag')!;
    const again = await fetch(`${gateway.url}/favicon.svg`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);

    // Text assets go gzipped to clients that accept it (fetch decodes them transparently).
    const big = await fetch(`${gateway.url}/assets/vendor-Zq0Lm3Xy.js`);
    expect(big.headers.get('content-encoding')).toBe('gzip');
    expect(big.headers.get('vary')).toBe('Accept-Encoding');
    expect(Number(big.headers.get('content-length'))).toBeLessThan(2000);
    expect(await big.text()).toBe('export const odds = "2.50";\n'.repeat(2000));
    const identity = await fetch(`${gateway.url}/assets/vendor-Zq0Lm3Xy.js`, {
      headers: { 'accept-encoding': 'identity' },
    });
    expect(identity.headers.get('content-encoding')).toBeNull();
    expect(identity.headers.get('content-length')).toBe(String(28 * 2000));
    await identity.arrayBuffer();

    const route = await fetch(`${gateway.url}/channel/alice/market/42?tab=odds`);
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('id="root"');
    expect((await fetch(`${gateway.url}/assets/missing-12345678.js`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/..%2f..%2fsbtest-secret.txt`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/%2e%2e/sbtest-secret.txt`)).status).toBe(404);
    const head = await fetch(`${gateway.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);

    const status = await fetch(`${gateway.url}/status`);
    expect(status.headers.get('content-type')).toContain('text/html');
    expect(await status.text()).toContain('streambet.pool.v1.PoolService');
    const json = (await (await fetch(`${gateway.url}/status.json`)).json()) as {
      services: Array<{ name: string; ready: boolean }>;
    };
    expect(json.services.find((s) => s.name === 'pool')?.ready).toBe(true);
    expect(json.services.find((s) => s.name === 'user')?.ready).toBe(false);

    // RPC paths stay with the RPC router, over GET (Connect GET) and POST, internal ones included.
    const connectGet = await fetch(
      `${gateway.url}/streambet.pool.v1.PoolService/ListMarkets?connect=v1&encoding=json&message=%7B%7D`,
    );
    expect(connectGet.status).toBe(200);
    expect(connectGet.headers.get('content-type')).toBe('application/json');
    const internal = await fetch(
      `${gateway.url}/${LedgerInternalService.typeName}/SubmitTransfers?connect=v1&encoding=json&message=%7B%7D`,
    );
    expect(internal.status).toBe(404);
    expect(internal.headers.get('content-type') ?? '').not.toContain('text/html');
    expect((await fetch(`${gateway.url}/health/ready`)).headers.get('content-type')).toContain(
      'json',
    );
  });

  it('given no web app (WEB_DIR=none), then the status page is at / as well as /status, and other paths are not files', async () => {
    const gateway = await startTestGateway({ WEB_DIR: 'none' });
    expect(gateway.webDir).toBeUndefined();
    for (const path of ['/', '/status']) {
      const page = await fetch(`${gateway.url}${path}`);
      expect(await page.text()).toContain('streambet.pool.v1.PoolService');
    }
    expect((await fetch(`${gateway.url}/channel/alice`)).status).toBe(404);
  });

  it('given WEB_DIR naming a folder without index.html, then the gateway does not start and says why', async () => {
    const config = loadGatewayConfig({
      STREAMBET_MODE: 'embedded',
      HOST: '127.0.0.1',
      PORT: '0',
      WEB_DIR: os.tmpdir(),
    });
    await expect(startGateway({ config })).rejects.toThrow(/WEB_DIR: .* has no index.html/);
  });

  it('given Vite file names, then only content-hashed files under assets/ count as immutable', () => {
    expect(isHashedAsset('assets/index-B4xR9_k2.js')).toBe(true);
    expect(isHashedAsset('assets/vendor-react-DxF3a9Qz.js')).toBe(true);
    expect(isHashedAsset('assets/index-BTeS_LfI.js.map')).toBe(true);
    expect(isHashedAsset('index.html')).toBe(false);
    expect(isHashedAsset('assets/logo.svg')).toBe(false);
    expect(isHashedAsset('favicon-B4xR9_k2.ico')).toBe(false);
  });
});

describe('internal services', () => {
  it('given an internal RPC called through the gateway, then it is not routable', async () => {
    const gateway = await startTestGateway({});
    const ledger = createClient(
      LedgerInternalService,
      createGrpcTransport({ baseUrl: gateway.url }),
    );
    const error = await ledger.submitTransfers({}).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.Unimplemented);
  });
});
