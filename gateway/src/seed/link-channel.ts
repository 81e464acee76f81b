/**
 * Giving a streamer a channel, two ways:
 * - {@link linkThroughFakes}: the real BeginChannelLink / consent / LinkChannel round trip against
 *   the integration service's Twitch and Kick fakes (the demo, `npm start`);
 * - {@link publishChannelLinked}: publishing `ChannelLinked` on the bus as the integration service
 *   would, with a channel id the caller chooses (end-to-end tests and benchmarks that need a fixed
 *   id and no integration round trip).
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { createClient, type Transport } from '@connectrpc/connect';
import { ChannelLinkedSchema } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import { IntegrationService } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import type { EventBus } from '@streambet/platform/bus/types';
import { newEventId } from '@streambet/platform/outbox/event-id';

/** The channel to link. */
export interface ChannelToLink {
  /** StreamBet channel id (ULID). */
  readonly channelId: string;
  /** The streamer (user id) who will manage its markets. */
  readonly ownerUserId: string;
  /** Platform handle, e.g. the Twitch login. */
  readonly handle: string;
  readonly displayName: string;
}

/** Publishes ChannelLinked on topic `integration`, keyed by channel id, as the integration service would. */
export async function publishChannelLinked(
  bus: EventBus,
  channel: ChannelToLink,
  nowMs: number = Date.now(),
): Promise<void> {
  const eventId = newEventId();
  const event = create(ChannelLinkedSchema, {
    metadata: {
      eventId,
      occurredAtMs: BigInt(nowMs),
      producer: 'integration',
      aggregateId: channel.channelId,
      actorUserId: channel.ownerUserId,
    },
    channelId: channel.channelId,
    ownerUserId: channel.ownerUserId,
    platform: Platform.TWITCH,
    platformChannelId: `twitch-${channel.handle}`,
    handle: channel.handle,
    displayName: channel.displayName,
  });
  await bus.publish([
    {
      id: eventId,
      type: ChannelLinkedSchema.typeName,
      topic: 'integration',
      key: channel.channelId,
      payload: toBinary(ChannelLinkedSchema, event),
      headers: { producer: 'integration' },
      occurredAtMs: nowMs,
    },
  ]);
}

/** One platform account to link through the platform's (simulated) OAuth consent. */
export interface PlatformAccountToLink {
  readonly platform: Platform.TWITCH | Platform.KICK;
  /** The account's id on the platform (digits) and login, as the fake's consent page takes them. */
  readonly platformUserId: string;
  readonly login: string;
}

/**
 * Links `accounts` to the user of `headers` through the real round trip against the integration
 * service's provider fakes (embedded platform, INTEGRATION_PROVIDERS=fake/auto): BeginChannelLink
 * at the gateway → the fake's consent page (which redirects at once with code and state) →
 * LinkChannel. The first link creates the user's StreamBet channel; the others join it. Linking
 * again (a restarted demo on its kept data) returns the same channel. Returns its id.
 */
export async function linkThroughFakes(
  transport: Transport,
  headers: Readonly<Record<string, string>>,
  accounts: readonly PlatformAccountToLink[],
  redirectUri = 'http://localhost:5173/studio/link',
): Promise<string> {
  const integration = createClient(IntegrationService, transport);
  let channelId = '';
  for (const account of accounts) {
    const begun = await integration.beginChannelLink(
      { platform: account.platform, redirectUri },
      { headers },
    );
    const consent = new URL(begun.authorizeUrl);
    consent.searchParams.set('fake_user_id', account.platformUserId);
    consent.searchParams.set('fake_login', account.login);
    const answer = await fetch(consent, { redirect: 'manual' });
    const back = new URL(answer.headers.get('location') ?? '');
    const code = back.searchParams.get('code');
    if (answer.status !== 302 || code === null) {
      throw new Error(
        `the simulated ${Platform[account.platform]} consent did not redirect back (status ${answer.status}): is the integration service on fake providers?`,
      );
    }
    const linked = await integration.linkChannel(
      {
        platform: account.platform,
        credential: { case: 'oauth', value: { code, state: begun.state } },
      },
      { headers },
    );
    channelId = linked.channel?.channelId ?? channelId;
  }
  return channelId;
}
