/**
 * The pool's event consumers. Each runs in the inbox transaction the service host opens per event
 * (exactly-once effect under at-least-once delivery):
 * - `integration`: channel ownership from ChannelLinked / ChannelUnlinked (unlink cancels the
 *   channel's unfinished markets), auto-lock on StreamWentOffline, Twitch prediction mirroring
 *   (began → open, locked → lock, ended → resolve or cancel) for markets created with
 *   twitch_prediction_id;
 * - `leaderboard`: PayoutMade / PayoutsMade / PayoutReversed of kind SETTLEMENT into the leaderboards.
 * A domain refusal (e.g. a prediction lock for a market someone already canceled) is logged and
 * skipped: redelivering the event could not change the answer.
 */
import { fromBinary } from '@bufbuild/protobuf';
import {
  ChannelLinkedSchema,
  ChannelUnlinkedSchema,
  PredictionBeganSchema,
  PredictionEndedSchema,
  PredictionEndStatus,
  PredictionLockedSchema,
  StreamWentOfflineSchema,
} from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import {
  UserProfileUpdatedSchema,
  UserRegisteredSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import {
  PayoutMadeSchema,
  PayoutsMadeSchema,
  PayoutReversedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { PayoutKind } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { DomainError } from '@streambet/platform/errors/domain-errors';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { EventConsumer } from '@streambet/platform/runtime/service-host';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import {
  decideCancel,
  decideLock,
  decideOpen,
  decideResolve,
  systemActor,
  type MarketEvent,
} from './domain/market.js';
import type { Leaderboards } from './leaderboards.js';
import type { Projections } from './projections.js';
import { platformFromProto } from './proto-codec.js';
import type { PoolStore } from './store.js';

/** Topic of the integration service's events. */
export const integrationTopic = 'integration';
/** Topic of the settlement service's events. */
export const settlementTopic = 'settlement';
/** Topic of the bet engine's odds snapshots. */
export const oddsTopic = 'odds';
/** Topic of the user service's events. */
export const userTopic = 'user';

/** Dependencies of the consumers. */
export interface ConsumerDeps {
  readonly store: PoolStore;
  readonly leaderboards: Leaderboards;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Wakes the outbox relay (the rows are published once the inbox transaction commits). */
  readonly onCommitted?: () => void;
}

/** Applies one integration event in `tx` (exported so tests can drive it without a bus). */
export function createIntegrationHandler(deps: ConsumerDeps) {
  const { store, clock, logger } = deps;

  async function systemChange(
    tx: SqlExecutor,
    marketId: string,
    decide: Parameters<PoolStore['transitionIn']>[4],
  ): Promise<void> {
    try {
      const result = await store.transitionIn(tx, marketId, systemActor, clock.now(), decide);
      if (result.applied.length > 0) deps.onCommitted?.();
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      logger.warn({ marketId, err: error.message }, 'integration event not applied to market');
    }
  }

  return async (
    type: string,
    payload: Uint8Array,
    tx: SqlExecutor,
    occurredAtMs: number,
  ): Promise<void> => {
    const nowMs = clock.now();
    switch (type) {
      case ChannelLinkedSchema.typeName: {
        const event = fromBinary(ChannelLinkedSchema, payload);
        await store.upsertLinkedChannel(
          tx,
          {
            channelId: event.channelId,
            ownerUserId: event.ownerUserId,
            platform: platformFromProto(event.platform),
          },
          occurredAtMs,
        );
        return;
      }
      case ChannelUnlinkedSchema.typeName: {
        const event = fromBinary(ChannelUnlinkedSchema, payload);
        for (const marketId of await store.unlinkChannel(tx, event.channelId, occurredAtMs)) {
          await systemChange(tx, marketId, (market, channel) =>
            decideCancel(
              market,
              { reason: 'MANUAL', reasonText: 'the channel was unlinked' },
              { actor: systemActor, channelOwnerUserId: channel.ownerUserId, nowMs },
            ),
          );
        }
        return;
      }
      case StreamWentOfflineSchema.typeName: {
        const event = fromBinary(StreamWentOfflineSchema, payload);
        for (const marketId of await store.autoLockOnOfflineMarketIds(tx, event.channelId)) {
          await systemChange(tx, marketId, (market, channel) =>
            decideLock(
              market,
              {
                reason: 'STREAM_OFFLINE',
                eventAtMs: event.endedAtMs === 0n ? undefined : Number(event.endedAtMs),
                broadcastDelaySeconds: channel.settings.broadcastDelaySeconds,
              },
              { actor: systemActor, channelOwnerUserId: channel.ownerUserId, nowMs },
            ),
          );
        }
        return;
      }
      case PredictionBeganSchema.typeName: {
        const event = fromBinary(PredictionBeganSchema, payload);
        const marketId = await store.marketIdForPrediction(tx, event.predictionId);
        if (marketId === undefined) {
          logger.info(
            { predictionId: event.predictionId },
            'prediction began without a mirrored market',
          );
          return;
        }
        await systemChange(tx, marketId, (market, channel) =>
          decideOpen(market, {
            actor: systemActor,
            channelOwnerUserId: channel.ownerUserId,
            nowMs,
          }),
        );
        return;
      }
      case PredictionLockedSchema.typeName: {
        const event = fromBinary(PredictionLockedSchema, payload);
        const marketId = await store.marketIdForPrediction(tx, event.predictionId);
        if (marketId === undefined) return;
        await systemChange(tx, marketId, (market, channel) =>
          decideLock(
            market,
            {
              reason: 'TWITCH_PREDICTION_LOCKED',
              eventAtMs: Number(event.lockedAtMs),
              broadcastDelaySeconds: channel.settings.broadcastDelaySeconds,
            },
            { actor: systemActor, channelOwnerUserId: channel.ownerUserId, nowMs },
          ),
        );
        return;
      }
      case PredictionEndedSchema.typeName: {
        const event = fromBinary(PredictionEndedSchema, payload);
        const marketId = await store.marketIdForPrediction(tx, event.predictionId);
        if (marketId === undefined) return;
        await systemChange(tx, marketId, (market, channel) => {
          const context = { actor: systemActor, channelOwnerUserId: channel.ownerUserId, nowMs };
          if (event.status === PredictionEndStatus.CANCELED) {
            return decideCancel(
              market,
              { reason: 'TWITCH_PREDICTION_CANCELED', reasonText: '' },
              context,
            );
          }
          const winner = market.outcomes.find((o) => o.twitchOutcomeId === event.winningOutcomeId);
          if (event.status !== PredictionEndStatus.RESOLVED || winner === undefined) return [];
          // Twitch may end a prediction that was never locked: lock at its end, then resolve.
          const events: MarketEvent[] =
            market.state === 'OPEN'
              ? decideLock(
                  market,
                  {
                    reason: 'TWITCH_PREDICTION_LOCKED',
                    eventAtMs: Number(event.endedAtMs),
                    broadcastDelaySeconds: channel.settings.broadcastDelaySeconds,
                  },
                  context,
                )
              : [];
          const locked = events.length > 0 ? { ...market, state: 'LOCKED' as const } : market;
          return [
            ...events,
            ...decideResolve(
              locked,
              {
                winningOutcomeId: winner.outcomeId,
                voidGracePeriodMs: store.settings.voidGracePeriodMs,
              },
              context,
            ),
          ];
        });
        return;
      }
      default:
        return;
    }
  };
}

/** The integration consumer (consumer group `pool.integration`). */
export function createIntegrationConsumer(deps: ConsumerDeps): EventConsumer {
  const handle = createIntegrationHandler(deps);
  return {
    name: 'integration',
    topics: [integrationTopic],
    // Links channels and locks or cancels their markets: never skip a change.
    maxAttempts: 'unlimited',
    handle: (event, tx) => handle(event.type, event.payload, tx, event.occurredAtMs),
  };
}

/** Applies one settlement event to the leaderboards in `tx` (exported for tests). */
export function createLeaderboardHandler(deps: Pick<ConsumerDeps, 'leaderboards' | 'clock'>) {
  return async (type: string, payload: Uint8Array, tx: SqlExecutor): Promise<void> => {
    const nowMs = deps.clock.now();
    if (type === PayoutMadeSchema.typeName || type === PayoutsMadeSchema.typeName) {
      // One row, or a page of rows (issue 12), each applied exactly as one PayoutMade.
      const payouts =
        type === PayoutsMadeSchema.typeName
          ? fromBinary(PayoutsMadeSchema, payload).payouts
          : [fromBinary(PayoutMadeSchema, payload).payout];
      for (const payout of payouts) {
        if (payout === undefined || payout.kind !== PayoutKind.SETTLEMENT) continue;
        await deps.leaderboards.applyPayout(
          tx,
          {
            userId: payout.userId,
            channelId: payout.channelId,
            currency: payout.currency,
            paidAtMs: Number(payout.paidAtMs),
            netMinor: payout.netMinor,
            marketDelta: 1,
          },
          nowMs,
        );
      }
    } else if (type === PayoutReversedSchema.typeName) {
      const payout = fromBinary(PayoutReversedSchema, payload).payout;
      if (payout === undefined || payout.kind !== PayoutKind.SETTLEMENT) return;
      await deps.leaderboards.applyPayout(
        tx,
        {
          userId: payout.userId,
          channelId: payout.channelId,
          currency: payout.currency,
          paidAtMs: Number(payout.paidAtMs),
          netMinor: -payout.netMinor,
          marketDelta: -1,
        },
        nowMs,
      );
    }
  };
}

/** The leaderboard consumer (consumer group `pool.leaderboard`). */
export function createLeaderboardConsumer(
  deps: Pick<ConsumerDeps, 'leaderboards' | 'clock'>,
): EventConsumer {
  const handle = createLeaderboardHandler(deps);
  return {
    name: 'leaderboard',
    topics: [settlementTopic],
    // Leaderboard scores sum payouts: a skipped PayoutMade would be wrong forever.
    maxAttempts: 'unlimited',
    handle: (event, tx) => handle(event.type, event.payload, tx),
  };
}

/** Applies one odds or user event to the read projections in `tx` (exported for tests). */
export function createProjectionHandler(deps: { readonly projections: Projections }) {
  return async (type: string, payload: Uint8Array, tx: SqlExecutor): Promise<void> => {
    switch (type) {
      case OddsChangedSchema.typeName: {
        const odds = fromBinary(OddsChangedSchema, payload).odds;
        if (odds === undefined || odds.marketId === '') return;
        await deps.projections.saveOdds(tx, odds.marketId, {
          version: odds.version,
          totalStakedMinor: odds.totalStakedMinor,
          bettorCount: odds.bettorCount,
          outcomes: odds.outcomes.map((o) => ({
            outcomeId: o.outcomeId,
            stakedMinor: o.stakedMinor,
            betCount: o.betCount,
            decimalOdds: o.decimalOdds,
            layDecimalOdds: o.layDecimalOdds,
          })),
        });
        return;
      }
      case UserRegisteredSchema.typeName: {
        const event = fromBinary(UserRegisteredSchema, payload);
        await deps.projections.saveDisplayName(tx, event.userId, event.displayName);
        return;
      }
      case UserProfileUpdatedSchema.typeName: {
        const event = fromBinary(UserProfileUpdatedSchema, payload);
        await deps.projections.saveDisplayName(tx, event.userId, event.displayName);
        return;
      }
      default:
        return;
    }
  };
}

/** The projections consumer (consumer group `pool.projections`): odds snapshots and display names. */
export function createProjectionConsumer(deps: {
  readonly projections: Projections;
}): EventConsumer {
  const handle = createProjectionHandler(deps);
  return {
    name: 'projections',
    topics: [oddsTopic, userTopic],
    handle: (event, tx) => handle(event.type, event.payload, tx),
  };
}
