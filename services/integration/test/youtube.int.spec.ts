/**
 * YouTube against the fake Data API and a real database: linking by channel id (checked with
 * channels.list; malformed → INVALID_ARGUMENT, unknown → NOT_FOUND, repeat → the same link), then
 * polls driven by a manual clock: the first poll finding the channel offline publishes nothing;
 * a broadcast going live publishes StreamWentOnline at its actual start; its end publishes
 * StreamWentOffline at its actual end; errors back off; only 1-unit endpoints are called. With a
 * Twitch link on the same channel, YouTube joins the aggregate (live on any).
 */
import { fromBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  StreamWentOfflineSchema,
  StreamWentOnlineSchema,
} from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import { manualClock } from '@streambet/testkit/clock';
import { nextUlid } from '@streambet/testkit/ids';
import { sqlTargets } from '@streambet/testkit/sql';
import { asUser } from '@streambet/testkit/rpc';
import { createTestTokens } from '@streambet/testkit/tokens';
import { describe, expect, it } from 'vitest';
import { createIntegrationTestService, type IntegrationTestParts } from '../src/testing.js';

const ytId = 'UC' + 'a'.repeat(21) + 'Q';

async function events(t: IntegrationTestParts) {
  const rows = await t.store.sql.query<{ type: string; payload: Uint8Array; key: string }>(
    'SELECT type, payload, key FROM outbox ORDER BY seq',
  );
  return rows.rows.map((r) => ({ ...r, type: r.type.replace('streambet.events.v1.', '') }));
}

async function poll(t: IntegrationTestParts, linkId: string) {
  const row = await t.store.sql.query<{ next_poll_at_ms: string; error_streak: number }>(
    'SELECT next_poll_at_ms::text AS next_poll_at_ms, error_streak FROM integration_youtube_polls WHERE link_id = $1',
    [linkId],
  );
  return { nextMs: Number(row.rows[0]?.next_poll_at_ms), errors: row.rows[0]?.error_streak };
}

