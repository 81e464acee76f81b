/**
 * The fraud consumer (consumer group `analytics.fraud`): keeps what the rules need from the event
 * stream and runs the rules an event can trigger, in the inbox transaction; a flag and its
 * FraudFlagRaised event commit with the inbox row, so each event is judged once.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { BetVoidReason } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  BetPlacedSchema,
  BetVoidedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import { ChannelLinkedSchema } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import {
  MarketCreatedSchema,
  MarketLockedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import {
  DepositSucceededSchema,
  WithdrawalRequestedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/payment_pb';
import {
  UserLoggedInSchema,
  UserRegisteredSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import { MarketLockReason } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { createInboxBatcher } from '@streambet/platform/outbox/inbox';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { EventConsumer } from '@streambet/platform/runtime/service-host';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import {
  depositWithdrawCycling,
  lateBetCluster,
  repeatedRetroactiveVoids,
  streamerAltBetting,
  velocitySpike,
  type FlagDraft,
  type FraudThresholds,
  type Link,
} from '../domain/fraud.js';
import {
  betTimes,
  channelOwner,
  linksOf,
  marketBets,
  moneyOf,
  raiseFlag,
  recordBet,
  recordChannelOwner,
  recordLinks,
  recordMoney,
  stakedBetween,
} from './store.js';

/** Dependencies of the fraud consumer. */
export interface FraudConsumerDeps {
  readonly thresholds: FraudThresholds;
  readonly clock: Clock;
  /** Wakes the outbox relay after a flag was raised. */
  readonly onFlagRaised?: (flagId: string) => void;
}

const clientLinks = (client: { deviceId: string; networkId: string } | undefined): Link[] => [
  { kind: 'device', id: client?.deviceId ?? '' },
  { kind: 'network', id: client?.networkId ?? '' },
];

/** The fraud store's links and channel owners, as the handler reads and records them. */
interface FraudReads {
  recordLinks(tx: SqlExecutor, userId: string, links: readonly Link[], atMs: number): Promise<void>;
  linksOf(tx: SqlExecutor, userId: string): Promise<Link[]>;
  recordChannelOwner(tx: SqlExecutor, channelId: string, ownerUserId: string): Promise<void>;
  channelOwner(tx: SqlExecutor, channelId: string): Promise<string>;
}

const uncachedReads: FraudReads = { recordLinks, linksOf, recordChannelOwner, channelOwner };

/**
 * The reads of ONE batch transaction, remembered: a market's bets share its channel and its
 * channel's owner, so a batch of N bets asks for them once instead of N times. Each entry is
 * dropped when the same transaction records something that changes it, so every event still
 * reads what the events before it in the batch left.
 */
function batchReads(): FraudReads {
  const links = new Map<string, Link[]>();
  const owners = new Map<string, string>();
  return {
    async recordLinks(tx, userId, given, atMs) {
      await recordLinks(tx, userId, given, atMs);
      if (given.some((link) => link.id !== '')) links.delete(userId);
    },
    async linksOf(tx, userId) {
      let known = links.get(userId);
      if (known === undefined) {
        known = await linksOf(tx, userId);
        links.set(userId, known);
      }
      return known;
    },
    async recordChannelOwner(tx, channelId, ownerUserId) {
      await recordChannelOwner(tx, channelId, ownerUserId);
      owners.delete(channelId);
    },
    async channelOwner(tx, channelId) {
      let known = owners.get(channelId);
      if (known === undefined) {
        known = await channelOwner(tx, channelId);
        owners.set(channelId, known);
      }
      return known;
    },
  };
}

