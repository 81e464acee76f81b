/**
 * The pool's RPCs: proto ↔ domain translation, input checks at the edge (ValidationError naming
 * the field), the caller from Connect context, then the store. No rules live here beyond shape:
 * lifecycle and validation rules are in domain/, persistence and events in store.ts.
 */
import { quoteInput } from '@streambet/platform/errors/quote-input';
import { createHash } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { PageRequest } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  BettingRulesSchema,
  LeaderboardEntrySchema,
  LeaderboardPeriod,
  LeaderboardScope,
  MarketKind,
  type LeaderboardEntry,
  type PoolInternalService,
  type PoolService,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { callerKey } from '@streambet/platform/auth/caller';
import {
  IllegalStateError,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import type { Clock } from '@streambet/platform/rpc/clock';
import { boardAt, type LeaderboardPeriod as DomainPeriod } from './domain/leaderboard.js';
import {
  canSee,
  decideCancel,
  decideLock,
  decideOpen,
  decideResolve,
  decideVoid,
  isTerminal,
  POINTS_CURRENCY,
  type Actor,
  type CreateMarketCommand,
  type Market,
  type MarketState,
} from './domain/market.js';
import type { ChannelSettingsPatch } from './domain/channel-settings.js';
import type { Leaderboards, RankedEntry } from './leaderboards.js';
import {
  channelSettingsToProto,
  marketToProto,
  stakeLimitsFromProto,
  stakeLimitsToProto,
  stateFromProto,
  stateToProto,
} from './proto-codec.js';
import type { Downstreams } from './downstreams.js';
import type { Projections } from './projections.js';
import type { ChannelRecord, PoolStore } from './store.js';
import { createTemplateRoutes } from './template-routes.js';
import type { TemplateStore } from './templates.js';

/** Dependencies of the route implementations. */
export interface PoolRoutesDeps {
  readonly store: PoolStore;
  readonly leaderboards: Leaderboards;
  readonly projections: Projections;
  readonly clock: Clock;
  /** Synchronous calls to the bet engine and settlement; absent ones are skipped (see app.ts). */
  readonly downstreams?: Downstreams;
  /** Market templates (SaveMarketTemplate and the other template RPCs). */
  readonly templates: TemplateStore;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;

/** The caller as a domain actor; undefined for anonymous callers. */
function actorOf(context: HandlerContext): Actor | undefined {
  const caller = context.values.get(callerKey);
  if (caller.kind === 'user') return { kind: 'user', userId: caller.userId, role: caller.role };
  if (caller.kind === 'service') return { kind: 'system' };
  return undefined;
}

/** The caller of a mutation (the access policy already refused anonymous callers). */
function requireActor(context: HandlerContext): Actor {
  const actor = actorOf(context);
  if (actor === undefined)
    throw new PermissionDeniedError('this call needs a signed-in streamer or admin');
  return actor;
}

function required(field: string, value: string): string {
  if (value.trim() === '')
    throw new ValidationError('missing field', [{ field, description: 'is required' }]);
  return value;
}

function expectedVersion(value: bigint): number {
  if (value < 0n) {
    throw new ValidationError('invalid expected version', [
      { field: 'expected_version', description: 'must be 0 (no check) or a market version' },
    ]);
  }
  return Number(value);
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

function isManager(actor: Actor | undefined, channel: ChannelRecord): boolean {
  if (actor === undefined) return false;
  if (actor.kind === 'system') return true;
  return actor.role === 'admin' || actor.userId === channel.ownerUserId;
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function encodeMarketCursor(market: Market): string {
  return Buffer.from(canonicalJson({ c: market.createdAtMs, m: market.marketId })).toString(
    'base64url',
  );
}

function decodeMarketCursor(token: string): { createdAtMs: number; marketId: string } | undefined {
  if (token === '') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      c?: unknown;
      m?: unknown;
    };
    if (
      typeof parsed.c === 'number' &&
      Number.isSafeInteger(parsed.c) &&
      typeof parsed.m === 'string'
    ) {
      return { createdAtMs: parsed.c, marketId: parsed.m };
    }
  } catch {
    // fall through
  }
  throw new ValidationError('invalid page', [
    { field: 'page.page_token', description: 'is not a token this RPC issued' },
  ]);
}

function entryToProto(entry: RankedEntry, names: ReadonlyMap<string, string>): LeaderboardEntry {
  return create(LeaderboardEntrySchema, {
    rank: BigInt(entry.rank),
    userId: entry.userId,
    displayName: names.get(entry.userId) ?? '',
    netProfitMinor: entry.netProfitMinor,
    settledMarketCount: BigInt(entry.settledMarketCount),
  });
}

/** PoolService: markets, channel settings and leaderboards. */
export function createPoolServiceImpl(deps: PoolRoutesDeps): ServiceImpl<typeof PoolService> {
  const { store, leaderboards, projections, clock } = deps;
  const downstreams = deps.downstreams ?? {};

  /** A lifecycle change on a market: permission and state rules are in the decide function. */
  async function change(
    marketId: string,
    context: HandlerContext,
    decide: Parameters<PoolStore['transition']>[2],
  ) {
    required('market_id', marketId);
    return store.transition(marketId, requireActor(context), decide);
  }

  return {
    ...createTemplateRoutes({ templates: deps.templates, requireActor }),

    async createMarket(request, context) {
      const actor = requireActor(context);
      const violations = [];
      const key = request.idempotencyKey;
      if (key.length < 1 || key.length > 64) {
        violations.push({ field: 'idempotency_key', description: 'is required, 1–64 characters' });
      }
      if (request.channelId.trim() === '')
        violations.push({ field: 'channel_id', description: 'is required' });
      if (
        request.kind !== MarketKind.UNSPECIFIED &&
        request.kind !== MarketKind.POOL &&
        request.kind !== MarketKind.EXCHANGE
      ) {
        violations.push({ field: 'kind', description: 'must be POOL or EXCHANGE' });
      }
      if (violations.length > 0) throw new ValidationError('invalid market', violations);
      const command: CreateMarketCommand = {
        title: request.title,
        outcomes: request.outcomes.map((o) => ({
          title: o.title,
          twitchOutcomeId: o.twitchOutcomeId,
        })),
        currency: request.currency,
        kind:
          request.kind === MarketKind.POOL
            ? 'POOL'
            : request.kind === MarketKind.EXCHANGE
              ? 'EXCHANGE'
              : 'UNSPECIFIED',
        stakeLimits:
          request.stakeLimits === undefined ? undefined : stakeLimitsFromProto(request.stakeLimits),
        bettingWindowSeconds: request.bettingWindowSeconds,
        commissionBps: request.commissionBps,
        autoLockOnOffline: request.autoLockOnOffline,
        twitchPredictionId: request.twitchPredictionId,
        openNow: request.openNow,
      };
      const requestHash = createHash('sha256')
        .update(canonicalJson({ channelId: request.channelId, ...command }))
        .digest('hex');
      const { market } = await store.createMarket({
        actor,
        channelId: request.channelId,
        idempotencyKey: key,
        requestHash,
        command,
      });
      return { market: marketToProto(market) };
    },

    async openMarket(request, context) {
      const version = expectedVersion(request.expectedVersion);
      const result = await change(request.marketId, context, (market, channel) =>
        decideOpen(market, {
          actor: requireActor(context),
          channelOwnerUserId: channel.ownerUserId,
          nowMs: clock.now(),
          expectedVersion: version,
        }),
      );
      return { market: marketToProto(result.market) };
    },

    async lockMarket(request, context) {
      const version = expectedVersion(request.expectedVersion);
      const result = await change(request.marketId, context, (market, channel) =>
        decideLock(
          market,
          {
            reason: 'MANUAL',
            eventAtMs: request.eventAtMs === undefined ? undefined : Number(request.eventAtMs),
            broadcastDelaySeconds: channel.settings.broadcastDelaySeconds,
          },
          {
            actor: requireActor(context),
            channelOwnerUserId: channel.ownerUserId,
            nowMs: clock.now(),
            expectedVersion: version,
          },
        ),
      );
      // The lock is committed; the bet engine voids late bets from MarketLocked anyway. Asking it
      // now only lets this answer carry the counts (voids_confirmed), so a failure is not an error.
      let voids = { voidedBetCount: 0n, voidedStakeMinor: 0n };
      let voidsConfirmed = false;
      if (downstreams.voidBetsAfter !== undefined) {
        try {
          voids = await downstreams.voidBetsAfter(
            result.market.marketId,
            result.market.lockEffectiveAtMs,
          );
          voidsConfirmed = true;
        } catch {
          voidsConfirmed = false;
        }
      }
      return {
        market: marketToProto(result.market),
        voidedBetCount: voids.voidedBetCount,
        voidedStakeMinor: voids.voidedStakeMinor,
        lapsedOrderCount: 0n,
        voidsConfirmed,
      };
    },

    async resolveMarket(request, context) {
      const version = expectedVersion(request.expectedVersion);
      required('winning_outcome_id', request.winningOutcomeId);
      const result = await change(request.marketId, context, (market, channel) =>
        decideResolve(
          market,
          {
            winningOutcomeId: request.winningOutcomeId,
            voidGracePeriodMs: store.settings.voidGracePeriodMs,
          },
          {
            actor: requireActor(context),
            channelOwnerUserId: channel.ownerUserId,
            nowMs: clock.now(),
            expectedVersion: version,
          },
        ),
      );
      return { market: marketToProto(result.market) };
    },

    async cancelMarket(request, context) {
      const version = expectedVersion(request.expectedVersion);
      const result = await change(request.marketId, context, (market, channel) =>
        decideCancel(
          market,
          { reason: 'MANUAL', reasonText: request.reason },
          {
            actor: requireActor(context),
            channelOwnerUserId: channel.ownerUserId,
            nowMs: clock.now(),
            expectedVersion: version,
          },
        ),
      );
      return { market: marketToProto(result.market) };
    },

    async voidResolvedMarket(request, context) {
      const version = expectedVersion(request.expectedVersion);
      required('market_id', request.marketId);
      const actor = requireActor(context);
      const nowMs = clock.now();
      const decide = (market: Market, channel: ChannelRecord) =>
        decideVoid(
          market,
          { reasonText: request.reason },
          { actor, channelOwnerUserId: channel.ownerUserId, nowMs, expectedVersion: version },
        );
      if (downstreams.reverseSettlement !== undefined) {
        // Settlement reverses every payout first, all-or-nothing (it refuses when a payout is no
        // longer reversible); only then is the void committed. A retry after a crash in between
        // finds the reversal done (idempotent) and commits.
        const found = await store.getMarket(request.marketId);
        if (found === undefined)
          throw new NotFoundError(`market ${quoteInput(request.marketId)} does not exist`);
        if (decide(found.market, found.channel).length > 0) {
          await downstreams.reverseSettlement(
            request.marketId,
            request.reason.trim(),
            actor.kind === 'user' ? actor.userId : '',
          );
        }
      }
      const result = await store.transition(request.marketId, actor, decide);
      return { market: marketToProto(result.market) };
    },

    async getMarket(request, context) {
      required('market_id', request.marketId);
      const found = await store.getMarket(request.marketId);
      const actor = actorOf(context);
      if (found === undefined || !isVisible(found.market, actor, found.channel)) {
        throw new NotFoundError(`market ${quoteInput(request.marketId)} does not exist`);
      }
      const odds = await projections.odds([found.market.marketId]);
      return { market: marketToProto(found.market, odds.get(found.market.marketId)) };
    },

    async listMarkets(request, context) {
      const actor = actorOf(context);
      const size = pageSize(request.page);
      const after = decodeMarketCursor(request.page?.pageToken ?? '');
      const states: MarketState[] = request.states.map((state, index) => {
        const domain = stateFromProto(state);
        if (domain === undefined) {
          throw new ValidationError('invalid filter', [
            { field: `states[${index}]`, description: 'must be a market state' },
          ]);
        }
        return domain;
      });
      let includeDrafts: boolean;
      if (request.channelId === '') {
        // The lobby: every channel's live and past markets are public; drafts across channels
        // only for admins (a streamer sees their drafts by naming their channel).
        const admin = actor !== undefined && !(actor.kind === 'user' && actor.role !== 'admin');
        if (!admin && states.includes('DRAFT')) {
          throw new PermissionDeniedError(
            'only an admin may list the drafts of every channel: set channel_id',
          );
        }
        includeDrafts = admin;
      } else {
        const channel = await store.getChannel(request.channelId);
        if (channel === undefined)
          throw new NotFoundError(
            `channel ${quoteInput(request.channelId)} is not a linked channel`,
          );
        includeDrafts = isManager(actor, channel);
      }
      const markets = await store.listMarkets({
        channelId: request.channelId,
        states,
        includeDrafts,
        after,
        limit: size + 1,
      });
      const page = markets.slice(0, size);
      const odds = await projections.odds(page.map((market) => market.marketId));
      const last = page[page.length - 1];
      return {
        markets: page.map((market) => marketToProto(market, odds.get(market.marketId))),
        page: {
          nextPageToken:
            markets.length > size && last !== undefined ? encodeMarketCursor(last) : '',
        },
      };
    },

    async getChannelSettings(request, context) {
      required('channel_id', request.channelId);
      const channel = await store.getChannelSettings(request.channelId);
      if (!isManager(actorOf(context), channel)) {
        throw new PermissionDeniedError(
          "only the channel's owner or an admin may read its settings",
        );
      }
      return { settings: settingsProto(channel) };
    },

    async updateChannelSettings(request, context) {
      required('channel_id', request.channelId);
      const patch: ChannelSettingsPatch = {
        ...(request.commissionBps === undefined ? {} : { commissionBps: request.commissionBps }),
        ...(request.streamerRevenueShareBps === undefined
          ? {}
          : { streamerRevenueShareBps: request.streamerRevenueShareBps }),
        ...(request.broadcastDelaySeconds === undefined
          ? {}
          : { broadcastDelaySeconds: request.broadcastDelaySeconds }),
        ...(request.realMoneyStakeLimits === undefined
          ? {}
          : { realMoneyStakeLimits: stakeLimitsFromProto(request.realMoneyStakeLimits) }),
        ...(request.pointsStakeLimits === undefined
          ? {}
          : { pointsStakeLimits: stakeLimitsFromProto(request.pointsStakeLimits) }),
        ...(request.defaultBettingWindowSeconds === undefined
          ? {}
          : { defaultBettingWindowSeconds: request.defaultBettingWindowSeconds }),
        ...(request.autoLockOnOffline === undefined
          ? {}
          : { autoLockOnOffline: request.autoLockOnOffline }),
      };
      const channel = await store.updateChannelSettings({
        channelId: request.channelId,
        actor: requireActor(context),
        patch,
        expectedVersion: expectedVersion(request.expectedVersion),
      });
      return { settings: settingsProto(channel) };
    },

    async getLeaderboard(request, context) {
      const violations = [];
      const scope =
        request.scope === LeaderboardScope.CHANNEL
          ? 'CHANNEL'
          : request.scope === LeaderboardScope.GLOBAL
            ? 'GLOBAL'
            : undefined;
      if (scope === undefined)
        violations.push({ field: 'scope', description: 'is required: CHANNEL or GLOBAL' });
      if (scope === 'CHANNEL' && request.channelId === '') {
        violations.push({ field: 'channel_id', description: 'is required for CHANNEL scope' });
      }
      if (scope === 'GLOBAL' && request.channelId !== '') {
        violations.push({ field: 'channel_id', description: 'must be empty for GLOBAL scope' });
      }
      const periods: Partial<Record<LeaderboardPeriod, DomainPeriod>> = {
        [LeaderboardPeriod.DAILY]: 'DAILY',
        [LeaderboardPeriod.WEEKLY]: 'WEEKLY',
        [LeaderboardPeriod.ALL_TIME]: 'ALL_TIME',
      };
      const period = periods[request.period];
      if (period === undefined)
        violations.push({ field: 'period', description: 'is required: DAILY, WEEKLY or ALL_TIME' });
      const currencies = [store.settings.realCurrency, POINTS_CURRENCY];
      if (!currencies.includes(request.currency)) {
        violations.push({ field: 'currency', description: `must be ${currencies.join(' or ')}` });
      }
      if (violations.length > 0 || scope === undefined || period === undefined) {
        throw new ValidationError('invalid leaderboard request', violations);
      }
      const size = pageSize(request.page);
      if (scope === 'CHANNEL' && (await store.getChannel(request.channelId)) === undefined) {
        throw new NotFoundError(`channel ${quoteInput(request.channelId)} is not a linked channel`);
      }
      const nowMs = clock.now();
      const board = boardAt(scope, request.channelId, period, request.currency, nowMs);
      const actor = actorOf(context);
      const result = await leaderboards.read(
        board,
        {
          pageSize: size,
          pageToken: request.page?.pageToken ?? '',
          callerUserId: actor?.kind === 'user' ? actor.userId : undefined,
        },
        nowMs,
      );
      const names = await projections.displayNames([
        ...result.entries.map((entry) => entry.userId),
        ...(result.callerEntry === undefined ? [] : [result.callerEntry.userId]),
      ]);
      return {
        entries: result.entries.map((entry) => entryToProto(entry, names)),
        page: { nextPageToken: result.nextPageToken },
        ...(result.callerEntry === undefined
          ? {}
          : { callerEntry: entryToProto(result.callerEntry, names) }),
        periodStartsAtMs: BigInt(board.startsAtMs),
        periodEndsAtMs: BigInt(board.endsAtMs),
        asOfMs: BigInt(nowMs),
      };
    },
  };
}

function isVisible(market: Market, actor: Actor | undefined, channel: ChannelRecord): boolean {
  if (market.state !== 'DRAFT') return true;
  return actor !== undefined && canSee(market, actor, channel.ownerUserId);
}

function settingsProto(channel: ChannelRecord) {
  return channelSettingsToProto({
    channelId: channel.channelId,
    ownerUserId: channel.ownerUserId,
    platform: channel.platform,
    settings: channel.settings,
    version: channel.settingsVersion,
    updatedAtMs: channel.settingsUpdatedAtMs,
  });
}

/** PoolInternalService: what the bet engine and settlement read (service credentials only). */
export function createPoolInternalServiceImpl(
  deps: Pick<PoolRoutesDeps, 'store'>,
): ServiceImpl<typeof PoolInternalService> {
  const { store } = deps;

  async function load(marketId: string) {
    required('market_id', marketId);
    const found = await store.getMarket(marketId);
    if (found === undefined)
      throw new NotFoundError(`market ${quoteInput(marketId)} does not exist`);
    return found;
  }

  return {
    async getMarketForBetting(request) {
      const { market } = await load(request.marketId);
      return {
        rules: create(BettingRulesSchema, {
          marketId: market.marketId,
          channelId: market.channelId,
          channelOwnerUserId: market.channelOwnerUserId,
          state: stateToProto(market.state),
          kind: MarketKind[market.kind],
          currency: market.currency,
          outcomeIds: market.outcomes.map((o) => o.outcomeId),
          stakeLimits: stakeLimitsToProto(market.stakeLimits),
          commissionBps: market.commissionBps,
          bettingClosesAtMs: BigInt(market.bettingClosesAtMs),
          lockEffectiveAtMs: BigInt(market.lockEffectiveAtMs),
          version: BigInt(market.version),
        }),
      };
    },

    async getMarketForSettlement(request) {
      const { market } = await load(request.marketId);
      if (!isTerminal(market.state)) {
        throw new IllegalStateError(
          `market ${market.marketId} is ${market.state}: neither RESOLVED nor CANCELED`,
        );
      }
      return {
        marketId: market.marketId,
        channelId: market.channelId,
        state: stateToProto(market.state),
        kind: MarketKind[market.kind],
        currency: market.currency,
        outcomeIds: market.outcomes.map((o) => o.outcomeId),
        winningOutcomeId: market.winningOutcomeId,
        commissionBps: market.commissionBps,
        streamerRevenueShareBps: market.streamerRevenueShareBps,
        streamerUserId: market.channelOwnerUserId,
        resolvedAtMs: BigInt(market.resolvedAtMs),
        voidedAfterResolution: market.voidedAtMs !== 0,
        version: BigInt(market.version),
      };
    },
  };
}
