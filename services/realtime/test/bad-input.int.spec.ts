import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import type { AckResponse } from '../src/socket-server.js';
import { next, request, startRealtime, ulid, waitUntil, type RealtimeHarness } from './harness.js';

// Bad input is about the socket layer, not SQL: the embedded database is enough.
const target = sqlTargets()[0]!;

describe('bad input on the socket is refused, logged, and leaves the process serving', () => {
  let db: SqlTestDatabase;
  let h: RealtimeHarness;
  let channelId: string;
  let marketId: string;
  const logged = (msg: string, match: (line: Record<string, unknown>) => boolean = () => true) =>
    h.logs.filter((line) => line.msg === msg && match(line));

  beforeAll(async () => {
    db = await target.create();
    h = await startRealtime(db);
    channelId = ulid();
    marketId = ulid();
    const owner = ulid();
    await h.registerUser(owner, 'Owner');
    await h.linkChannel(channelId, owner);
    await h.createMarket(marketId, channelId);
  });
  afterAll(async () => {
    await h.close();
    await db.dispose();
  });

  it('refuses unknown events, events without acknowledgement and extra arguments', async () => {
    const socket = await h.connect();
    expect(await request(socket, 'bet:place', { stake: 1 })).toMatchObject({
      ok: false,
      code: 'INVALID_ARGUMENT',
    });
    socket.emit('room:join', { room: `market:${marketId}` });
    const three = (await socket
      .timeout(5000)
      .emitWithAck('room:join', { room: 'x' }, 'extra')) as AckResponse;
    expect(three).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    await waitUntil(
      () =>
        logged(
          'socket input refused',
          (l) => l.event === 'room:join' && String(l.reason).includes('without an acknowledgement'),
        ).length === 1,
      'the missing acknowledgement logged',
    );
    expect(logged('socket input refused', (l) => l.event === 'bet:place')).toHaveLength(1);
    expect(socket.connected).toBe(true);
  });

  it('closes a connection that sends a frame over the size limit, and logs it', async () => {
    const socket = await h.connect();
    const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    socket.emit(
      'chat:send',
      { channelId: channelId, text: 'x'.repeat(64 * 1024), clientMessageId: 'big' },
      () => {},
    );
    expect(await closed).toMatch(/transport (close|error)/);
    await waitUntil(
      () => logged('socket closed on bad input').length > 0,
      'the oversized frame logged',
    );
  });

  it('closes a connection that sends an undecodable socket.io packet, and logs it', async () => {
    const raw = new WebSocket(
      `${h.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`,
    );
    const frames: string[] = [];
    raw.on('message', (data: Buffer) => frames.push(data.toString()));
    await waitUntil(() => frames.some((f) => f.startsWith('0')), 'engine.io open');
    raw.send('40');
    await waitUntil(() => frames.some((f) => f.startsWith('40')), 'socket.io connect');
    const before = logged('socket closed on bad input').length;
    const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    raw.send('42["room:join",{"room":');
    await closed;
    await waitUntil(
      () => logged('socket closed on bad input').length > before,
      'the parse error logged',
    );
  });

  it('refuses a flood of chat beyond the per-socket budget with RESOURCE_EXHAUSTED', async () => {
    const user = ulid();
    await h.registerUser(user, 'Flooder');
    const socket = await h.connect({ userId: user, role: 'viewer' });
    const acks = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        request(socket, 'chat:send', {
          channelId: channelId,
          text: `spam ${i}`,
          clientMessageId: `f-${i}`,
        }),
      ),
    );
    const codes = acks.map((ack) => (ack.ok ? 'OK' : ack.code));
    // The clock does not move: the per-socket bucket (20) admits 20 events, the chat rate (5 per
    // 10 s) lets 5 of them through, everything else is refused.
    expect(codes.filter((c) => c === 'OK')).toHaveLength(5);
    expect(codes.filter((c) => c === 'RESOURCE_EXHAUSTED')).toHaveLength(95);
    expect(acks.find((ack) => !ack.ok && ack.message.includes('slow down'))).toMatchObject({
      retryAfterMs: 100,
    });
    expect(socket.connected).toBe(true);
  });

  it('still serves after all of that: a new viewer gets odds, probes are ready', async () => {
    h.clock.advance(10_000);
    const viewer = await h.connect();
    expect((await request(viewer, 'room:join', { room: `market:${marketId}` })).ok).toBe(true);
    const odds = next(viewer, OddsChangedSchema.typeName);
    await h.publish('odds', marketId, OddsChangedSchema, {
      channelId,
      odds: { marketId, version: 1n },
    });
    await odds;
    expect((await fetch(`${h.url}/health/ready`)).status).toBe(200);
  });
});
