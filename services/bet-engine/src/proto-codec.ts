/**
 * Translation between the bet engine's records and the protobuf messages of its contract and
 * events (bet_engine.proto, events/v1/bet.proto, events/v1/odds.proto). No rules live here.
 */
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  BetSchema,
  BetSide,
  MarketResolutionKind,
  MarketResolutionSchema,
  ResolutionRefundReason,
  UserMarketResultSchema,
  type MarketResolution,
  type UserMarketResult,
  BetStatus as ProtoBetStatus,
  BetVoidReason,
  BetRejectionReason,
  MarketOddsSchema,
  type Bet,
  type MarketOdds,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  BetPlacedSchema,
  BetVoidedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import type { EventMetadataSchema } from '@streambet/contracts/gen/streambet/events/v1/envelope_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import {
  MarketKind as ProtoMarketKind,
  MarketState as ProtoMarketState,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type {
  BetStatus,
  MarketKind,
  MarketState,
  RejectionReason,
  VoidReason,
} from './domain/bet.js';
import type { OddsSnapshot } from './domain/odds.js';
import type { MarketResolutionRecord, UserResolution } from './store/settlement.js';

/** Where a bet came from (BetPlaced.client), for fraud analysis only. */
export interface ClientContext {
  readonly networkId: string;
  readonly deviceId: string;
  readonly app: string;
}

/** A bet as stored. Amounts in minor units of `currency`; instants in ms on the bet engine's clock. */
export interface BetRecord {
  readonly betId: string;
  readonly userId: string;
  readonly idempotencyKey: string;
  readonly marketId: string;
  readonly outcomeId: string;
  readonly currency: string;
  readonly stakeMinor: bigint;
  readonly status: BetStatus;
  readonly voidReason: VoidReason | undefined;
  readonly holdTransferId: string;
  readonly holdTimeoutSeconds: number;
  readonly heldMinor: bigint;
  readonly voidedStakeMinor: bigint;
  readonly payoutMinor: bigint;
  readonly netProfitMinor: bigint;
  readonly placedAtMs: number;
  readonly updatedAtMs: number;
  readonly settledAtMs: number;
  readonly client: ClientContext;
}

/** Display facts of a bet's market, joined in when a bet is shown or published. */
export interface BetMarketFacts {
  readonly channelId: string;
  readonly title: string;
  readonly kind: MarketKind;
  readonly outcomeTitles: ReadonlyMap<string, string>;
}

/** A protobuf event ready for the outbox. */
export interface EncodedEvent {
  readonly type: string;
  readonly payload: Uint8Array;
}

/** Metadata of one event (its id is the outbox row id). */
export interface EventMetadataInit {
  readonly eventId: string;
  readonly occurredAtMs: number;
  readonly traceParent: string;
  readonly aggregateId: string;
  /** The user who caused it, empty for system changes. */
  readonly actorUserId: string;
}

function metadata(init: EventMetadataInit): MessageInitShape<typeof EventMetadataSchema> {
  return {
    eventId: init.eventId,
    occurredAtMs: BigInt(init.occurredAtMs),
    producer: 'bet-engine',
    traceParent: init.traceParent,
    aggregateId: init.aggregateId,
    actorUserId: init.actorUserId,
    actorRole: init.actorUserId === '' ? Role.SERVICE : Role.UNSPECIFIED,
  };
}

const statusToProto: Readonly<Record<BetStatus, ProtoBetStatus>> = {
  PENDING: ProtoBetStatus.PENDING,
  ACCEPTED: ProtoBetStatus.ACCEPTED,
  VOIDED: ProtoBetStatus.VOIDED,
  WON: ProtoBetStatus.WON,
  LOST: ProtoBetStatus.LOST,
  REFUNDED: ProtoBetStatus.REFUNDED,
};

/** BetStatus of the contract for a stored status. */
export function betStatusToProto(status: BetStatus): ProtoBetStatus {
  return statusToProto[status];
}

/** Stored status for a contract BetStatus; undefined for statuses POOL bets never have. */
export function betStatusFromProto(status: ProtoBetStatus): BetStatus | undefined {
  return (Object.keys(statusToProto) as BetStatus[]).find((key) => statusToProto[key] === status);
}

