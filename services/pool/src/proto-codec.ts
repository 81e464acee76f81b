/**
 * Translation between the pool's domain values and its protobuf contract: the Market and
 * ChannelSettings messages the RPCs return, and the market.* event messages the outbox carries.
 * The only place that knows both shapes (routes.ts and store.ts use it).
 */
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  Platform as ProtoPlatform,
  Role,
} from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import type { EventMetadataSchema } from '@streambet/contracts/gen/streambet/events/v1/envelope_pb';
import {
  ChannelSettingsChangedSchema,
  MarketCanceledSchema,
  MarketCreatedSchema,
  MarketLockedSchema,
  MarketOpenedSchema,
  MarketResolvedSchema,
  MarketVoidedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import {
  ChannelSettingsSchema,
  MarketCancelReason,
  MarketKind,
  MarketLockReason,
  MarketSchema,
  MarketState,
  StakeLimitsSchema,
  type ChannelSettings as ChannelSettingsProto,
  type Market as MarketProto,
  type StakeLimits as StakeLimitsProto,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { ChannelSettingsDocument } from './domain/channel-settings.js';
import type { OddsSnapshot } from './projections.js';
import type {
  Actor,
  AppliedEvent,
  Market,
  MarketState as DomainMarketState,
  Platform,
  StakeLimits,
} from './domain/market.js';

/** Domain state → proto enum. */
export function stateToProto(state: DomainMarketState): MarketState {
  return MarketState[state];
}

/** Proto enum → domain state; undefined for UNSPECIFIED or unknown numbers. */
export function stateFromProto(state: MarketState): DomainMarketState | undefined {
  switch (state) {
    case MarketState.DRAFT:
      return 'DRAFT';
    case MarketState.OPEN:
      return 'OPEN';
    case MarketState.LOCKED:
      return 'LOCKED';
    case MarketState.RESOLVED:
      return 'RESOLVED';
    case MarketState.CANCELED:
      return 'CANCELED';
    default:
      return undefined;
  }
}

/** Proto platform → domain platform. */
export function platformFromProto(platform: ProtoPlatform): Platform {
  switch (platform) {
    case ProtoPlatform.TWITCH:
      return 'TWITCH';
    case ProtoPlatform.KICK:
      return 'KICK';
    case ProtoPlatform.YOUTUBE:
      return 'YOUTUBE';
    default:
      return 'UNSPECIFIED';
  }
}

/** Domain stake limits → proto. */
export function stakeLimitsToProto(limits: StakeLimits): StakeLimitsProto {
  return create(StakeLimitsSchema, {
    minStakeMinor: limits.minStakeMinor,
    maxStakePerBetMinor: limits.maxStakePerBetMinor,
    maxStakePerUserMinor: limits.maxStakePerUserMinor,
  });
}

/** Proto stake limits → domain (checked by the domain rules, not here). */
export function stakeLimitsFromProto(limits: StakeLimitsProto): StakeLimits {
  return {
    minStakeMinor: limits.minStakeMinor,
    maxStakePerBetMinor: limits.maxStakePerBetMinor,
    maxStakePerUserMinor: limits.maxStakePerUserMinor,
  };
}

/**
 * A market as the contract shows it. Live figures (per-outcome stakes and odds, totals, bettor
 * count) come from the bet engine's latest OddsChanged snapshot the pool holds, when it has one;
 * otherwise they are zero/empty with odds_version 0.
 */
export function marketToProto(market: Market, odds?: OddsSnapshot): MarketProto {
  const figures = new Map(odds?.outcomes.map((o) => [o.outcomeId, o]));
  return create(MarketSchema, {
    marketId: market.marketId,
    channelId: market.channelId,
    title: market.title,
    outcomes: market.outcomes.map((outcome) => {
      const live = figures.get(outcome.outcomeId);
      return {
        outcomeId: outcome.outcomeId,
        title: outcome.title,
        twitchOutcomeId: outcome.twitchOutcomeId,
        stakedMinor: live?.stakedMinor ?? 0n,
        betCount: live?.betCount ?? 0n,
        decimalOdds: live?.decimalOdds ?? '',
        layDecimalOdds: live?.layDecimalOdds ?? '',
      };
    }),
    totalStakedMinor: odds?.totalStakedMinor ?? 0n,
    bettorCount: odds?.bettorCount ?? 0n,
    oddsVersion: odds?.version ?? 0n,
    currency: market.currency,
    kind: MarketKind[market.kind],
    state: stateToProto(market.state),
    stakeLimits: stakeLimitsToProto(market.stakeLimits),
    bettingWindowSeconds: market.bettingWindowSeconds,
    commissionBps: market.commissionBps,
    autoLockOnOffline: market.autoLockOnOffline,
    twitchPredictionId: market.twitchPredictionId,
    createdByUserId: market.createdByUserId,
    createdAtMs: BigInt(market.createdAtMs),
    openedAtMs: BigInt(market.openedAtMs),
    bettingClosesAtMs: BigInt(market.bettingClosesAtMs),
    lockedAtMs: BigInt(market.lockedAtMs),
    lockEffectiveAtMs: BigInt(market.lockEffectiveAtMs),
    lockReason:
      market.lockReason === undefined
        ? MarketLockReason.UNSPECIFIED
        : MarketLockReason[market.lockReason],
    resolvedAtMs: BigInt(market.resolvedAtMs),
    winningOutcomeId: market.winningOutcomeId,
    voidGraceEndsAtMs: BigInt(market.voidGraceEndsAtMs),
    canceledAtMs: BigInt(market.canceledAtMs),
    cancelReason:
      market.cancelReason === undefined
        ? MarketCancelReason.UNSPECIFIED
        : MarketCancelReason[market.cancelReason],
    cancelReasonText: market.cancelReasonText,
    voidedAtMs: BigInt(market.voidedAtMs),
    version: BigInt(market.version),
    updatedAtMs: BigInt(market.updatedAtMs),
  });
}

/** A channel's settings as the contract shows them. */
export function channelSettingsToProto(view: {
  readonly channelId: string;
  readonly ownerUserId: string;
  readonly platform: Platform;
  readonly settings: ChannelSettingsDocument;
  readonly version: number;
  readonly updatedAtMs: number;
}): ChannelSettingsProto {
  return create(ChannelSettingsSchema, {
    channelId: view.channelId,
    ownerUserId: view.ownerUserId,
    platform: ProtoPlatform[view.platform],
    commissionBps: view.settings.commissionBps,
    streamerRevenueShareBps: view.settings.streamerRevenueShareBps,
    broadcastDelaySeconds: view.settings.broadcastDelaySeconds,
    realMoneyStakeLimits: stakeLimitsToProto(view.settings.realMoneyStakeLimits),
    pointsStakeLimits: stakeLimitsToProto(view.settings.pointsStakeLimits),
    defaultBettingWindowSeconds: view.settings.defaultBettingWindowSeconds,
    autoLockOnOffline: view.settings.autoLockOnOffline,
    version: BigInt(view.version),
    updatedAtMs: BigInt(view.updatedAtMs),
  });
}

/** Event metadata fields every event carries (event id = outbox row id). */
export interface EventMetadataInit {
  readonly eventId: string;
  readonly occurredAtMs: number;
  readonly traceParent: string;
  readonly aggregateId: string;
  readonly actor: Actor;
}

function metadata(init: EventMetadataInit): MessageInitShape<typeof EventMetadataSchema> {
  return {
    eventId: init.eventId,
    occurredAtMs: BigInt(init.occurredAtMs),
    producer: 'pool',
    traceParent: init.traceParent,
    aggregateId: init.aggregateId,
    actorUserId: init.actor.kind === 'user' ? init.actor.userId : '',
    actorRole:
      init.actor.kind === 'system'
        ? Role.SERVICE
        : init.actor.role === 'admin'
          ? Role.ADMIN
          : init.actor.role === 'streamer'
            ? Role.STREAMER
            : Role.VIEWER,
  };
}

/** A market event as protobuf: its fully-qualified type name and binary payload. */
export interface EncodedEvent {
  readonly type: string;
  readonly payload: Uint8Array;
}

/** Encodes one applied market event (see market.proto for what each carries). */
export function encodeMarketEvent(applied: AppliedEvent, meta: EventMetadataInit): EncodedEvent {
  const { event, after } = applied;
  const common = { metadata: metadata(meta), marketId: after.marketId, channelId: after.channelId };
  const version = BigInt(after.version);
  switch (event.type) {
    case 'MarketCreated': {
      const m = event.market;
      return {
        type: MarketCreatedSchema.typeName,
        payload: toBinary(
          MarketCreatedSchema,
          create(MarketCreatedSchema, {
            ...common,
            channelOwnerUserId: m.channelOwnerUserId,
            title: m.title,
            outcomes: m.outcomes.map((o) => ({
              outcomeId: o.outcomeId,
              title: o.title,
              twitchOutcomeId: o.twitchOutcomeId,
            })),
            currency: m.currency,
            kind: MarketKind[m.kind],
            stakeLimits: stakeLimitsToProto(m.stakeLimits),
            bettingWindowSeconds: m.bettingWindowSeconds,
            commissionBps: m.commissionBps,
            streamerRevenueShareBps: m.streamerRevenueShareBps,
            autoLockOnOffline: m.autoLockOnOffline,
            twitchPredictionId: m.twitchPredictionId,
            createdByUserId: m.createdByUserId,
            version,
          }),
        ),
      };
    }
    case 'MarketOpened':
      return {
        type: MarketOpenedSchema.typeName,
        payload: toBinary(
          MarketOpenedSchema,
          create(MarketOpenedSchema, {
            ...common,
            openedAtMs: BigInt(event.openedAtMs),
            bettingClosesAtMs: BigInt(event.bettingClosesAtMs),
            openedByUserId: event.openedByUserId,
            version,
          }),
        ),
      };
    case 'MarketLocked':
      return {
        type: MarketLockedSchema.typeName,
        payload: toBinary(
          MarketLockedSchema,
          create(MarketLockedSchema, {
            ...common,
            lockedAtMs: BigInt(event.lockedAtMs),
            lockEffectiveAtMs: BigInt(event.lockEffectiveAtMs),
            reason: MarketLockReason[event.reason],
            lockedByUserId: event.lockedByUserId,
            version,
          }),
        ),
      };
    case 'MarketResolved':
      return {
        type: MarketResolvedSchema.typeName,
        payload: toBinary(
          MarketResolvedSchema,
          create(MarketResolvedSchema, {
            ...common,
            winningOutcomeId: event.winningOutcomeId,
            kind: MarketKind[after.kind],
            currency: after.currency,
            commissionBps: after.commissionBps,
            streamerRevenueShareBps: after.streamerRevenueShareBps,
            streamerUserId: after.channelOwnerUserId,
            resolvedAtMs: BigInt(event.resolvedAtMs),
            voidGraceEndsAtMs: BigInt(event.voidGraceEndsAtMs),
            resolvedByUserId: event.resolvedByUserId,
            version,
          }),
        ),
      };
    case 'MarketCanceled':
      return {
        type: MarketCanceledSchema.typeName,
        payload: toBinary(
          MarketCanceledSchema,
          create(MarketCanceledSchema, {
            ...common,
            previousState: stateToProto(event.previousState),
            reason: MarketCancelReason[event.reason],
            reasonText: event.reasonText,
            canceledByUserId: event.canceledByUserId,
            canceledAtMs: BigInt(event.canceledAtMs),
            currency: after.currency,
            version,
          }),
        ),
      };
    case 'MarketVoided':
      return {
        type: MarketVoidedSchema.typeName,
        payload: toBinary(
          MarketVoidedSchema,
          create(MarketVoidedSchema, {
            ...common,
            voidedWinningOutcomeId: event.voidedWinningOutcomeId,
            reasonText: event.reasonText,
            voidedByUserId: event.voidedByUserId,
            voidedAtMs: BigInt(event.voidedAtMs),
            currency: after.currency,
            version,
          }),
        ),
      };
  }
}

/** Encodes ChannelSettingsChanged (keyed by channel id). */
export function encodeSettingsChanged(
  settings: ChannelSettingsProto,
  changedFields: readonly string[],
  meta: EventMetadataInit,
): EncodedEvent {
  return {
    type: ChannelSettingsChangedSchema.typeName,
    payload: toBinary(
      ChannelSettingsChangedSchema,
      create(ChannelSettingsChangedSchema, {
        metadata: metadata(meta),
        settings,
        changedFields: [...changedFields],
        changedByUserId: meta.actor.kind === 'user' ? meta.actor.userId : '',
      }),
    ),
  };
}
