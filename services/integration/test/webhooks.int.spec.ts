/**
 * The webhook receiver against a real database: signed Twitch and Kick deliveries change the
 * channel's live state and append StreamWentOnline / StreamWentOffline (offline at the detection
 * instant, as Twitch gives none) in one transaction with the dedupe row and the log row; replays,
 * stale, unsigned, badly signed, wrong-content-type and body/type-mismatched deliveries are refused
 * (or acknowledged, for replays) with their verdict logged and nothing else changed.
 */
import { createSign } from 'node:crypto';
import { fromBinary } from '@bufbuild/protobuf';
import {
  PredictionBeganSchema,
  StreamWentOfflineSchema,
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

function twitchDelivery(
  nowMs: number,
  type: 'notification' | 'webhook_callback_verification' | 'revocation',
  body: unknown,
  id = crypto.randomUUID(),
) {
  const raw = encoder.encode(JSON.stringify(body));
  const timestamp = new Date(nowMs).toISOString();
  return {
    headers: {
      'content-type': 'application/json',
      'twitch-eventsub-message-id': id,
      'twitch-eventsub-message-timestamp': timestamp,
      'twitch-eventsub-message-type': type,
      'twitch-eventsub-message-signature': twitchSignature(
        devTwitchWebhookSecret,
        id,
        timestamp,
        raw,
      ),
    } as Record<string, string>,
    body: raw,
  };
}

const sub = (type: string, broadcaster: string) => ({
  id: `sub-${type}`,
  status: 'enabled',
  type,
  version: '1',
  condition: { broadcaster_user_id: broadcaster },
  transport: { method: 'webhook', callback: 'https://example.com/webhooks/twitch' },
  created_at: '2026-12-07T00:00:00Z',
});

async function outbox(t: IntegrationTestParts) {
  const rows = await t.store.sql.query<{ type: string; payload: Uint8Array; key: string }>(
    'SELECT type, payload, key FROM outbox ORDER BY seq',
  );
  return rows.rows;
}

async function linkTwitch(t: IntegrationTestParts, userId: string, broadcaster: string) {
  const begun = await t.links.begin({ userId, admin: false }, 'TWITCH', 'http://localhost:5173/cb');
  const code = t.fakes.consent(begun.authorizeUrl, {
    id: broadcaster,
    login: `user${broadcaster}`,
    displayName: `User ${broadcaster}`,
  });
  return t.links.linkOAuth({ userId, admin: false }, 'TWITCH', code, begun.state);
}

describe.each(sqlTargets().map((t) => [t.name, t] as const))('webhooks on %s', (_name, target) => {
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

  it('stream.online then stream.offline: live state, events at the detection instant, replay without effect', async () => {
    const { t, clock, dispose } = await setup();
    try {
      const channel = await linkTwitch(t, nextUlid(), '1337');
      const before = (await outbox(t)).length;
      const online = twitchDelivery(clock.now(), 'notification', {
        subscription: sub('stream.online', '1337'),
        event: {
          id: '9001',
          broadcaster_user_id: '1337',
          type: 'live',
          started_at: new Date(clock.now() - 5000).toISOString(),
        },
      });
      expect((await t.receiver.twitch(online.headers, online.body)).status).toBe(200);
      expect((await t.store.channel(channel.channelId))?.liveState).toBe('LIVE');

      clock.advance(60_000);
      const offlineAt = clock.now();
      const offline = twitchDelivery(offlineAt, 'notification', {
        subscription: sub('stream.offline', '1337'),
        event: { broadcaster_user_id: '1337', broadcaster_user_login: 'user1337' },
      });
      expect((await t.receiver.twitch(offline.headers, offline.body)).status).toBe(200);
      const events = (await outbox(t)).slice(before);
      expect(events.map((e) => e.type)).toEqual([
        'streambet.events.v1.StreamWentOnline',
        'streambet.events.v1.StreamWentOffline',
      ]);
      const ended = fromBinary(StreamWentOfflineSchema, events[1]!.payload);
      expect(ended.endedAtMs).toBe(BigInt(offlineAt));
      expect(ended.platformStreamId).toBe('9001');
      expect(events[1]!.key).toBe(channel.channelId);

      // The same message again: acknowledged, nothing else changes.
      clock.advance(1000);
      const replay = await t.receiver.twitch(offline.headers, offline.body);
      expect(replay.status).toBe(204);
      expect(replay.verdict).toBe('replayed');
      expect((await outbox(t)).length).toBe(before + 2);
      expect((await t.store.webhookLog('twitch')).map((l) => l.verdict)).toEqual([
        'accepted',
        'accepted',
        'replayed',
      ]);
    } finally {
      await dispose();
    }
  });

  it('refuses stale (10 min + 1 ms), unsigned, badly signed and non-JSON deliveries, changing nothing but the log', async () => {
    const { t, clock, dispose } = await setup();
    try {
      const channel = await linkTwitch(t, nextUlid(), '42');
      const before = (await outbox(t)).length;
      const body = {
        subscription: sub('stream.online', '42'),
        event: {
          id: '1',
          broadcaster_user_id: '42',
          type: 'live',
          started_at: new Date(clock.now()).toISOString(),
        },
      };
      const sentAt = clock.now();
      const stale = twitchDelivery(sentAt, 'notification', body);
      clock.set(sentAt + 10 * 60_000 + 1);
      expect((await t.receiver.twitch(stale.headers, stale.body)).verdict).toBe('stale');

      const unsigned = twitchDelivery(clock.now(), 'notification', body);
      delete unsigned.headers['twitch-eventsub-message-signature'];
      expect((await t.receiver.twitch(unsigned.headers, unsigned.body)).status).toBe(403);

      const forged = twitchDelivery(clock.now(), 'notification', body);
      forged.headers['twitch-eventsub-message-signature'] = `sha256=${'0'.repeat(64)}`;
      expect((await t.receiver.twitch(forged.headers, forged.body)).verdict).toBe('bad_signature');

      const plain = twitchDelivery(clock.now(), 'notification', body);
      plain.headers['content-type'] = 'text/plain';
      expect((await t.receiver.twitch(plain.headers, plain.body)).status).toBe(415);

      expect((await outbox(t)).length).toBe(before);
      expect((await t.store.channel(channel.channelId))?.liveState).toBe('UNKNOWN');
      expect((await t.store.webhookLog('twitch')).map((l) => l.verdict)).toEqual([
        'stale',
        'unsigned',
        'bad_signature',
        'wrong_content_type',
      ]);
      expect(t.verdicts.map((v) => v.verdict)).toEqual([
        'stale',
        'unsigned',
        'bad_signature',
        'wrong_content_type',
      ]);

      // Exactly 10 minutes old is still fresh.
      const edge = twitchDelivery(clock.now() - 10 * 60_000, 'notification', body);
      expect((await t.receiver.twitch(edge.headers, edge.body)).verdict).toBe('accepted');
      expect((await t.store.channel(channel.channelId))?.liveState).toBe('LIVE');
    } finally {
      await dispose();
    }
  });

  it('answers the challenge as text/plain and turns a revocation into REAUTH_REQUIRED', async () => {
    const { t, clock, dispose } = await setup();
    try {
      const channel = await linkTwitch(t, nextUlid(), '77');
      const challenge = twitchDelivery(clock.now(), 'webhook_callback_verification', {
        challenge: 'pogchamp-kappa-360noscope-vohiyo',
        subscription: {
          ...sub('stream.offline', '77'),
          status: 'webhook_callback_verification_pending',
        },
      });
      const answer = await t.receiver.twitch(challenge.headers, challenge.body);
      expect(answer).toMatchObject({
        status: 200,
        contentType: 'text/plain',
        body: 'pogchamp-kappa-360noscope-vohiyo',
      });

      const revoked = twitchDelivery(clock.now(), 'revocation', {
        subscription: { ...sub('stream.offline', '77'), status: 'authorization_revoked' },
      });
      expect((await t.receiver.twitch(revoked.headers, revoked.body)).status).toBe(204);
      const after = await t.store.channel(channel.channelId);
      expect(after?.linkStatus).toBe('REAUTH_REQUIRED');
      expect(after?.reauthReason).toMatch(/authorization_revoked/);
    } finally {
      await dispose();
    }
  });

  it('mirrors prediction.begin only when the channel turned mirroring on', async () => {
    const { t, clock, dispose } = await setup();
    try {
      const owner = nextUlid();
      const channel = await linkTwitch(t, owner, '555');
      const begin = (id: string) =>
        twitchDelivery(clock.now(), 'notification', {
          subscription: sub('channel.prediction.begin', '555'),
          event: {
            id,
            broadcaster_user_id: '555',
            title: 'Win the next round?',
            outcomes: [
              { id: 'o1', title: 'Yes', color: 'blue' },
              { id: 'o2', title: 'No', color: 'pink' },
            ],
            started_at: new Date(clock.now()).toISOString(),
            locks_at: new Date(clock.now() + 120_000).toISOString(),
          },
        });
      const before = (await outbox(t)).length;
      const off = begin('p1');
      await t.receiver.twitch(off.headers, off.body);
      expect((await outbox(t)).length).toBe(before);

      await t.links.updateSettings({ userId: owner, admin: false }, channel.channelId, {
        mirror: true,
        offlineLockPolicy: undefined,
        pushMarketsToTwitch: undefined,
      });
      const on = begin('p2');
      await t.receiver.twitch(on.headers, on.body);
      const events = (await outbox(t)).slice(before);
      expect(events.map((e) => e.type)).toEqual([
        'streambet.events.v1.ChannelIntegrationSettingsChanged',
        'streambet.events.v1.PredictionBegan',
      ]);
      const began = fromBinary(PredictionBeganSchema, events[1]!.payload);
      expect(began).toMatchObject({ predictionId: 'p2', title: 'Win the next round?' });
      expect(began.outcomes.map((o) => o.outcomeId)).toEqual(['o1', 'o2']);
    } finally {
      await dispose();
    }
  });

  it('Kick: signed livestream.status.updated goes offline; a body of another type is refused', async () => {
    const { t, clock, dispose } = await setup();
    try {
      const userId = nextUlid();
      const begun = await t.links.begin(
        { userId, admin: false },
        'KICK',
        'http://localhost:5173/cb',
      );
      const code = t.fakes.consent(begun.authorizeUrl, {
        id: '9090',
        login: 'kicker',
        displayName: 'Kicker',
      });
      const channel = await t.links.linkOAuth({ userId, admin: false }, 'KICK', code, begun.state);
      const deliver = (type: string, body: unknown, id = crypto.randomUUID()) => {
        const raw = JSON.stringify(body);
        const timestamp = new Date(clock.now()).toISOString();
        const signature = createSign('RSA-SHA256')
          .update(`${id}.${timestamp}.${raw}`)
          .sign(devKickPrivateKeyPem, 'base64');
        return t.receiver.kick(
          {
            'content-type': 'application/json',
            'kick-event-message-id': id,
            'kick-event-message-timestamp': timestamp,
            'kick-event-type': type,
            'kick-event-signature': signature,
          },
          encoder.encode(raw),
        );
      };
      const live = {
        broadcaster: { user_id: 9090, username: 'kicker' },
        is_live: true,
        title: 'hi',
        started_at: new Date(clock.now()).toISOString(),
      };
      expect((await deliver('livestream.status.updated', live)).verdict).toBe('accepted');
      expect((await t.store.channel(channel.channelId))?.liveState).toBe('LIVE');
      const mismatch = await deliver('livestream.status.updated', {
        message_id: 'x',
        content: 'gg',
        sender: { user_id: 1 },
      });
      expect(mismatch).toMatchObject({ status: 403, verdict: 'type_mismatch' });
      const before = (await outbox(t)).length;
      const endedAt = clock.now() - 3000;
      expect(
        (
          await deliver('livestream.status.updated', {
            ...live,
            is_live: false,
            ended_at: new Date(endedAt).toISOString(),
          })
        ).verdict,
      ).toBe('accepted');
      const events = (await outbox(t)).slice(before);
      expect(events.map((e) => e.type)).toEqual(['streambet.events.v1.StreamWentOffline']);
      expect(fromBinary(StreamWentOfflineSchema, events[0]!.payload).endedAtMs).toBe(
        BigInt(endedAt),
      );
    } finally {
      await dispose();
    }
  });
});
