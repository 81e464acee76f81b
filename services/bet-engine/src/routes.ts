/**
 * The bet engine's RPCs: proto ↔ domain translation, request shape checks at the edge, the caller
 * from Connect context, then the placement engine, the store or the odds service. Placement
 * rejections are thrown as {@link BetRejectedError} (status by the rejection's kind, BetRejection
 * detail attached); every domain error is mapped by the platform's error interceptor.
 */
import { createCoalescingReader } from './read-coalescer.js';
import { BetRejectedError } from './bet-rejected-error.js';
import { create } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import {
  ListMarketBetsResponseSchema,
  MarketBetSchema,
  ResolveMarketBetsResponseSchema,
  BetSide,
  BetStatus as ProtoBetStatus,
  type BetEngineInternalService,
  type BetEngineService,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import type { PageRequest } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { callerKey } from '@streambet/platform/auth/caller';
import {
  AlreadyExistsError,
  IllegalStateError,
  NotFoundError,
  PermissionDeniedError,
  UnavailableError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import { quoteInput } from '@streambet/platform/errors/quote-input';
import type { Clock } from '@streambet/platform/rpc/clock';
import { checkBettorRole, checkPlacement, reject, type BetStatus } from './domain/bet.js';
import type { Markets } from './markets.js';
import type { OddsService } from './odds.js';
import type { PlacementEngine } from './placement.js';
import {
  cancelExchangeOrder,
  getExchangeBook,
  lapseExchangeMarket,
  listExchangeOrders,
  placeExchangeOrder,
  type ExchangeRoutesDeps,
} from './exchange/routes.js';
import {
  betStatusFromProto,
  betStatusToProto,
  betToProto,
  kindToProto,
  oddsToProto,
  resolutionToProto,
  userResultToProto,
} from './proto-codec.js';
import {
  marketFacts,
  samePlacement,
  type BetEngineStore,
  type MarketRecord,
} from './store/index.js';

/** Dependencies of the route implementations. */
export interface BetEngineRoutesDeps {
  readonly store: BetEngineStore;
  readonly markets: Markets;
  readonly placement: PlacementEngine;
  readonly odds: OddsService;
  readonly clock: Clock;
  /** EXCHANGE markets (orders, books); without it they answer FAILED_PRECONDITION. */
  readonly exchange?: ExchangeRoutesDeps;
}

const DEFAULT_PAGE_SIZE = 50;

/** Contract statuses only EXCHANGE orders take (a filter of only these lists no POOL bet). */
const exchangeOnlyStatuses: ReadonlySet<ProtoBetStatus> = new Set([
  ProtoBetStatus.MATCHED,
  ProtoBetStatus.PARTIALLY_MATCHED,
]);
const MAX_PAGE_SIZE = 200;
const DEFAULT_STREAM_BATCH = 1000;
const MAX_STREAM_BATCH = 5000;
const MAX_KEY_LENGTH = 64;

function invalid(field: string, description: string): BetRejectedError {
  return new BetRejectedError(reject('INVALID_REQUEST', `${field} ${description}`));
}

function requireUser(context: HandlerContext): { userId: string; role: string } {
  const caller = context.values.get(callerKey);
  if (caller.kind !== 'user') throw new PermissionDeniedError('this call needs a signed-in user');
  return { userId: caller.userId, role: caller.role };
}

function pageSize(page: PageRequest | undefined): number {
  const size = page?.pageSize ?? 0;
  if (size === 0) return DEFAULT_PAGE_SIZE;
  if (size < 1 || size > MAX_PAGE_SIZE) {
    throw new ValidationError('invalid page', [
      { field: 'page.page_size', description: `must be between 1 and ${MAX_PAGE_SIZE} (0 = 50)` },
    ]);
  }
  return size;
}

function encodeCursor(bet: { readonly placedAtMs: number; readonly betId: string }): string {
  return Buffer.from(JSON.stringify({ p: bet.placedAtMs, b: bet.betId })).toString('base64url');
}

function decodeCursor(token: string): { placedAtMs: number; betId: string } | undefined {
  if (token === '') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      p?: unknown;
      b?: unknown;
    };
    if (
      typeof parsed.p === 'number' &&
      Number.isSafeInteger(parsed.p) &&
      typeof parsed.b === 'string'
    ) {
      return { placedAtMs: parsed.p, betId: parsed.b };
    }
  } catch {
    // fall through
  }
  throw new ValidationError('invalid page token', [
    { field: 'page.page_token', description: 'is not a token this RPC returned' },
  ]);
}

