/**
 * SettlementService and SettlementInternalService: proto ↔ domain translation, the caller from
 * Connect context, then the store or the runner. Roles are checked by the access policy
 * (policy.ts); what remains here is per-row visibility (own payouts, last_error for admins).
 */
import { quoteInput } from '@streambet/platform/errors/quote-input';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { PageRequest } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import type {
  SettlementInternalService,
  SettlementService,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { callerKey, type Caller } from '@streambet/platform/auth/caller';
import {
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import {
  payoutKindFromNumber,
  payoutKindNumber,
  payoutToProto,
  settlementToProto,
  statusesFromProto,
  type PayoutKindName,
} from './proto-codec.js';
import type { SettlementRunner } from './runner.js';
import type { SettlementStore } from './store.js';

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;

/** Dependencies of the route implementations. */
export interface RouteDeps {
  readonly store: SettlementStore;
  readonly runner: SettlementRunner;
}

function pageSize(page: PageRequest | undefined): number {
  const size = page?.pageSize ?? 0;
  if (size === 0) return DEFAULT_PAGE_SIZE;
  if (size < 1 || size > MAX_PAGE_SIZE) {
    throw new ValidationError('invalid page', [
      {
        field: 'page.page_size',
        description: `must be between 1 and ${MAX_PAGE_SIZE} (0 = ${DEFAULT_PAGE_SIZE})`,
      },
    ]);
  }
  return size;
}

function encodeToken(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

function decodeToken(
  token: string,
  shape: readonly ('s' | 'n')[],
): (string | number)[] | undefined {
  if (token === '') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(parsed) &&
      parsed.length === shape.length &&
      parsed.every((value, index) =>
        shape[index] === 's'
          ? typeof value === 'string'
          : typeof value === 'number' && Number.isSafeInteger(value),
      )
    ) {
      return parsed as (string | number)[];
    }
  } catch {
    // fall through
  }
  throw new ValidationError('invalid page', [
    { field: 'page.page_token', description: 'is not a token this RPC issued' },
  ]);
}

function requireMarketId(marketId: string): void {
  if (marketId === '') {
    throw new ValidationError('market_id is required', [
      { field: 'market_id', description: 'must be the id of a market' },
    ]);
  }
}

const isAdmin = (caller: Caller): boolean => caller.kind === 'user' && caller.role === 'admin';
const callerOf = (context: HandlerContext): Caller => context.values.get(callerKey);

/** SettlementService. */
export function createSettlementServiceImpl(
  deps: RouteDeps,
): ServiceImpl<typeof SettlementService> {
  const { store, runner } = deps;
  return {
    async getSettlement(request, context) {
      requireMarketId(request.marketId);
      const record = await store.get(request.marketId);
      if (record === undefined) {
        throw new NotFoundError(
          `market ${quoteInput(request.marketId)} has no settlement (not resolved or canceled yet, or the event has not arrived)`,
        );
      }
      return { settlement: settlementToProto(record, isAdmin(callerOf(context))) };
    },

    async listPayouts(request, context) {
      const caller = callerOf(context);
      const limit = pageSize(request.page);
      let userId = request.userId;
      if (!isAdmin(caller)) {
        const own = caller.kind === 'user' ? caller.userId : '';
        if (userId !== '' && userId !== own) {
          throw new PermissionDeniedError('only admins may list the payouts of another user');
        }
        userId = own;
        if (userId === '') throw new PermissionDeniedError('sign in to list your payouts');
      }
      let kinds: PayoutKindName[];
      try {
        kinds = request.kinds.map((kind) => payoutKindFromNumber(kind));
      } catch {
        throw new ValidationError('invalid kinds', [
          { field: 'kinds', description: 'must be SETTLEMENT, REFUND or STREAMER_REVENUE_SHARE' },
        ]);
      }
      const after = decodeToken(request.page?.pageToken ?? '', ['n', 's', 's', 'n']);
      const rows = await store.listPayouts({
        marketId: request.marketId || undefined,
        userId: userId || undefined,
        kinds,
        limit: limit + 1,
        after:
          after === undefined
            ? undefined
            : {
                paidAtMs: after[0] as number,
                marketId: after[1] as string,
                userId: after[2] as string,
                kind: after[3] as number,
              },
      });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        payouts: page.map(payoutToProto),
        page: {
          nextPageToken:
            rows.length > limit && last !== undefined
              ? encodeToken([
                  last.paidAtMs,
                  last.marketId,
                  last.userId,
                  payoutKindNumber(last.kind),
                ])
              : '',
        },
      };
    },

    async listSettlements(request) {
      const limit = pageSize(request.page);
      const after = decodeToken(request.page?.pageToken ?? '', ['n', 's']);
      const records = await store.listSettlements({
        statuses: statusesFromProto(request.statuses),
        channelId: request.channelId || undefined,
        limit: limit + 1,
        after:
          after === undefined
            ? undefined
            : { marketEventAtMs: after[0] as number, marketId: after[1] as string },
      });
      const page = records.slice(0, limit);
      const last = page[page.length - 1];
      return {
        settlements: page.map((record) => settlementToProto(record, true)),
        page: {
          nextPageToken:
            records.length > limit && last !== undefined
              ? encodeToken([last.marketEventAtMs, last.marketId])
              : '',
        },
      };
    },

    async retrySettlement(request) {
      requireMarketId(request.marketId);
      const record = await runner.runOnce(request.marketId, { force: true });
      if (record === undefined)
        throw new NotFoundError(`market ${quoteInput(request.marketId)} has no settlement`);
      return { settlement: settlementToProto(record, true) };
    },
  };
}

/** SettlementInternalService. */
export function createSettlementInternalServiceImpl(
  deps: RouteDeps,
): ServiceImpl<typeof SettlementInternalService> {
  return {
    async reverseSettlement(request) {
      requireMarketId(request.marketId);
      const violations = [];
      if (request.reason.length < 1 || request.reason.length > 500) {
        violations.push({ field: 'reason', description: 'must be 1–500 characters' });
      }
      if (request.requestedByUserId === '') {
        violations.push({ field: 'requested_by_user_id', description: 'must name the admin' });
      }
      if (violations.length > 0) throw new ValidationError('invalid reversal request', violations);
      const record = await deps.runner.reverse(
        request.marketId,
        request.reason,
        request.requestedByUserId,
      );
      return { settlement: settlementToProto(record, true) };
    },
  };
}
