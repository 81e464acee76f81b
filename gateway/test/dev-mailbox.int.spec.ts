/**
 * The gateway's dev mailbox pass-through (embedded mode): GET /dev/mailbox reaches the user
 * service with its query and comes back with its status and content type; other methods get 405;
 * other paths are not its business; an unreachable user service gives 502.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevMailboxRoute } from '../src/dev-mailbox.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('dev mailbox pass-through', () => {
  const seen: string[] = [];
  const user = createServer((req, res) => {
    seen.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"mails":[]}');
  });
  let gateway: Server;
  let deadGateway: Server;
  let gatewayUrl = '';
  let deadUrl = '';

  beforeAll(async () => {
    const userUrl = await listen(user);
    const serve = (route: ReturnType<typeof createDevMailboxRoute>) =>
      createServer((req, res) => {
        if (!route(req, res)) {
          res.writeHead(404);
          res.end('not mine');
        }
      });
    gateway = serve(createDevMailboxRoute({ userUrl }));
    gatewayUrl = await listen(gateway);
    // A port nothing listens on: the closed user server's.
    const closed = createServer();
    const closedUrl = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    deadGateway = serve(createDevMailboxRoute({ userUrl: closedUrl, timeoutMs: 1000 }));
    deadUrl = await listen(deadGateway);
  });
  afterAll(async () => {
    for (const server of [user, gateway, deadGateway]) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('given a GET with a query, then the user service answers it through the gateway', async () => {
    const res = await fetch(`${gatewayUrl}/dev/mailbox?format=json&to=ana%40example.com`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ mails: [] });
    expect(seen).toEqual(['/dev/mailbox?format=json&to=ana%40example.com']);
  });

  it('given another method or path, then 405 or not handled', async () => {
    expect((await fetch(`${gatewayUrl}/dev/mailbox`, { method: 'POST' })).status).toBe(405);
    const other = await fetch(`${gatewayUrl}/dev/other`);
    expect(await other.text()).toBe('not mine');
  });

  it('given the user service is down, then 502', async () => {
    const res = await fetch(`${deadUrl}/dev/mailbox`);
    expect(res.status).toBe(502);
    expect(await res.text()).toBe('the user service did not answer');
  });
});
