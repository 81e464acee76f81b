/**
 * The EXCHANGE side of the bet engine's RPCs (PlaceBet on an EXCHANGE market, CancelOrder,
 * GetBook, LapseUnmatched), called from routes.ts once it knows the market is an EXCHANGE one.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  BetSide,
  type CancelOrderRequest,
  type CancelOrderResponseSchema,
  type GetBookRequest,
  type GetBookResponseSchema,
  type Bet,
  type BetStatus as ProtoBetStatus,
  type PlaceBetRequest,
  type PlaceBetResponseSchema,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';

type PlaceBetResponse = MessageInitShape<typeof PlaceBetResponseSchema>;
type CancelOrderResponse = MessageInitShape<typeof CancelOrderResponseSchema>;
type GetBookResponse = MessageInitShape<typeof GetBookResponseSchema>;
import { MAX_ORDER_MINOR } from '@streambet/exchange/order-book';
import {
  AlreadyExistsError,
  IllegalStateError,
  NotFoundError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import { quoteInput } from '@streambet/platform/errors/quote-input';
import type { Clock } from '@streambet/platform/rpc/clock';
import { BetRejectedError } from '../bet-rejected-error.js';
import { checkPlacement, reject } from '../domain/bet.js';
import type { Markets } from '../markets.js';
import type { MarketRecord } from '../store/index.js';
import { orderToProto, outcomeBookToProto } from './codec.js';
import type { ExchangeEngine } from './engine.js';
import { parseLadderPrice, sameOrder } from './orders.js';
import type { XFill, XOrder } from './market-book.js';
import type { ExchangeStore } from './store.js';

/** Dependencies of the EXCHANGE routes. */
export interface ExchangeRoutesDeps {
  readonly exchange: ExchangeEngine;
  readonly exchangeStore: ExchangeStore;
  readonly markets: Markets;
  readonly clock: Clock;
  /** Makes sure the market's escrow exists; concurrent first orders share one ledger call. */
  readonly ensureEscrow: (market: MarketRecord) => Promise<void>;
}

const DEFAULT_DEPTH = 10;
const MAX_DEPTH = 50;

async function orderAnswer(
  deps: ExchangeRoutesDeps,
  order: XOrder,
  market: MarketRecord,
  known?: readonly XFill[],
) {
  const fills = known ?? (await deps.exchangeStore.fillsOfOrders([order.orderId]));
  return orderToProto(order, market, fills);
}

/** PlaceBet on an EXCHANGE market (request shape and role already checked by the caller). */
export async function placeExchangeOrder(
  deps: ExchangeRoutesDeps,
  request: PlaceBetRequest,
  userId: string,
  market: MarketRecord,
): Promise<PlaceBetResponse> {
  if (request.side !== BetSide.BACK && request.side !== BetSide.LAY) {
    throw new BetRejectedError(
      reject('INVALID_REQUEST', 'side is required for an EXCHANGE market: BACK or LAY'),
    );
  }
  if (request.decimalOdds === '') {
    throw new BetRejectedError(
      reject('INVALID_REQUEST', 'decimal_odds is required for an EXCHANGE market'),
    );
  }
  const price = parseLadderPrice(request.decimalOdds);
  if ('reason' in price) throw new BetRejectedError(price);
  if (request.stakeMinor > BigInt(MAX_ORDER_MINOR)) {
    throw new BetRejectedError(
      reject('STAKE_ABOVE_MAX', `stake must be at most ${MAX_ORDER_MINOR} minor units`, {
        limitMinor: BigInt(MAX_ORDER_MINOR),
        currency: market.currency,
      }),
    );
  }
  const content = {
    marketId: market.marketId,
    outcomeId: request.outcomeId,
    side: request.side === BetSide.BACK ? ('back' as const) : ('lay' as const),
    oddsHundredths: price.oddsHundredths,
    stakeMinor: request.stakeMinor,
    currency: request.currency,
  };
  const repeat = async (): Promise<PlaceBetResponse | undefined> => {
    const prior = await deps.exchangeStore.orderByKey(userId, request.idempotencyKey);
    if (prior === undefined) return undefined;
    if (!sameOrder(prior, content)) {
      throw new AlreadyExistsError(
        'idempotency_key was already used for another order; use a new key for a new order',
      );
    }
    return { bet: await orderAnswer(deps, prior, market), indicativeDecimalOdds: '' };
  };
  const early = checkPlacement(
    market,
    { userId, ...content, idempotencyKey: request.idempotencyKey } as Parameters<
      typeof checkPlacement
    >[1],
    deps.clock.now(),
    undefined,
  );
  // A repeated key is found by the lane (the key is unique in be_xorders: the stored order
  // answers, other content is a conflict), so a new order costs no read here; only a refused
  // one looks for a stored order first (a repeat after the market closed returns the order).
  if (early !== undefined) {
    const prior = await repeat();
    if (prior !== undefined) return prior;
    throw new BetRejectedError(early);
  }
  await deps.ensureEscrow(market);
  const result = await deps.exchange.place({
    userId,
    idempotencyKey: request.idempotencyKey,
    market,
    outcomeId: request.outcomeId,
    side: content.side,
    oddsHundredths: price.oddsHundredths,
    stakeMinor: request.stakeMinor,
  });
  switch (result.kind) {
    case 'rejected':
      throw new BetRejectedError(result.rejection);
    case 'conflict':
      throw new AlreadyExistsError(
        'idempotency_key was already used for another order; use a new key for a new order',
      );
    case 'placed':
      return {
        bet: await orderAnswer(deps, result.order, market, result.fills),
        indicativeDecimalOdds: '',
      };
  }
}

