/**
 * A generated day of traffic for the metrics tests: a seeded script of markets and bets, played
 * twice — once as the events the services publish (what the warehouse sees), once as the ledger's
 * transfers (holds posted or voided, payouts, commission to `rake` and streamers, breakage to
 * `house`, reversals). The expected figures come from the ledger side, so the test reconciles the
 * warehouse with what the money did, not with the events it was fed.
 */
import type { DescMessage, MessageInitShape } from '@bufbuild/protobuf';
import { BetVoidReason } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  BetPlacedSchema,
  BetVoidedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import {
  MarketCanceledSchema,
  MarketCreatedSchema,
  MarketResolvedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import {
  MarketRefundedSchema,
  PayoutMadeSchema,
  SettlementCompletedSchema,
  SettlementReversedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  RefundReason,
  SettlementStatus,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { envelope } from '@streambet/testkit/events';

/** One ledger transfer of the script (amounts in minor units). */
export interface LedgerTransfer {
  readonly atMs: number;
  readonly currency: string;
  readonly channelId: string;
  readonly debit: string;
  readonly credit: string;
  readonly amountMinor: bigint;
}

/** A bet's hold in the ledger: posted, voided, or still pending (market open at the day's end). */
export interface LedgerHold {
  readonly atMs: number;
  readonly currency: string;
  readonly channelId: string;
  readonly userId: string;
  readonly amountMinor: bigint;
  state: 'pending' | 'posted' | 'voided';
}

/** The generated day. */
export interface Traffic {
  readonly events: EventEnvelope[];
  readonly holds: LedgerHold[];
  readonly transfers: LedgerTransfer[];
  /** Settlement time (completion − resolution) per market settled, with its completion instant. */
  readonly settlementTimes: Array<{ completedAtMs: number; ms: number; currency: string }>;
  /** Markets settled (completed or refunded) with their completion instant. */
  readonly settled: Array<{ atMs: number; currency: string; channelId: string }>;
  readonly channels: Array<{ channelId: string; ownerUserId: string }>;
}

/** mulberry32: a small seeded generator, so the day is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Generates the traffic of the UTC day starting at `dayStartMs`. */
export function generateDay(dayStartMs: number, seed = 16): Traffic {
  const random = seeded(seed);
  const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  let idCounter = 0;
  const id = (atMs: number): string => {
    idCounter += 1;
    const bytes = new Uint8Array(10);
    bytes[6] = (seed >> 8) & 0xff;
    bytes[7] = seed & 0xff;
    bytes[8] = (idCounter >> 8) & 0xff;
    bytes[9] = idCounter & 0xff;
    return encodeUlid(atMs, bytes);
  };
  const users = Array.from({ length: 40 }, () => id(dayStartMs - 86_400_000));
  const channels = Array.from({ length: 4 }, () => ({
    channelId: id(dayStartMs - 86_400_000),
    ownerUserId: id(dayStartMs - 86_400_000),
  }));
  const events: EventEnvelope[] = [];
  const holds: LedgerHold[] = [];
  const transfers: LedgerTransfer[] = [];
  const settlementTimes: Traffic['settlementTimes'] = [];
  const settled: Traffic['settled'] = [];
  const emit = <D extends DescMessage>(
    topic: string,
    key: string,
    schema: D,
    atMs: number,
    init: MessageInitShape<D>,
  ): void => {
    events.push(envelope(topic, key, schema, init, { id: id(atMs), occurredAtMs: atMs }));
  };
  let reversedOne = false;

  for (let m = 0; m < 120; m += 1) {
    const channel = channels[m % channels.length]!;
    const currency = m % 3 === 2 ? 'BRL' : 'PTS';
    const createdAt = dayStartMs + int(0, 22 * 3_600_000);
    const marketId = id(createdAt);
    const outcomes = [id(createdAt), id(createdAt), ...(m % 4 === 0 ? [id(createdAt)] : [])];
    const commissionBps = [0, 500, 1000][m % 3]!;
    const shareBps = [0, 2500, 5000][m % 3]!;
    emit('market', marketId, MarketCreatedSchema, createdAt, {
      marketId,
      channelId: channel.channelId,
      channelOwnerUserId: channel.ownerUserId,
      title: `market ${m}`,
      outcomes: outcomes.map((outcomeId) => ({ outcomeId, label: outcomeId.slice(-4) })),
      currency,
      kind: MarketKind.POOL,
      commissionBps,
      streamerRevenueShareBps: shareBps,
    });
    const bets: Array<{
      betId: string;
      userId: string;
      outcome: number;
      stake: bigint;
      hold: LedgerHold;
    }> = [];
    const betCount = int(3, 25);
    for (let b = 0; b < betCount; b += 1) {
      const placedAt = createdAt + int(1_000, 300_000);
      const userId = users[int(0, users.length - 1)]!;
      const stake = BigInt(int(1, 500) * 10);
      const outcome = int(0, outcomes.length - 1);
      const betId = id(placedAt);
      const hold: LedgerHold = {
        atMs: placedAt,
        currency,
        channelId: channel.channelId,
        userId,
        amountMinor: stake,
        state: 'pending',
      };
      holds.push(hold);
      emit('bet', marketId, BetPlacedSchema, placedAt, {
        betId,
        marketId,
        channelId: channel.channelId,
        userId,
        outcomeId: outcomes[outcome],
        kind: MarketKind.POOL,
        currency,
        stakeMinor: stake,
        heldMinor: stake,
        placedAtMs: BigInt(placedAt),
      });
      if (random() < 0.06) {
        hold.state = 'voided';
        emit('bet', marketId, BetVoidedSchema, placedAt + 310_000, {
          betId,
          marketId,
          channelId: channel.channelId,
          userId,
          reason: BetVoidReason.RETROACTIVE_LOCK,
          currency,
          voidedStakeMinor: stake,
          releasedMinor: stake,
          placedAtMs: BigInt(placedAt),
          voidedAtMs: BigInt(placedAt + 310_000),
        });
        continue;
      }
      bets.push({ betId, userId, outcome, stake, hold });
    }
    const endAt = createdAt + 600_000;
    const fate = random();
    if (m === 7) continue; // still open at the end of the day: its holds stay pending
    if (fate < 0.1) {
      emit('market', marketId, MarketCanceledSchema, endAt, {
        marketId,
        channelId: channel.channelId,
        canceledAtMs: BigInt(endAt),
        currency,
      });
      for (const bet of bets) bet.hold.state = 'voided';
      const refundedAt = endAt + int(100, 3000);
      emit('settlement', marketId, MarketRefundedSchema, refundedAt, {
        marketId,
        channelId: channel.channelId,
        currency,
        reason: RefundReason.MARKET_CANCELED,
        refundedTotalMinor: bets.reduce((sum, bet) => sum + bet.stake, 0n),
        refundedAtMs: BigInt(refundedAt),
      });
      settled.push({ atMs: refundedAt, currency, channelId: channel.channelId });
      continue;
    }
    const winner = int(0, outcomes.length - 1);
    emit('market', marketId, MarketResolvedSchema, endAt, {
      marketId,
      channelId: channel.channelId,
      winningOutcomeId: outcomes[winner],
      kind: MarketKind.POOL,
      currency,
      commissionBps,
      streamerRevenueShareBps: shareBps,
      streamerUserId: channel.ownerUserId,
      resolvedAtMs: BigInt(endAt),
    });
    const completedAt = endAt + int(150, 8000);
    settlementTimes.push({ completedAtMs: completedAt, ms: completedAt - endAt, currency });
    settled.push({ atMs: completedAt, currency, channelId: channel.channelId });
    const total = bets.reduce((sum, bet) => sum + bet.stake, 0n);
    const winning = bets.filter((bet) => bet.outcome === winner);
    const winningStake = winning.reduce((sum, bet) => sum + bet.stake, 0n);
    const sidesWithStakes = new Set(bets.map((bet) => bet.outcome)).size;
    if (winningStake === 0n || sidesWithStakes < 2) {
      for (const bet of bets) bet.hold.state = 'voided';
      emit('settlement', marketId, MarketRefundedSchema, completedAt, {
        marketId,
        channelId: channel.channelId,
        currency,
        reason: winningStake === 0n ? RefundReason.NO_WINNING_STAKES : RefundReason.ONE_SIDED,
        refundedTotalMinor: total,
        refundedAtMs: BigInt(completedAt),
      });
      continue;
    }
    // product.md's POOL formula, written out independently of the service code.
    const losing = total - winningStake;
    const commission = (losing * BigInt(commissionBps)) / 10_000n;
    const share = (commission * BigInt(shareBps)) / 10_000n;
    const distributable = losing - commission;
    let paid = 0n;
    const escrow = `market:${marketId}:escrow`;
    const move = (debit: string, credit: string, amountMinor: bigint, atMs = completedAt) => {
      if (amountMinor > 0n)
        transfers.push({
          atMs,
          currency,
          channelId: channel.channelId,
          debit,
          credit,
          amountMinor,
        });
    };
    for (const bet of bets) bet.hold.state = 'posted';
    for (const bet of winning) {
      const payout = bet.stake + (bet.stake * distributable) / winningStake;
      paid += payout;
      move(escrow, `user:${bet.userId}`, payout);
      emit('settlement', marketId, PayoutMadeSchema, completedAt, {
        payout: {
          payoutId: id(completedAt),
          marketId,
          channelId: channel.channelId,
          userId: bet.userId,
          currency,
          stakeMinor: bet.stake,
          payoutMinor: payout,
          netMinor: payout - bet.stake,
          paidAtMs: BigInt(completedAt),
        },
      });
    }
    const breakage = distributable - (paid - winningStake);
    move(escrow, 'rake', commission - share);
    move(escrow, `streamer:${channel.ownerUserId}:revenue`, share);
    move(escrow, 'house', breakage);
    const settlement = {
      marketId,
      channelId: channel.channelId,
      kind: MarketKind.POOL,
      currency,
      status: SettlementStatus.COMPLETED,
      winningOutcomeId: outcomes[winner],
      commissionBps,
      streamerRevenueShareBps: shareBps,
      streamerUserId: channel.ownerUserId,
      totalStakedMinor: total,
      winningStakedMinor: winningStake,
      losingStakedMinor: losing,
      commissionMinor: commission,
      streamerShareMinor: share,
      rakeMinor: commission - share,
      distributableMinor: distributable,
      breakageMinor: breakage,
      payoutTotalMinor: paid,
      completedAtMs: BigInt(completedAt),
    };
    emit('settlement', marketId, SettlementCompletedSchema, completedAt, { settlement });
    if (!reversedOne && commission > 0n && m > 20) {
      reversedOne = true;
      const reversedAt = completedAt + 120_000;
      // The void gives everything back: house, rake and streamer return what they took.
      move('rake', escrow, commission - share, reversedAt);
      move(`streamer:${channel.ownerUserId}:revenue`, escrow, share, reversedAt);
      move('house', escrow, breakage, reversedAt);
      emit('settlement', marketId, SettlementReversedSchema, reversedAt, {
        settlement: {
          ...settlement,
          status: SettlementStatus.REVERSED,
          reversedAtMs: BigInt(reversedAt),
        },
      });
    }
  }
  return { events, holds, transfers, settlementTimes, settled, channels };
}

/** Accounts whose credits are the operator's gross gaming revenue. */
export function isRevenueAccount(account: string): boolean {
  return account === 'rake' || account === 'house' || /^streamer:.*:revenue$/.test(account);
}
