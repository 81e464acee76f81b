/**
 * Twitch prediction mirroring, the part the `pool.integration` consumer does not do: when a
 * PredictionBegan arrives for a prediction no market mirrors yet, open a PTS POOL market that
 * mirrors it (title and outcomes as on Twitch, Twitch's limits: title ≤ 45, outcome ≤ 25 chars,
 * window 30–1800 s from the lock time Twitch announced, one active mirror per channel).
 *
 * Consumer group `pool.prediction-mirror`, idempotent by construction: the market is created under
 * the idempotency key `twitch-prediction:<id>` of the system caller, so a redelivery finds the
 * same market, and opening an OPEN market decides nothing. PredictionLocked / PredictionEnded are
 * applied by the `pool.integration` consumer to the market this one created. A refusal by the
 * market rules (another unfinished mirror on the channel, a prediction a streamer already
 * mirrored by hand, an unlinked channel) is logged and skipped: redelivery cannot change it.
 */
import { createHash } from 'node:crypto';
import { fromBinary } from '@bufbuild/protobuf';
import { PredictionBeganSchema } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import { DomainError } from '@streambet/platform/errors/domain-errors';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { EventConsumer } from '@streambet/platform/runtime/service-host';
import { integrationTopic } from './consumers.js';
import { decideOpen, systemActor, type CreateMarketCommand } from './domain/market.js';
import type { PoolStore } from './store.js';

/** Twitch's limits on a prediction window, in seconds. */
const minWindowSeconds = 30;
const maxWindowSeconds = 1800;

/** The market command mirroring a prediction that began at `startedAtMs` and locks at `locksAtMs`. */
export function mirrorCommand(event: {
  readonly predictionId: string;
  readonly title: string;
  readonly outcomes: ReadonlyArray<{ readonly outcomeId: string; readonly title: string }>;
  readonly startedAtMs: number;
  readonly locksAtMs: number;
  readonly nowMs: number;
}): CreateMarketCommand {
  // The window counts from the open (now): what is left of Twitch's window, within its limits.
  const leftSeconds = Math.round(
    (event.locksAtMs - Math.max(event.nowMs, event.startedAtMs)) / 1000,
  );
  return {
    title: event.title,
    outcomes: event.outcomes.map((o) => ({ title: o.title, twitchOutcomeId: o.outcomeId })),
    currency: 'PTS',
    kind: 'POOL',
    stakeLimits: undefined,
    bettingWindowSeconds: Math.min(maxWindowSeconds, Math.max(minWindowSeconds, leftSeconds)),
    commissionBps: undefined,
    autoLockOnOffline: undefined,
    twitchPredictionId: event.predictionId,
    openNow: false,
  };
}

/** The prediction-mirror consumer. */
export function createPredictionMirrorConsumer(deps: {
  readonly store: Pick<PoolStore, 'createMarket' | 'transition'>;
  readonly clock: Clock;
  readonly logger: Logger;
}): EventConsumer {
  return {
    name: 'prediction-mirror',
    topics: [integrationTopic],
    // Opens markets viewers bet on: retry until it is done or refused by the rules.
    maxAttempts: 'unlimited',
    async handleIdempotently(envelope) {
      if (envelope.type !== PredictionBeganSchema.typeName) return;
      const event = fromBinary(PredictionBeganSchema, envelope.payload);
      const command = mirrorCommand({
        predictionId: event.predictionId,
        title: event.title,
        outcomes: event.outcomes,
        startedAtMs: Number(event.startedAtMs),
        locksAtMs: Number(event.locksAtMs),
        nowMs: deps.clock.now(),
      });
      try {
        const { market } = await deps.store.createMarket({
          actor: systemActor,
          channelId: event.channelId,
          idempotencyKey: `twitch-prediction:${event.predictionId}`,
          requestHash: createHash('sha256')
            .update(
              JSON.stringify({ channelId: event.channelId, predictionId: event.predictionId }),
            )
            .digest('hex'),
          command,
        });
        await deps.store.transition(market.marketId, systemActor, (current, channel) =>
          decideOpen(current, {
            actor: systemActor,
            channelOwnerUserId: channel.ownerUserId,
            nowMs: deps.clock.now(),
          }),
        );
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        deps.logger.warn(
          { predictionId: event.predictionId, channelId: event.channelId, err: error.message },
          'Twitch prediction not mirrored',
        );
      }
    },
  };
}
