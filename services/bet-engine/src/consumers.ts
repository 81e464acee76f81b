/**
 * The bet engine's event consumers:
 * - `market` (pool): the market projection. Every change is guarded by the market version the
 *   event carries (stale or repeated events change nothing), so the consumer is idempotent by
 *   itself (`handleIdempotently`) and may call the ledger: MarketOpened creates the escrow
 *   account; MarketLocked fixes the lock instant (unless VoidBetsAfter already did) and runs the
 *   retroactive void; MarketCanceled voids every standing bet (MARKET_CANCELED) and MarketVoided
 *   every bet (MARKET_VOIDED) — settlement returns the money in both cases.
 * - `settlement`: SettlementCompleted and MarketRefunded record the market's resolution if
 *   ResolveMarketBets did not already (a run on the old path); every bet then reads WON / LOST /
 *   REFUNDED with its payout, derived from it (store/settlement.ts). Runs in the inbox transaction
 *   (exactly once). PayoutMade / PayoutsMade rows are per user, not per bet, and change nothing here.
 */
import { fromBinary } from '@bufbuild/protobuf';
import {
  MarketCanceledSchema,
  MarketCreatedSchema,
  MarketLockedSchema,
  MarketOpenedSchema,
  MarketResolvedSchema,
  MarketVoidedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import {
  MarketRefundedSchema,
  SettlementCompletedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { RefundReason } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import type { PoolRefundReason } from '@streambet/parimutuel/settlement';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { EventConsumer } from '@streambet/platform/runtime/service-host';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { MarketState } from './domain/bet.js';
import type { Markets } from './markets.js';
import type { OddsService } from './odds.js';
import type { PlacementEngine } from './placement.js';
import { kindFromProto } from './proto-codec.js';
import type { BetEngineStore } from './store/index.js';
import type { ExchangeEngine } from './exchange/engine.js';

/** Topic of the pool's market events. */
const marketTopic = 'market';
/** Topic of the settlement service's events. */
const settlementTopic = 'settlement';

/** Dependencies of the consumers. */
export interface ConsumerDeps {
  readonly store: BetEngineStore;
  readonly markets: Markets;
  readonly placement: PlacementEngine;
  readonly odds: OddsService;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Wakes the outbox relay after a commit that appended events. */
  readonly onCommitted?: () => void;
  /** Settles EXCHANGE markets on MarketResolved / MarketCanceled (exchange/settle.ts). */
  readonly exchange?: ExchangeEngine;
}

/** Applies one market event (exported so tests can drive it without a bus). */
export function createMarketHandler(deps: ConsumerDeps) {
  const { store, markets, placement, odds, clock, logger } = deps;

  async function stateChange(
    marketId: string,
    state: MarketState,
    version: bigint,
    extra: { bettingClosesAtMs?: number; lockEffectiveAtMs?: number } = {},
  ): Promise<boolean> {
    // A market we never saw: fill it from the pool first (the fetched state is current). One we
    // know (a draft too) is not fetched: this event itself is the news.
    const known = (await store.getMarket(marketId)) ?? (await markets.get(marketId));
    if (known === undefined) {
      logger.warn({ marketId }, 'market event for a market the pool does not know; skipped');
      return false;
    }
    const applied = await store.sql.transaction(async (tx) => {
      const changed = await store.applyMarketState(
        tx,
        {
          marketId,
          state,
          marketVersion: Number(version),
          ...(extra.bettingClosesAtMs === undefined
            ? {}
            : { bettingClosesAtMs: extra.bettingClosesAtMs }),
        },
        clock.now(),
      );
      if (extra.lockEffectiveAtMs !== undefined && extra.lockEffectiveAtMs > 0) {
        await store.fixLockInstant(tx, marketId, extra.lockEffectiveAtMs, clock.now());
      }
      return changed?.applied === true;
    });
    markets.forget(marketId);
    return applied;
  }

  async function voidAll(
    marketId: string,
    version: bigint,
    reason: 'MARKET_CANCELED' | 'MARKET_VOIDED',
  ): Promise<void> {
    if ((await markets.get(marketId)) === undefined) return;
    const voided = await store.sql.transaction(async (tx) => {
      const changed = await store.applyMarketState(
        tx,
        { marketId, state: 'CANCELED', marketVersion: Number(version) },
        clock.now(),
      );
      if (changed === undefined || !changed.applied) return 0;
      const market = (await store.getMarket(marketId, tx))!;
      return (await store.voidMarketBets(tx, market, reason, clock.now())).length;
    });
    markets.forget(marketId);
    if (voided > 0) {
      deps.onCommitted?.();
      await odds.refresh(marketId);
      odds.changed(marketId);
    }
  }

  return async (type: string, payload: Uint8Array): Promise<void> => {
    switch (type) {
      case MarketCreatedSchema.typeName: {
        const event = fromBinary(MarketCreatedSchema, payload);
        const kind = kindFromProto(event.kind);
        if (kind === undefined) {
          logger.warn({ marketId: event.marketId }, 'MarketCreated without a kind; skipped');
          return;
        }
        await store.sql.transaction((tx) =>
          store.upsertMarketDefinition(
            tx,
            {
              marketId: event.marketId,
              channelId: event.channelId,
              channelOwnerUserId: event.channelOwnerUserId,
              title: event.title,
              kind,
              currency: event.currency,
              outcomes: event.outcomes.map((o) => ({ outcomeId: o.outcomeId, title: o.title })),
              minStakeMinor: event.stakeLimits?.minStakeMinor ?? 0n,
              maxStakePerBetMinor: event.stakeLimits?.maxStakePerBetMinor ?? 0n,
              maxStakePerUserMinor: event.stakeLimits?.maxStakePerUserMinor ?? 0n,
              commissionBps: event.commissionBps,
              state: 'DRAFT',
              bettingClosesAtMs: 0,
              lockEffectiveAtMs: 0,
              marketVersion: Number(event.version),
            },
            clock.now(),
          ),
        );
        markets.forget(event.marketId);
        return;
      }
      case MarketOpenedSchema.typeName: {
        const event = fromBinary(MarketOpenedSchema, payload);
        await stateChange(event.marketId, 'OPEN', event.version, {
          bettingClosesAtMs: Number(event.bettingClosesAtMs),
        });
        const market = await store.getMarket(event.marketId);
        if (market !== undefined && market.kind === 'POOL') {
          try {
            await markets.ensureEscrows([market]);
          } catch (error) {
            // Not fatal: the first batch on the market creates it lazily before its holds.
            logger.warn({ err: error, marketId: market.marketId }, 'creating the escrow failed');
          }
        }
        return;
      }
      case MarketLockedSchema.typeName: {
        const event = fromBinary(MarketLockedSchema, payload);
        await stateChange(event.marketId, 'LOCKED', event.version, {
          lockEffectiveAtMs: Number(event.lockEffectiveAtMs),
        });
        await placement.completeLateVoid(event.marketId);
        return;
      }
      case MarketResolvedSchema.typeName: {
        const event = fromBinary(MarketResolvedSchema, payload);
        await stateChange(event.marketId, 'RESOLVED', event.version);
        const resolved = await store.getMarket(event.marketId);
        if (resolved?.kind === 'EXCHANGE' && deps.exchange !== undefined) {
          const outcomeIndex = resolved.outcomes.findIndex(
            (o) => o.outcomeId === event.winningOutcomeId,
          );
          await deps.exchange.settle(
            event.marketId,
            outcomeIndex < 0
              ? { kind: 'refund' }
              : { kind: 'winner', outcomeIndex, commissionBps: event.commissionBps },
          );
        }
        return;
      }
      case MarketCanceledSchema.typeName: {
        const event = fromBinary(MarketCanceledSchema, payload);
        await voidAll(event.marketId, event.version, 'MARKET_CANCELED');
        const canceled = await store.getMarket(event.marketId);
        if (canceled?.kind === 'EXCHANGE' && deps.exchange !== undefined) {
          await deps.exchange.settle(event.marketId, { kind: 'refund' });
        }
        return;
      }
      case MarketVoidedSchema.typeName: {
        const event = fromBinary(MarketVoidedSchema, payload);
        await voidAll(event.marketId, event.version, 'MARKET_VOIDED');
        return;
      }
      default:
        return;
    }
  };
}

/** The parimutuel refund reason of settlement.proto's RefundReason (MARKET_VOIDED: canceled). */
function refundReasonOf(reason: RefundReason): PoolRefundReason {
  switch (reason) {
    case RefundReason.NO_WINNING_STAKES:
      return 'NO_WINNING_STAKES';
    case RefundReason.ONE_SIDED:
      return 'ONE_SIDED';
    default:
      return 'MARKET_CANCELED';
  }
}

/** Applies one settlement event in `tx` (exported so tests can drive it through the inbox). */
export function createSettlementHandler(deps: Pick<ConsumerDeps, 'store' | 'logger'>) {
  const { store } = deps;
  return async (type: string, payload: Uint8Array, tx: SqlExecutor): Promise<void> => {
    switch (type) {
      case SettlementCompletedSchema.typeName: {
        const settlement = fromBinary(SettlementCompletedSchema, payload).settlement;
        if (settlement === undefined || settlement.kind !== MarketKind.POOL) return;
        // Normally recorded by ResolveMarketBets before any money moved; this records it, with
        // the settlement's figures, for a run on the old path. No bet row is rewritten.
        await store.applySettlementEvent(tx, {
          marketId: settlement.marketId,
          refundReason: null,
          winningOutcomeId: settlement.winningOutcomeId,
          commissionBps: settlement.commissionBps,
          streamerShareBps: settlement.streamerRevenueShareBps,
          totalStakedMinor: settlement.totalStakedMinor,
          winningStakedMinor: settlement.winningStakedMinor,
          commissionMinor: settlement.commissionMinor,
          streamerShareMinor: settlement.streamerShareMinor,
          distributableMinor: settlement.distributableMinor,
          breakageMinor: settlement.breakageMinor,
          payoutTotalMinor: settlement.payoutTotalMinor,
          betCount: 0n,
          userCount: settlement.payoutCount,
          winnerCount: settlement.winnerCount,
          resolvedAtMs: Number(settlement.completedAtMs),
        });
        return;
      }
      case MarketRefundedSchema.typeName: {
        const event = fromBinary(MarketRefundedSchema, payload);
        await store.applySettlementEvent(tx, {
          marketId: event.marketId,
          refundReason: refundReasonOf(event.reason),
          winningOutcomeId: '',
          commissionBps: 0,
          streamerShareBps: 0,
          totalStakedMinor: event.refundedTotalMinor,
          winningStakedMinor: 0n,
          commissionMinor: 0n,
          streamerShareMinor: 0n,
          distributableMinor: 0n,
          breakageMinor: 0n,
          payoutTotalMinor: event.refundedTotalMinor,
          betCount: event.refundedBetCount,
          userCount: event.refundedUserCount,
          winnerCount: 0n,
          resolvedAtMs: Number(event.refundedAtMs),
        });
        return;
      }
      default:
        return;
    }
  };
}

/** The `market` consumer. */
export function createMarketConsumer(deps: ConsumerDeps): EventConsumer {
  const handle = createMarketHandler(deps);
  return {
    name: 'markets',
    topics: [marketTopic],
    // Market state decides which bets are accepted or voided: never skip a transition.
    maxAttempts: 'unlimited',
    handleIdempotently: (event: EventEnvelope) => handle(event.type, event.payload),
  };
}

/** The `settlement` consumer. */
export function createSettlementConsumer(deps: ConsumerDeps): EventConsumer {
  const handle = createSettlementHandler(deps);
  return {
    name: 'settlement',
    topics: [settlementTopic],
    // Marks bets settled, refunded or reversed: never skip one.
    maxAttempts: 'unlimited',
    handle: (event: EventEnvelope, tx: SqlExecutor) => handle(event.type, event.payload, tx),
  };
}