describe.each(sqlTargets().map((t) => [t.name, t] as const))('YouTube on %s', (_name, target) => {
  async function setup() {
    const db = await target.create();
    const clock = manualClock();
    const tokens = await createTestTokens();
    const t = await createIntegrationTestService({ sql: db.sql, tokens, clock });
    return {
      t,
      clock,
      tokens,
      dispose: async () => {
        await t.close();
        await db.dispose();
      },
    };
  }

  it('links by channel id and turns polls into StreamWentOnline / StreamWentOffline', async () => {
    const { t, clock, tokens, dispose } = await setup();
    try {
      t.fakes.youtube.addChannel(ytId, 'Yuki Plays', '@yukiplays');
      const owner = nextUlid();
      const as = await asUser(tokens, owner, 'viewer');
      const code = (p: Promise<unknown>) =>
        p.then(
          () => Code.Unknown,
          (e: unknown) => ConnectError.from(e).code,
        );
      expect(
        await code(
          t.integration.linkChannel(
            {
              platform: Platform.YOUTUBE,
              credential: { case: 'youtubeChannelId', value: 'UCshort' },
            },
            as,
          ),
        ),
      ).toBe(Code.InvalidArgument);
      expect(
        await code(
          t.integration.linkChannel(
            {
              platform: Platform.YOUTUBE,
              credential: { case: 'youtubeChannelId', value: 'UC' + 'b'.repeat(22) },
            },
            as,
          ),
        ),
      ).toBe(Code.NotFound);
      const linked = await t.integration.linkChannel(
        { platform: Platform.YOUTUBE, credential: { case: 'youtubeChannelId', value: ytId } },
        as,
      );
      expect(linked.channel).toMatchObject({
        platform: Platform.YOUTUBE,
        platformChannelId: ytId,
        handle: '@yukiplays',
        displayName: 'Yuki Plays',
        channelUrl: `https://www.youtube.com/channel/${ytId}`,
      });
      const again = await t.integration.linkChannel(
        { platform: Platform.YOUTUBE, credential: { case: 'youtubeChannelId', value: ytId } },
        as,
      );
      expect(again.channel?.linkId).toBe(linked.channel?.linkId);
      const other = await asUser(tokens, nextUlid(), 'viewer');
      expect(
        await code(
          t.integration.linkChannel(
            { platform: Platform.YOUTUBE, credential: { case: 'youtubeChannelId', value: ytId } },
            other,
          ),
        ),
      ).toBe(Code.AlreadyExists);
      const linkId = linked.channel!.linkId;
      const channelId = linked.channel!.channelId;

      // First poll: offline, nothing published (it is not the end of a broadcast).
      const start = (await events(t)).length;
      expect(await t.poller.pollDue()).toBe(1);
      expect((await t.store.channel(linkId))?.liveState).toBe('OFFLINE');
      expect((await events(t)).slice(start)).toEqual([]);
      // Not due again before the interval (60 s minimum, a few channels).
      const first = await poll(t, linkId);
      expect(first.nextMs - clock.now()).toBe(60_000);
      expect(await t.poller.pollDue()).toBe(0);

      // Goes live; the next poll sees it.
      const startedAtMs = clock.now() + 30_000;
      t.fakes.youtube.goLive(ytId, 'Speedrun', startedAtMs);
      clock.set(first.nextMs);
      expect(await t.poller.pollDue()).toBe(1);
      let seen = (await events(t)).slice(start);
      expect(seen.map((e) => [e.type, e.key])).toEqual([['StreamWentOnline', channelId]]);
      expect(fromBinary(StreamWentOnlineSchema, seen[0]!.payload)).toMatchObject({
        platform: Platform.YOUTUBE,
        startedAtMs: BigInt(startedAtMs),
        title: 'Speedrun',
      });
      expect((await t.integration.getChannel({ channelId })).channel?.streamTitle).toBe('Speedrun');

      // An outage: the poll fails and backs off (2× the base), nothing changes.
      t.fakes.youtube.setDown(true);
      clock.set((await poll(t, linkId)).nextMs);
      expect(await t.poller.pollDue()).toBe(1);
      const failed = await poll(t, linkId);
      expect(failed.errors).toBe(1);
      expect(failed.nextMs - clock.now()).toBe(120_000);
      expect((await t.store.channel(linkId))?.liveState).toBe('LIVE');
      t.fakes.youtube.setDown(false);

      // Ends: StreamWentOffline at its actual end.
      const endedAtMs = clock.now() + 1000;
      t.fakes.youtube.endLive(ytId, endedAtMs);
      clock.set(failed.nextMs);
      expect(await t.poller.pollDue()).toBe(1);
      seen = (await events(t)).slice(start);
      expect(seen.map((e) => e.type)).toEqual(['StreamWentOnline', 'StreamWentOffline']);
      expect(fromBinary(StreamWentOfflineSchema, seen[1]!.payload).endedAtMs).toBe(
        BigInt(endedAtMs),
      );
      // Cheap endpoints only.
      expect(t.fakes.youtube.units.get('search')).toBeUndefined();
      expect([...t.fakes.youtube.units.keys()].sort()).toEqual([
        'channels',
        'playlistItems',
        'videos',
      ]);

      // Unlinking stops the polls.
      await t.links.unlink({ userId: owner, admin: false }, linkId, '');
      clock.advance(3_600_000);
      expect(await t.poller.pollDue()).toBe(0);
    } finally {
      await dispose();
    }
  });

  it('joins a Twitch streamer’s channel: live on either, offline when both ended', async () => {
    const { t, clock, dispose } = await setup();
    try {
      t.fakes.youtube.addChannel(ytId, 'Both', '@both');
      const owner = nextUlid();
      const begun = await t.links.begin(
        { userId: owner, admin: false },
        'TWITCH',
        'http://localhost:5173/cb',
      );
      const tw = await t.links.linkOAuth(
        { userId: owner, admin: false },
        'TWITCH',
        t.fakes.consent(begun.authorizeUrl, { id: '77', login: 'both', displayName: 'Both' }),
        begun.state,
      );
      const yt = await t.links.linkYoutube({ userId: owner, admin: false }, ytId);
      expect(yt.streambetChannelId).toBe(tw.channelId);
      await t.poller.pollDue();
      t.fakes.youtube.goLive(ytId, 'Also on YouTube', clock.now());
      clock.advance(60_000);
      const start = (await events(t)).length;
      await t.poller.pollDue();
      expect((await events(t)).slice(start).map((e) => e.type)).toEqual(['StreamWentOnline']);
      expect((await t.store.resolve(tw.channelId))?.channelLiveState).toBe('LIVE');
      t.fakes.youtube.endLive(ytId, clock.now());
      clock.advance(60_000);
      await t.poller.pollDue();
      const seen = (await events(t)).slice(start);
      expect(seen.map((e) => [e.type, e.key])).toEqual([
        ['StreamWentOnline', tw.channelId],
        ['StreamWentOffline', tw.channelId],
      ]);
    } finally {
      await dispose();
    }
  });
});
