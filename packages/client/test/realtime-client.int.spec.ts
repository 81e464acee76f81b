/**
 * The app's socket client against a real socket.io server speaking realtime.proto's protocol
 * (handshake token, `room:join` with acknowledgement, protobuf-JSON events): rooms are joined
 * after connecting and joined again after a reconnect, events arrive decoded, a new identity
 * reconnects with the new token, and a refused token falls back to watching anonymously.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { create, toJson } from '@bufbuild/protobuf';
import { Server, type Socket } from 'socket.io';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MarketOddsSchema } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import { connectRealtime, type RealtimeConnection } from '@streambet/client/realtime';
import type { RealtimeUpdate } from '@streambet/client/events';

interface Joined {
  readonly socket: Socket;
  readonly room: string;
  readonly token: string | undefined;
}

let httpServer: http.Server;
let io: Server;
let origin: string;
let joins: Joined[];
let joinWaiters: Array<() => void>;
let connection: RealtimeConnection | undefined;

/** Resolves when `predicate` holds, re-checked on every join (no sleeps). */
function joined(predicate: (all: readonly Joined[]) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (predicate(joins)) resolve();
      else joinWaiters.push(check);
    };
    check();
  });
}

beforeEach(async () => {
  joins = [];
  joinWaiters = [];
  httpServer = http.createServer();
  io = new Server(httpServer, { path: '/socket.io/', serveClient: false });
  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown }).token;
    if (token === 'bad') next(new Error('UNAUTHENTICATED'));
    else next();
  });
  io.on('connection', (socket) => {
    const token = (socket.handshake.auth as { token?: string }).token;
    socket.on('room:join', (body: { room: string }, ack: (answer: object) => void) => {
      void socket.join(body.room);
      ack({ ok: true });
      joins.push({ socket, room: body.room, token });
      const waiting = joinWaiters;
      joinWaiters = [];
      for (const check of waiting) check();
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
});

afterEach(async () => {
  connection?.close();
  connection = undefined;
  await io.close();
});

function oddsPayload(version: bigint) {
  return toJson(
    OddsChangedSchema,
    create(OddsChangedSchema, {
      channelId: 'c1',
      odds: create(MarketOddsSchema, {
        marketId: 'm1',
        currency: 'PTS',
        version,
        outcomes: [{ outcomeId: 'o1', decimalOdds: '2.35', stakedMinor: 100n }],
      }),
    }),
  );
}

function collect() {
  const updates: RealtimeUpdate[] = [];
  const connected: boolean[] = [];
  let wake: (() => void) | undefined;
  return {
    updates,
    connected,
    handlers: {
      onUpdate: (update: RealtimeUpdate) => {
        updates.push(update);
        wake?.();
      },
      onConnectedChange: (live: boolean) => connected.push(live),
    },
    /** Resolves once `count` updates arrived. */
    until(count: number) {
      return new Promise<void>((resolve) => {
        const check = () => (updates.length >= count ? resolve() : (wake = check));
        check();
      });
    },
  };
}

describe('the realtime client', () => {
  it('given rooms, when connected, then it joins them and delivers pushed odds decoded', async () => {
    const seen = collect();
    connection = connectRealtime(origin, { token: undefined, userId: undefined }, seen.handlers);
    connection.setRooms(['channel:c1', 'market:m1']);
    await joined((all) => all.length === 2);
    expect(joins.map((j) => j.room).sort()).toEqual(['channel:c1', 'market:m1']);
    expect(joins[0]?.token).toBeUndefined();

    io.to('market:m1').emit('streambet.events.v1.OddsChanged', oddsPayload(7n));
    await seen.until(1);
    const update = seen.updates[0];
    expect(update?.kind).toBe('odds');
    if (update?.kind === 'odds') expect(update.odds.version).toBe(7n);
    expect(seen.connected).toContain(true);
  });

  it('given a dropped connection, when it reconnects, then every room is joined again', async () => {
    const seen = collect();
    connection = connectRealtime(origin, { token: undefined, userId: undefined }, seen.handlers);
    connection.setRooms(['market:m1']);
    await joined((all) => all.length === 1);
    const first = joins[0]!.socket;
    first.conn.close(); // transport lost, not a server-side disconnect: the client retries
    await joined((all) => all.length === 2 && all[1]!.socket.id !== first.id);
    expect(joins[1]?.room).toBe('market:m1');
    expect(seen.connected).toEqual([true, false, true]);

    io.to('market:m1').emit('streambet.events.v1.OddsChanged', oddsPayload(8n));
    await seen.until(1);
  });

  it('given a sign-in, then it reconnects with the token (so the server joins the user room) and rejoins', async () => {
    const seen = collect();
    connection = connectRealtime(origin, { token: undefined, userId: undefined }, seen.handlers);
    connection.setRooms(['market:m1']);
    await joined((all) => all.length === 1);
    connection.setToken('access-1', 'u1');
    await joined((all) => all.some((j) => j.token === 'access-1'));
    expect(joins.filter((j) => j.token === 'access-1').map((j) => j.room)).toEqual(['market:m1']);
  });

  it('given a refused token, then it keeps watching anonymously', async () => {
    const seen = collect();
    connection = connectRealtime(origin, { token: 'bad', userId: 'u1' }, seen.handlers);
    connection.setRooms(['market:m1']);
    await joined((all) => all.length === 1);
    expect(joins[0]?.token).toBeUndefined();
  });
});
