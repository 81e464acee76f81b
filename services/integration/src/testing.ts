/**
 * The integration service for other packages' tests: its migrations on a given database, its RPCs on
 * an in-memory Connect transport behind the production interceptor stack and its access policy, its
 * webhook receiver, and local fakes of Twitch and Kick its platform calls go to. Without `sql`, only
 * the contract is served (every allowed call answers UNIMPLEMENTED), as before storage existed.
 */
import { randomBytes } from 'node:crypto';
import {
  createClient,
  createRouterTransport,
  type Client,
  type Transport,
} from '@connectrpc/connect';
import { IntegrationService } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import { platformMigrations } from '@streambet/platform/outbox/index';
import type { Clock } from '@streambet/platform/rpc/clock';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { testLogger, testServerInterceptors } from '@streambet/testkit/rpc';
import type { TestTokens } from '@streambet/testkit/tokens';
import {
  devKickPrivateKeyPem,
  devKickPublicKeyPem,
  devTokenKey,
  devTwitchWebhookSecret,
} from './fakes/dev-keys.js';
import { startProviderFakes, type ProviderFakes } from './fakes/platform-fakes.js';
import { createLinkService, type LinkService } from './links.js';
import { integrationMigrations } from './migrations/index.js';
import { createPlatformApis } from './platforms.js';
import { integrationPolicy } from './policy.js';
import { createIntegrationServiceImpl } from './routes.js';
import { createIntegrationStore, type IntegrationStore } from './store.js';
import { createTokenCipher } from './token-crypto.js';
import { createPredictionPusher, type MarketFacts, type PredictionPusher } from './push.js';
import { createYoutubeApi } from './youtube-api.js';
import {
  createYoutubePoller,
  createYoutubeQuota,
  type YoutubePoller,
  type YoutubeQuota,
} from './youtube-poller.js';
import { createWebhookReceiver, type WebhookReceiver } from './webhooks/receiver.js';
import type { WebhookProvider, WebhookVerdict } from './domain/webhook.js';

export { twitchSignature } from './webhooks/signatures.js';
export { devKickPrivateKeyPem, devTwitchWebhookSecret };

/** Inputs of {@link createIntegrationTestService}. */
export interface IntegrationTestServiceOptions {
  /** The service's database, migrated here; omit it when the test needs only the contract. */
  readonly sql?: Sql;
  /** Keys the interceptors' auth verifies callers' tokens with. */
  readonly tokens: TestTokens;
  /** The service's clock (default: the wall clock). */
  readonly clock?: Clock;
  /** PoolService.GetMarket for the pusher (default: the `markets` map of the result). */
  readonly market?: (marketId: string) => MarketFacts | undefined;
  /** YouTube quota units per day (default 10,000). */
  readonly youtubeQuotaUnitsPerDay?: number;
  /** Jitter source of the YouTube poller (default: always 0, no jitter). */
  readonly random?: () => number;
  /** Called for each ROLE_STREAMER grant (default: nothing). */
  readonly grantStreamer?: (userId: string) => Promise<void>;
}

/** The integration service's RPCs in memory, and a client of them. */
export interface IntegrationTestService {
  readonly transport: Transport;
  readonly integration: Client<typeof IntegrationService>;
}

/** With a database: the parts behind the RPCs too. */
export interface IntegrationTestParts extends IntegrationTestService {
  readonly store: IntegrationStore;
  readonly links: LinkService;
  readonly receiver: WebhookReceiver;
  readonly fakes: ProviderFakes;
  /** The YouTube poller (tests call pollDue with their clock) and its quota bucket. */
  readonly poller: YoutubePoller;
  readonly quota: YoutubeQuota;
  /** The push-to-Twitch consumer; `markets` stands in for PoolService.GetMarket. */
  readonly pusher: PredictionPusher;
  readonly markets: Map<string, MarketFacts>;
  /** Verdicts the receiver counted, in order. */
  readonly verdicts: { provider: WebhookProvider; verdict: WebhookVerdict }[];
  close(): Promise<void>;
}

