import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, ConnectError } from '@connectrpc/connect';
import { POSTGRES_SKIP_REASON, sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { next, request, startRealtime, ulid, type RealtimeHarness } from './harness.js';

const targets = sqlTargets();

async function code(call: Promise<unknown>): Promise<Code> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error).code;
  }
  throw new Error('call unexpectedly succeeded');
}

describe.each(targets.map((t) => [t.name, t] as const))('realtime chat on %s', (_name, target) => {
  let db: SqlTestDatabase;
  let h: RealtimeHarness;
  beforeAll(async () => {
    db = await target.create();
    h = await startRealtime(db);
  });
  afterAll(async () => {
    await h.close();
    await db.dispose();
  });

  /** A linked channel with its owner and a registered viewer, both connected and in the room. */
  async function channel() {
    const channelId = ulid();
    const owner = ulid();
    const viewer = ulid();
    await h.registerUser(owner, 'Streamer');
    await h.registerUser(viewer, 'Viewer One');
    await h.linkChannel(channelId, owner);
    const ownerSocket = await h.connect({ userId: owner, role: 'streamer' });
    const viewerSocket = await h.connect({ userId: viewer, role: 'viewer' });
    expect((await request(ownerSocket, 'room:join', { room: `channel:${channelId}` })).ok).toBe(
      true,
    );
    expect((await request(viewerSocket, 'room:join', { room: `channel:${channelId}` })).ok).toBe(
      true,
    );
    let n = 0;
    const send = (socket = viewerSocket, text = 'hello', id?: string) =>
      request(socket, 'chat:send', {
        channelId: channelId,
        text,
        clientMessageId: id ?? `m-${(n += 1)}`,
      });
    return { channelId, owner, viewer, ownerSocket, viewerSocket, send };
  }

  it('broadcasts a message to the channel room once, even when resent, and replays history on join', async () => {
    const c = await channel();
    const seen = next<{ text: string; displayName: string; userId: string }>(
      c.ownerSocket,
      'chat:message',
    );
    const first = await c.send(c.viewerSocket, '  hello there  ', 'same-id');
    expect(first).toMatchObject({ ok: true });
    expect(await seen).toMatchObject({
      text: 'hello there',
      displayName: 'Viewer One',
      userId: c.viewer,
    });
    const again = await c.send(c.viewerSocket, 'hello there', 'same-id');
    expect(again).toEqual(first);

    const late = await h.connect();
    const history = next<Record<string, unknown>>(late, 'chat:history');
    await request(late, 'room:join', { room: `channel:${c.channelId}` });
    // camelCase, as every payload on the socket (the protobuf JSON mapping).
    const payload = await history;
    expect(Object.keys(payload).sort()).toEqual(['channelId', 'messages']);
    expect(payload.channelId).toBe(c.channelId);
    expect(payload.messages).toEqual([
      expect.objectContaining({
        channelId: c.channelId,
        userId: c.viewer,
        displayName: 'Viewer One',
        text: 'hello there',
      }),
    ]);
  });

  it('refuses too long, empty and malformed messages with INVALID_ARGUMENT', async () => {
    const c = await channel();
    expect(await c.send(c.viewerSocket, 'x'.repeat(501))).toMatchObject({
      ok: false,
      code: 'INVALID_ARGUMENT',
    });
    expect(await c.send(c.viewerSocket, '   ')).toMatchObject({
      ok: false,
      code: 'INVALID_ARGUMENT',
    });
    expect(await request(c.viewerSocket, 'chat:send', 'hello')).toMatchObject({
      ok: false,
      code: 'INVALID_ARGUMENT',
    });
    expect(await c.send(c.viewerSocket, 'x'.repeat(500))).toMatchObject({ ok: true });
  });

  it('limits a user to 5 messages per 10 s (default) and lets them talk again after the window, the owner exempt', async () => {
    const c = await channel();
    for (let i = 0; i < 5; i += 1) expect((await c.send()).ok).toBe(true);
    const refused = await c.send();
    expect(refused).toMatchObject({ ok: false, code: 'RESOURCE_EXHAUSTED', retryAfterMs: 2000 });
    for (let i = 0; i < 7; i += 1) expect((await c.send(c.ownerSocket)).ok).toBe(true);
    h.clock.advance(2000);
    expect((await c.send()).ok).toBe(true);
  });

  it('slow mode set by the owner is broadcast and enforced; a viewer may not change it', async () => {
    const c = await channel();
    expect(
      await code(
        h.rpc.setChatSettings(
          { channelId: c.channelId, slowModeSeconds: 30 },
          await h.as(c.viewer, 'viewer'),
        ),
      ),
    ).toBe(Code.PermissionDenied);
    expect(
      await code(
        h.rpc.setChatSettings(
          { channelId: c.channelId, slowModeSeconds: 601 },
          await h.as(c.owner, 'streamer'),
        ),
      ),
    ).toBe(Code.InvalidArgument);
    const broadcast = next<{ slowModeSeconds: number }>(c.viewerSocket, 'chat:settings');
    const set = await h.rpc.setChatSettings(
      { channelId: c.channelId, slowModeSeconds: 30 },
      await h.as(c.owner, 'streamer'),
    );
    expect(set.settings).toMatchObject({
      slowModeSeconds: 30,
      chatEnabled: true,
      userRateLimitMessages: 5,
    });
    expect(await broadcast).toMatchObject({ slowModeSeconds: 30 });
    expect(
      (await h.rpc.getChatSettings({ channelId: c.channelId })).settings?.slowModeSeconds,
    ).toBe(30);

    expect((await c.send()).ok).toBe(true);
    expect(await c.send()).toMatchObject({
      ok: false,
      code: 'RESOURCE_EXHAUSTED',
      retryAfterMs: 30_000,
    });
    expect((await c.send(c.ownerSocket)).ok).toBe(true);
    h.clock.advance(30_000);
    expect((await c.send()).ok).toBe(true);

    await h.rpc.setChatSettings(
      { channelId: c.channelId, chatEnabled: false },
      await h.as(ulid(), 'admin'),
    );
    expect(await c.send()).toMatchObject({ ok: false, code: 'FAILED_PRECONDITION' });
  });

  it('bans: the owner bans a viewer (broadcast, refused with until when), lists and lifts the ban; the owner cannot be banned', async () => {
    const c = await channel();
    const ownerHeaders = await h.as(c.owner, 'streamer');
    expect(
      await code(
        h.rpc.banChatUser(
          { channelId: c.channelId, userId: c.viewer },
          await h.as(ulid(), 'streamer'),
        ),
      ),
    ).toBe(Code.PermissionDenied);
    const broadcast = next<{ userId: string; reason: string }>(c.ownerSocket, 'chat:user_banned');
    const banned = await h.rpc.banChatUser(
      { channelId: c.channelId, userId: c.viewer, durationSeconds: 600n, reason: 'spam' },
      ownerHeaders,
    );
    expect(banned.ban).toMatchObject({ userId: c.viewer, reason: 'spam', bannedByUserId: c.owner });
    expect(banned.ban?.untilMs).toBe(BigInt(h.clock.now() + 600_000));
    expect(await broadcast).toMatchObject({ userId: c.viewer });
    expect(
      h.logs.filter(
        (l) => l.msg === 'chat moderation' && l.action === 'BanChatUser' && l.userId === c.viewer,
      ),
    ).toMatchObject([{ actorUserId: c.owner, channelId: c.channelId, reason: 'spam' }]);
    expect((await broadcast).reason).toBeUndefined();

    const refused = await c.send();
    expect(refused).toMatchObject({ ok: false, code: 'PERMISSION_DENIED' });
    expect(refused.ok ? '' : refused.message).toContain(
      new Date(h.clock.now() + 600_000).toISOString(),
    );

    const list = await h.rpc.listChatBans({ channelId: c.channelId }, ownerHeaders);
    expect(list.bans.map((b) => b.userId)).toEqual([c.viewer]);
    expect(
      await code(
        h.rpc.banChatUser({ channelId: c.channelId, userId: c.owner }, await h.as(ulid(), 'admin')),
      ),
    ).toBe(Code.FailedPrecondition);
    expect(
      await code(h.rpc.banChatUser({ channelId: c.channelId, userId: ulid() }, ownerHeaders)),
    ).toBe(Code.NotFound);
    expect(
      await code(
        h.rpc.banChatUser(
          { channelId: c.channelId, userId: c.viewer, durationSeconds: 1_209_601n },
          ownerHeaders,
        ),
      ),
    ).toBe(Code.InvalidArgument);

    expect(
      (await h.rpc.unbanChatUser({ channelId: c.channelId, userId: c.viewer }, ownerHeaders))
        .wasBanned,
    ).toBe(true);
    expect(
      (await h.rpc.unbanChatUser({ channelId: c.channelId, userId: c.viewer }, ownerHeaders))
        .wasBanned,
    ).toBe(false);
    expect((await c.send()).ok).toBe(true);
  });

  it('answers NOT_FOUND for unknown channels and UNAUTHENTICATED for moderation without a token', async () => {
    expect(await code(h.rpc.getChatSettings({ channelId: ulid() }))).toBe(Code.NotFound);
    expect(await code(h.rpc.setChatSettings({ channelId: ulid(), slowModeSeconds: 1 }))).toBe(
      Code.Unauthenticated,
    );
  });
});

if (!targets.some((t) => t.name === 'postgres')) {
  describe.skip(`realtime chat on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs when TEST_DATABASE_URL is set', () => {});
  });
}
