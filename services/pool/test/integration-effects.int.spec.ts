/**
 * Twitch prediction mirroring end to end in the pool: PredictionBegan on a linked Twitch channel
 * opens a PTS POOL market mirroring the prediction (outcomes carry Twitch's ids, window from the
 * announced lock time within 30–1800 s); a redelivery changes nothing; PredictionLocked locks it and
 * PredictionEnded resolves it with the winning Twitch outcome. A second prediction while the first
 * mirror is unfinished is refused by the one-active rule and skipped.
 */
import { create } from '@bufbuild/protobuf';
import { toBinary } from '@bufbuild/protobuf';
import {
  PredictionBeganSchema,
  PredictionEndedSchema,
  PredictionEndStatus,
  PredictionLockedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import {
  MarketKind,
  MarketLockReason,
  MarketState,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { nextUlid } from '@streambet/testkit/ids';
import { testLogger } from '@streambet/testkit/rpc';
import { sqlTargets } from '@streambet/testkit/sql';
import { describe, expect, it } from 'vitest';
import { createPredictionMirrorConsumer } from '../src/integration-effects.js';
import { createHarness } from './harness.js';

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'prediction mirroring on %s',
  (_name, target) => {
    it('begin opens a mirrored PTS POOL market once; lock and end lock and resolve it', async () => {
      const h = await createHarness(target);
      try {
        const channelId = nextUlid();
        const owner = nextUlid();
        await h.linkChannel(channelId, owner);
        const consumer = createPredictionMirrorConsumer({
          store: h.store,
          clock: h.clock,
          logger: testLogger('pool'),
        });
        if (!('handleIdempotently' in consumer)) throw new Error('expected an idempotent consumer');
        const began = (predictionId: string): EventEnvelope => ({
          id: nextUlid(),
          topic: 'integration',
          key: channelId,
          type: PredictionBeganSchema.typeName,
          headers: {},
          occurredAtMs: h.clock.now(),
          payload: toBinary(
            PredictionBeganSchema,
            create(PredictionBeganSchema, {
              channelId,
              predictionId,
              title: 'Win the next round?',
              outcomes: [
                { outcomeId: `${predictionId}-a`, title: 'Yes', color: 'blue' },
                { outcomeId: `${predictionId}-b`, title: 'No', color: 'pink' },
              ],
              startedAtMs: BigInt(h.clock.now()),
              locksAtMs: BigInt(h.clock.now() + 120_000),
            }),
          ),
        });
        const first = began('p1');
        await consumer.handleIdempotently(first);
        await consumer.handleIdempotently(first);
        const listed = await h.pool.listMarkets({ channelId });
        expect(listed.markets).toHaveLength(1);
        const market = listed.markets[0]!;
        expect(market).toMatchObject({
          state: MarketState.OPEN,
          kind: MarketKind.POOL,
          currency: 'PTS',
          title: 'Win the next round?',
          twitchPredictionId: 'p1',
          bettingWindowSeconds: 120,
        });
        expect(market.outcomes.map((o) => o.twitchOutcomeId)).toEqual(['p1-a', 'p1-b']);

        // One active prediction per channel: a second begin is skipped.
        await consumer.handleIdempotently(began('p2'));
        expect((await h.pool.listMarkets({ channelId })).markets).toHaveLength(1);

        h.clock.advance(30_000);
        await h.integrationEvent(nextUlid(), PredictionLockedSchema, {
          channelId,
          predictionId: 'p1',
          lockedAtMs: BigInt(h.clock.now()),
        });
        const locked = await h.pool.getMarket({ marketId: market.marketId });
        expect(locked.market?.state).toBe(MarketState.LOCKED);
        expect(locked.market?.lockReason).toBe(MarketLockReason.TWITCH_PREDICTION_LOCKED);

        await h.integrationEvent(nextUlid(), PredictionEndedSchema, {
          channelId,
          predictionId: 'p1',
          status: PredictionEndStatus.RESOLVED,
          winningOutcomeId: 'p1-b',
          endedAtMs: BigInt(h.clock.now()),
        });
        const resolved = await h.pool.getMarket({ marketId: market.marketId });
        expect(resolved.market?.state).toBe(MarketState.RESOLVED);
        expect(resolved.market?.winningOutcomeId).toBe(market.outcomes[1]?.outcomeId);
      } finally {
        await h.dispose();
      }
    });
  },
);
