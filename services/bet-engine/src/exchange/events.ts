/**
 * Per-order events of EXCHANGE markets (topic `bet`, keyed by market id), appended to the outbox
 * in the lane's own commits so an order's owner sees it confirmed, matched, canceled or lapsed
 * (realtime routes them to the users' rooms; analytics counts handle and matched volume):
 * - `BetPlaced` for each order accepted in commit 2 (its hold covers it), with what the order
 *   alone reserves (`held_minor`: BACK its stake, LAY ceil(stake × (d − 1))) and the user's hold
 *   transfer id at that moment (the ledger holds the user's net worst case over the market);
 * - `BetMatched` for each fill of that commit, with each order's unmatched stake right after it;
 * - `OrderCanceled` / `OrderLapsed` in commit 1 where the cancel or lapse is applied.
 *   `released_minor` is what the order alone no longer reserves; the user's single market hold
 *   shrinks to their new net worst case on the same or the next batch, which can release less
 *   when other orders or fills offset it.
 * Orders voided by a retroactive lock are not announced here yet (GetBook / ListMyBets show them).
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { BetSide, BetStatus } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  BetMatchedSchema,
  BetPlacedSchema,
  OrderCanceledSchema,
  OrderLapsedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { layReserveMinor } from '@streambet/exchange/exposure';
import { formatOdds } from '@streambet/exchange/ladder';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { EventMetadataInit } from '../proto-codec.js';
import { appendEvents, betTopic } from '../store/events.js';
import type { MarketRecord } from '../store/index.js';
import { exchangeHoldId } from './ledger.js';
import { remainingMinor, type XFill, type XOrder } from './market-book.js';

/** What an order of `stakeMinor` backer's stake reserves on its own. */
function reserveMinor(order: XOrder, stakeMinor: bigint): bigint {
  return order.side === 'back' ? stakeMinor : layReserveMinor(stakeMinor, order.oddsHundredths);
}

function encode<D extends DescMessage>(
  schema: D,
  meta: EventMetadataInit,
  init: MessageInitShape<D>,
): { type: string; payload: Uint8Array } {
  const message = create(schema, {
    ...init,
    metadata: {
      eventId: meta.eventId,
      occurredAtMs: BigInt(meta.occurredAtMs),
      producer: 'bet-engine',
      traceParent: meta.traceParent,
      aggregateId: meta.aggregateId,
      actorUserId: meta.actorUserId,
      actorRole: meta.actorUserId === '' ? Role.SERVICE : Role.UNSPECIFIED,
    },
  });
  return { type: schema.typeName, payload: toBinary(schema, message) };
}

/** The status an order shows after a cancel or lapse: MATCHED if anything matched, else VOIDED. */
function afterRemoval(order: XOrder): BetStatus {
  return order.matchedMinor > 0n ? BetStatus.MATCHED : BetStatus.VOIDED;
}

/** Everything one market's commit announces. */
export interface OrderEvents {
  /** Orders accepted in this commit, with the user's hold version now covering them. */
  readonly placed?: ReadonlyArray<{ readonly order: XOrder; readonly holdVersion: number }>;
  /** Fills of this commit, in matching order. */
  readonly fills?: readonly XFill[];
  /** Orders of this commit by id (fills' orders: their state after the commit). */
  readonly orders?: ReadonlyMap<string, XOrder>;
  /** Cancels applied: the order after it, the stake canceled, who canceled. */
  readonly canceled?: ReadonlyArray<{
    readonly order: XOrder;
    readonly canceledMinor: bigint;
    readonly byUserId: string;
  }>;
  /** Orders whose remainder lapsed in this commit (after the change), with the stake lapsed. */
  readonly lapsed?: ReadonlyArray<{ readonly order: XOrder; readonly lapsedMinor: bigint }>;
}

