/**
 * `npm start`'s demo channel is linked through the real OAuth round trip against the provider
 * fakes (BeginChannelLink → simulated consent → LinkChannel), to Twitch and Kick at once: one
 * StreamBet channel with both links, which the pool knows (the demo opens markets on it).
 */
import { createClient } from '@connectrpc/connect';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { IntegrationService } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@streambet/gateway/embedded-platform';
import { createSeedKit, serviceTokensFrom } from '@streambet/gateway/seed';
import { generateServiceKeys } from '@streambet/platform/auth/tokens';
import { servicePorts } from '@streambet/platform/runtime/platform-config';
import { pgliteTemplate } from '@streambet/testkit/sql';
import { afterAll, beforeAll, expect, it } from 'vitest';

let platform: EmbeddedPlatform;
let pair: Awaited<ReturnType<typeof generateServiceKeys>>;

beforeAll(async () => {
  pair = await generateServiceKeys(Object.keys(servicePorts));
  platform = await startEmbeddedPlatform({
    ports: 'free',
    env: { LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent' },
    template: await pgliteTemplate(),
    keys: { servicePrivateJwks: pair.privateJwks, servicePublicJwks: pair.publicJwks },
    demo: { bettorCount: 1, betIntervalMs: 60_000 },
  });
}, 180_000);

afterAll(async () => {
  await platform?.shutdown();
});

it('the demo channel is linked to simulated Twitch and Kick through LinkChannel', async () => {
  const channelId = platform.demoChannelId ?? '';
  expect(channelId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  const kit = createSeedKit({
    gatewayUrl: platform.gatewayUrl,
    userServiceUrl: platform.serviceUrls.get('user')!,
    serviceToken: serviceTokensFrom(pair.privateJwks),
    bus: platform.bus,
  });
  const integration = createClient(IntegrationService, kit.connect);
  const got = await integration.getChannel({ channelId });
  expect(got.links.map((l) => [l.platform, l.platformChannelId, l.handle])).toEqual([
    [Platform.TWITCH, '1000', 'demostreamer'],
    [Platform.KICK, '2000', 'demostreamer'],
  ]);
  expect(got.links.every((l) => l.channelId === channelId)).toBe(true);
}, 120_000);
