/**
 * Linking through the RPCs against the provider fakes and a real database: the OAuth round trip
 * (Twitch; Kick with PKCE) links the authorizing account, publishes ChannelLinked, grants
 * ROLE_STREAMER and subscribes to the platform's events; the state is single use, bound to its
 * user and platform, and expires after 10 minutes; a platform outage answers UNAVAILABLE with retry
 * advice; unlink removes the subscriptions and publishes ChannelUnlinked; a refused token refresh
 * makes the link REAUTH_REQUIRED with the reason; reconciliation recreates missing subscriptions and
 * deletes foreign ones.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  LinkStatus,
  LiveState,
} from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import { manualClock } from '@streambet/testkit/clock';
import { nextUlid } from '@streambet/testkit/ids';
import { asUser } from '@streambet/testkit/rpc';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { describe, expect, it } from 'vitest';
import { createIntegrationTestService } from '../src/testing.js';

async function code(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await call;
  } catch (error) {
    const e = ConnectError.from(error);
    return { code: e.code, message: e.rawMessage };
  }
  throw new Error('call unexpectedly succeeded');
}

const redirectUri = 'http://localhost:5173/streamer/link';

describe.each(sqlTargets().map((t) => [t.name, t] as const))('linking on %s', (_name, target) => {
  async function setup() {
    const db = await target.create();
    const clock = manualClock();
    const tokens = await createTestTokens();
    const granted: string[] = [];
    const t = await createIntegrationTestService({
      sql: db.sql,
      tokens,
      clock,
      grantStreamer: (userId) => {
        granted.push(userId);
        return Promise.resolve();
      },
    });
    return {
      t,
      clock,
      tokens,
      granted,
      dispose: async () => {
        await t.close();
        await db.dispose();
      },
    };
  }

  it('links a Twitch channel by OAuth, once per state, and subscribes to its stream events', async () => {
    const { t, tokens, granted, dispose } = await setup();
    try {
      const alice = nextUlid();
      const as = await asUser(tokens, alice, 'viewer');
      const begun = await t.integration.beginChannelLink(
        { platform: Platform.TWITCH, redirectUri },
        as,
      );
      const authorize = new URL(begun.authorizeUrl);
      expect(authorize.searchParams.get('state')).toBe(begun.state);
      expect(authorize.searchParams.get('scope')).toBe(
        'channel:read:predictions channel:manage:predictions',
      );
      const grant = {
        code: t.fakes.consent(begun.authorizeUrl, {
          id: '1001',
          login: 'alice',
          displayName: 'Alice',
        }),
        state: begun.state,
      };
      const linked = await t.integration.linkChannel(
        { platform: Platform.TWITCH, credential: { case: 'oauth', value: grant } },
        as,
      );
      expect(linked.channel).toMatchObject({
        ownerUserId: alice,
        platformChannelId: '1001',
        handle: 'alice',
        linkStatus: LinkStatus.ACTIVE,
        liveState: LiveState.UNKNOWN,
        channelUrl: 'https://www.twitch.tv/alice',
      });
      expect(granted).toEqual([alice]);
      expect([...t.fakes.twitchSubscriptions.values()].map((s) => s.type).sort()).toEqual([
        'stream.offline',
        'stream.online',
      ]);
      // Tokens are sealed at rest.
      const row = await t.store.channel(linked.channel!.channelId);
      expect(row?.accessTokenSealed).toMatch(/^v1\./);

      // The same state again returns the same link (idempotent); another user is refused.
      const again = await t.integration.linkChannel(
        { platform: Platform.TWITCH, credential: { case: 'oauth', value: grant } },
        as,
      );
      expect(again.channel?.channelId).toBe(linked.channel?.channelId);
      const mallory = await asUser(tokens, nextUlid(), 'viewer');
      expect(
        await code(
          t.integration.linkChannel(
            { platform: Platform.TWITCH, credential: { case: 'oauth', value: grant } },
            mallory,
          ),
        ),
      ).toSatisfy(
        (r: { code: Code; message: string }) =>
          r.code === Code.InvalidArgument && /another user/.test(r.message),
      );

      const events = await t.store.sql.query<{ type: string }>(
        'SELECT type FROM outbox ORDER BY seq',
      );
      expect(events.rows.map((r) => r.type)).toEqual(['streambet.events.v1.ChannelLinked']);

      const listed = await t.integration.listChannels({ query: 'ali' });
      expect(listed.channels.map((c) => c.handle)).toEqual(['alice']);
      const got = await t.integration.getChannel({ channelId: linked.channel!.channelId });
      expect(got.channel?.displayName).toBe('Alice');
    } finally {
      await dispose();
    }
  });

  it('refuses an expired state, a state of another platform and a redirect URI off the allow-list', async () => {
    const { t, clock, tokens, dispose } = await setup();
    try {
      const as = await asUser(tokens, nextUlid(), 'viewer');
      expect(
        (
          await code(
            t.integration.beginChannelLink(
              { platform: Platform.TWITCH, redirectUri: 'https://evil.example/cb' },
              as,
            ),
          )
        ).code,
      ).toBe(Code.InvalidArgument);
      expect(
        (
          await code(
            t.integration.beginChannelLink({ platform: Platform.YOUTUBE, redirectUri }, as),
          )
        ).code,
      ).toBe(Code.InvalidArgument);
      const begun = await t.integration.beginChannelLink(
        { platform: Platform.TWITCH, redirectUri },
        as,
      );
      const grant = {
        code: t.fakes.consent(begun.authorizeUrl, { id: '2002', login: 'bob', displayName: 'Bob' }),
        state: begun.state,
      };
      expect(
        await code(
          t.integration.linkChannel(
            { platform: Platform.KICK, credential: { case: 'oauth', value: grant } },
            as,
          ),
        ),
      ).toSatisfy(
        (r: { code: Code; message: string }) =>
          r.code === Code.InvalidArgument && /TWITCH/.test(r.message),
      );
      clock.set(Number(begun.expiresAtMs) + 1);
      expect(
        await code(
          t.integration.linkChannel(
            { platform: Platform.TWITCH, credential: { case: 'oauth', value: grant } },
            as,
          ),
        ),
      ).toSatisfy(
        (r: { code: Code; message: string }) =>
          r.code === Code.InvalidArgument && /expired/.test(r.message),
      );
      expect(
        (
          await t.store.listChannels({
            ownerUserId: '',
            platform: undefined,
            liveOnly: false,
            query: '',
            offset: 0,
            limit: 10,
          })
        ).length,
      ).toBe(0);
    } finally {
      await dispose();
    }
  });

  it('links Kick with PKCE (the verifier never leaves the server)', async () => {
    const { t, tokens, dispose } = await setup();
    try {
      const as = await asUser(tokens, nextUlid(), 'viewer');
      const begun = await t.integration.beginChannelLink(
        { platform: Platform.KICK, redirectUri },
        as,
      );
      const authorize = new URL(begun.authorizeUrl);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(begun.authorizeUrl).not.toContain('code_verifier');
      const grant = {
        code: t.fakes.consent(begun.authorizeUrl, {
          id: '3003',
          login: 'kicker',
          displayName: 'Kicker',
        }),
        state: begun.state,
      };
      const linked = await t.integration.linkChannel(
        { platform: Platform.KICK, credential: { case: 'oauth', value: grant } },
        as,
      );
      expect(linked.channel).toMatchObject({ platform: Platform.KICK, platformChannelId: '3003' });
      expect([...t.fakes.kickSubscriptions.values()]).toEqual(['3003']);
    } finally {
      await dispose();
    }
  });

  it('answers UNAVAILABLE with retry advice while Twitch is down, and links once it is back', async () => {
    const { t, clock, tokens, dispose } = await setup();
    try {
      const as = await asUser(tokens, nextUlid(), 'viewer');
      t.fakes.setDown('twitch', true);
      const tries = [];
      for (let i = 0; i < 4; i += 1) {
        const begun = await t.integration.beginChannelLink(
          { platform: Platform.TWITCH, redirectUri },
          as,
        );
        const grant = { code: 'whatever', state: begun.state };
        tries.push(
          await code(
            t.integration.linkChannel(
              { platform: Platform.TWITCH, credential: { case: 'oauth', value: grant } },
              as,
            ),
          ),
        );
      }
      expect(tries.map((r) => r.code)).toEqual(Array(4).fill(Code.Unavailable));
      expect(tries[3]?.message).toMatch(/circuit open/);
      expect(tries[3]?.message).toMatch(/retry/i);
      t.fakes.setDown('twitch', false);
      clock.advance(10_001);
      const begun = await t.integration.beginChannelLink(
        { platform: Platform.TWITCH, redirectUri },
        as,
      );
      const grant = {
        code: t.fakes.consent(begun.authorizeUrl, {
          id: '4004',
          login: 'carol',
          displayName: 'Carol',
        }),
        state: begun.state,
      };
      const linked = await t.integration.linkChannel(
        { platform: Platform.TWITCH, credential: { case: 'oauth', value: grant } },
        as,
      );
      expect(linked.channel?.linkStatus).toBe(LinkStatus.ACTIVE);
    } finally {
      await dispose();
    }
  });

  it('unlinks (subscriptions removed, ChannelUnlinked), refresh refusal → REAUTH_REQUIRED, reconciliation', async () => {
    const { t, clock, tokens, dispose } = await setup();
    try {
      const link = async (userId: string, id: string, login: string) => {
        const as = await asUser(tokens, userId, 'streamer');
        const begun = await t.integration.beginChannelLink(
          { platform: Platform.TWITCH, redirectUri },
          as,
        );
        const grant = {
          code: t.fakes.consent(begun.authorizeUrl, { id, login, displayName: login }),
          state: begun.state,
        };
        const linked = await t.integration.linkChannel(
          { platform: Platform.TWITCH, credential: { case: 'oauth', value: grant } },
          as,
        );
        return { as, channelId: linked.channel!.channelId };
      };
      const dave = await link(nextUlid(), '5005', 'dave');
      const erin = await link(nextUlid(), '6006', 'erin');

      // Not the owner: refused.
      expect(
        (await code(t.integration.unlinkChannel({ channelId: dave.channelId }, erin.as))).code,
      ).toBe(Code.PermissionDenied);
      // Mirroring needs a Twitch grant with channel:read:predictions (the fake grants it).
      const mirrored = await t.integration.updateChannelSettings(
        { channelId: erin.channelId, mirrorTwitchPredictions: true },
        erin.as,
      );
      expect(mirrored.channel?.settings?.mirrorTwitchPredictions).toBe(true);

      await t.integration.unlinkChannel(
        { channelId: dave.channelId, reason: 'moving on' },
        dave.as,
      );
      const left = [...t.fakes.twitchSubscriptions.values()];
      expect(left.every((s) => s.condition.broadcaster_user_id === '6006')).toBe(true);
      expect((await code(t.integration.getChannel({ channelId: dave.channelId }))).code).toBe(
        Code.NotFound,
      );
      await t.integration.unlinkChannel({ channelId: dave.channelId }, dave.as); // again: no change
      const types = (
        await t.store.sql.query<{ type: string }>('SELECT type FROM outbox ORDER BY seq')
      ).rows.map((r) => r.type);
      expect(types.filter((x) => x.endsWith('ChannelUnlinked'))).toHaveLength(1);

      // Reconciliation: a subscription Twitch lost is recreated, a foreign one deleted.
      const lost = left.find((s) => s.type === 'stream.offline')!;
      t.fakes.twitchSubscriptions.delete(lost.id);
      t.fakes.twitchSubscriptions.set('foreign', {
        ...lost,
        id: 'foreign',
        condition: { broadcaster_user_id: '999' },
      });
      expect(await t.links.reconcileTwitch()).toEqual({ created: 1, deleted: 1 });
      expect([...t.fakes.twitchSubscriptions.values()].map((s) => s.type).sort()).toEqual([
        'channel.prediction.begin',
        'channel.prediction.end',
        'channel.prediction.lock',
        'stream.offline',
        'stream.online',
      ]);

      // Tokens within 10 minutes of expiry are refreshed; a refused refresh needs a new link.
      clock.advance(14_400_000 - 5 * 60_000);
      expect(await t.links.refreshTokens()).toBe(1);
      clock.advance(14_400_000);
      t.fakes.setRefreshRejected(true);
      await t.links.refreshTokens();
      const erinNow = await t.integration.getChannel({ channelId: erin.channelId });
      expect(erinNow.channel?.linkStatus).toBe(LinkStatus.REAUTH_REQUIRED);
      expect((await t.store.channel(erin.channelId))?.reauthReason).toMatch(
        /link the channel again/,
      );
    } finally {
      await dispose();
    }
  });
});
