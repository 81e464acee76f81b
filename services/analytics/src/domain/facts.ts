/**
 * What the warehouse keeps of each event (pure: no I/O, no clock). Every event of every family
 * becomes one {@link EventRow} (its protobuf JSON, for the audit trail and ad-hoc questions) and
 * zero or more {@link FactRow}s, the flat figures the metrics are computed from. Both are keyed
 * by the event id (and the fact's position in its event), so a redelivered event maps to the same
 * keys and the warehouse keeps it once.
 */
import {
  createRegistry,
  fromBinary,
  toJson,
  toJsonString,
  type DescMessage,
  type Message,
  type MessageShape,
} from '@bufbuild/protobuf';
import { file_streambet_events_v1_analytics } from '@streambet/contracts/gen/streambet/events/v1/analytics_pb';
import {
  BetMatchedSchema,
  BetPlacedSchema,
  BetVoidedSchema,
  file_streambet_events_v1_bet,
  OrderCanceledSchema,
  OrderLapsedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import { file_streambet_events_v1_integration } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import {
  file_streambet_events_v1_market,
  MarketCreatedSchema,
  MarketResolvedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { file_streambet_events_v1_odds } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import { file_streambet_events_v1_payment } from '@streambet/contracts/gen/streambet/events/v1/payment_pb';
import {
  file_streambet_events_v1_settlement,
  MarketRefundedSchema,
  SettlementCompletedSchema,
  SettlementReversedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import {
  file_streambet_events_v1_user,
  UserRegisteredSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import { file_streambet_events_v1_wallet } from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { redact } from './audit.js';

/** Event types carrying personal data the warehouse does not keep (their `email` is redacted). */
const PERSONAL = new Set<string>([UserRegisteredSchema.typeName]);

/** Every event family the platform publishes: the sink subscribes to all of them. */
export const eventTopics = [
  'user',
  'wallet',
  'bet',
  'odds',
  'market',
  'settlement',
  'payment',
  'integration',
  'analytics',
] as const;

/** Every event message of proto/streambet/events, by fully-qualified name. */
export const eventRegistry = createRegistry(
  file_streambet_events_v1_analytics,
  file_streambet_events_v1_bet,
  file_streambet_events_v1_integration,
  file_streambet_events_v1_market,
  file_streambet_events_v1_odds,
  file_streambet_events_v1_payment,
  file_streambet_events_v1_settlement,
  file_streambet_events_v1_user,
  file_streambet_events_v1_wallet,
);

/** The parts of a bus envelope the warehouse reads. */
export interface IncomingEvent {
  readonly id: string;
  readonly topic: string;
  readonly type: string;
  readonly key: string;
  readonly payload: Uint8Array;
  readonly occurredAtMs: number;
}

/** One event as the warehouse stores it. */
export interface EventRow {
  readonly eventId: string;
  readonly topic: string;
  readonly type: string;
  /** The bus key (aggregate id). */
  readonly aggregateId: string;
  readonly occurredAtMs: number;
  /** Producing service (EventMetadata.producer); empty when unknown. */
  readonly producer: string;
  /** EventMetadata.actor_user_id; empty when no person acted. */
  readonly actorUserId: string;
  /** The event in the protobuf JSON mapping; `{}` for a type this build does not know. */
  readonly payloadJson: string;
}

/**
 * Kinds of facts:
 * - `bet_accepted`: a bet accepted (POOL: its stake; EXCHANGE: 0, its handle comes from matches);
 * - `bet_matched`: an EXCHANGE fill, the matched stake of its back bet;
 * - `bet_voided`: a bet voided in full (retroactive lock, lapse or cancel with nothing matched);
 * - `market_created`: a market and its channel's owner (user_id);
 * - `market_resolved`: the resolution instant (start of the settlement time);
 * - `settled`: a settlement completed: amount = GGR (stakes − payouts), commission, streamer share;
 * - `refunded`: a market refunded in full (its bets count for no handle, GGR 0);
 * - `reversed`: a completed settlement reversed by a void: amount = − the GGR it had made.
 */
export type FactKind =
  | 'bet_accepted'
  | 'bet_matched'
  | 'bet_voided'
  | 'market_created'
  | 'market_resolved'
  | 'settled'
  | 'refunded'
  | 'reversed';

/** One flat figure derived from an event; (eventId, seq) is its identity. */
export interface FactRow {
  readonly eventId: string;
  /** Position of the fact in its event (0 for most events). */
  readonly seq: number;
  readonly kind: FactKind;
  /** When the fact counts, ms since the epoch (bet placed, settlement completed, ...). */
  readonly occurredAtMs: number;
  readonly currency: string;
  readonly channelId: string;
  readonly marketId: string;
  readonly userId: string;
  readonly betId: string;
  readonly amountMinor: bigint;
  readonly commissionMinor: bigint;
  readonly streamerShareMinor: bigint;
}

/** What one event becomes in the warehouse. */
export interface WarehouseRows {
  readonly event: EventRow;
  readonly facts: readonly FactRow[];
}

interface Metadata {
  readonly producer?: string;
  readonly actorUserId?: string;
}

/** Decodes `event` into its warehouse rows. Throws only on a payload that is not its type's protobuf. */
export function toWarehouseRows(event: IncomingEvent): WarehouseRows {
  const schema = eventRegistry.getMessage(event.type);
  let message: Message | undefined;
  let payloadJson = '{}';
  if (schema !== undefined) {
    message = fromBinary(schema, event.payload);
    payloadJson = PERSONAL.has(schema.typeName)
      ? JSON.stringify(redact(toJson(schema, message, { registry: eventRegistry })))
      : toJsonString(schema, message, { registry: eventRegistry });
  }
  const metadata = (message as { metadata?: Metadata } | undefined)?.metadata;
  return {
    event: {
      eventId: event.id,
      topic: event.topic,
      type: event.type,
      aggregateId: event.key,
      occurredAtMs: event.occurredAtMs,
      producer: metadata?.producer ?? '',
      actorUserId: metadata?.actorUserId ?? '',
      payloadJson,
    },
    facts: schema === undefined || message === undefined ? [] : factsOf(event, schema, message),
  };
}

const blank = {
  currency: '',
  channelId: '',
  marketId: '',
  userId: '',
  betId: '',
  amountMinor: 0n,
  commissionMinor: 0n,
  streamerShareMinor: 0n,
};

function factsOf(event: IncomingEvent, schema: DescMessage, message: Message): FactRow[] {
  const base = { eventId: event.id, seq: 0 };
  switch (schema.typeName) {
    case BetPlacedSchema.typeName: {
      const e = message as MessageShape<typeof BetPlacedSchema>;
      return [
        {
          ...blank,
          ...base,
          kind: 'bet_accepted',
          occurredAtMs: Number(e.placedAtMs) || event.occurredAtMs,
          currency: e.currency,
          channelId: e.channelId,
          marketId: e.marketId,
          userId: e.userId,
          betId: e.betId,
          amountMinor: e.kind === MarketKind.EXCHANGE ? 0n : e.stakeMinor,
        },
      ];
    }
    case BetMatchedSchema.typeName: {
      const e = message as MessageShape<typeof BetMatchedSchema>;
      return [
        {
          ...blank,
          ...base,
          kind: 'bet_matched',
          occurredAtMs: Number(e.matchedAtMs) || event.occurredAtMs,
          currency: e.currency,
          marketId: e.marketId,
          userId: e.backUserId,
          betId: e.backBetId,
          amountMinor: e.matchedStakeMinor,
        },
      ];
    }
    case BetVoidedSchema.typeName: {
      const e = message as MessageShape<typeof BetVoidedSchema>;
      return [
        {
          ...blank,
          ...base,
          kind: 'bet_voided',
          occurredAtMs: Number(e.voidedAtMs) || event.occurredAtMs,
          currency: e.currency,
          channelId: e.channelId,
          marketId: e.marketId,
          userId: e.userId,
          betId: e.betId,
          amountMinor: e.voidedStakeMinor,
        },
      ];
    }
    case OrderCanceledSchema.typeName:
    case OrderLapsedSchema.typeName: {
      const e = message as MessageShape<typeof OrderLapsedSchema>;
      if (e.matchedStakeMinor !== 0n) return [];
      return [
        {
          ...blank,
          ...base,
          kind: 'bet_voided',
          occurredAtMs: event.occurredAtMs,
          currency: e.currency,
          marketId: e.marketId,
          userId: e.userId,
          betId: e.betId,
        },
      ];
    }
    case MarketCreatedSchema.typeName: {
      const e = message as MessageShape<typeof MarketCreatedSchema>;
      return [
        {
          ...blank,
          ...base,
          kind: 'market_created',
          occurredAtMs: event.occurredAtMs,
          currency: e.currency,
          channelId: e.channelId,
          marketId: e.marketId,
          userId: e.channelOwnerUserId,
        },
      ];
    }
    case MarketResolvedSchema.typeName: {
      const e = message as MessageShape<typeof MarketResolvedSchema>;
      return [
        {
          ...blank,
          ...base,
          kind: 'market_resolved',
          occurredAtMs: Number(e.resolvedAtMs) || event.occurredAtMs,
          currency: e.currency,
          channelId: e.channelId,
          marketId: e.marketId,
          userId: e.streamerUserId,
        },
      ];
    }
    case SettlementCompletedSchema.typeName: {
      const s = (message as MessageShape<typeof SettlementCompletedSchema>).settlement;
      if (s === undefined) return [];
      return [
        {
          ...blank,
          ...base,
          kind: 'settled',
          occurredAtMs: Number(s.completedAtMs) || event.occurredAtMs,
          currency: s.currency,
          channelId: s.channelId,
          marketId: s.marketId,
          userId: s.streamerUserId,
          amountMinor: s.totalStakedMinor - s.payoutTotalMinor,
          commissionMinor: s.commissionMinor,
          streamerShareMinor: s.streamerShareMinor,
        },
      ];
    }
    case MarketRefundedSchema.typeName: {
      const e = message as MessageShape<typeof MarketRefundedSchema>;
      return [
        {
          ...blank,
          ...base,
          kind: 'refunded',
          occurredAtMs: Number(e.refundedAtMs) || event.occurredAtMs,
          currency: e.currency,
          channelId: e.channelId,
          marketId: e.marketId,
        },
      ];
    }
    case SettlementReversedSchema.typeName: {
      const s = (message as MessageShape<typeof SettlementReversedSchema>).settlement;
      if (s === undefined) return [];
      return [
        {
          ...blank,
          ...base,
          kind: 'reversed',
          occurredAtMs: Number(s.reversedAtMs) || event.occurredAtMs,
          currency: s.currency,
          channelId: s.channelId,
          marketId: s.marketId,
          userId: s.streamerUserId,
          amountMinor: -(s.totalStakedMinor - s.payoutTotalMinor),
        },
      ];
    }
    default:
      return [];
  }
}
