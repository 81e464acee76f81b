/**
 * One StreamBet channel across platforms, against a real database: a streamer's Twitch and Kick
 * links share one StreamBet channel (the first link's id); the channel is live when live on any
 * link; StreamWentOffline (what auto-locks markets) is published when the last live link goes
 * offline, or the first, as the channel's offline lock policy says; StreamWentOnline only when the
 * channel goes from not live to live; ChannelUnlinked only when the last link goes.
 */
import { createSign } from 'node:crypto';
import { fromBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  StreamWentOfflineSchema,
  StreamWentOnlineSchema,
} from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import { manualClock } from '@streambet/testkit/clock';
import { nextUlid } from '@streambet/testkit/ids';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { describe, expect, it } from 'vitest';
import {
  createIntegrationTestService,
  devKickPrivateKeyPem,
  devTwitchWebhookSecret,
  twitchSignature,
  type IntegrationTestParts,
} from '../src/testing.js';

const encoder = new TextEncoder();
const me = (userId: string) => ({ userId, admin: false });

async function linkVia(
  t: IntegrationTestParts,
  userId: string,
  platform: 'TWITCH' | 'KICK',
  id: string,
) {
  const begun = await t.links.begin(me(userId), platform, 'http://localhost:5173/cb');
  const code = t.fakes.consent(begun.authorizeUrl, {
    id,
    login: `${platform.toLowerCase()}${id}`,
    displayName: `${platform} ${id}`,
  });
  return t.links.linkOAuth(me(userId), platform, code, begun.state);
}

function twitch(t: IntegrationTestParts, nowMs: number, type: string, broadcaster: string) {
  const id = crypto.randomUUID();
  const timestamp = new Date(nowMs).toISOString();
  const raw = encoder.encode(
    JSON.stringify({
      subscription: {
        id: `sub-${type}`,
        status: 'enabled',
        type,
        version: '1',
        condition: { broadcaster_user_id: broadcaster },
        transport: { method: 'webhook', callback: 'https://example.com/webhooks/twitch' },
        created_at: '2026-12-07T00:00:00Z',
      },
      event:
        type === 'stream.online'
          ? {
              id: 'tw-stream',
              broadcaster_user_id: broadcaster,
              type: 'live',
              started_at: timestamp,
            }
          : { broadcaster_user_id: broadcaster },
    }),
  );
  return t.receiver.twitch(
    {
      'content-type': 'application/json',
      'twitch-eventsub-message-id': id,
      'twitch-eventsub-message-timestamp': timestamp,
      'twitch-eventsub-message-type': 'notification',
      'twitch-eventsub-message-signature': twitchSignature(
        devTwitchWebhookSecret,
        id,
        timestamp,
        raw,
      ),
    },
    raw,
  );
}

function kick(t: IntegrationTestParts, nowMs: number, live: boolean, broadcaster: string) {
  const id = crypto.randomUUID();
  const timestamp = new Date(nowMs).toISOString();
  const raw = JSON.stringify({
    broadcaster: { user_id: Number(broadcaster), username: `kick${broadcaster}` },
    is_live: live,
    title: 'kick stream',
    started_at: new Date(nowMs - 1000).toISOString(),
    ...(live ? {} : { ended_at: timestamp }),
  });
  const signature = createSign('RSA-SHA256')
    .update(`${id}.${timestamp}.${raw}`)
    .sign(devKickPrivateKeyPem, 'base64');
  return t.receiver.kick(
    {
      'content-type': 'application/json',
      'kick-event-message-id': id,
      'kick-event-message-timestamp': timestamp,
      'kick-event-type': 'livestream.status.updated',
      'kick-event-signature': signature,
    },
    encoder.encode(raw),
  );
}

async function events(t: IntegrationTestParts, after: number) {
  const rows = await t.store.sql.query<{ type: string; payload: Uint8Array; key: string }>(
    'SELECT type, payload, key FROM outbox ORDER BY seq',
  );
  return rows.rows.slice(after).map((r) => ({
    type: r.type.replace('streambet.events.v1.', ''),
    key: r.key,
    payload: r.payload,
  }));
}

