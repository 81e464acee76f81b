/**
 * End to end on the embedded platform (real ports, fake Twitch inside the integration service): a
 * viewer links a Twitch channel through the gateway (BeginChannelLink → the platform's consent
 * redirect → LinkChannel) and becomes a streamer; they open a market with auto-lock on offline;
 * signed EventSub deliveries at the gateway's /webhooks/twitch take the channel live and then
 * offline, and the pool locks the market retroactively at the offline instant. A badly signed
 * delivery at the gateway changes nothing.
 */
import { createClient, type Client } from '@connectrpc/connect';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  IntegrationService,
  LiveState,
} from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import {
  MarketKind,
  MarketLockReason,
  MarketState,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@streambet/gateway/embedded-platform';
import { createSeedKit, serviceTokensFrom, type SeedKit } from '@streambet/gateway/seed';
import { generateServiceKeys } from '@streambet/platform/auth/tokens';
import { servicePorts } from '@streambet/platform/runtime/platform-config';
import { pgliteTemplate } from '@streambet/testkit/sql';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSign } from 'node:crypto';
import { devKickPrivateKeyPem, devTwitchWebhookSecret, twitchSignature } from '../src/testing.js';

let platform: EmbeddedPlatform;
let kit: SeedKit;
let integration: Client<typeof IntegrationService>;