const voidReasonToProto: Readonly<Record<VoidReason, BetVoidReason>> = {
  RETROACTIVE_LOCK: BetVoidReason.RETROACTIVE_LOCK,
  MARKET_CANCELED: BetVoidReason.MARKET_CANCELED,
  MARKET_VOIDED: BetVoidReason.MARKET_VOIDED,
  HOLD_FAILED: BetVoidReason.HOLD_FAILED,
};

/** BetVoidReason of the contract. */
function voidReasonProto(reason: VoidReason | undefined): BetVoidReason {
  return reason === undefined ? BetVoidReason.UNSPECIFIED : voidReasonToProto[reason];
}

/** BetRejectionReason of the contract. */
export function rejectionReasonToProto(reason: RejectionReason): BetRejectionReason {
  return BetRejectionReason[reason];
}

/** MarketKind of the contract. */
export function kindToProto(kind: MarketKind): ProtoMarketKind {
  return kind === 'POOL' ? ProtoMarketKind.POOL : ProtoMarketKind.EXCHANGE;
}

/** Projection kind from the contract's; undefined when unset. */
export function kindFromProto(kind: ProtoMarketKind): MarketKind | undefined {
  if (kind === ProtoMarketKind.POOL) return 'POOL';
  if (kind === ProtoMarketKind.EXCHANGE) return 'EXCHANGE';
  return undefined;
}

/** Projection state from the contract's; undefined when unset. */
export function stateFromProto(state: ProtoMarketState): MarketState | undefined {
  switch (state) {
    case ProtoMarketState.DRAFT:
      return 'DRAFT';
    case ProtoMarketState.OPEN:
      return 'OPEN';
    case ProtoMarketState.LOCKED:
      return 'LOCKED';
    case ProtoMarketState.RESOLVED:
      return 'RESOLVED';
    case ProtoMarketState.CANCELED:
      return 'CANCELED';
    default:
      return undefined;
  }
}

/** A stored POOL bet as its owner sees it. */
export function betToProto(bet: BetRecord, market: BetMarketFacts): Bet {
  const standing = bet.status !== 'VOIDED';
  return create(BetSchema, {
    betId: bet.betId,
    idempotencyKey: bet.idempotencyKey,
    userId: bet.userId,
    marketId: bet.marketId,
    marketTitle: market.title,
    outcomeId: bet.outcomeId,
    outcomeTitle: market.outcomeTitles.get(bet.outcomeId) ?? '',
    channelId: market.channelId,
    kind: kindToProto(market.kind),
    side: BetSide.BACK,
    currency: bet.currency,
    stakeMinor: bet.stakeMinor,
    status: statusToProto[bet.status],
    voidReason: voidReasonProto(bet.voidReason),
    matchedStakeMinor: standing ? bet.stakeMinor : 0n,
    voidedStakeMinor: bet.voidedStakeMinor,
    heldMinor: bet.heldMinor,
    payoutMinor: bet.payoutMinor,
    netProfitMinor: bet.netProfitMinor,
    placedAtMs: BigInt(bet.placedAtMs),
    updatedAtMs: BigInt(bet.updatedAtMs),
    settledAtMs: BigInt(bet.settledAtMs),
  });
}

/** BetPlaced for a bet whose hold the ledger confirmed. */
export function encodeBetPlaced(
  bet: BetRecord,
  market: BetMarketFacts,
  meta: EventMetadataInit,
): EncodedEvent {
  return {
    type: BetPlacedSchema.typeName,
    payload: toBinary(
      BetPlacedSchema,
      create(BetPlacedSchema, {
        metadata: metadata(meta),
        betId: bet.betId,
        marketId: bet.marketId,
        channelId: market.channelId,
        userId: bet.userId,
        outcomeId: bet.outcomeId,
        kind: kindToProto(market.kind),
        side: BetSide.BACK,
        currency: bet.currency,
        stakeMinor: bet.stakeMinor,
        decimalOdds: '',
        heldMinor: bet.stakeMinor,
        holdTransferId: bet.holdTransferId,
        placedAtMs: BigInt(bet.placedAtMs),
        client: { ...bet.client },
      }),
    ),
  };
}