/**
 * CancelOrder for an EXCHANGE order, or undefined when `betId` is not an EXCHANGE order (a POOL
 * bet: the caller answers). Someone else's order is NOT_FOUND (the contract: not the caller's),
 * unless the caller is an admin.
 */
export async function cancelExchangeOrder(
  deps: ExchangeRoutesDeps,
  request: CancelOrderRequest,
  caller: { userId: string; role: string },
): Promise<CancelOrderResponse | undefined> {
  const order = await deps.exchangeStore.orderById(request.betId);
  if (order === undefined) return undefined;
  if (order.userId !== caller.userId && caller.role !== 'admin') {
    throw new NotFoundError(`order ${quoteInput(request.betId)} does not exist`);
  }
  const market = await deps.markets.get(order.marketId);
  if (market === undefined) throw new NotFoundError(`market ${order.marketId} does not exist`);
  if (market.state !== 'OPEN' || market.lockEffectiveAtMs !== undefined) {
    throw new IllegalStateError(
      `market ${market.marketId} is no longer open: unmatched remainders lapse at lock`,
    );
  }
  const result = await deps.exchange.cancel(order.marketId, order.userId, order.orderId);
  const after = (await deps.exchangeStore.orderById(order.orderId)) ?? result.order;
  const fills = await deps.exchangeStore.fillsOfOrders([order.orderId]);
  return {
    bet: orderToProto(after, market, fills),
    canceledStakeMinor: result.canceledMinor,
    releasedMinor:
      result.canceledMinor === 0n
        ? 0n
        : order.side === 'back'
          ? result.canceledMinor
          : (result.canceledMinor * BigInt(order.oddsHundredths - 100) + 99n) / 100n,
  };
}

/** GetBook of an EXCHANGE market. */
export async function getExchangeBook(
  deps: ExchangeRoutesDeps,
  request: GetBookRequest,
  market: MarketRecord,
): Promise<GetBookResponse> {
  const depth = request.depth === 0 ? DEFAULT_DEPTH : request.depth;
  if (depth < 1 || depth > MAX_DEPTH) {
    throw new ValidationError('invalid depth', [
      { field: 'depth', description: `must be between 1 and ${MAX_DEPTH} (0 = ${DEFAULT_DEPTH})` },
    ]);
  }
  const outcomes =
    request.outcomeId === ''
      ? market.outcomes
      : market.outcomes.filter((o) => o.outcomeId === request.outcomeId);
  if (outcomes.length === 0) {
    throw new NotFoundError(`outcome ${quoteInput(request.outcomeId)} is not in this market`);
  }
  const book = await deps.exchange.view(market);
  return {
    marketId: market.marketId,
    currency: market.currency,
    outcomes: outcomes.map((o) =>
      outcomeBookToProto(
        book,
        market.outcomes.findIndex((x) => x.outcomeId === o.outcomeId),
        o.outcomeId,
        depth,
      ),
    ),
    version: BigInt(book.seq),
    computedAtMs: BigInt(deps.clock.now()),
  };
}

/** LapseUnmatched of a closed EXCHANGE market (the lock instant is fixed by then). */
export async function lapseExchangeMarket(deps: ExchangeRoutesDeps, market: MarketRecord) {
  const lockMs = market.lockEffectiveAtMs ?? deps.clock.now();
  const result = await deps.exchange.lapse(market.marketId, lockMs);
  return {
    lapsedOrderCount: result.lapsedOrderCount,
    lapsedStakeMinor: result.lapsedStakeMinor,
  };
}

/** A page query of ListMyBets, as routes.ts decoded it. */
export interface ExchangeOrdersQuery {
  readonly userId: string;
  readonly marketId: string;
  /** Only orders showing one of these (contract) statuses; empty: all. */
  readonly statuses: readonly ProtoBetStatus[];
  readonly before: { readonly placedAtMs: number; readonly betId: string } | undefined;
  readonly limit: number;
}

/**
 * The user's EXCHANGE orders for ListMyBets, newest first, as contract Bets (fills, WON/LOST/
 * REFUNDED with payout and net profit once the market is settled), each with its cursor key.
 * An order's status is derived (matched/unmatched amounts, the market's settlement), so a status
 * filter is applied after reading: pages of SQL are read until `limit` orders match or none are
 * left.
 */
export async function listExchangeOrders(
  deps: Pick<ExchangeRoutesDeps, 'exchangeStore'>,
  query: ExchangeOrdersQuery,
  getMarkets: (marketIds: readonly string[]) => Promise<ReadonlyMap<string, MarketRecord>>,
): Promise<Array<{ readonly bet: Bet; readonly placedAtMs: number; readonly betId: string }>> {
  const found: Array<{ bet: Bet; placedAtMs: number; betId: string }> = [];
  let before = query.before;
  for (;;) {
    const orders = await deps.exchangeStore.userOrders({
      userId: query.userId,
      marketId: query.marketId,
      before,
      limit: query.limit,
    });
    if (orders.length === 0) return found;
    const marketIds = [...new Set(orders.map((o) => o.marketId))];
    const [fills, markets, settlements] = await Promise.all([
      deps.exchangeStore.fillsOfOrders(orders.map((o) => o.orderId)),
      getMarkets(marketIds),
      deps.exchangeStore.settlements(marketIds),
    ]);
    for (const order of orders) {
      const market = markets.get(order.marketId);
      if (market === undefined) continue;
      const bet = orderToProto(order, market, fills, settlements.get(order.marketId));
      if (query.statuses.length > 0 && !query.statuses.includes(bet.status)) continue;
      found.push({ bet, placedAtMs: order.placedAtMs, betId: order.orderId });
      if (found.length === query.limit) return found;
    }
    if (orders.length < query.limit) return found;
    const last = orders[orders.length - 1]!;
    before = { placedAtMs: last.placedAtMs, betId: last.orderId };
  }
}
