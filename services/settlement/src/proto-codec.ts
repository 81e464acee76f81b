/**
 * Settlement records ↔ protobuf: the Settlement and Payout messages of the RPCs and the
 * settlement.* events, and the enum mappings. One place, so routes and the store's outbox agree.
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  MarketRefundedSchema,
  PayoutMadeSchema,
  PayoutsMadeSchema,
  PayoutReversedSchema,
  SettlementCompletedSchema,
  SettlementReversedSchema,
  SettlementStartedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import {
  PayoutKind,
  PayoutSchema,
  RefundReason as ProtoRefundReason,
  SettlementSchema,
  SettlementStatus as ProtoSettlementStatus,
  type Payout,
  type Settlement,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import type { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { RefundReason, SettlementPhase, SettlementStatus } from './domain/settlement.js';

/** The settlement's figures (settlement.proto Settlement fields 11–21). */
export interface SettlementFigures {
  readonly totalStakedMinor: bigint;
  readonly winningStakedMinor: bigint;
  readonly losingStakedMinor: bigint;
  readonly commissionMinor: bigint;
  readonly streamerShareMinor: bigint;
  readonly rakeMinor: bigint;
  readonly distributableMinor: bigint;
  readonly breakageMinor: bigint;
  readonly payoutTotalMinor: bigint;
  readonly payoutCount: bigint;
  readonly winnerCount: bigint;
  readonly betCount: bigint;
}

/** One market's settlement run as stored. */
export interface SettlementRecord {
  readonly marketId: string;
  /** Correlation id of the run (ULID), set on every ledger transfer it makes. */
  readonly settlementId: string;
  readonly channelId: string;
  readonly kind: MarketKind;
  readonly currency: string;
  /** True when the market was canceled before resolution (refund in full). */
  readonly canceled: boolean;
  readonly winningOutcomeId: string;
  /** The market's outcomes; null until known (MarketCreated or GetMarketForSettlement). */
  readonly outcomeIds: readonly string[] | null;
  readonly commissionBps: number;
  readonly streamerShareBps: number;
  readonly streamerUserId: string;
  readonly status: SettlementStatus;
  readonly phase: SettlementPhase;
  /**
   * HOLDS: the ledger's last hold id resolved (ResolveMarketHolds cursor); '=' once the escrow was
   * checked against the bets and before the first page; '' before that check.
   */
  readonly holdsCursor: string;
  /** PAYOUTS: the last user id paid ('' = none). */
  readonly payoutsCursor: string;
  /**
   * The market's holds were resolved with one ledger resolution record (ResolveMarket), so payouts
   * go through CreditMarketPayouts; false: page by page (ResolveMarketHolds), paid through
   * SubmitTransfers.
   */
  readonly marketResolved: boolean;
  /** Round of the two-phase reversal's holds (see runner.reverse); bumped when a round is undone. */
  readonly reversalRound: number;
  readonly refundReason: RefundReason | null;
  readonly figures: SettlementFigures;
  /** When the market was resolved or canceled (listing order). */
  readonly marketEventAtMs: number;
  readonly dueAtMs: number;
  readonly leasedUntilMs: number;
  /**
   * Fencing token of the latest claim (each claim takes the next one): only the attempt holding
   * this token may write to the run.
   */
  readonly leaseToken: number;
  readonly attemptCount: number;
  readonly startedAtMs: number;
  readonly completedAtMs: number;
  readonly reversedAtMs: number;
  readonly reversalReason: string;
  readonly reversedByUserId: string;
  readonly lastError: string;
}

/** What one payout row pays (settlement.proto Payout kinds, by name). */
export type PayoutKindName = 'SETTLEMENT' | 'REFUND' | 'STREAMER_REVENUE_SHARE';

/** One stored payout row. */
export interface PayoutRecord {
  readonly marketId: string;
  readonly userId: string;
  readonly kind: PayoutKindName;
  readonly channelId: string;
  readonly currency: string;
  readonly stakeMinor: bigint;
  readonly payoutMinor: bigint;
  readonly netMinor: bigint;
  readonly transferId: string;
  readonly paidAtMs: number;
  readonly reversedAtMs: number;
}

