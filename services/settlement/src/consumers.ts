/**
 * The settlement service's consumer of the pool's `market` events, run in the inbox transaction
 * the service host opens per event (exactly-once effect under at-least-once delivery):
 * - MarketCreated: keeps the market's terms (outcomes, commission, streamer share), so a later
 *   MarketCanceled, which carries none of them, can be settled without calling the pool;
 * - MarketResolved / MarketCanceled: records the market's settlement run, due now (one per
 *   market: a redelivery, or a cancel after a resolution, changes nothing); the settlement task
 *   runs it after the commit;
 * - MarketVoided: the pool publishes it after ReverseSettlement succeeded, so there is nothing to
 *   do; a settlement that is not REVERSED by then is logged for an admin.
 * EXCHANGE markets are settled by the bet engine's exchange lane (net per user, commission on
 * positive net winnings; services/bet-engine/src/exchange), so their events are skipped here.
 */
import { randomBytes } from 'node:crypto';
import { fromBinary } from '@bufbuild/protobuf';
import {
  MarketCanceledSchema,
  MarketCreatedSchema,
  MarketResolvedSchema,
  MarketVoidedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { EventConsumer } from '@streambet/platform/runtime/service-host';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { SettlementStore } from './store.js';

/** Topic of the pool's market events. */
const marketTopic = 'market';

/** Dependencies of the market consumer. */
export interface MarketConsumerDeps {
  readonly store: SettlementStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called after a transaction recorded a new run (the task wakes to run it). */
  readonly onRunRecorded?: (marketId: string) => void;
}

/** Applies one market event in `tx`; true when it recorded a new settlement run (exported for tests). */
export function createMarketHandler(deps: MarketConsumerDeps) {
  const { store, clock, logger } = deps;
  const newSettlementId = (): string => encodeUlid(clock.now(), new Uint8Array(randomBytes(10)));

  return async (type: string, payload: Uint8Array, tx: SqlExecutor): Promise<boolean> => {
    switch (type) {
      case MarketCreatedSchema.typeName: {
        const event = fromBinary(MarketCreatedSchema, payload);
        await store.recordMarketTerms(tx, {
          marketId: event.marketId,
          channelId: event.channelId,
          kind: event.kind,
          currency: event.currency,
          outcomeIds: event.outcomes.map((outcome) => outcome.outcomeId),
          commissionBps: event.commissionBps,
          streamerShareBps: event.streamerRevenueShareBps,
          streamerUserId: event.channelOwnerUserId,
        });
        return false;
      }
      case MarketResolvedSchema.typeName: {
        const event = fromBinary(MarketResolvedSchema, payload);
        if (event.kind === MarketKind.EXCHANGE) {
          logger.warn(
            { marketId: event.marketId },
            'EXCHANGE market: settled by the bet engine, skipped here',
          );
          return false;
        }
        const terms = await store.marketTerms(tx, event.marketId);
        const recorded = await store.recordRun(
          tx,
          {
            marketId: event.marketId,
            settlementId: newSettlementId(),
            channelId: event.channelId,
            kind: event.kind,
            currency: event.currency,
            canceled: false,
            winningOutcomeId: event.winningOutcomeId,
            commissionBps: event.commissionBps,
            streamerShareBps: event.streamerRevenueShareBps,
            streamerUserId: event.streamerUserId,
            marketEventAtMs: Number(event.resolvedAtMs),
          },
          terms?.outcomeIds ?? null,
        );
        if (recorded) deps.onRunRecorded?.(event.marketId);
        return recorded;
      }
      case MarketCanceledSchema.typeName: {
        const event = fromBinary(MarketCanceledSchema, payload);
        const terms = await store.marketTerms(tx, event.marketId);
        if (terms?.kind === MarketKind.EXCHANGE) {
          logger.warn(
            { marketId: event.marketId },
            'EXCHANGE market: refunded by the bet engine, skipped here',
          );
          return false;
        }
        const recorded = await store.recordRun(
          tx,
          {
            marketId: event.marketId,
            settlementId: newSettlementId(),
            channelId: event.channelId,
            kind: terms?.kind ?? MarketKind.UNSPECIFIED,
            currency: event.currency,
            canceled: true,
            winningOutcomeId: '',
            commissionBps: terms?.commissionBps ?? 0,
            streamerShareBps: terms?.streamerShareBps ?? 0,
            streamerUserId: terms?.streamerUserId ?? '',
            marketEventAtMs: Number(event.canceledAtMs),
          },
          terms?.outcomeIds ?? null,
        );
        if (recorded) deps.onRunRecorded?.(event.marketId);
        return recorded;
      }
      case MarketVoidedSchema.typeName: {
        const event = fromBinary(MarketVoidedSchema, payload);
        const record = await store.get(event.marketId);
        if (record !== undefined && record.status !== 'REVERSED' && record.status !== 'REFUNDED') {
          logger.error(
            { marketId: event.marketId, status: record.status },
            'market voided after resolution but its settlement was not reversed: an admin must look',
          );
        }
        return false;
      }
      default:
        return false;
    }
  };
}

/** The market consumer (consumer group `settlement.market`). */
export function createMarketConsumer(deps: MarketConsumerDeps): EventConsumer {
  const handle = createMarketHandler(deps);
  return {
    name: 'market',
    topics: [marketTopic],
    // Records settlement runs: a dropped MarketResolved would leave every stake held.
    maxAttempts: 'unlimited',
    handle: async (event, tx) => {
      await handle(event.type, event.payload, tx);
    },
  };
}
