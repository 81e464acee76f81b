/**
 * Book changes for viewers: an OddsChanged (topic `odds`, keyed by market) whose MarketOdds
 * carries the EXCHANGE ladder of every outcome, appended in the batch's own commit 2 and
 * conflated to at most one per `minIntervalMs` per market (the trailing change is published by
 * a later batch: the lane schedules one). Realtime already pushes OddsChanged to the market's
 * room with its own conflation by version.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  MarketOddsSchema,
  OutcomeOddsSchema,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { formatOdds, tickToOddsHundredths } from '@streambet/exchange/ladder';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import { appendEvents, oddsTopic } from '../store/events.js';
import type { MarketRecord } from '../store/index.js';
import { outcomeBookToProto } from './codec.js';
import type { MarketBook } from './market-book.js';

/** Levels per side in a published book. */
export const PUBLISHED_DEPTH = 10;

/** Appends the market's snapshot (version = be_xbooks.seq) to the outbox in `tx`. */
export async function appendBookChanged(
  tx: SqlExecutor,
  book: MarketBook,
  market: MarketRecord,
  nowMs: number,
): Promise<void> {
  const outcomes = market.outcomes.map((o, index) => {
    const depth = book.depth(index, 1);
    const bestBack = depth.availableToBack[0];
    const bestLay = depth.availableToLay[0];
    return create(OutcomeOddsSchema, {
      outcomeId: o.outcomeId,
      stakedMinor: book.matchedByOutcome[index] ?? 0n,
      decimalOdds: bestBack === undefined ? '' : formatOdds(tickToOddsHundredths(bestBack.tick)),
      layDecimalOdds: bestLay === undefined ? '' : formatOdds(tickToOddsHundredths(bestLay.tick)),
    });
  });
  const odds = create(MarketOddsSchema, {
    marketId: market.marketId,
    kind: MarketKind.EXCHANGE,
    currency: market.currency,
    totalStakedMinor: book.matchedByOutcome.reduce((sum, v) => sum + v, 0n),
    bettorCount: BigInt(book.users().size),
    outcomes,
    version: BigInt(book.seq),
    computedAtMs: BigInt(nowMs),
    books: market.outcomes.map((o, index) =>
      outcomeBookToProto(book, index, o.outcomeId, PUBLISHED_DEPTH),
    ),
  });
  await appendEvents(tx, nowMs, [
    {
      topic: oddsTopic,
      key: market.marketId,
      actorUserId: '',
      encode: (meta) => ({
        type: OddsChangedSchema.typeName,
        payload: toBinary(
          OddsChangedSchema,
          create(OddsChangedSchema, {
            metadata: {
              eventId: meta.eventId,
              occurredAtMs: BigInt(meta.occurredAtMs),
              traceParent: meta.traceParent,
              aggregateId: meta.aggregateId,
              actorUserId: meta.actorUserId,
              producer: 'bet-engine',
              actorRole: Role.SERVICE,
            },
            channelId: market.channelId,
            odds,
          }),
        ),
      }),
    },
  ]);
}