const statusToProto: Record<SettlementStatus, ProtoSettlementStatus> = {
  PENDING: ProtoSettlementStatus.PENDING,
  RUNNING: ProtoSettlementStatus.RUNNING,
  COMPLETED: ProtoSettlementStatus.COMPLETED,
  REFUNDED: ProtoSettlementStatus.REFUNDED,
  FAILED: ProtoSettlementStatus.FAILED,
  REVERSED: ProtoSettlementStatus.REVERSED,
};

/** SettlementStatus name → its proto number (also the stored SMALLINT). */
export function statusNumber(status: SettlementStatus): number {
  return statusToProto[status];
}

/** Stored SMALLINT → status name. */
export function statusFromNumber(value: number): SettlementStatus {
  const name = (Object.keys(statusToProto) as SettlementStatus[]).find(
    (key) => Number(statusToProto[key]) === value,
  );
  if (name === undefined) throw new Error(`unknown settlement status ${value}`);
  return name;
}

/** Proto status numbers → names; unknown numbers are dropped (filters match nothing for them). */
export function statusesFromProto(values: readonly ProtoSettlementStatus[]): SettlementStatus[] {
  return values.flatMap((value) => {
    try {
      return [statusFromNumber(value)];
    } catch {
      return [];
    }
  });
}

const refundReasonToProto: Record<RefundReason, ProtoRefundReason> = {
  MARKET_CANCELED: ProtoRefundReason.MARKET_CANCELED,
  NO_WINNING_STAKES: ProtoRefundReason.NO_WINNING_STAKES,
  ONE_SIDED: ProtoRefundReason.ONE_SIDED,
  MARKET_VOIDED: ProtoRefundReason.MARKET_VOIDED,
};

/** RefundReason name → proto number (also the stored SMALLINT, 0 = none). */
export function refundReasonNumber(reason: RefundReason | null): number {
  return reason === null ? 0 : refundReasonToProto[reason];
}

/** Stored SMALLINT → refund reason (null for 0). */
export function refundReasonFromNumber(value: number): RefundReason | null {
  const name = (Object.keys(refundReasonToProto) as RefundReason[]).find(
    (key) => Number(refundReasonToProto[key]) === value,
  );
  return name ?? null;
}

const payoutKindToProto: Record<PayoutKindName, PayoutKind> = {
  SETTLEMENT: PayoutKind.SETTLEMENT,
  REFUND: PayoutKind.REFUND,
  STREAMER_REVENUE_SHARE: PayoutKind.STREAMER_REVENUE_SHARE,
};

/** Payout kind name → proto number (also the stored SMALLINT). */
export function payoutKindNumber(kind: PayoutKindName): number {
  return payoutKindToProto[kind];
}

/** Stored SMALLINT → payout kind name. */
export function payoutKindFromNumber(value: number): PayoutKindName {
  const name = (Object.keys(payoutKindToProto) as PayoutKindName[]).find(
    (key) => Number(payoutKindToProto[key]) === value,
  );
  if (name === undefined) throw new Error(`unknown payout kind ${value}`);
  return name;
}

/** The payout row's id: derived from market, user and kind (stable, no storage needed). */
function payoutId(row: Pick<PayoutRecord, 'marketId' | 'userId' | 'kind'>): string {
  return `${row.marketId}:${row.userId}:${payoutKindNumber(row.kind)}`;
}

