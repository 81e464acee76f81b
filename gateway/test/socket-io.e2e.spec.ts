import http from 'node:http';
import net from 'node:net';
import { Server } from 'socket.io';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, stopGateways } from './harness.js';

/** A tiny socket.io server standing in for the realtime service (same path, its own port). */
let realtime: { url: string; io: Server; server: http.Server };
const handshakes: Array<Record<string, string | string[] | undefined>> = [];

beforeAll(async () => {
  const server = http.createServer();
  const io = new Server(server, { path: '/socket.io/' });
  io.on('connection', (socket) => {
    handshakes.push(socket.handshake.headers);
    socket.on('echo', (payload: unknown, ack: (reply: unknown) => void) =>
      ack({ payload, transport: socket.conn.transport.name }),
    );
    void socket.join('market:m-1');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  realtime = { url: `http://127.0.0.1:${port}`, io, server };
});
afterAll(async () => {
  await realtime?.io.close();
});
const clients: ClientSocket[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await stopGateways();
});

function connect(
  baseUrl: string,
  transports: Array<'polling' | 'websocket'>,
  upgrade = true,
): ClientSocket {
  const socket = connectClient(baseUrl, {
    path: '/socket.io/',
    transports,
    upgrade,
    reconnection: false,
    forceNew: true,
    // A forged X-Forwarded-For: the gateway (no trusted proxy) must replace it with the peer.
    extraHeaders: { 'x-request-id': 'sock-req-1', 'x-forwarded-for': '203.0.113.66' },
  });
  clients.push(socket);
  return socket;
}

function connected(socket: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}

describe('socket.io through the gateway', () => {
  for (const [name, transports, upgrade] of [
    ['HTTP long-polling only', ['polling'], false],
    ['a WebSocket from the start', ['websocket'], true],
    ['polling upgraded to a WebSocket (the browser default)', ['polling', 'websocket'], true],
  ] as const) {
    it(`given ${name}, then the client reaches the realtime service, round-trips an event and receives room broadcasts`, async () => {
      const gateway = await startTestGateway({ REALTIME_SERVICE_URL: realtime.url });
      const socket = connect(gateway.url, [...transports], upgrade);
      await connected(socket);
      if (transports.length === 2) {
        await new Promise<void>((resolve) => {
          if (socket.io.engine.transport.name === 'websocket') resolve();
          else socket.io.engine.once('upgrade', () => resolve());
        });
      }
      const reply = (await socket.timeout(5000).emitWithAck('echo', { odds: '2.50' })) as {
        payload: unknown;
        transport: string;
      };
      expect(reply.payload).toEqual({ odds: '2.50' });
      expect(reply.transport).toBe(transports.length === 1 ? transports[0] : 'websocket');
      const broadcast = new Promise<unknown>((resolve) => socket.once('odds', resolve));
      realtime.io.to('market:m-1').emit('odds', { marketId: 'm-1', totalMinor: '1200' });
      expect(await broadcast).toEqual({ marketId: 'm-1', totalMinor: '1200' });
      const headers = handshakes.at(-1)!;
      expect(headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(headers['x-request-id']).toBe('sock-req-1');
    });
  }

  it('given the gateway shutting down, then proxied WebSockets are closed so clients reconnect elsewhere', async () => {
    const gateway = await startTestGateway({ REALTIME_SERVICE_URL: realtime.url });
    const socket = connect(gateway.url, ['websocket']);
    await connected(socket);
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    await gateway.shutdown();
    expect(await disconnected).toBe('transport close');
  });

  it('given the realtime service down or another upgrade path, then the upgrade is refused, not hung', async () => {
    const gateway = await startTestGateway({ REALTIME_SERVICE_URL: 'http://127.0.0.1:1' });
    const down = connect(gateway.url, ['websocket']);
    await expect(connected(down)).rejects.toThrow();
    const polling = await fetch(`${gateway.url}/socket.io/?EIO=4&transport=polling`);
    expect(polling.status).toBe(502);
    const other = await rawUpgrade(gateway.url, '/chat');
    expect(other.split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found');
  });
});

/** Sends a WebSocket upgrade by hand and returns what the server answered. */
function rawUpgrade(baseUrl: string, path: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      );
    });
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}