beforeAll(async () => {
  const pair = await generateServiceKeys(Object.keys(servicePorts));
  platform = await startEmbeddedPlatform({
    ports: 'free',
    env: { LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent' },
    template: await pgliteTemplate(),
    keys: { servicePrivateJwks: pair.privateJwks, servicePublicJwks: pair.publicJwks },
  });
  kit = createSeedKit({
    gatewayUrl: platform.gatewayUrl,
    userServiceUrl: platform.serviceUrls.get('user')!,
    serviceToken: serviceTokensFrom(pair.privateJwks),
    bus: platform.bus,
  });
  integration = createClient(IntegrationService, kit.connect);
}, 180_000);

afterAll(async () => {
  await platform?.shutdown();
});

/** Polls `read` until `done` holds (bounded): events cross the bus asynchronously. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const value = await read();
      if (done(value) || attempt >= 400) return value;
    } catch (error) {
      if (attempt >= 400) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function delivery(type: string, event: Record<string, unknown>, sentAtMs = Date.now()) {
  const id = crypto.randomUUID();
  const timestamp = new Date(sentAtMs).toISOString();
  const body = JSON.stringify({
    subscription: {
      id: `sub-${type}`,
      type,
      version: '1',
      status: 'enabled',
      condition: { broadcaster_user_id: String(event.broadcaster_user_id) },
      transport: { method: 'webhook', callback: `${platform.gatewayUrl}/webhooks/twitch` },
      created_at: timestamp,
    },
    event,
  });
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'twitch-eventsub-message-id': id,
      'twitch-eventsub-message-timestamp': timestamp,
      'twitch-eventsub-message-type': 'notification',
      'twitch-eventsub-message-signature': twitchSignature(
        devTwitchWebhookSecret,
        id,
        timestamp,
        new TextEncoder().encode(body),
      ),
    },
    body,
  };
}

it('a signed stream.offline at the gateway locks the auto-lock market at the offline instant', async () => {
  const viewer = await kit.register('e2e-streamer@example.com', 'E2E_Streamer');
  const redirectUri = 'http://localhost:5173/streamer/link';
  const begun = await integration.beginChannelLink(
    { platform: Platform.TWITCH, redirectUri },
    { headers: viewer.headers },
  );
  const consent = await fetch(`${begun.authorizeUrl}&fake_user_id=4242&fake_login=e2e_streamer`, {
    redirect: 'manual',
  });
  expect(consent.status).toBe(302);
  const back = new URL(consent.headers.get('location') ?? '');
  expect(back.searchParams.get('state')).toBe(begun.state);
  const linked = await integration.linkChannel(
    {
      platform: Platform.TWITCH,
      credential: {
        case: 'oauth',
        value: { code: back.searchParams.get('code') ?? '', state: begun.state },
      },
    },
    { headers: viewer.headers },
  );
  const channelId = linked.channel!.channelId;
  expect(linked.channel?.platformChannelId).toBe('4242');

  // The first link granted ROLE_STREAMER: effective from the next login.
  const login = await kit.users.login({ email: viewer.email, password: 'streambet demo password' });
  const streamer = { authorization: `Bearer ${login.tokens?.accessToken ?? ''}` };
  await eventually(
    () => kit.pool.getChannelSettings({ channelId }, { headers: streamer }),
    () => true,
  );
  await kit.pool.updateChannelSettings(
    { channelId, broadcastDelaySeconds: 0 },
    { headers: streamer },
  );
  const created = await kit.pool.createMarket(
    {
      idempotencyKey: 'e2e-auto-lock',
      channelId,
      title: 'Does the stream end before the boss dies?',
      outcomes: [{ title: 'Yes' }, { title: 'No' }],
      currency: 'PTS',
      kind: MarketKind.POOL,
      bettingWindowSeconds: 1800,
      autoLockOnOffline: true,
      openNow: true,
    },
    { headers: streamer },
  );
  const marketId = created.market!.marketId;
  expect(created.market?.state).toBe(MarketState.OPEN);

  const online = await fetch(
    `${platform.gatewayUrl}/webhooks/twitch`,
    delivery('stream.online', {
      id: '777',
      broadcaster_user_id: '4242',
      broadcaster_user_login: 'e2e_streamer',
      type: 'live',
      started_at: new Date().toISOString(),
    }),
  );
  expect(online.status).toBe(200);
  const live = await integration.getChannel({ channelId });
  expect(live.channel?.liveState).toBe(LiveState.LIVE);

  // A forged delivery through the gateway: refused, nothing changes.
  const forged = delivery('stream.offline', { broadcaster_user_id: '4242' });
  forged.headers['twitch-eventsub-message-signature'] = `sha256=${'ab'.repeat(32)}`;
  expect((await fetch(`${platform.gatewayUrl}/webhooks/twitch`, forged)).status).toBe(403);
  expect((await integration.getChannel({ channelId })).channel?.liveState).toBe(LiveState.LIVE);
  // Counted on the service's /metrics by provider and reason.
  const metrics = await (await fetch(`${platform.serviceUrls.get('integration')!}/metrics`)).text();
  expect(metrics).toMatch(
    /integration_webhook_refusals_total\{provider="twitch",reason="bad_signature",service="integration"\} 1\b/,
  );

  const before = Date.now();
  const offline = await fetch(
    `${platform.gatewayUrl}/webhooks/twitch`,
    delivery('stream.offline', {
      broadcaster_user_id: '4242',
      broadcaster_user_login: 'e2e_streamer',
    }),
  );
  const after = Date.now();
  expect(offline.status).toBe(200);
  const channel = await integration.getChannel({ channelId });
  expect(channel.channel?.liveState).toBe(LiveState.OFFLINE);
  const offlineAt = Number(channel.channel?.liveStateChangedAtMs);
  expect(offlineAt).toBeGreaterThanOrEqual(before);
  expect(offlineAt).toBeLessThanOrEqual(after);

  const locked = await eventually(
    () => kit.pool.getMarket({ marketId }),
    (m) => m.market?.state === MarketState.LOCKED,
  );
  expect(locked.market?.state).toBe(MarketState.LOCKED);
  expect(locked.market?.lockReason).toBe(MarketLockReason.STREAM_OFFLINE);
  // Retroactive: the lock instant is the offline instant (broadcast delay 0), not the commit.
  expect(Number(locked.market?.lockEffectiveAtMs)).toBe(offlineAt);
}, 120_000);

it('a mirrored Twitch prediction opens, locks and resolves a market from signed webhooks at the gateway', async () => {
  const viewer = await kit.register('e2e-predictor@example.com', 'E2E_Predictor');
  const begun = await integration.beginChannelLink(
    { platform: Platform.TWITCH, redirectUri: 'http://localhost:5173/streamer/link' },
    { headers: viewer.headers },
  );
  const consent = await fetch(`${begun.authorizeUrl}&fake_user_id=4343&fake_login=predictor`, {
    redirect: 'manual',
  });
  const code = new URL(consent.headers.get('location') ?? '').searchParams.get('code') ?? '';
  const linked = await integration.linkChannel(
    {
      platform: Platform.TWITCH,
      credential: { case: 'oauth', value: { code, state: begun.state } },
    },
    { headers: viewer.headers },
  );
  const channelId = linked.channel!.channelId;
  const login = await kit.users.login({ email: viewer.email, password: 'streambet demo password' });
  const streamer = { authorization: `Bearer ${login.tokens?.accessToken ?? ''}` };
  const settings = await integration.updateChannelSettings(
    { channelId, mirrorTwitchPredictions: true },
    { headers: streamer },
  );
  expect(settings.channel?.settings?.mirrorTwitchPredictions).toBe(true);
  await eventually(
    () => kit.pool.getChannelSettings({ channelId }, { headers: streamer }),
    () => true,
  );

  const now = Date.now();
  const base = { broadcaster_user_id: '4343', broadcaster_user_login: 'predictor' };
  const send = async (type: string, event: Record<string, unknown>) =>
    (await fetch(`${platform.gatewayUrl}/webhooks/twitch`, delivery(type, { ...base, ...event })))
      .status;
  expect(
    await send('channel.prediction.begin', {
      id: 'pred-1',
      title: 'First blood?',
      outcomes: [
        { id: 'pred-1-blue', title: 'Us', color: 'blue' },
        { id: 'pred-1-pink', title: 'Them', color: 'pink' },
      ],
      started_at: new Date(now).toISOString(),
      locks_at: new Date(now + 300_000).toISOString(),
    }),
  ).toBe(200);
  const opened = await eventually(
    () => kit.pool.listMarkets({ channelId }, { headers: streamer }),
    (r) => r.markets.some((m) => m.state === MarketState.OPEN),
  );
  const market = opened.markets[0]!;
  expect(market).toMatchObject({
    state: MarketState.OPEN,
    twitchPredictionId: 'pred-1',
    currency: 'PTS',
  });

  expect(
    await send('channel.prediction.lock', { id: 'pred-1', locked_at: new Date().toISOString() }),
  ).toBe(200);
  await eventually(
    () => kit.pool.getMarket({ marketId: market.marketId }),
    (m) => m.market?.state === MarketState.LOCKED,
  );
  expect(
    await send('channel.prediction.end', {
      id: 'pred-1',
      status: 'resolved',
      winning_outcome_id: 'pred-1-pink',
      ended_at: new Date().toISOString(),
    }),
  ).toBe(200);
  const resolved = await eventually(
    () => kit.pool.getMarket({ marketId: market.marketId }),
    (m) => m.market?.state === MarketState.RESOLVED,
  );
  expect(resolved.market?.state).toBe(MarketState.RESOLVED);
  expect(resolved.market?.winningOutcomeId).toBe(
    market.outcomes.find((o) => o.twitchOutcomeId === 'pred-1-pink')?.outcomeId,
  );
}, 120_000);

/** Links the caller's `platform` account `id` through the fake's consent redirect. */
async function linkThroughFake(
  headers: Record<string, string>,
  platformEnum: Platform,
  id: string,
  login: string,
) {
  const begun = await integration.beginChannelLink(
    { platform: platformEnum, redirectUri: 'http://localhost:5173/streamer/link' },
    { headers },
  );
  const consent = await fetch(`${begun.authorizeUrl}&fake_user_id=${id}&fake_login=${login}`, {
    redirect: 'manual',
  });
  const back = new URL(consent.headers.get('location') ?? '');
  return integration.linkChannel(
    {
      platform: platformEnum,
      credential: {
        case: 'oauth',
        value: { code: back.searchParams.get('code') ?? '', state: begun.state },
      },
    },
    { headers },
  );
}

function kickDelivery(live: boolean, broadcaster: number, endedAtMs?: number) {
  const id = crypto.randomUUID();
  const timestamp = new Date().toISOString();
  const body = JSON.stringify({
    broadcaster: { user_id: broadcaster, username: `kick${broadcaster}` },
    is_live: live,
    title: 'both platforms',
    started_at: new Date(Date.now() - 60_000).toISOString(),
    ...(endedAtMs === undefined ? {} : { ended_at: new Date(endedAtMs).toISOString() }),
  });
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'kick-event-message-id': id,
      'kick-event-message-timestamp': timestamp,
      'kick-event-type': 'livestream.status.updated',
      'kick-event-signature': createSign('RSA-SHA256')
        .update(`${id}.${timestamp}.${body}`)
        .sign(devKickPrivateKeyPem, 'base64'),
    },
    body,
  };
}