/** Migrates `options.sql` (when given) and serves the integration service on an in-memory transport. */
export async function createIntegrationTestService(
  options: IntegrationTestServiceOptions & { readonly sql: Sql },
): Promise<IntegrationTestParts>;
export async function createIntegrationTestService(
  options: IntegrationTestServiceOptions,
): Promise<IntegrationTestService>;
export async function createIntegrationTestService(
  options: IntegrationTestServiceOptions,
): Promise<IntegrationTestService | IntegrationTestParts> {
  const interceptors = testServerInterceptors(options.tokens, integrationPolicy, 'integration');
  if (options.sql === undefined) {
    const transport = createRouterTransport((router) => router.service(IntegrationService, {}), {
      router: { interceptors },
    });
    return { transport, integration: createClient(IntegrationService, transport) };
  }
  await migrate(options.sql, 'integration', [...platformMigrations, ...integrationMigrations]);
  const clock = options.clock ?? { now: () => Date.now() };
  const logger = testLogger('integration');
  const fakes = await startProviderFakes();
  const store = createIntegrationStore({ sql: options.sql, clock });
  const apis = createPlatformApis({
    clock,
    timeoutMs: 2000,
    twitch: {
      authUrl: fakes.urls.twitchAuth,
      apiUrl: fakes.urls.twitchApi,
      clientId: 'test-client',
      clientSecret: 'test-secret',
      webhookSecret: devTwitchWebhookSecret,
    },
    kick: {
      authUrl: fakes.urls.kickAuth,
      apiUrl: fakes.urls.kickApi,
      clientId: 'test-client',
      clientSecret: 'test-secret',
    },
    webhookBaseUrl: 'http://127.0.0.1:8080',
    breaker: { failureThreshold: 3, resetTimeoutMs: 10_000 },
  });
  const quota = createYoutubeQuota({
    store,
    clock,
    plan: { budgetUnitsPerDay: options.youtubeQuotaUnitsPerDay ?? 10_000 },
  });
  const youtubeApi = createYoutubeApi({
    clock,
    apiUrl: fakes.urls.youtubeApi,
    apiKey: 'test-key',
    timeoutMs: 2000,
    breaker: { failureThreshold: 3, resetTimeoutMs: 10_000 },
  });
  const poller = createYoutubePoller({
    store,
    api: youtubeApi,
    quota,
    clock,
    logger,
    settings: {
      minIntervalMs: 60_000,
      maxOfflineIntervalMs: 900_000,
      maxBackoffMs: 900_000,
      tickMs: 5_000,
    },
    random: options.random ?? (() => 0),
  });
  const links = createLinkService({
    youtube: { api: youtubeApi, quota },
    store,
    apis,
    cipher: createTokenCipher(devTokenKey),
    clock,
    logger,
    redirectUris: ['http://localhost:5173/'],
    newId: () => encodeUlid(clock.now(), new Uint8Array(randomBytes(10))),
    grantStreamer: options.grantStreamer ?? (() => Promise.resolve()),
  });
  const markets = new Map<string, MarketFacts>();
  const pusher = createPredictionPusher({
    store,
    apis,
    cipher: createTokenCipher(devTokenKey),
    clock,
    logger,
    market: (marketId) => Promise.resolve(options.market?.(marketId) ?? markets.get(marketId)),
  });
  const verdicts: { provider: WebhookProvider; verdict: WebhookVerdict }[] = [];
  const receiver = createWebhookReceiver({
    store,
    clock,
    twitchSecret: devTwitchWebhookSecret,
    kickPublicKey: () => devKickPublicKeyPem,
    onVerdict: (provider, verdict) => verdicts.push({ provider, verdict }),
  });
  const transport = createRouterTransport(
    (router) => router.service(IntegrationService, createIntegrationServiceImpl({ links, store })),
    { router: { interceptors } },
  );
  return {
    transport,
    integration: createClient(IntegrationService, transport),
    store,
    links,
    receiver,
    fakes,
    verdicts,
    poller,
    quota,
    pusher,
    markets,
    close: () => fakes.close(),
  };
}
