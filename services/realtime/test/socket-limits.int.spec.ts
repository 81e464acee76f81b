/**
 * Throttles of the socket layer, on the embedded database and the harness's manual clock:
 * connections capped per client address (the one X-Forwarded-For entry the gateway vouches for)
 * and in total per process, refused with a `connect_error` saying why; `room:join` budgeted per
 * address across sockets; and the rooms a join checks read from the database once, not per join.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { Sql, SqlValue } from '@streambet/platform/sql/types';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { defaultSocketLimits, defaultRealtimeSettings } from '../src/config.js';
import { socketAddress } from '../src/socket-server.js';
import { request, startRealtime, ulid, waitUntil, type RealtimeHarness } from './harness.js';

// Throttles are about the socket layer, not SQL: the embedded database is enough.
const target = sqlTargets()[0]!;

/** A socket.io client whose handshake carries `forwardedFor` as X-Forwarded-For. */
function open(h: RealtimeHarness, forwardedFor: string): Socket {
  return io(h.url, {
    path: '/socket.io/',
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: { 'x-forwarded-for': forwardedFor },
  });
}

/** Resolves 'connected' or the connect_error's data. */
function outcome(socket: Socket): Promise<'connected' | { code: string; message: string }> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (error: Error & { data?: { code: string; message: string } }) =>
      resolve(error.data ?? { code: 'NONE', message: error.message }),
    );
  });
}

describe('socketAddress', () => {
  it('trusts the entry n hops from the right of X-Forwarded-For, else the TCP peer', () => {
    expect(socketAddress('10.1.2.3', '198.51.100.1, 203.0.113.9', 1)).toBe('203.0.113.9');
    expect(socketAddress('10.1.2.3', '198.51.100.1, 203.0.113.9', 0)).toBe('10.1.2.3');
    expect(socketAddress('::ffff:10.1.2.3', undefined, 1)).toBe('10.1.2.3');
    expect(socketAddress('10.1.2.3', '203.0.113.9', 2)).toBe('10.1.2.3');
  });
});

describe('connection caps', () => {
  let db: SqlTestDatabase;
  let h: RealtimeHarness;
  const sockets: Socket[] = [];
  const connect = (forwardedFor: string) => {
    const socket = open(h, forwardedFor);
    sockets.push(socket);
    return { socket, result: outcome(socket) };
  };
  beforeAll(async () => {
    db = await target.create();
    h = await startRealtime(db, {
      env: { REALTIME_MAX_CONNECTIONS_PER_ADDRESS: '2', REALTIME_MAX_CONNECTIONS: '3' },
    });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await h.close();
    await db.dispose();
  });

  it('refuses a third connection from one address and a fourth in total, with why; frees slots on disconnect', async () => {
    const a1 = connect('203.0.113.1');
    expect(await a1.result).toBe('connected');
    expect(await connect('203.0.113.1').result).toBe('connected');
    // A forged entry left of the one the gateway vouches for does not make a new address.
    expect(await connect('198.51.100.99, 203.0.113.1').result).toEqual({
      code: 'RESOURCE_EXHAUSTED',
      message: 'too many connections from this address (at most 2); close one first',
    });
    expect(await connect('203.0.113.2').result).toBe('connected');
    expect(await connect('203.0.113.3').result).toEqual({
      code: 'RESOURCE_EXHAUSTED',
      message: 'this server is at its connection limit; reconnect later',
    });
    a1.socket.disconnect();
    // The server learns of the close asynchronously: retry until the freed slot is taken.
    await waitUntil(async () => {
      const retry = connect('203.0.113.3');
      return (await retry.result) === 'connected';
    }, 'the freed slot taken');
    expect(
      h.logs.some((line) => line.msg === 'socket handshake refused: per-address connection cap'),
    ).toBe(true);
  });
});

describe('room:join budget and cached room reads', () => {
  let db: SqlTestDatabase;
  let h: RealtimeHarness;
  const reads = { channels: 0, markets: 0 };
  const sockets: Socket[] = [];
  const connect = async (forwardedFor: string) => {
    const socket = open(h, forwardedFor);
    sockets.push(socket);
    expect(await outcome(socket)).toBe('connected');
    return socket;
  };
  let channelId: string;

  beforeAll(async () => {
    db = await target.create();
    // Counts the room lookups a join makes (rt_channels, rt_markets) on the real database.
    const sql: Sql = new Proxy(db.sql, {
      get(sqlTarget, property, receiver): unknown {
        if (property === 'query') {
          return (text: string, params?: readonly SqlValue[]) => {
            if (text.includes('FROM rt_channels')) reads.channels += 1;
            if (text.includes('FROM rt_markets')) reads.markets += 1;
            return sqlTarget.query(text, params);
          };
        }
        const value: unknown = Reflect.get(sqlTarget, property, receiver);
        return typeof value === 'function' ? (value as () => unknown).bind(sqlTarget) : value;
      },
    });
    h = await startRealtime(
      { ...db, sql },
      {
        settings: {
          ...defaultRealtimeSettings,
          socket: { ...defaultSocketLimits, joinBurstPerAddress: 3, joinsPerSecondPerAddress: 1 },
        },
      },
    );
    channelId = ulid();
    await h.linkChannel(channelId, ulid());
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await h.close();
    await db.dispose();
  });

  it('refuses joins past the burst of one address across its sockets, with when to retry; other addresses are not affected', async () => {
    const first = await connect('192.0.2.10');
    const second = await connect('192.0.2.10');
    const join = (socket: Socket) => request(socket, 'room:join', { room: `channel:${channelId}` });
    expect(await join(first)).toMatchObject({ ok: true });
    expect(await join(first)).toMatchObject({ ok: true });
    expect(await join(second)).toMatchObject({ ok: true });
    expect(await join(second)).toEqual({
      ok: false,
      code: 'RESOURCE_EXHAUSTED',
      message: 'too many room joins from this address; slow down (retry after 1s)',
      retryAfterMs: 1000,
    });
    expect(await join(await connect('192.0.2.11'))).toMatchObject({ ok: true });
    h.clock.advance(1000);
    expect(await join(second)).toMatchObject({ ok: true });
  });

  it('reads a linked channel once per cache period however many join it, and a known market once', async () => {
    const other = ulid();
    await h.linkChannel(other, ulid());
    const before = reads.channels;
    for (let i = 0; i < 6; i += 1) {
      const socket = await connect(`198.51.100.${i + 1}`);
      expect(await request(socket, 'room:join', { room: `channel:${other}` })).toMatchObject({
        ok: true,
      });
    }
    expect(reads.channels - before).toBe(1);
    h.clock.advance(defaultSocketLimits.channelCacheMs);
    const late = await connect('198.51.100.50');
    expect(await request(late, 'room:join', { room: `channel:${other}` })).toMatchObject({
      ok: true,
    });
    expect(reads.channels - before).toBe(2);

    const marketId = ulid();
    await h.createMarket(marketId, other);
    const marketReads = reads.markets;
    for (let i = 0; i < 4; i += 1) {
      const socket = await connect(`198.51.100.${i + 100}`);
      expect(await request(socket, 'room:join', { room: `market:${marketId}` })).toMatchObject({
        ok: true,
      });
    }
    expect(reads.markets - marketReads).toBe(0);
  });
});