async function outboxSize(t: IntegrationTestParts) {
  return (await t.store.sql.query('SELECT 1 FROM outbox')).rows.length;
}

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'one channel across platforms on %s',
  (_name, target) => {
    async function setup() {
      const db = await target.create();
      const clock = manualClock();
      const t = await createIntegrationTestService({
        sql: db.sql,
        tokens: await createTestTokens(),
        clock,
      });
      return {
        t,
        clock,
        dispose: async () => {
          await t.close();
          await db.dispose();
        },
      };
    }

    it('a second platform joins the streamer’s channel; a second account of one platform is refused', async () => {
      const { t, dispose } = await setup();
      try {
        const owner = nextUlid();
        const first = await linkVia(t, owner, 'TWITCH', '100');
        const second = await linkVia(t, owner, 'KICK', '200');
        expect(first.streambetChannelId).toBe(first.channelId);
        expect(second.streambetChannelId).toBe(first.channelId);
        expect(second.channelId).not.toBe(first.channelId);
        const linked = await events(t, 0);
        expect(linked.filter((e) => e.type === 'ChannelLinked').map((e) => e.key)).toEqual([
          first.channelId,
          first.channelId,
        ]);
        await expect(linkVia(t, owner, 'KICK', '201')).rejects.toThrow(/already has the KICK/);
        const other = await linkVia(t, nextUlid(), 'KICK', '300');
        expect(other.streambetChannelId).toBe(other.channelId);

        // Unlinking one link keeps the channel; the last link takes it (ChannelUnlinked).
        const before = await outboxSize(t);
        await t.links.unlink(me(owner), first.channelId, '');
        expect((await events(t, before)).map((e) => e.type)).toEqual([]);
        // The channel id now addresses its earliest link still linked.
        const rest = await t.store.resolve(first.channelId);
        expect(rest?.channelId).toBe(second.channelId);
        expect((await t.store.channel(first.channelId))?.linkStatus).toBe('UNLINKED');
        expect(
          (await t.store.linksOf(t.store.sql, first.channelId)).map((l) => l.platform),
        ).toEqual(['KICK']);
        await t.links.unlink(me(owner), second.channelId, '');
        expect((await events(t, before)).map((e) => [e.type, e.key])).toEqual([
          ['ChannelUnlinked', first.channelId],
        ]);
        // Linking again later reuses the streamer's channel id (the pool relinks it).
        const again = await linkVia(t, owner, 'TWITCH', '100');
        expect(again.streambetChannelId).toBe(first.channelId);
      } finally {
        await dispose();
      }
    });

    it('policy last: live on any; offline only when the last live link ends, at its end instant', async () => {
      const { t, clock, dispose } = await setup();
      try {
        const owner = nextUlid();
        const tw = await linkVia(t, owner, 'TWITCH', '100');
        await linkVia(t, owner, 'KICK', '200');
        const channelId = tw.channelId;
        const start = await outboxSize(t);
        await twitch(t, clock.now(), 'stream.online', '100');
        clock.advance(1000);
        await kick(t, clock.now(), true, '200');
        // Only the first platform going live makes the channel go live.
        let seen = await events(t, start);
        expect(seen.map((e) => [e.type, e.key])).toEqual([['StreamWentOnline', channelId]]);
        expect(fromBinary(StreamWentOnlineSchema, seen[0]!.payload).platform).toBe(1);
        expect((await t.store.resolve(channelId))?.channelLiveState).toBe('LIVE');

        clock.advance(60_000);
        await twitch(t, clock.now(), 'stream.offline', '100');
        seen = await events(t, start);
        expect(seen).toHaveLength(1);
        expect((await t.store.resolve(channelId))?.channelLiveState).toBe('LIVE');

        clock.advance(30_000);
        const kickEndMs = clock.now();
        await kick(t, kickEndMs, false, '200');
        seen = await events(t, start);
        expect(seen.map((e) => e.type)).toEqual(['StreamWentOnline', 'StreamWentOffline']);
        const offline = fromBinary(StreamWentOfflineSchema, seen[1]!.payload);
        expect(offline.channelId).toBe(channelId);
        expect(offline.endedAtMs).toBe(BigInt(kickEndMs));
        expect((await t.store.resolve(channelId))?.channelLiveState).toBe('OFFLINE');

        // Back online on Kick: the channel goes live again, once.
        clock.advance(1000);
        await kick(t, clock.now(), true, '200');
        await twitch(t, clock.now(), 'stream.online', '100');
        expect((await events(t, start)).map((e) => e.type)).toEqual([
          'StreamWentOnline',
          'StreamWentOffline',
          'StreamWentOnline',
        ]);
      } finally {
        await dispose();
      }
    });

    it('policy first (UpdateChannelSettings): the first live link going offline locks', async () => {
      const { t, clock, dispose } = await setup();
      try {
        const owner = nextUlid();
        const tw = await linkVia(t, owner, 'TWITCH', '100');
        const kk = await linkVia(t, owner, 'KICK', '200');
        const updated = await t.links.updateSettings(me(owner), kk.channelId, {
          mirror: undefined,
          offlineLockPolicy: 'first',
          pushMarketsToTwitch: undefined,
        });
        expect(updated.offlineLockPolicy).toBe('first');
        expect((await t.store.channel(tw.channelId))?.offlineLockPolicy).toBe('first');
        const start = await outboxSize(t);
        expect((await events(t, start - 1)).map((e) => e.type)).toEqual([
          'ChannelIntegrationSettingsChanged',
        ]);
        await kick(t, clock.now(), true, '200');
        await twitch(t, clock.now(), 'stream.online', '100');
        clock.advance(10_000);
        const twitchEndMs = clock.now();
        await twitch(t, twitchEndMs, 'stream.offline', '100');
        let seen = await events(t, start);
        expect(seen.map((e) => e.type)).toEqual(['StreamWentOnline', 'StreamWentOffline']);
        expect(fromBinary(StreamWentOfflineSchema, seen[1]!.payload)).toMatchObject({
          channelId: tw.channelId,
          platform: 1,
          endedAtMs: BigInt(twitchEndMs),
        });
        // The channel is still live on Kick; Kick ending later publishes again (nothing left
        // open to lock by then, but the rule is the rule).
        expect((await t.store.resolve(tw.channelId))?.channelLiveState).toBe('LIVE');
        await kick(t, clock.now(), false, '200');
        seen = await events(t, start);
        expect(seen.map((e) => e.type)).toEqual([
          'StreamWentOnline',
          'StreamWentOffline',
          'StreamWentOffline',
        ]);
      } finally {
        await dispose();
      }
    });

    it('GetChannel lists every link of the channel; settings RPC validates the policy', async () => {
      const { t, dispose } = await setup();
      try {
        const owner = nextUlid();
        const tw = await linkVia(t, owner, 'TWITCH', '100');
        const kk = await linkVia(t, owner, 'KICK', '200');
        const got = await t.integration.getChannel({ channelId: kk.channelId });
        expect(got.channel).toMatchObject({ channelId: tw.channelId, linkId: kk.channelId });
        expect(got.links.map((l) => l.linkId)).toEqual([tw.channelId, kk.channelId]);
        const byChannel = await t.integration.getChannel({ channelId: tw.channelId });
        expect(byChannel.channel?.linkId).toBe(tw.channelId);
        const error = await t.integration
          .getChannel({ channelId: 'nope' })
          .catch((e: unknown) => ConnectError.from(e));
        expect((error as ConnectError).code).toBe(Code.InvalidArgument);
      } finally {
        await dispose();
      }
    });
  },
);