/** A settlement as the RPCs and events carry it; last_error only when `withError` (admins). */
export function settlementToProto(record: SettlementRecord, withError: boolean): Settlement {
  const f = record.figures;
  return create(SettlementSchema, {
    marketId: record.marketId,
    channelId: record.channelId,
    kind: record.kind,
    currency: record.currency,
    status: statusToProto[record.status],
    refundReason: refundReasonNumber(record.refundReason),
    winningOutcomeId: record.winningOutcomeId,
    commissionBps: record.commissionBps,
    streamerRevenueShareBps: record.streamerShareBps,
    streamerUserId: record.streamerUserId,
    totalStakedMinor: f.totalStakedMinor,
    winningStakedMinor: f.winningStakedMinor,
    losingStakedMinor: f.losingStakedMinor,
    commissionMinor: f.commissionMinor,
    streamerShareMinor: f.streamerShareMinor,
    rakeMinor: f.rakeMinor,
    distributableMinor: f.distributableMinor,
    breakageMinor: f.breakageMinor,
    payoutTotalMinor: f.payoutTotalMinor,
    payoutCount: f.payoutCount,
    winnerCount: f.winnerCount,
    startedAtMs: BigInt(record.startedAtMs),
    completedAtMs: BigInt(record.completedAtMs),
    reversedAtMs: BigInt(record.reversedAtMs),
    attemptCount: record.attemptCount,
    lastError: withError ? record.lastError : '',
  });
}

/** A payout row as the RPCs and events carry it. */
export function payoutToProto(row: PayoutRecord): Payout {
  return create(PayoutSchema, {
    payoutId: payoutId(row),
    marketId: row.marketId,
    channelId: row.channelId,
    userId: row.userId,
    kind: payoutKindToProto[row.kind],
    currency: row.currency,
    stakeMinor: row.stakeMinor,
    payoutMinor: row.payoutMinor,
    commissionMinor: 0n,
    netMinor: row.netMinor,
    transferId: row.transferId,
    paidAtMs: BigInt(row.paidAtMs),
    reversedAtMs: BigInt(row.reversedAtMs),
  });
}

/** An event ready for the outbox (topic and key are the store's). */
export interface EncodedEvent {
  readonly type: string;
  readonly payload: Uint8Array;
}

/** Metadata every settlement event carries. */
export interface EventMeta {
  readonly eventId: string;
  readonly occurredAtMs: number;
  readonly marketId: string;
  /** The admin behind a reversal; empty for the service's own runs. */
  readonly actorUserId?: string;
}

function encode<D extends DescMessage>(
  schema: D,
  meta: EventMeta,
  init: Omit<MessageInitShape<D>, 'metadata'>,
): EncodedEvent {
  const metadata = {
    eventId: meta.eventId,
    occurredAtMs: BigInt(meta.occurredAtMs),
    producer: 'settlement',
    traceParent: '',
    aggregateId: meta.marketId,
    actorUserId: meta.actorUserId ?? '',
    actorRole: meta.actorUserId ? Role.ADMIN : Role.SERVICE,
  };
  const message = create(schema, { ...init, metadata } as unknown as MessageInitShape<D>);
  return { type: schema.typeName, payload: toBinary(schema, message) };
}

/** SettlementStarted for an attempt. */
export function encodeStarted(record: SettlementRecord, meta: EventMeta): EncodedEvent {
  return encode(SettlementStartedSchema, meta, {
    marketId: record.marketId,
    channelId: record.channelId,
    kind: record.kind,
    currency: record.currency,
    winningOutcomeId: record.winningOutcomeId,
    attempt: record.attemptCount,
    startedAtMs: BigInt(meta.occurredAtMs),
  });
}

/** SettlementCompleted with the final figures. */
export function encodeCompleted(record: SettlementRecord, meta: EventMeta): EncodedEvent {
  return encode(SettlementCompletedSchema, meta, {
    settlement: settlementToProto(record, false),
  });
}

/** MarketRefunded for a refund in full. */
export function encodeRefunded(
  record: SettlementRecord,
  userCount: number,
  meta: EventMeta,
): EncodedEvent {
  return encode(MarketRefundedSchema, meta, {
    marketId: record.marketId,
    channelId: record.channelId,
    currency: record.currency,
    reason: refundReasonNumber(record.refundReason),
    refundedTotalMinor: record.figures.totalStakedMinor,
    refundedBetCount: record.figures.betCount,
    refundedUserCount: BigInt(userCount),
    refundedAtMs: BigInt(meta.occurredAtMs),
  });
}

/**
 * PayoutMade for one row: exactly the bytes of `toBinary(PayoutMadeSchema, …)` for the same
 * message, written straight to a reused writer without building the message first (one event per
 * paying user is most of a settlement's events). proto-codec.unit.spec.ts pins the equality and
 * the fields of PayoutMade, Payout and EventMetadata: a new field there must be added here.
 */
