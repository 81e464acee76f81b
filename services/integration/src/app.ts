import { randomBytes } from 'node:crypto';
import { Counter } from 'prom-client';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { IntegrationService } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import { PoolService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import { serviceUrl } from '@streambet/platform/runtime/platform-config';
import type { IntegrationConfig } from './config.js';
import { devKickPublicKeyPem, devTokenKey, devTwitchWebhookSecret } from './fakes/dev-keys.js';
import { startProviderFakes, type ProviderFakes } from './fakes/platform-fakes.js';
import { createLinkService } from './links.js';
import { integrationMigrations } from './migrations/index.js';
import { createPlatformApis } from './platforms.js';
import { createPredictionPusher } from './push.js';
import { integrationPolicy } from './policy.js';
import { createIntegrationServiceImpl } from './routes.js';
import { createIntegrationStore } from './store.js';
import { createMaintenanceTask } from './task.js';
import { createTokenCipher } from './token-crypto.js';
import { webhookRoute } from './webhooks/http.js';
import { createWebhookReceiver } from './webhooks/receiver.js';
import { createYoutubeApi } from './youtube-api.js';
import {
  createYoutubePollTask,
  createYoutubePoller,
  createYoutubeQuota,
} from './youtube-poller.js';
import { refusalVerdicts } from './domain/webhook.js';

/**
 * The integration service: linked channels on Twitch and Kick (OAuth link, unlink, settings), the
 * platforms' webhooks (`/webhooks/twitch`, `/webhooks/kick`, verified on the raw body, deduped,
 * logged) turned into integration.* events through the outbox, and a maintenance task that
 * refreshes tokens, reconciles EventSub subscriptions and prunes the dedupe table.
 */
export const integrationService: ServiceDefinition<IntegrationConfig> = {
  name: 'integration',
  migrations: integrationMigrations,
  async create(ctx) {
    const { config, clock, logger } = ctx;
    const fake =
      config.INTEGRATION_PROVIDERS === 'fake' ||
      (config.INTEGRATION_PROVIDERS === 'auto' && config.STREAMBET_MODE === 'embedded');
    const fakes: ProviderFakes | undefined = fake ? await startProviderFakes() : undefined;
    // Development keys only when embedded; in cluster mode an unset one leaves that part off.
    const embedded = config.STREAMBET_MODE === 'embedded';
    const twitchSecret =
      config.INTEGRATION_TWITCH_WEBHOOK_SECRET || (embedded ? devTwitchWebhookSecret : '');
    const kickKey = (
      config.INTEGRATION_KICK_PUBLIC_KEY || (embedded ? devKickPublicKeyPem : '')
    ).replaceAll('\\n', '\n');
    const tokenKey = config.INTEGRATION_TOKEN_KEY || (embedded ? devTokenKey : '');
    for (const [name, value] of [
      ['INTEGRATION_TWITCH_WEBHOOK_SECRET', twitchSecret],
      ['INTEGRATION_KICK_PUBLIC_KEY', kickKey],
      ['INTEGRATION_TOKEN_KEY', tokenKey],
    ] as const) {
      if (value === '') {
        logger.warn(
          { variable: name },
          `${name} is not set: that part of the integration service is off`,
        );
      }
    }
    const store = createIntegrationStore({
      sql: ctx.sql,
      clock,
      onCommitted: () => ctx.outboxCommitted(),
    });
    const apis = createPlatformApis({
      clock,
      timeoutMs: config.INTEGRATION_PLATFORM_TIMEOUT_MS,
      twitch: {
        authUrl: fakes?.urls.twitchAuth ?? config.INTEGRATION_TWITCH_AUTH_URL,
        apiUrl: fakes?.urls.twitchApi ?? config.INTEGRATION_TWITCH_API_URL,
        clientId: config.INTEGRATION_TWITCH_CLIENT_ID || 'streambet-dev',
        clientSecret: config.INTEGRATION_TWITCH_CLIENT_SECRET,
        webhookSecret: twitchSecret,
      },
      kick: {
        authUrl: fakes?.urls.kickAuth ?? config.INTEGRATION_KICK_AUTH_URL,
        apiUrl: fakes?.urls.kickApi ?? config.INTEGRATION_KICK_API_URL,
        clientId: config.INTEGRATION_KICK_CLIENT_ID || 'streambet-dev',
        clientSecret: config.INTEGRATION_KICK_CLIENT_SECRET,
      },
      webhookBaseUrl: config.INTEGRATION_WEBHOOK_BASE_URL,
    });
    const users = ctx.client(UserInternalService, serviceUrl(config, 'user'));
    const youtubeKey = config.INTEGRATION_YOUTUBE_API_KEY || (fake ? 'streambet-dev' : '');
    const youtubeApi = createYoutubeApi({
      clock,
      apiUrl: fakes?.urls.youtubeApi ?? config.INTEGRATION_YOUTUBE_API_URL,
      apiKey: youtubeKey,
      timeoutMs: config.INTEGRATION_PLATFORM_TIMEOUT_MS,
    });
    const quota = createYoutubeQuota({
      store,
      clock,
      plan: { budgetUnitsPerDay: config.INTEGRATION_YOUTUBE_QUOTA_UNITS_PER_DAY },
    });
    const pollerSettings = {
      minIntervalMs: config.INTEGRATION_YOUTUBE_MIN_POLL_INTERVAL_MS,
      maxOfflineIntervalMs: config.INTEGRATION_YOUTUBE_MAX_OFFLINE_POLL_INTERVAL_MS,
      maxBackoffMs: config.INTEGRATION_YOUTUBE_MAX_OFFLINE_POLL_INTERVAL_MS,
      tickMs: 5_000,
    };
    const poller = createYoutubePoller({
      store,
      api: youtubeApi,
      quota,
      clock,
      logger,
      settings: pollerSettings,
      random: Math.random,
    });
    const links = createLinkService({
      youtube: youtubeKey === '' ? undefined : { api: youtubeApi, quota },
      store,
      apis,
      cipher: tokenKey === '' ? undefined : createTokenCipher(tokenKey),
      clock,
      logger,
      redirectUris: config.INTEGRATION_REDIRECT_URIS,
      newId: () => encodeUlid(clock.now(), new Uint8Array(randomBytes(10))),
      grantStreamer: async (userId) => {
        await users.grantRole({ userId, role: Role.STREAMER });
      },
    });
    const pool = ctx.client(PoolService, serviceUrl(config, 'pool'));
    const pusher = createPredictionPusher({
      store,
      apis,
      cipher: tokenKey === '' ? undefined : createTokenCipher(tokenKey),
      clock,
      logger,
      market: async (marketId) => {
        const { market } = await pool.getMarket({ marketId });
        if (market === undefined) return undefined;
        const opened = Number(market.openedAtMs);
        const closes = Number(market.bettingClosesAtMs);
        return {
          channelId: market.channelId,
          title: market.title,
          outcomes: market.outcomes.map((o) => o.title),
          outcomeIds: market.outcomes.map((o) => o.outcomeId),
          windowSeconds:
            opened > 0 && closes > 0
              ? Math.round((closes - opened) / 1000)
              : market.bettingWindowSeconds,
          twitchPredictionId: market.twitchPredictionId,
        };
      },
    });
    const deliveries = new Counter({
      name: 'integration_webhook_deliveries_total',
      help: 'Platform webhook deliveries by provider and verdict (accepted, challenge, revocation, replayed, ignored, or a refusal reason)',
      labelNames: ['provider', 'verdict'] as const,
      registers: [ctx.registry],
    });
    const refusals = new Counter({
      name: 'integration_webhook_refusals_total',
      help: 'Platform webhook deliveries refused, by provider and reason (unsigned, bad_signature, stale, malformed, wrong_content_type, type_mismatch)',
      labelNames: ['provider', 'reason'] as const,
      registers: [ctx.registry],
    });
    const receiver = createWebhookReceiver({
      store,
      clock,
      twitchSecret,
      kickPublicKey: () => kickKey,
      onVerdict: (provider, verdict) => {
        deliveries.inc({ provider, verdict });
        if (refusalVerdicts.has(verdict)) refusals.inc({ provider, reason: verdict });
      },
    });
    return {
      routes(router) {
        router.service(IntegrationService, createIntegrationServiceImpl({ links, store }));
      },
      policy: integrationPolicy,
      consumers: [pusher.consumer],
      http: webhookRoute(receiver, logger),
      tasks: [
        createMaintenanceTask({
          links,
          store,
          clock,
          logger,
          intervalMs: config.INTEGRATION_RECONCILE_INTERVAL_MS,
          reconcile: fake || config.INTEGRATION_TWITCH_CLIENT_ID !== '',
        }),
        ...(youtubeKey === ''
          ? []
          : [createYoutubePollTask({ poller, logger, tickMs: pollerSettings.tickMs })]),
      ],
      async stop() {
        await fakes?.close();
      },
    };
  },
};