/** Applies one event in `tx`; returns the ids of the flags it raised (exported for tests). */
export function createFraudHandler(deps: FraudConsumerDeps) {
  const t = deps.thresholds;
  const raise = async (tx: SqlExecutor, drafts: readonly FlagDraft[]): Promise<string[]> => {
    const raised: string[] = [];
    for (const draft of drafts) {
      const id = await raiseFlag(tx, draft, deps.clock.now());
      if (id !== undefined) {
        raised.push(id);
        deps.onFlagRaised?.(id);
      }
    }
    return raised;
  };

  return async (
    event: { id: string; type: string; payload: Uint8Array; occurredAtMs: number },
    tx: SqlExecutor,
    reads: FraudReads = uncachedReads,
  ): Promise<string[]> => {
    switch (event.type) {
      case UserRegisteredSchema.typeName: {
        const e = fromBinary(UserRegisteredSchema, event.payload);
        await reads.recordLinks(tx, e.userId, clientLinks(e.client), event.occurredAtMs);
        return [];
      }
      case UserLoggedInSchema.typeName: {
        const e = fromBinary(UserLoggedInSchema, event.payload);
        await reads.recordLinks(tx, e.userId, clientLinks(e.client), event.occurredAtMs);
        return [];
      }
      case ChannelLinkedSchema.typeName: {
        const e = fromBinary(ChannelLinkedSchema, event.payload);
        await reads.recordChannelOwner(tx, e.channelId, e.ownerUserId);
        return [];
      }
      case MarketCreatedSchema.typeName: {
        const e = fromBinary(MarketCreatedSchema, event.payload);
        await reads.recordChannelOwner(tx, e.channelId, e.channelOwnerUserId);
        return [];
      }
      case BetPlacedSchema.typeName: {
        const e = fromBinary(BetPlacedSchema, event.payload);
        const placedAtMs = Number(e.placedAtMs) || event.occurredAtMs;
        await recordBet(tx, {
          betId: e.betId,
          marketId: e.marketId,
          channelId: e.channelId,
          userId: e.userId,
          placedAtMs,
          stakeMinor: e.stakeMinor,
          deviceId: e.client?.deviceId ?? '',
          networkId: e.client?.networkId ?? '',
        });
        await reads.recordLinks(tx, e.userId, clientLinks(e.client), placedAtMs);
        const ownerUserId = await reads.channelOwner(tx, e.channelId);
        const drafts = [
          ...streamerAltBetting({
            betId: e.betId,
            bettorId: e.userId,
            marketId: e.marketId,
            channelId: e.channelId,
            ownerUserId,
            stakeMinor: e.stakeMinor,
            bettorLinks: await reads.linksOf(tx, e.userId),
            ownerLinks: ownerUserId === '' ? [] : await reads.linksOf(tx, ownerUserId),
          }),
          ...velocitySpike(
            {
              userId: e.userId,
              atMs: placedAtMs,
              betTimesMs: await betTimes(tx, e.userId, placedAtMs - t.velocityWindowMs, placedAtMs),
            },
            t,
          ),
        ];
        return raise(tx, drafts);
      }
      case MarketLockedSchema.typeName: {
        const e = fromBinary(MarketLockedSchema, event.payload);
        const lockedAtMs = Number(e.lockedAtMs) || event.occurredAtMs;
        const effectiveMs = Number(e.lockEffectiveAtMs) || lockedAtMs;
        const retroactive = effectiveMs < lockedAtMs;
        if (e.reason !== MarketLockReason.MANUAL && !retroactive) return [];
        const bets = await marketBets(tx, e.marketId, effectiveMs - t.lateBetWindowMs, lockedAtMs);
        return raise(
          tx,
          lateBetCluster(
            {
              marketId: e.marketId,
              channelId: e.channelId,
              lockEffectiveAtMs: effectiveMs,
              lockedAtMs,
              bets,
            },
            t,
          ),
        );
      }
      case BetVoidedSchema.typeName: {
        const e = fromBinary(BetVoidedSchema, event.payload);
        if (e.reason !== BetVoidReason.RETROACTIVE_LOCK) return [];
        const atMs = Number(e.voidedAtMs) || event.occurredAtMs;
        await recordMoney(tx, {
          eventId: event.id,
          userId: e.userId,
          kind: 'retro_void',
          refId: e.betId,
          marketId: e.marketId,
          amountMinor: e.voidedStakeMinor,
          atMs,
        });
        const voids = await moneyOf(tx, e.userId, 'retro_void', atMs - t.retroVoidLookbackMs, atMs);
        return raise(
          tx,
          repeatedRetroactiveVoids(
            {
              userId: e.userId,
              atMs,
              voids: voids.map((v) => ({ betId: v.refId, marketId: v.marketId, atMs: v.atMs })),
            },
            t,
          ),
        );
      }
      case DepositSucceededSchema.typeName: {
        const e = fromBinary(DepositSucceededSchema, event.payload);
        await recordMoney(tx, {
          eventId: event.id,
          userId: e.userId,
          kind: 'deposit',
          refId: e.paymentId,
          marketId: '',
          amountMinor: e.amount?.amountMinor ?? 0n,
          atMs: event.occurredAtMs,
        });
        return [];
      }
      case WithdrawalRequestedSchema.typeName: {
        const e = fromBinary(WithdrawalRequestedSchema, event.payload);
        const atMs = event.occurredAtMs;
        const from = atMs - t.cyclingLookbackMs;
        const deposits = await moneyOf(tx, e.userId, 'deposit', from, atMs);
        return raise(
          tx,
          depositWithdrawCycling(
            {
              userId: e.userId,
              paymentId: e.paymentId,
              withdrawalMinor: e.amount?.amountMinor ?? 0n,
              atMs,
              deposits,
              stakedMinor: await stakedBetween(tx, e.userId, from, atMs),
            },
            t,
          ),
        );
      }
      default:
        return [];
    }
  };
}

/** Most events judged in one transaction (see {@link createFraudConsumer}). */
export const fraudBatchMax = 200;

/**
 * The same on the embedded engine, where every service of the process shares one backend: a batch
 * costs a few statements per event, and holding that backend for hundreds of them would stall
 * everyone's transactions (placements first).
 */
export const fraudBatchMaxEmbedded = 8;

/**
 * The fraud consumer. With `deps.sql` (the service), deliveries are group-committed: the events
 * delivered while the previous transaction ran are judged one after another in ONE inbox
 * transaction (each sees what the earlier ones recorded, as in separate transactions), saving the
 * transaction and inbox statements of every event and the repeated reads of a channel's owner and
 * of links ({@link batchReads}). `handle` stays for one event in the caller's
 * inbox transaction (tests, replays).
 */
export function createFraudConsumer(
  deps: FraudConsumerDeps & { readonly sql?: Sql },
): EventConsumer & { handle(event: EventEnvelope, tx: SqlExecutor): Promise<void> } {
  const judge = createFraudHandler(deps);
  const base = {
    name: 'fraud',
    topics: ['user', 'bet', 'market', 'payment', 'integration'],
    maxAttempts: 'unlimited' as const,
    handle: async (event: EventEnvelope, tx: SqlExecutor): Promise<void> => {
      await judge(event, tx);
    },
  };
  if (deps.sql === undefined) return base;
  const batcher = createInboxBatcher<EventEnvelope>({
    sql: deps.sql,
    consumer: 'analytics.fraud',
    maxBatch: deps.sql.dialect === 'pglite' ? fraudBatchMaxEmbedded : fraudBatchMax,
    apply: async (tx, events) => {
      const reads = batchReads();
      for (const event of events) await judge(event, tx, reads);
    },
  });
  return { ...base, handleIdempotently: (event) => batcher.handle(event) };
}