async function requireMarket(markets: Markets, marketId: string): Promise<MarketRecord> {
  const market = await markets.get(marketId);
  if (market === undefined || market.state === 'DRAFT') {
    throw new NotFoundError(`market ${quoteInput(marketId)} does not exist`);
  }
  return market;
}

/** BetEngineService. */
export function createBetEngineServiceImpl(
  deps: BetEngineRoutesDeps,
): Partial<ServiceImpl<typeof BetEngineService>> {
  const { store, markets, placement, odds, clock } = deps;
  /** Concurrent placements look up their idempotency keys in one query. */
  const betsByKey = createCoalescingReader(
    (keys: ReadonlyArray<{ userId: string; idempotencyKey: string }>) => store.findBetsByKeys(keys),
    (key: { userId: string; idempotencyKey: string }) => `${key.userId} ${key.idempotencyKey}`,
  );

  return {
    async placeBet(request, context) {
      const caller = requireUser(context);
      const key = request.idempotencyKey;
      if (key.length < 1 || key.length > MAX_KEY_LENGTH) {
        throw invalid('idempotency_key', `is required, 1–${MAX_KEY_LENGTH} chars`);
      }
      if (request.marketId === '') throw invalid('market_id', 'is required');
      if (request.outcomeId === '') throw invalid('outcome_id', 'is required');
      if (request.currency === '') throw invalid('currency', 'is required');
      if (request.stakeMinor <= 0n) throw invalid('stake_minor', 'must be a positive amount');
      const roleRejection = checkBettorRole(caller.role);
      if (roleRejection !== undefined) throw new BetRejectedError(roleRejection);
      const placementRequest = {
        userId: caller.userId,
        marketId: request.marketId,
        outcomeId: request.outcomeId,
        currency: request.currency,
        stakeMinor: request.stakeMinor,
      };

      /**
       * The answer for a repeat of an earlier placement with this key (that bet, or ALREADY_EXISTS
       * for other content), or undefined for a new key. Asked only before turning a request away:
       * a new bet's key is resolved by its batch (insertIntents), so the hot path reads nothing.
       */
      const repeatOf = async () => {
        const prior = await betsByKey.load({ userId: caller.userId, idempotencyKey: key });
        if (prior === undefined) return undefined;
        if (!samePlacement(prior, placementRequest)) {
          throw new AlreadyExistsError(
            'idempotency_key was already used for another bet; use a new key for a new bet',
          );
        }
        const market = await requireMarket(markets, prior.marketId);
        return { bet: betToProto(prior, marketFacts(market)), indicativeDecimalOdds: '' };
      };

      const market = await markets.getForPlacement(request.marketId);
      if (market === undefined || market.state === 'DRAFT') {
        const repeat = await repeatOf();
        if (repeat !== undefined) return repeat;
        throw new NotFoundError(`market ${quoteInput(request.marketId)} does not exist`);
      }
      if (market.kind === 'EXCHANGE') {
        if (deps.exchange === undefined) {
          throw new IllegalStateError('exchange markets are not supported yet');
        }
        return placeExchangeOrder(deps.exchange, request, caller.userId, market);
      }
      if (request.side !== BetSide.UNSPECIFIED && request.side !== BetSide.BACK) {
        throw invalid('side', 'must be BACK or unset for a POOL market');
      }
      if (request.decimalOdds !== '') {
        throw invalid('decimal_odds', 'must be empty for a POOL market (odds are known at lock)');
      }
      const early = checkPlacement(market, placementRequest, clock.now(), undefined);
      if (early !== undefined) {
        const repeat = await repeatOf();
        if (repeat !== undefined) return repeat;
        throw new BetRejectedError(early);
      }

      const result = await placement.place(
        {
          ...placementRequest,
          idempotencyKey: key,
          client: { networkId: '', deviceId: '', app: '' },
        },
        market,
        context.signal,
      );
      switch (result.kind) {
        case 'rejected': {
          // E.g. the user became ineligible since: a repeat still gets its first answer.
          const repeat = await repeatOf();
          if (repeat !== undefined) return repeat;
          throw new BetRejectedError(result.rejection);
        }
        case 'conflict':
          throw new AlreadyExistsError(
            'idempotency_key was already used for another bet; use a new key for a new bet',
          );
        case 'placed':
          return {
            bet: betToProto(result.bet, marketFacts(market)),
            indicativeDecimalOdds: result.indicativeDecimalOdds,
          };
      }
    },

    async cancelOrder(request, context) {
      if (request.betId === '') {
        throw new ValidationError('missing field', [
          { field: 'bet_id', description: 'is required' },
        ]);
      }
      if (deps.exchange !== undefined) {
        const canceled = await cancelExchangeOrder(deps.exchange, request, requireUser(context));
        if (canceled !== undefined) return canceled;
      }
      const bet = (await store.getBets([request.betId])).get(request.betId);
      if (bet === undefined)
        throw new NotFoundError(`bet ${quoteInput(request.betId)} does not exist`);
      throw new IllegalStateError('POOL bets cannot be canceled');
    },

    async listMyBets(request, context) {
      const caller = requireUser(context);
      let userId = caller.userId;
      if (request.userId !== '' && request.userId !== caller.userId) {
        if (caller.role !== 'admin') {
          throw new PermissionDeniedError("only admins may list another user's bets");
        }
        userId = request.userId;
      }
      const statuses: BetStatus[] = [];
      for (const status of request.statuses) {
        const mapped = betStatusFromProto(status);
        // MATCHED / PARTIALLY_MATCHED exist for EXCHANGE orders only.
        if (mapped === undefined && !exchangeOnlyStatuses.has(status)) {
          throw new ValidationError('invalid status filter', [
            { field: 'statuses', description: 'contains an unknown status' },
          ]);
        }
        if (mapped !== undefined) statuses.push(mapped);
      }
      const limit = pageSize(request.page);
      const before = decodeCursor(request.page?.pageToken ?? '');
      const poolExcluded = request.statuses.length > 0 && statuses.length === 0;
      const rows = poolExcluded
        ? []
        : await store.listUserBets({
            userId,
            statuses,
            marketId: request.marketId,
            before,
            limit: limit + 1,
          });
      const marketsById = await store.getMarkets(rows.slice(0, limit).map((b) => b.marketId));
      const pool = rows.map((bet) => {
        const market = marketsById.get(bet.marketId);
        return {
          placedAtMs: bet.placedAtMs,
          betId: bet.betId,
          bet: betToProto(
            bet,
            market === undefined
              ? { channelId: '', title: '', kind: 'POOL', outcomeTitles: new Map() }
              : marketFacts(market),
          ),
        };
      });
      // EXCHANGE orders (their own table) merged in the same order and cursor.
      const orders =
        deps.exchange === undefined
          ? []
          : await listExchangeOrders(
              deps.exchange,
              {
                userId,
                marketId: request.marketId,
                statuses: request.statuses,
                before,
                limit: limit + 1,
              },
              (ids) => store.getMarkets(ids),
            );
      const merged = [...pool, ...orders].sort((a, b) =>
        a.placedAtMs !== b.placedAtMs
          ? b.placedAtMs - a.placedAtMs
          : a.betId < b.betId
            ? 1
            : a.betId > b.betId
              ? -1
              : 0,
      );
      const page = merged.slice(0, limit);
      return {
        bets: page.map((entry) => entry.bet),
        page: {
          nextPageToken: merged.length > limit ? encodeCursor(page[page.length - 1]!) : '',
        },
      };
    },

    async getOdds(request) {
      if (request.marketId === '') {
        throw new ValidationError('missing field', [
          { field: 'market_id', description: 'is required' },
        ]);
      }
      const cached = await odds.cached(request.marketId);
      if (cached !== undefined) return { odds: oddsToProto(cached) };
      await requireMarket(markets, request.marketId);
      const rebuilt = await odds.refresh(request.marketId);
      if (rebuilt === undefined)
        throw new NotFoundError(`market ${quoteInput(request.marketId)} does not exist`);
      return { odds: oddsToProto(rebuilt) };
    },

    async getBook(request) {
      const market = await requireMarket(markets, request.marketId);
      if (market.kind === 'POOL') {
        throw new IllegalStateError('a POOL market has no order book; use GetOdds');
      }
      if (deps.exchange === undefined) {
        throw new IllegalStateError('exchange markets are not supported yet');
      }
      return getExchangeBook(deps.exchange, request, market);
    },
  };
}

