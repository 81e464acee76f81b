/**
 * EXCHANGE orders and books as the contract shows them (Bet, Fill, OutcomeBook).
 */
import { create } from '@bufbuild/protobuf';
import {
  BetSchema,
  BetSide,
  BetStatus,
  BetVoidReason,
  FillSchema,
  OutcomeBookSchema,
  type Bet,
  type OutcomeBook,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { layReserveMinor } from '@streambet/exchange/exposure';
import { formatOdds, tickToOddsHundredths } from '@streambet/exchange/ladder';
import type { MarketRecord } from '../store/index.js';
import { remainingMinor, type MarketBook, type XFill, type XOrder } from './market-book.js';

const voidReasons: Readonly<Record<XOrder['voidReason'], BetVoidReason>> = {
  '': BetVoidReason.UNSPECIFIED,
  CANCELED: BetVoidReason.CANCELED,
  LAPSED: BetVoidReason.LAPSED,
  HOLD_FAILED: BetVoidReason.HOLD_FAILED,
  RETROACTIVE_LOCK: BetVoidReason.RETROACTIVE_LOCK,
  MARKET_CANCELED: BetVoidReason.MARKET_CANCELED,
};

/** The contract status of an order. */
export function orderStatus(order: XOrder): BetStatus {
  if (order.status === 'PENDING') return BetStatus.PENDING;
  if (order.status === 'VOIDED') return BetStatus.VOIDED;
  const rest = remainingMinor(order);
  if (order.matchedMinor === 0n) return rest > 0n ? BetStatus.ACCEPTED : BetStatus.VOIDED;
  return rest > 0n ? BetStatus.PARTIALLY_MATCHED : BetStatus.MATCHED;
}

/**
 * What this order alone would hold: BACK its stake at risk (matched + unmatched); LAY its fills'
 * liability plus the unmatched remainder's ceil(liability). The ledger holds the user's net
 * worst case over the market (one hold per user per market), which is at most the sum of these.
 */
export function standaloneHoldMinor(order: XOrder, fills: readonly XFill[]): bigint {
  const rest = remainingMinor(order);
  if (order.side === 'back') return order.matchedMinor + rest;
  const matchedLiability = fills
    .filter((f) => !f.voided && f.layOrderId === order.orderId)
    .reduce((sum, f) => sum + f.liabilityMinor, 0n);
  return matchedLiability + layReserveMinor(rest, order.oddsHundredths);
}

/** How the order's market was settled (be_xbooks.settlement and settled_at_ms). */
export interface OrderSettlement {
  readonly settlement: string;
  readonly settledAtMs: number;
}

/**
 * The order's result once its market is settled, from its standing fills (the contract's
 * Bet.payout_minor / net_profit_minor, before the per-market commission): `WINNER:<index>:<bps>`
 * — a BACK on the winner and a LAY on any other outcome won (BACK +liability, LAY +stake; payout
 * = what it held for the fills + what it won), the others lost (BACK −stake, LAY −liability);
 * `REFUND` — the held amount returned, net 0. An order with no standing fill keeps its status
 * (its remainder was canceled or lapsed: nothing to settle). Undefined: nothing to change.
 */
export function settledFigures(
  order: XOrder,
  standing: readonly XFill[],
  settled: OrderSettlement,
):
  | { status: BetStatus; payoutMinor: bigint; netProfitMinor: bigint; settledAtMs: bigint }
  | undefined {
  if (order.status !== 'OPEN' || standing.length === 0) return undefined;
  const stake = standing.reduce((sum, f) => sum + f.stakeMinor, 0n);
  const liability = standing.reduce((sum, f) => sum + f.liabilityMinor, 0n);
  const atRisk = order.side === 'back' ? stake : liability;
  const settledAtMs = BigInt(settled.settledAtMs);
  if (settled.settlement === 'REFUND') {
    return { status: BetStatus.REFUNDED, payoutMinor: atRisk, netProfitMinor: 0n, settledAtMs };
  }
  const match = /^WINNER:(\d+):\d+$/.exec(settled.settlement);
  if (match === null) return undefined;
  const winnerIndex = Number(match[1]);
  const won = (order.outcomeIndex === winnerIndex) === (order.side === 'back');
  if (!won) {
    return { status: BetStatus.LOST, payoutMinor: 0n, netProfitMinor: -atRisk, settledAtMs };
  }
  const winnings = order.side === 'back' ? liability : stake;
  return {
    status: BetStatus.WON,
    payoutMinor: atRisk + winnings,
    netProfitMinor: winnings,
    settledAtMs,
  };
}

/** An order with its fills as a contract Bet; `settled`: its market's settlement, if any. */
export function orderToProto(
  order: XOrder,
  market: MarketRecord,
  fills: readonly XFill[],
  settled?: OrderSettlement,
): Bet {
  const mine = fills.filter(
    (f) => f.backOrderId === order.orderId || f.layOrderId === order.orderId,
  );
  const standing = mine.filter((f) => !f.voided);
  const matchedStake = standing.reduce((sum, f) => sum + f.stakeMinor, 0n);
  const weighted = standing.reduce((sum, f) => sum + f.stakeMinor * BigInt(f.oddsHundredths), 0n);
  const result = settled === undefined ? undefined : settledFigures(order, standing, settled);
  return create(BetSchema, {
    betId: order.orderId,
    idempotencyKey: order.idempotencyKey,
    userId: order.userId,
    marketId: order.marketId,
    marketTitle: market.title,
    outcomeId: order.outcomeId,
    outcomeTitle: market.outcomes.find((o) => o.outcomeId === order.outcomeId)?.title ?? '',
    channelId: market.channelId,
    kind: MarketKind.EXCHANGE,
    side: order.side === 'back' ? BetSide.BACK : BetSide.LAY,
    currency: order.currency,
    stakeMinor: order.stakeMinor,
    requestedDecimalOdds: formatOdds(order.oddsHundredths),
    status: result?.status ?? orderStatus(order),
    voidReason: voidReasons[order.voidReason],
    matchedStakeMinor: order.matchedMinor,
    unmatchedStakeMinor: remainingMinor(order),
    canceledStakeMinor: order.canceledMinor,
    lapsedStakeMinor: order.lapsedMinor,
    voidedStakeMinor: order.voidedMinor,
    averageMatchedDecimalOdds:
      matchedStake === 0n ? '' : formatOdds(Number(weighted / matchedStake)),
    fills: mine.map((f) =>
      create(FillSchema, {
        matchId: f.matchId,
        decimalOdds: formatOdds(f.oddsHundredths),
        matchedStakeMinor: f.stakeMinor,
        liabilityMinor: f.liabilityMinor,
        matchedAtMs: BigInt(f.matchedAtMs),
        maker: f.makerOrderId === order.orderId,
        voided: f.voided,
      }),
    ),
    heldMinor:
      order.status === 'OPEN' && settled === undefined ? standaloneHoldMinor(order, mine) : 0n,
    payoutMinor: result?.payoutMinor ?? 0n,
    netProfitMinor: result?.netProfitMinor ?? 0n,
    settledAtMs: result?.settledAtMs ?? 0n,
    placedAtMs: BigInt(order.placedAtMs),
    updatedAtMs: BigInt(order.updatedAtMs),
  });
}

/** One outcome's book, best `depth` levels per side. */
export function outcomeBookToProto(
  book: MarketBook,
  outcomeIndex: number,
  outcomeId: string,
  depth: number,
): OutcomeBook {
  const levels = book.depth(outcomeIndex, depth);
  const level = (l: { tick: number; sizeMinor: number }) => ({
    decimalOdds: formatOdds(tickToOddsHundredths(l.tick)),
    availableStakeMinor: BigInt(l.sizeMinor),
  });
  const last = book.lastPriceByOutcome[outcomeIndex] ?? 0;
  return create(OutcomeBookSchema, {
    outcomeId,
    availableToBack: levels.availableToBack.map(level),
    availableToLay: levels.availableToLay.map(level),
    matchedStakeMinor: book.matchedByOutcome[outcomeIndex] ?? 0n,
    lastMatchedDecimalOdds: last === 0 ? '' : formatOdds(last),
  });
}
