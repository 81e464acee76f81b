/**
 * Pushing StreamBet markets to Twitch as Channel Points predictions, against the Twitch fake's
 * Helix predictions endpoints and a real database: the setting needs a Twitch link granted
 * channel:manage:predictions; MarketOpened creates the prediction (once, under redelivery),
 * MarketLocked locks it, MarketResolved resolves it with the mapped winning outcome,
 * MarketCanceled cancels it; a market beyond Twitch's limits, or a second one while one is
 * active, is skipped with the reason on GetChannel's push_note; Twitch down → retried.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  MarketLockedSchema,
  MarketOpenedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { manualClock } from '@streambet/testkit/clock';
import { nextUlid } from '@streambet/testkit/ids';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { describe, expect, it } from 'vitest';
import { createIntegrationTestService, type IntegrationTestParts } from '../src/testing.js';

const me = (userId: string) => ({ userId, admin: false });

async function link(
  t: IntegrationTestParts,
  userId: string,
  platform: 'TWITCH' | 'KICK',
  id: string,
) {
  const begun = await t.links.begin(me(userId), platform, 'http://localhost:5173/cb');
  const code = t.fakes.consent(begun.authorizeUrl, { id, login: `u${id}`, displayName: `U ${id}` });
  return t.links.linkOAuth(me(userId), platform, code, begun.state);
}

function envelope(type: 'opened' | 'locked', marketId: string, channelId: string) {
  const payload =
    type === 'opened'
      ? toBinary(MarketOpenedSchema, create(MarketOpenedSchema, { marketId, channelId }))
      : toBinary(MarketLockedSchema, create(MarketLockedSchema, { marketId, channelId }));
  return {
    id: nextUlid(),
    type: type === 'opened' ? MarketOpenedSchema.typeName : MarketLockedSchema.typeName,
    topic: 'market',
    key: marketId,
    payload,
    headers: {},
    occurredAtMs: 0,
  };
}

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'push to Twitch on %s',
  (_n, target) => {
    async function setup() {
      const db = await target.create();
      const t = await createIntegrationTestService({
        sql: db.sql,
        tokens: await createTestTokens(),
        clock: manualClock(),
      });
      return {
        t,
        dispose: async () => {
          await t.close();
          await db.dispose();
        },
      };
    }

    it('creates, locks and resolves a prediction; skips what Twitch cannot carry, with the reason', async () => {
      const { t, dispose } = await setup();
      try {
        const owner = nextUlid();
        const tw = await link(t, owner, 'TWITCH', '42');
        const settings = {
          mirror: undefined,
          offlineLockPolicy: undefined,
          pushMarketsToTwitch: true,
        };
        const kickOnly = await link(t, nextUlid(), 'KICK', '43');
        await expect(
          t.links.updateSettings(
            { userId: kickOnly.ownerUserId, admin: false },
            kickOnly.channelId,
            settings,
          ),
        ).rejects.toThrow(/channel:manage:predictions/);
        expect(
          (await t.links.updateSettings(me(owner), tw.channelId, settings)).pushMarketsToTwitch,
        ).toBe(true);
        const channelId = tw.streambetChannelId;
        const market = (title: string, outcomes: string[], windowSeconds = 120) => ({
          channelId,
          title,
          outcomes,
          outcomeIds: outcomes.map((_, i) => `o${i}`),
          windowSeconds,
          twitchPredictionId: '',
        });
        t.markets.set('m1', market('Boss down first try?', ['Yes', 'No']));
        // Delivered twice (redelivery): one prediction.
        await t.pusher.consumer.handleIdempotently(envelope('opened', 'm1', channelId));
        await t.pusher.consumer.handleIdempotently(envelope('opened', 'm1', channelId));
        const onTwitch = [...t.fakes.twitchPredictions.values()];
        expect(onTwitch).toHaveLength(1);
        expect(onTwitch[0]).toMatchObject({
          broadcaster_id: '42',
          title: 'Boss down first try?',
          prediction_window: 120,
          status: 'ACTIVE',
        });
        // One active per channel: the second market is skipped, the reason visible on GetChannel.
        t.markets.set('m2', market('Second one', ['A', 'B']));
        await t.pusher.opened('m2', channelId);
        expect(t.fakes.twitchPredictions.size).toBe(1);
        let got = await t.integration.getChannel({ channelId });
        expect(got.channel?.pushNote).toMatch(
          /m2: not pushed to Twitch: another pushed prediction/,
        );
        // Limits.
        t.markets.set('m3', market('x'.repeat(46), ['A', 'B']));
        await t.pusher.opened('m3', channelId);
        got = await t.integration.getChannel({ channelId });
        expect(got.channel?.pushNote).toMatch(/title longer than 45/);

        await t.pusher.consumer.handleIdempotently(envelope('locked', 'm1', channelId));
        expect(onTwitch[0]?.status).toBe('LOCKED');
        await t.pusher.advance('m1', channelId, 'RESOLVED', 'o1');
        await t.pusher.advance('m1', channelId, 'RESOLVED', 'o1');
        expect(onTwitch[0]?.status).toBe('RESOLVED');
        expect(onTwitch[0]?.winning_outcome_id).toBe(onTwitch[0]?.outcomes[1]?.id);

        // Twitch down: the push throws (the bus retries) and leaves no claim; then it goes through.
        t.markets.set('m4', market('After the outage', ['A', 'B', 'C'], 1800));
        t.fakes.setDown('twitch', true);
        await expect(t.pusher.opened('m4', channelId)).rejects.toThrow(/TWITCH answered 503/);
        t.fakes.setDown('twitch', false);
        await t.pusher.opened('m4', channelId);
        const m4 = [...t.fakes.twitchPredictions.values()].find(
          (p) => p.title === 'After the outage',
        );
        expect(m4?.outcomes.map((o) => o.title)).toEqual(['A', 'B', 'C']);
        expect((await t.integration.getChannel({ channelId })).channel?.pushNote).toBe('');
        await t.pusher.advance('m4', channelId, 'CANCELED');
        expect(m4?.status).toBe('CANCELED');
      } finally {
        await dispose();
      }
    });
  },
);