const DEFAULT_USER_BATCH = 5000;
const MAX_USER_BATCH = 10_000;
const MAX_BPS = 10_000;

/**
 * A market closed for betting in the bet engine (asks the pool once if the projection still says
 * OPEN without a lock instant: its event may not be here yet).
 */
async function requireClosedMarket(
  deps: BetEngineRoutesDeps,
  marketId: string,
): Promise<MarketRecord> {
  const { markets, placement } = deps;
  const market = await requireMarket(markets, marketId);
  if (market.state !== 'OPEN' || market.lockEffectiveAtMs !== undefined) return market;
  const refreshed = await markets.refresh(market.marketId);
  if (
    refreshed === undefined ||
    (refreshed.state === 'OPEN' && refreshed.lockEffectiveAtMs === undefined)
  ) {
    throw new IllegalStateError(`market ${market.marketId} is still open for betting`);
  }
  if (refreshed.lateVoidPending) {
    placement.completeLateVoid(refreshed.marketId).catch(() => {
      // reconciliation retries; the store tells the caller to retry
    });
  }
  return refreshed;
}

/** ResolveMarketBets (bet_engine.proto): the market's resolution record and per-user results. */
function createResolutionRoutes(
  deps: BetEngineRoutesDeps,
): Pick<ServiceImpl<typeof BetEngineInternalService>, 'resolveMarketBets'> {
  const { store, clock } = deps;
  return {
    async *resolveMarketBets(request) {
      const violations: { field: string; description: string }[] = [];
      if (request.marketId === '')
        violations.push({ field: 'market_id', description: 'is required' });
      if (request.settlementId === '') {
        violations.push({ field: 'settlement_id', description: 'is required' });
      }
      if (!request.canceled && request.winningOutcomeId === '') {
        violations.push({
          field: 'winning_outcome_id',
          description: 'is required unless the market was canceled',
        });
      }
      for (const [field, bps] of [
        ['commission_bps', request.commissionBps],
        ['streamer_share_bps', request.streamerShareBps],
      ] as const) {
        if (bps > MAX_BPS) violations.push({ field, description: `must be 0–${MAX_BPS}` });
      }
      const batchSize = request.batchSize === 0 ? DEFAULT_USER_BATCH : request.batchSize;
      if (batchSize < 1 || batchSize > MAX_USER_BATCH) {
        violations.push({
          field: 'batch_size',
          description: `must be 1–${MAX_USER_BATCH} (0 = ${DEFAULT_USER_BATCH})`,
        });
      }
      if (violations.length > 0) throw new ValidationError('invalid request', violations);
      const market = await requireClosedMarket(deps, request.marketId);
      if (market.kind !== 'POOL') {
        throw new IllegalStateError('exchange markets are not supported yet');
      }
      if (
        !request.canceled &&
        !market.outcomes.some((o) => o.outcomeId === request.winningOutcomeId)
      ) {
        throw new ValidationError('invalid request', [
          {
            field: 'winning_outcome_id',
            description: `${quoteInput(request.winningOutcomeId)} is not an outcome of the market`,
          },
        ]);
      }
      const resolution = resolutionToProto(
        await store.resolveMarket(
          {
            marketId: market.marketId,
            settlementId: request.settlementId,
            canceled: request.canceled,
            winningOutcomeId: request.canceled ? '' : request.winningOutcomeId,
            commissionBps: request.commissionBps,
            streamerShareBps: request.streamerShareBps,
          },
          clock.now(),
        ),
      );
      let after = request.afterUserId;
      for (;;) {
        const users = await store.resolutionUsers(store.sql, market.marketId, after, batchSize);
        if (users.length > 0 || after === request.afterUserId) {
          yield create(ResolveMarketBetsResponseSchema, {
            resolution,
            users: users.map(userResultToProto),
          });
        }
        if (users.length < batchSize) return;
        after = users[users.length - 1]!.userId;
      }
    },
  };
}

