/**
 * An open EXCHANGE market for a bench, announced on the bus as the pool service would announce it
 * (`MarketCreated` then `MarketOpened` on topic `market`, keyed by market id). The pool's
 * CreateMarket still refuses EXCHANGE ("not offered yet in this deployment"), so a bench of the
 * bet engine's EXCHANGE lane cannot get one through the public API; the bet engine, realtime and
 * analytics consume these events exactly as they would the pool's.
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import {
  MarketCreatedSchema,
  MarketOpenedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { EventBus } from '@streambet/platform/bus/types';
import { randomBytes } from 'node:crypto';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import { newEventId } from '@streambet/platform/outbox/event-id';

export interface BenchExchangeMarket {
  readonly marketId: string;
  readonly outcomeIds: readonly string[];
}

/** Publishes MarketCreated (EXCHANGE, PTS) and MarketOpened for a new market of `channelId`. */
export async function publishExchangeMarket(
  bus: EventBus,
  options: {
    readonly channelId: string;
    readonly ownerUserId: string;
    readonly outcomes: number;
    readonly maxStakePerBetMinor: bigint;
    readonly bettingWindowSeconds?: number;
    readonly commissionBps?: number;
  },
): Promise<BenchExchangeMarket> {
  const marketId = encodeUlid(Date.now(), randomBytes(10));
  const outcomeIds = Array.from({ length: options.outcomes }, (_, i) => `${marketId}-o${i}`);
  const nowMs = Date.now();
  const windowSeconds = options.bettingWindowSeconds ?? 1800;
  const publish = async <D extends DescMessage>(
    schema: D,
    init: MessageInitShape<D>,
  ): Promise<void> => {
    const eventId = newEventId();
    const event = create(schema, {
      ...init,
      metadata: {
        eventId,
        occurredAtMs: BigInt(nowMs),
        producer: 'pool',
        aggregateId: marketId,
        actorUserId: options.ownerUserId,
      },
    });
    await bus.publish([
      {
        id: eventId,
        type: schema.typeName,
        topic: 'market',
        key: marketId,
        payload: toBinary(schema, event),
        headers: { producer: 'pool' },
        occurredAtMs: nowMs,
      },
    ]);
  };
  await publish(MarketCreatedSchema, {
    marketId,
    channelId: options.channelId,
    channelOwnerUserId: options.ownerUserId,
    title: 'Bench exchange market',
    outcomes: outcomeIds.map((outcomeId, i) => ({ outcomeId, title: `Outcome ${i + 1}` })),
    currency: 'PTS',
    kind: MarketKind.EXCHANGE,
    stakeLimits: {
      minStakeMinor: 1n,
      maxStakePerBetMinor: options.maxStakePerBetMinor,
      maxStakePerUserMinor: options.maxStakePerBetMinor * 1000n,
    },
    bettingWindowSeconds: windowSeconds,
    commissionBps: options.commissionBps ?? 500,
    createdByUserId: options.ownerUserId,
    version: 1n,
  });
  await publish(MarketOpenedSchema, {
    marketId,
    channelId: options.channelId,
    openedAtMs: BigInt(nowMs),
    bettingClosesAtMs: BigInt(nowMs + windowSeconds * 1000),
    version: 2n,
  });
  return { marketId, outcomeIds };
}