/** BetVoided for a whole POOL bet. `releasedMinor` is what the bet engine itself released. */
export function encodeBetVoided(
  bet: BetRecord,
  market: BetMarketFacts,
  details: {
    readonly reason: VoidReason;
    readonly releasedMinor: bigint;
    readonly lockEffectiveAtMs: number;
    readonly voidedAtMs: number;
  },
  meta: EventMetadataInit,
): EncodedEvent {
  return {
    type: BetVoidedSchema.typeName,
    payload: toBinary(
      BetVoidedSchema,
      create(BetVoidedSchema, {
        metadata: metadata(meta),
        betId: bet.betId,
        marketId: bet.marketId,
        channelId: market.channelId,
        userId: bet.userId,
        reason: voidReasonToProto[details.reason],
        currency: bet.currency,
        voidedStakeMinor: bet.stakeMinor,
        releasedMinor: details.releasedMinor,
        status: ProtoBetStatus.VOIDED,
        placedAtMs: BigInt(bet.placedAtMs),
        lockEffectiveAtMs: BigInt(details.lockEffectiveAtMs),
        voidedAtMs: BigInt(details.voidedAtMs),
      }),
    ),
  };
}

/** MarketOdds of the contract for a snapshot. */
export function oddsToProto(snapshot: OddsSnapshot): MarketOdds {
  return create(MarketOddsSchema, {
    marketId: snapshot.marketId,
    kind: kindToProto(snapshot.kind),
    currency: snapshot.currency,
    totalStakedMinor: snapshot.totalStakedMinor,
    bettorCount: snapshot.bettorCount,
    outcomes: snapshot.outcomes.map((outcome) => ({
      outcomeId: outcome.outcomeId,
      stakedMinor: outcome.stakedMinor,
      betCount: outcome.betCount,
      decimalOdds: outcome.decimalOdds,
      layDecimalOdds: '',
    })),
    version: snapshot.version,
    computedAtMs: BigInt(snapshot.computedAtMs),
  });
}

/** OddsChanged for a snapshot. */
export function encodeOddsChanged(
  snapshot: OddsSnapshot,
  channelId: string,
  meta: EventMetadataInit,
): EncodedEvent {
  return {
    type: OddsChangedSchema.typeName,
    payload: toBinary(
      OddsChangedSchema,
      create(OddsChangedSchema, {
        metadata: metadata(meta),
        channelId,
        odds: oddsToProto(snapshot),
      }),
    ),
  };
}

const refundReasonToProto = {
  MARKET_CANCELED: ResolutionRefundReason.MARKET_CANCELED,
  NO_WINNING_STAKES: ResolutionRefundReason.NO_WINNING_STAKES,
  ONE_SIDED: ResolutionRefundReason.ONE_SIDED,
} as const;

/** MarketResolution of the contract for a recorded resolution. */
export function resolutionToProto(record: MarketResolutionRecord): MarketResolution {
  const losingStakedMinor = record.totalStakedMinor - record.winningStakedMinor;
  return create(MarketResolutionSchema, {
    marketId: record.marketId,
    settlementId: record.settlementId,
    currency: record.currency,
    kind: record.kind === 'PAYOUT' ? MarketResolutionKind.PAYOUT : MarketResolutionKind.REFUND,
    refundReason:
      record.refundReason === null
        ? ResolutionRefundReason.UNSPECIFIED
        : refundReasonToProto[record.refundReason],
    winningOutcomeId: record.winningOutcomeId,
    commissionBps: record.commissionBps,
    streamerShareBps: record.streamerShareBps,
    totalStakedMinor: record.totalStakedMinor,
    winningStakedMinor: record.winningStakedMinor,
    losingStakedMinor,
    commissionMinor: record.commissionMinor,
    streamerShareMinor: record.streamerShareMinor,
    rakeMinor: record.commissionMinor - record.streamerShareMinor,
    distributableMinor: record.distributableMinor,
    breakageMinor: record.breakageMinor,
    payoutTotalMinor: record.payoutTotalMinor,
    betCount: record.betCount,
    userCount: record.userCount,
    winnerCount: record.winnerCount,
    resolvedAtMs: BigInt(record.resolvedAtMs),
  });
}

/** UserMarketResult of the contract for one user's aggregate. */
export function userResultToProto(user: UserResolution): UserMarketResult {
  return create(UserMarketResultSchema, {
    userId: user.userId,
    betCount: user.betCount,
    stakedMinor: user.stakedMinor,
    payoutMinor: user.payoutMinor,
  });
}