/** BetEngineInternalService. */
export function createBetEngineInternalServiceImpl(
  deps: BetEngineRoutesDeps,
): Partial<ServiceImpl<typeof BetEngineInternalService>> {
  const { store, markets, placement } = deps;
  return {
    ...createResolutionRoutes(deps),
    async *listMarketBets(request) {
      let market = await requireMarket(markets, request.marketId);
      const batchSize = request.batchSize === 0 ? DEFAULT_STREAM_BATCH : request.batchSize;
      if (batchSize < 1 || batchSize > MAX_STREAM_BATCH) {
        throw new ValidationError('invalid batch size', [
          {
            field: 'batch_size',
            description: `must be 1–${MAX_STREAM_BATCH} (0 = ${DEFAULT_STREAM_BATCH})`,
          },
        ]);
      }
      if (market.state === 'OPEN' && market.lockEffectiveAtMs === undefined) {
        // The pool may have locked it and its event not be here yet: ask the pool once.
        const refreshed = await markets.refresh(market.marketId);
        if (
          refreshed === undefined ||
          (refreshed.state === 'OPEN' && refreshed.lockEffectiveAtMs === undefined)
        ) {
          throw new IllegalStateError(`market ${market.marketId} is still open for betting`);
        }
        market = refreshed;
        if (market.lateVoidPending) {
          placement.completeLateVoid(market.marketId).catch(() => {
            // reconciliation retries; the caller is told to retry below
          });
        }
      }
      if (market.lateVoidPending || (await store.hasPendingBets(market.marketId))) {
        throw new UnavailableError(
          `bets of market ${market.marketId} are still being confirmed or voided; retry shortly`,
          { retryAfterMs: 1000 },
        );
      }
      let after = request.afterBetId;
      for (;;) {
        const bets = await store.listMarketBets(market.marketId, after, batchSize);
        if (bets.length === 0) return;
        yield create(ListMarketBetsResponseSchema, {
          currency: market.currency,
          kind: kindToProto(market.kind),
          bets: bets.map((bet) =>
            create(MarketBetSchema, {
              betId: bet.betId,
              userId: bet.userId,
              outcomeId: bet.outcomeId,
              side: BetSide.BACK,
              status: betStatusToProto(bet.status),
              stakeMinor: bet.stakeMinor,
              holdTransferId: bet.holdTransferId,
              heldMinor: bet.stakeMinor,
              placedAtMs: BigInt(bet.placedAtMs),
            }),
          ),
        });
        if (bets.length < batchSize) return;
        after = bets[bets.length - 1]!.betId;
      }
    },

    async voidBetsAfter(request) {
      if (request.marketId === '') {
        throw new ValidationError('missing field', [
          { field: 'market_id', description: 'is required' },
        ]);
      }
      if (request.lockEffectiveAtMs <= 0n) {
        throw new ValidationError('missing field', [
          { field: 'lock_effective_at_ms', description: 'is required (ms since the epoch)' },
        ]);
      }
      const result = await placement.voidBetsAfter(
        request.marketId,
        Number(request.lockEffectiveAtMs),
      );
      return {
        lockEffectiveAtMs: BigInt(result.lockEffectiveAtMs),
        voidedBetCount: result.voidedBetCount,
        voidedStakeMinor: result.voidedStakeMinor,
      };
    },

    async lapseUnmatched(request) {
      const market = await requireMarket(markets, request.marketId);
      if (market.state === 'OPEN' && market.lockEffectiveAtMs === undefined) {
        throw new IllegalStateError(
          `market ${market.marketId} is still open for betting: call VoidBetsAfter first`,
        );
      }
      if (market.kind === 'EXCHANGE' && deps.exchange !== undefined) {
        return lapseExchangeMarket(deps.exchange, market);
      }
      return { lapsedOrderCount: 0n, lapsedStakeMinor: 0n };
    },
  };
}