/** Appends the per-order events of one market to the outbox in `tx`. */
export async function appendOrderEvents(
  tx: SqlExecutor,
  market: MarketRecord,
  nowMs: number,
  events: OrderEvents,
): Promise<void> {
  const key = market.marketId;
  const outcomeId = (index: number): string => market.outcomes[index]?.outcomeId ?? '';
  const list: Parameters<typeof appendEvents>[2][number][] = [];
  for (const { order, holdVersion } of events.placed ?? []) {
    list.push({
      topic: betTopic,
      key,
      actorUserId: order.userId,
      encode: (meta) =>
        encode(BetPlacedSchema, meta, {
          betId: order.orderId,
          marketId: order.marketId,
          channelId: market.channelId,
          userId: order.userId,
          outcomeId: order.outcomeId,
          kind: MarketKind.EXCHANGE,
          side: order.side === 'back' ? BetSide.BACK : BetSide.LAY,
          currency: order.currency,
          stakeMinor: order.stakeMinor,
          decimalOdds: formatOdds(order.oddsHundredths),
          heldMinor: reserveMinor(order, order.stakeMinor),
          holdTransferId: exchangeHoldId(order.marketId, order.userId, holdVersion),
          placedAtMs: BigInt(order.placedAtMs),
        }),
    });
  }
  // Each order's unmatched stake before this commit's fills, then counted down fill by fill.
  const fills = events.fills ?? [];
  const unmatched = new Map<string, bigint>();
  for (const fill of fills) {
    for (const id of [fill.backOrderId, fill.layOrderId]) {
      const order = events.orders?.get(id);
      if (order === undefined) continue;
      unmatched.set(id, (unmatched.get(id) ?? remainingMinor(order)) + fill.stakeMinor);
    }
  }
  for (const fill of fills) {
    const after = (id: string): bigint => {
      const left = (unmatched.get(id) ?? fill.stakeMinor) - fill.stakeMinor;
      unmatched.set(id, left);
      return left;
    };
    const backLeft = after(fill.backOrderId);
    const layLeft = after(fill.layOrderId);
    list.push({
      topic: betTopic,
      key,
      actorUserId: '',
      encode: (meta) =>
        encode(BetMatchedSchema, meta, {
          matchId: fill.matchId,
          marketId: fill.marketId,
          outcomeId: outcomeId(fill.outcomeIndex),
          currency: market.currency,
          decimalOdds: formatOdds(fill.oddsHundredths),
          matchedStakeMinor: fill.stakeMinor,
          liabilityMinor: fill.liabilityMinor,
          backBetId: fill.backOrderId,
          backUserId: fill.backUserId,
          layBetId: fill.layOrderId,
          layUserId: fill.layUserId,
          takerSide: fill.makerOrderId === fill.backOrderId ? BetSide.LAY : BetSide.BACK,
          backUnmatchedStakeMinor: backLeft,
          layUnmatchedStakeMinor: layLeft,
          matchedAtMs: BigInt(fill.matchedAtMs),
        }),
    });
  }
  for (const { order, canceledMinor, byUserId } of events.canceled ?? []) {
    list.push({
      topic: betTopic,
      key,
      actorUserId: byUserId,
      encode: (meta) =>
        encode(OrderCanceledSchema, meta, {
          betId: order.orderId,
          marketId: order.marketId,
          userId: order.userId,
          currency: order.currency,
          canceledStakeMinor: canceledMinor,
          releasedMinor: reserveMinor(order, canceledMinor),
          matchedStakeMinor: order.matchedMinor,
          status: afterRemoval(order),
          canceledByUserId: byUserId,
          canceledAtMs: BigInt(nowMs),
        }),
    });
  }
  for (const { order, lapsedMinor } of events.lapsed ?? []) {
    list.push({
      topic: betTopic,
      key,
      actorUserId: '',
      encode: (meta) =>
        encode(OrderLapsedSchema, meta, {
          betId: order.orderId,
          marketId: order.marketId,
          userId: order.userId,
          currency: order.currency,
          lapsedStakeMinor: lapsedMinor,
          releasedMinor: reserveMinor(order, lapsedMinor),
          matchedStakeMinor: order.matchedMinor,
          status: afterRemoval(order),
          lapsedAtMs: BigInt(nowMs),
        }),
    });
  }
  await appendEvents(tx, nowMs, list);
}