it('one channel on Twitch and Kick: the market locks when the last platform goes offline, at its end', async () => {
  const user = await kit.register('e2e-both@example.com', 'E2E_Both');
  const twitchLink = await linkThroughFake(user.headers, Platform.TWITCH, '5151', 'both_tw');
  const kickLink = await linkThroughFake(user.headers, Platform.KICK, '6161', 'both_kick');
  const channelId = twitchLink.channel!.channelId;
  expect(kickLink.channel?.channelId).toBe(channelId);
  expect(kickLink.channel?.linkId).not.toBe(channelId);
  const login = await kit.users.login({ email: user.email, password: 'streambet demo password' });
  const streamer = { authorization: `Bearer ${login.tokens?.accessToken ?? ''}` };
  await eventually(
    () => kit.pool.getChannelSettings({ channelId }, { headers: streamer }),
    () => true,
  );
  await kit.pool.updateChannelSettings(
    { channelId, broadcastDelaySeconds: 0 },
    { headers: streamer },
  );
  const created = await kit.pool.createMarket(
    {
      idempotencyKey: 'e2e-both-auto-lock',
      channelId,
      title: 'One pool, two platforms?',
      outcomes: [{ title: 'Yes' }, { title: 'No' }],
      currency: 'PTS',
      kind: MarketKind.POOL,
      bettingWindowSeconds: 1800,
      autoLockOnOffline: true,
      openNow: true,
    },
    { headers: streamer },
  );
  const marketId = created.market!.marketId;
  const post = (path: string, init: RequestInit) => fetch(`${platform.gatewayUrl}${path}`, init);
  expect(
    (
      await post(
        '/webhooks/twitch',
        delivery('stream.online', {
          id: '51',
          broadcaster_user_id: '5151',
          type: 'live',
          started_at: new Date().toISOString(),
        }),
      )
    ).status,
  ).toBe(200);
  expect((await post('/webhooks/kick', kickDelivery(true, 6161))).status).toBe(200);
  // Twitch ends: still live on Kick, the market stays open.
  expect(
    (await post('/webhooks/twitch', delivery('stream.offline', { broadcaster_user_id: '5151' })))
      .status,
  ).toBe(200);
  const got = await integration.getChannel({ channelId });
  expect(got.channel?.channelLiveState).toBe(LiveState.LIVE);
  expect(got.links.map((l) => l.liveState)).toEqual([LiveState.OFFLINE, LiveState.LIVE]);
  expect((await kit.pool.getMarket({ marketId })).market?.state).toBe(MarketState.OPEN);
  // Kick ends (it reports its end instant): the market locks retroactively at that instant.
  // (Not before the market opened: a lock never reaches back past the open.)
  const kickEndedAtMs = Math.max(Number(created.market!.openedAtMs) + 1, Date.now() - 500);
  expect((await post('/webhooks/kick', kickDelivery(false, 6161, kickEndedAtMs))).status).toBe(200);
  const locked = await eventually(
    () => kit.pool.getMarket({ marketId }),
    (m) => m.market?.state === MarketState.LOCKED,
  );
  expect(locked.market?.lockReason).toBe(MarketLockReason.STREAM_OFFLINE);
  expect(Number(locked.market?.lockEffectiveAtMs)).toBe(kickEndedAtMs);
}, 120_000);
