/**
 * The integration.* events as outbox rows (topic `integration`, keyed by channel id so one
 * channel's events arrive in order). Pure encoding: the caller gives the event id and time.
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  ChannelIntegrationSettingsChangedSchema,
  ChannelLinkedSchema,
  ChannelUnlinkedSchema,
  PredictionBeganSchema,
  PredictionEndedSchema,
  PredictionEndStatus,
  PredictionLockedSchema,
  StreamWentOfflineSchema,
  StreamWentOnlineSchema,
} from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import type { OutboxEvent } from '@streambet/platform/outbox/outbox';
import { newEventId } from '@streambet/platform/outbox/event-id';
import { OfflineLockPolicy } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import type { OfflinePolicy } from './domain/live-state.js';
import type { WebhookEffect } from './domain/webhook.js';

/** Topic of every event this service publishes. */
export const integrationTopic = 'integration';

/** The platforms as stored (`integration_channels.platform`). */
export type PlatformName = 'TWITCH' | 'KICK' | 'YOUTUBE';

/** Proto enum of a stored platform. */
export function platformToProto(platform: PlatformName): Platform {
  return platform === 'TWITCH'
    ? Platform.TWITCH
    : platform === 'KICK'
      ? Platform.KICK
      : Platform.YOUTUBE;
}

/** Who caused an event: a person (RPC) or nobody (webhook, poll). */
export interface EventActor {
  readonly userId: string;
  readonly role: Role;
}

function encode<S extends DescMessage>(
  schema: S,
  channelId: string,
  atMs: number,
  actor: EventActor | undefined,
  init: Omit<MessageInitShape<S>, 'metadata' | '$typeName'>,
): IdentifiedEvent {
  const id = newEventId();
  const message = create(schema, {
    ...init,
    metadata: {
      eventId: id,
      occurredAtMs: BigInt(atMs),
      producer: 'integration',
      aggregateId: channelId,
      actorUserId: actor?.userId ?? '',
      actorRole: actor?.role ?? Role.UNSPECIFIED,
    },
  } as unknown as MessageInitShape<S>);
  return {
    id,
    topic: integrationTopic,
    key: channelId,
    type: schema.typeName,
    payload: toBinary(schema, message),
    headers: { producer: 'integration' },
  };
}

/** An outbox row whose id is also its metadata.event_id. */
export type IdentifiedEvent = OutboxEvent & { readonly id: string };

/** A channel as the events describe it. */
export interface ChannelFacts {
  readonly channelId: string;
  readonly ownerUserId: string;
  readonly platform: PlatformName;
  readonly platformChannelId: string;
  readonly handle: string;
  readonly displayName: string;
}

/** ChannelLinked. */
export function channelLinked(
  channel: ChannelFacts,
  atMs: number,
  actor: EventActor,
): IdentifiedEvent {
  return encode(ChannelLinkedSchema, channel.channelId, atMs, actor, {
    channelId: channel.channelId,
    ownerUserId: channel.ownerUserId,
    platform: platformToProto(channel.platform),
    platformChannelId: channel.platformChannelId,
    handle: channel.handle,
    displayName: channel.displayName,
  });
}

/** ChannelUnlinked. */
export function channelUnlinked(
  channel: ChannelFacts,
  reason: string,
  atMs: number,
  actor: EventActor,
): IdentifiedEvent {
  return encode(ChannelUnlinkedSchema, channel.channelId, atMs, actor, {
    channelId: channel.channelId,
    ownerUserId: channel.ownerUserId,
    platform: platformToProto(channel.platform),
    reason,
  });
}

/** ChannelIntegrationSettingsChanged. */
export function settingsChanged(
  channelId: string,
  settings: {
    readonly mirrorTwitchPredictions: boolean;
    readonly offlineLockPolicy: OfflinePolicy;
    readonly pushMarketsToTwitch: boolean;
  },
  atMs: number,
  actor: EventActor,
): IdentifiedEvent {
  return encode(ChannelIntegrationSettingsChangedSchema, channelId, atMs, actor, {
    channelId,
    settings: {
      mirrorTwitchPredictions: settings.mirrorTwitchPredictions,
      offlineLockPolicy: offlinePolicyToProto(settings.offlineLockPolicy),
      pushMarketsToTwitch: settings.pushMarketsToTwitch,
    },
  });
}

/** Proto enum of an offline lock policy. */
export function offlinePolicyToProto(policy: OfflinePolicy): OfflineLockPolicy {
  return policy === 'first' ? OfflineLockPolicy.FIRST : OfflineLockPolicy.LAST;
}

/**
 * The event of a verified notification's effect on `channelId` (stream online/offline, prediction
 * began/locked/ended); `nowMs` stands in for a time the platform does not give.
 */
export function effectEvent(
  channelId: string,
  platform: PlatformName,
  effect: Exclude<WebhookEffect, { kind: 'none' }>,
  nowMs: number,
): IdentifiedEvent {
  switch (effect.kind) {
    case 'online':
      return encode(StreamWentOnlineSchema, channelId, nowMs, undefined, {
        channelId,
        platform: platformToProto(platform),
        platformStreamId: effect.platformStreamId,
        startedAtMs: BigInt(effect.startedAtMs ?? nowMs),
        title: effect.title,
      });
    case 'offline':
      return encode(StreamWentOfflineSchema, channelId, nowMs, undefined, {
        channelId,
        platform: platformToProto(platform),
        platformStreamId: effect.platformStreamId,
        endedAtMs: BigInt(effect.endedAtMs ?? nowMs),
      });
    case 'prediction_began':
      return encode(PredictionBeganSchema, channelId, nowMs, undefined, {
        channelId,
        predictionId: effect.predictionId,
        title: effect.title,
        outcomes: effect.outcomes.map((o) => ({
          outcomeId: o.id,
          title: o.title,
          color: o.color,
        })),
        startedAtMs: BigInt(effect.startedAtMs),
        locksAtMs: BigInt(effect.locksAtMs),
      });
    case 'prediction_locked':
      return encode(PredictionLockedSchema, channelId, nowMs, undefined, {
        channelId,
        predictionId: effect.predictionId,
        lockedAtMs: BigInt(effect.lockedAtMs),
      });
    case 'prediction_ended':
      return encode(PredictionEndedSchema, channelId, nowMs, undefined, {
        channelId,
        predictionId: effect.predictionId,
        status:
          effect.status === 'resolved'
            ? PredictionEndStatus.RESOLVED
            : PredictionEndStatus.CANCELED,
        winningOutcomeId: effect.winningOutcomeId,
        endedAtMs: BigInt(effect.endedAtMs),
      });
  }
}
