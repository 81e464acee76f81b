/**
 * Links a streamer's channel by publishing the integration service's `ChannelLinked` event onto the
 * bus — exactly what the integration service publishes after a successful OAuth link. The
 * integration service's LinkChannel flow needs Twitch/Kick OAuth, which cannot be reached from
 * these machines; the demo seed and the end-to-end tests use this to give a streamer a channel.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { ChannelLinkedSchema } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
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