export function encodePayoutMade(row: PayoutRecord, meta: EventMeta): EncodedEvent {
  const w = writer;
  w.tag(1, WireType.LengthDelimited).fork();
  writeMetadata(w, meta);
  w.join();
  w.tag(2, WireType.LengthDelimited).fork();
  writePayout(w, row);
  w.join();
  return { type: PayoutMadeSchema.typeName, payload: w.finish() };
}

/**
 * PayoutsMade for one page of rows of a market: exactly the bytes of
 * `toBinary(PayoutsMadeSchema, …)` for the same message (proto-codec.unit.spec.ts pins it), each
 * row written as {@link encodePayoutMade} writes its `payout`.
 */
export function encodePayoutsMade(
  marketId: string,
  rows: readonly PayoutRecord[],
  meta: EventMeta,
): EncodedEvent {
  const w = writer;
  w.tag(1, WireType.LengthDelimited).fork();
  writeMetadata(w, meta);
  w.join();
  writeString(w, 2, marketId);
  for (const row of rows) {
    w.tag(3, WireType.LengthDelimited).fork();
    writePayout(w, row);
    w.join();
  }
  return { type: PayoutsMadeSchema.typeName, payload: w.finish() };
}

/** Reused by the direct encoders (synchronous: finish() hands out a copy and resets it). */
const writer = new BinaryWriter();

/** EventMetadata fields as {@link encode} sets them; proto3 defaults (0, '') are not written. */
function writeMetadata(w: BinaryWriter, meta: EventMeta): void {
  const actorUserId = meta.actorUserId ?? '';
  writeString(w, 1, meta.eventId);
  writeInt64(w, 2, BigInt(meta.occurredAtMs));
  writeString(w, 3, 'settlement');
  writeString(w, 5, meta.marketId);
  writeString(w, 6, actorUserId);
  writeEnum(w, 7, actorUserId ? Role.ADMIN : Role.SERVICE);
}

/** Payout fields as {@link payoutToProto} sets them (commission_minor is always 0 for POOL). */
function writePayout(w: BinaryWriter, row: PayoutRecord): void {
  writeString(w, 1, payoutId(row));
  writeString(w, 2, row.marketId);
  writeString(w, 3, row.channelId);
  writeString(w, 4, row.userId);
  writeEnum(w, 5, payoutKindToProto[row.kind]);
  writeString(w, 6, row.currency);
  writeInt64(w, 7, row.stakeMinor);
  writeInt64(w, 8, row.payoutMinor);
  writeInt64(w, 10, row.netMinor);
  writeString(w, 11, row.transferId);
  writeInt64(w, 12, BigInt(row.paidAtMs));
  writeInt64(w, 13, BigInt(row.reversedAtMs));
}

function writeString(w: BinaryWriter, fieldNo: number, value: string): void {
  if (value !== '') w.tag(fieldNo, WireType.LengthDelimited).string(value);
}

function writeInt64(w: BinaryWriter, fieldNo: number, value: bigint): void {
  if (value !== 0n) w.tag(fieldNo, WireType.Varint).int64(value);
}

function writeEnum(w: BinaryWriter, fieldNo: number, value: number): void {
  if (value !== 0) w.tag(fieldNo, WireType.Varint).int32(value);
}

/** SettlementReversed with the reversed settlement. */
export function encodeReversed(record: SettlementRecord, meta: EventMeta): EncodedEvent {
  return encode(SettlementReversedSchema, meta, {
    settlement: settlementToProto(record, false),
    reasonText: record.reversalReason,
    requestedByUserId: record.reversedByUserId,
  });
}

/** PayoutReversed for one row: the wallet change is −net. */
export function encodePayoutReversed(row: PayoutRecord, meta: EventMeta): EncodedEvent {
  return encode(PayoutReversedSchema, meta, {
    payout: payoutToProto(row),
    adjustmentMinor: -row.netMinor,
    reversedAtMs: BigInt(row.reversedAtMs),
  });
}
