/**
 * Markets and their lifecycle as pure rules (product.md, "Markets"): DRAFT → OPEN → LOCKED →
 * RESOLVED, or → CANCELED from any state before RESOLVED; RESOLVED → CANCELED only by an admin's
 * void within the grace period. Every command is `decide(command, market) → events` and the new
 * state is `evolve`d from those events, so what is stored and what is published cannot disagree.
 * Time, ids and the caller come in as arguments; nothing here does I/O.
 */
import {
  AlreadyExistsError,
  ConcurrencyError,
  IllegalStateError,
  PermissionDeniedError,
  ValidationError,
  type FieldViolation,
} from '@streambet/platform/errors/domain-errors';
import { lockInstant } from './lock-instant.js';

/** Lifecycle state (pool.proto MarketState). */
export type MarketState = 'DRAFT' | 'OPEN' | 'LOCKED' | 'RESOLVED' | 'CANCELED';
/** How bets are matched: parimutuel pool or back/lay exchange. */
export type MarketKind = 'POOL' | 'EXCHANGE';
/** Why a market was locked (pool.proto MarketLockReason). */
export type LockReason =
  'MANUAL' | 'WINDOW_ELAPSED' | 'STREAM_OFFLINE' | 'TWITCH_PREDICTION_LOCKED';
/** Why a market was canceled (pool.proto MarketCancelReason). */
export type CancelReason = 'MANUAL' | 'TWITCH_PREDICTION_CANCELED' | 'VOIDED_AFTER_RESOLUTION';
/** Streaming platform of a channel. */
export type Platform = 'UNSPECIFIED' | 'TWITCH' | 'KICK' | 'YOUTUBE';

/** The play-money currency every deployment has next to its one real currency. */
export const POINTS_CURRENCY = 'PTS';
/** Betting window bounds in seconds (product.md: 30 s – 30 min; Twitch's are the same). */
export const MIN_BETTING_WINDOW_SECONDS = 30;
export const MAX_BETTING_WINDOW_SECONDS = 1800;
/** Commission bounds in basis points (pool.proto: 0–2000). */
export const MAX_COMMISSION_BPS = 2000;
/** Free-text cancel / void reasons: 1–500 chars (pool.proto). */
export const MAX_REASON_LENGTH = 500;

/** Stake limits in minor units. Invariant: 1 ≤ min ≤ maxPerBet ≤ maxPerUser. */
export interface StakeLimits {
  readonly minStakeMinor: bigint;
  readonly maxStakePerBetMinor: bigint;
  readonly maxStakePerUserMinor: bigint;
}

/** One outcome of a market as defined at creation (live figures belong to the bet engine). */
export interface OutcomeDefinition {
  readonly outcomeId: string;
  readonly title: string;
  /** Twitch outcome id mirrored; empty unless the market mirrors a prediction. */
  readonly twitchOutcomeId: string;
}

/**
 * A market's definition and lifecycle state. Times are ms since the epoch (0 = not yet),
 * money bigint minor units. `version` starts at 1 and grows by one per event.
 */
export interface Market {
  readonly marketId: string;
  readonly channelId: string;
  /** Owner of the channel at creation: may not bet, receives the streamer revenue share. */
  readonly channelOwnerUserId: string;
  readonly title: string;
  readonly outcomes: readonly OutcomeDefinition[];
  readonly currency: string;
  readonly kind: MarketKind;
  readonly state: MarketState;
  readonly stakeLimits: StakeLimits;
  readonly bettingWindowSeconds: number;
  /** Commission r in bps, fixed at creation. */
  readonly commissionBps: number;
  /** Streamer share of the commission in bps, fixed at creation. */
  readonly streamerRevenueShareBps: number;
  readonly autoLockOnOffline: boolean;
  readonly twitchPredictionId: string;
  readonly createdByUserId: string;
  readonly createdAtMs: number;
  readonly openedAtMs: number;
  readonly bettingClosesAtMs: number;
  readonly lockedAtMs: number;
  /** The lock instant: bets placed after it are void (retroactive lock). */
  readonly lockEffectiveAtMs: number;
  readonly lockReason: LockReason | undefined;
  readonly resolvedAtMs: number;
  readonly winningOutcomeId: string;
  readonly voidGraceEndsAtMs: number;
  readonly canceledAtMs: number;
  readonly cancelReason: CancelReason | undefined;
  readonly cancelReasonText: string;
  readonly voidedAtMs: number;
  readonly version: number;
  readonly updatedAtMs: number;
}

/** Who asks for a change: a person acting as streamer or admin, or the pool itself (timers, events). */
export type Actor =
  | {
      readonly kind: 'user';
      readonly userId: string;
      readonly role: 'streamer' | 'admin' | 'viewer';
    }
  | { readonly kind: 'system' };

/** The pool itself (auto-lock timer, integration events). */
export const systemActor: Actor = Object.freeze({ kind: 'system' });

/** The user id events record as the actor; empty for system changes. */
export function actorUserId(actor: Actor): string {
  return actor.kind === 'user' ? actor.userId : '';
}

/** What a market event says happened; `MarketCreated` carries the whole new market. */
export type MarketEvent =
  | { readonly type: 'MarketCreated'; readonly market: Market }
  | {
      readonly type: 'MarketOpened';
      readonly openedAtMs: number;
      readonly bettingClosesAtMs: number;
      readonly openedByUserId: string;
    }
  | {
      readonly type: 'MarketLocked';
      readonly lockedAtMs: number;
      readonly lockEffectiveAtMs: number;
      readonly reason: LockReason;
      readonly lockedByUserId: string;
    }
  | {
      readonly type: 'MarketResolved';
      readonly winningOutcomeId: string;
      readonly resolvedAtMs: number;
      readonly voidGraceEndsAtMs: number;
      readonly resolvedByUserId: string;
    }
  | {
      readonly type: 'MarketCanceled';
      readonly previousState: MarketState;
      readonly reason: CancelReason;
      readonly reasonText: string;
      readonly canceledByUserId: string;
      readonly canceledAtMs: number;
    }
  | {
      readonly type: 'MarketVoided';
      readonly voidedWinningOutcomeId: string;
      readonly reasonText: string;
      readonly voidedByUserId: string;
      readonly voidedAtMs: number;
    };

/** An event with the market as it is right after it (its version is the event's version). */
export interface AppliedEvent {
  readonly event: MarketEvent;
  readonly after: Market;
}

/** Folds one event into the market; the version grows by one and `updatedAtMs` follows the event. */
export function evolve(market: Market, event: MarketEvent, atMs: number): Market {
  const next = { version: market.version + 1, updatedAtMs: atMs };
  switch (event.type) {
    case 'MarketCreated':
      return event.market;
    case 'MarketOpened':
      return {
        ...market,
        ...next,
        state: 'OPEN',
        openedAtMs: event.openedAtMs,
        bettingClosesAtMs: event.bettingClosesAtMs,
      };
    case 'MarketLocked':
      return {
        ...market,
        ...next,
        state: 'LOCKED',
        lockedAtMs: event.lockedAtMs,
        lockEffectiveAtMs: event.lockEffectiveAtMs,
        lockReason: event.reason,
      };
    case 'MarketResolved':
      return {
        ...market,
        ...next,
        state: 'RESOLVED',
        winningOutcomeId: event.winningOutcomeId,
        resolvedAtMs: event.resolvedAtMs,
        voidGraceEndsAtMs: event.voidGraceEndsAtMs,
      };
    case 'MarketCanceled':
      return {
        ...market,
        ...next,
        state: 'CANCELED',
        canceledAtMs: event.canceledAtMs,
        cancelReason: event.reason,
        cancelReasonText: event.reasonText,
      };
    case 'MarketVoided':
      return {
        ...market,
        ...next,
        state: 'CANCELED',
        canceledAtMs: event.voidedAtMs,
        voidedAtMs: event.voidedAtMs,
        cancelReason: 'VOIDED_AFTER_RESOLUTION',
        cancelReasonText: event.reasonText,
      };
  }
}

/** Applies events in order, returning the final market and each event with its post-state. */
export function applyEvents(
  market: Market,
  events: readonly MarketEvent[],
  atMs: number,
): { market: Market; applied: AppliedEvent[] } {
  let current = market;
  const applied: AppliedEvent[] = [];
  for (const event of events) {
    current = evolve(current, event, atMs);
    applied.push({ event, after: current });
  }
  return { market: current, applied };
}

/** True for RESOLVED and CANCELED: no further transition except an admin's void of RESOLVED. */
export function isTerminal(state: MarketState): boolean {
  return state === 'RESOLVED' || state === 'CANCELED';
}

/**
 * Only the channel's owner (as streamer) or an admin manages a channel's markets; the pool itself
 * (timers, integration events) always may. Throws PermissionDeniedError.
 */
export function assertCanManage(actor: Actor, channelOwnerUserId: string): void {
  if (actor.kind === 'system') return;
  if (actor.role === 'admin') return;
  if (actor.role === 'streamer' && actor.userId === channelOwnerUserId) return;
  throw new PermissionDeniedError(
    "only the channel's owner or an admin may manage this channel's markets",
  );
}

/** A non-zero expected version must equal the market's (optimistic concurrency → ABORTED). */
export function assertExpectedVersion(market: Market, expectedVersion: number): void {
  if (expectedVersion !== 0 && expectedVersion !== market.version) {
    throw new ConcurrencyError(
      `market ${market.marketId} is at version ${market.version}, not ${expectedVersion}: re-read it and decide again`,
    );
  }
}

/** Everything CreateMarket needs besides the channel (already resolved by the caller). */
export interface CreateMarketCommand {
  readonly title: string;
  readonly outcomes: ReadonlyArray<{ readonly title: string; readonly twitchOutcomeId: string }>;
  readonly currency: string;
  /** UNSPECIFIED when the request left it unset. */
  readonly kind: MarketKind | 'UNSPECIFIED';
  /** Absent: the channel's defaults for the currency. */
  readonly stakeLimits: StakeLimits | undefined;
  readonly bettingWindowSeconds: number | undefined;
  readonly commissionBps: number | undefined;
  readonly autoLockOnOffline: boolean | undefined;
  readonly twitchPredictionId: string;
  readonly openNow: boolean;
}

/** The channel settings a new market snapshots (see channel-settings.ts). */
export interface MarketDefaults {
  readonly commissionBps: number;
  readonly streamerRevenueShareBps: number;
  readonly realMoneyStakeLimits: StakeLimits;
  readonly pointsStakeLimits: StakeLimits;
  readonly defaultBettingWindowSeconds: number;
  readonly autoLockOnOffline: boolean;
}

/** Context of a CreateMarket decision: who, where, when and the ids to use. */
export interface CreateMarketContext {
  readonly actor: Actor;
  readonly channelId: string;
  readonly channelOwnerUserId: string;
  readonly defaults: MarketDefaults;
  /** The deployment's real currency (ISO 4217); "PTS" is always allowed too. */
  readonly realCurrency: string;
  readonly nowMs: number;
  readonly marketId: string;
  /** Ids for the outcomes, at least as many as requested outcomes. */
  readonly outcomeIds: readonly string[];
}

/** Length in user-perceived characters (code points), after trimming. */
function textLength(value: string): number {
  return [...value].length;
}

/** Checks stake limits: all ≥ 1 and 1 ≤ min ≤ max_per_bet ≤ max_per_user; adds violations under `field`. */
export function stakeLimitViolations(limits: StakeLimits, field: string): FieldViolation[] {
  const violations: FieldViolation[] = [];
  if (limits.minStakeMinor < 1n) {
    violations.push({ field: `${field}.min_stake_minor`, description: 'must be at least 1' });
  }
  if (limits.maxStakePerBetMinor < limits.minStakeMinor) {
    violations.push({
      field: `${field}.max_stake_per_bet_minor`,
      description: `must be at least min_stake_minor (${limits.minStakeMinor})`,
    });
  }
  if (limits.maxStakePerUserMinor < limits.maxStakePerBetMinor) {
    violations.push({
      field: `${field}.max_stake_per_user_minor`,
      description: `must be at least max_stake_per_bet_minor (${limits.maxStakePerBetMinor})`,
    });
  }
  return violations;
}

/** Checks a betting window in seconds (30–1800). */
export function bettingWindowViolations(seconds: number, field: string): FieldViolation[] {
  return Number.isInteger(seconds) &&
    seconds >= MIN_BETTING_WINDOW_SECONDS &&
    seconds <= MAX_BETTING_WINDOW_SECONDS
    ? []
    : [
        {
          field,
          description: `must be between ${MIN_BETTING_WINDOW_SECONDS} and ${MAX_BETTING_WINDOW_SECONDS} seconds`,
        },
      ];
}

/** What CreateMarket knows about Twitch mirroring when a market would mirror a prediction. */
export interface MirroringFacts {
  /** Platform of the channel the market is created on. */
  readonly platform: Platform;
  /** Another market already mirrors the same Twitch prediction. */
  readonly predictionAlreadyMirrored: boolean;
  /** The channel has a mirrored market that is not finished (DRAFT, OPEN or LOCKED). */
  readonly channelHasUnfinishedMirror: boolean;
}

/**
 * Refuses mirroring a Twitch prediction where Twitch's rules forbid it: only on a Twitch channel,
 * one market per prediction, and one unfinished mirrored prediction per channel (Twitch allows one
 * active prediction per channel). Checked before {@link decideCreate}.
 */
export function assertCanMirror(predictionId: string, facts: MirroringFacts): void {
  if (facts.platform !== 'TWITCH') {
    throw new IllegalStateError('twitch_prediction_id can only be mirrored on a Twitch channel');
  }
  if (facts.predictionAlreadyMirrored) {
    throw new AlreadyExistsError(
      `Twitch prediction ${predictionId} is already mirrored by another market`,
    );
  }
  if (facts.channelHasUnfinishedMirror) {
    throw new IllegalStateError(
      'the channel already has an unfinished mirrored Twitch prediction (Twitch allows one active prediction per channel)',
    );
  }
}

/**
 * Decides CreateMarket: validates the definition (every broken rule reported at once, named by
 * its proto field), applies the channel's defaults and returns MarketCreated (plus MarketOpened
 * when `openNow` and not mirroring Twitch). Throws ValidationError, IllegalStateError (EXCHANGE is
 * not offered yet) or PermissionDeniedError (a streamer below the channel's commission).
 */
export function decideCreate(
  command: CreateMarketCommand,
  context: CreateMarketContext,
): MarketEvent[] {
  assertCanManage(context.actor, context.channelOwnerUserId);
  const mirroring = command.twitchPredictionId !== '';
  const violations: FieldViolation[] = [];
  const title = command.title.trim();
  const maxTitle = mirroring ? 45 : 140;
  if (textLength(title) < 1 || textLength(title) > maxTitle) {
    violations.push({
      field: 'title',
      description: `must be 1–${maxTitle} characters after trimming${mirroring ? ' (Twitch prediction limit)' : ''}`,
    });
  }
  if (command.outcomes.length < 2 || command.outcomes.length > 10) {
    violations.push({
      field: 'outcomes',
      description: `must have 2–10 outcomes, got ${command.outcomes.length}`,
    });
  }
  const maxOutcome = mirroring ? 25 : 40;
  const seen = new Set<string>();
  command.outcomes.forEach((outcome, index) => {
    const outcomeTitle = outcome.title.trim();
    if (textLength(outcomeTitle) < 1 || textLength(outcomeTitle) > maxOutcome) {
      violations.push({
        field: `outcomes[${index}].title`,
        description: `must be 1–${maxOutcome} characters after trimming${mirroring ? ' (Twitch prediction limit)' : ''}`,
      });
    }
    const folded = outcomeTitle.toLowerCase();
    if (folded !== '' && seen.has(folded)) {
      violations.push({
        field: `outcomes[${index}].title`,
        description: `duplicates another outcome title ("${outcomeTitle}"), case-insensitively`,
      });
    }
    seen.add(folded);
    if (mirroring && outcome.twitchOutcomeId === '') {
      violations.push({
        field: `outcomes[${index}].twitch_outcome_id`,
        description: 'is required when twitch_prediction_id is set',
      });
    }
    if (!mirroring && outcome.twitchOutcomeId !== '') {
      violations.push({
        field: `outcomes[${index}].twitch_outcome_id`,
        description: 'must be empty unless twitch_prediction_id is set',
      });
    }
  });
  if (command.currency !== context.realCurrency && command.currency !== POINTS_CURRENCY) {
    violations.push({
      field: 'currency',
      description: `must be ${context.realCurrency} (the deployment's real currency) or ${POINTS_CURRENCY}`,
    });
  }
  if (command.kind === 'UNSPECIFIED') {
    violations.push({ field: 'kind', description: 'is required: POOL or EXCHANGE' });
  }
  if (command.stakeLimits !== undefined) {
    violations.push(...stakeLimitViolations(command.stakeLimits, 'stake_limits'));
  }
  if (command.bettingWindowSeconds !== undefined) {
    violations.push(
      ...bettingWindowViolations(command.bettingWindowSeconds, 'betting_window_seconds'),
    );
  }
  if (
    command.commissionBps !== undefined &&
    (!Number.isInteger(command.commissionBps) ||
      command.commissionBps < 0 ||
      command.commissionBps > MAX_COMMISSION_BPS)
  ) {
    violations.push({
      field: 'commission_bps',
      description: `must be between 0 and ${MAX_COMMISSION_BPS}`,
    });
  }
  if (violations.length > 0) throw new ValidationError('invalid market', violations);
  if (command.kind === 'EXCHANGE') {
    throw new IllegalStateError(
      'EXCHANGE markets are not offered yet in this deployment: create a POOL (parimutuel) market',
    );
  }
  const commissionBps = command.commissionBps ?? context.defaults.commissionBps;
  const isAdmin = context.actor.kind === 'system' || context.actor.role === 'admin';
  if (!isAdmin && commissionBps < context.defaults.commissionBps) {
    throw new PermissionDeniedError(
      `commission_bps ${commissionBps} is below the channel's ${context.defaults.commissionBps}; only an admin may set a lower one`,
    );
  }
  const defaultLimits =
    command.currency === POINTS_CURRENCY
      ? context.defaults.pointsStakeLimits
      : context.defaults.realMoneyStakeLimits;
  const market: Market = {
    marketId: context.marketId,
    channelId: context.channelId,
    channelOwnerUserId: context.channelOwnerUserId,
    title,
    outcomes: command.outcomes.map((outcome, index) => ({
      outcomeId: context.outcomeIds[index]!,
      title: outcome.title.trim(),
      twitchOutcomeId: outcome.twitchOutcomeId,
    })),
    currency: command.currency,
    kind: 'POOL',
    state: 'DRAFT',
    stakeLimits: command.stakeLimits ?? defaultLimits,
    bettingWindowSeconds:
      command.bettingWindowSeconds ?? context.defaults.defaultBettingWindowSeconds,
    commissionBps,
    streamerRevenueShareBps: context.defaults.streamerRevenueShareBps,
    autoLockOnOffline: command.autoLockOnOffline ?? context.defaults.autoLockOnOffline,
    twitchPredictionId: command.twitchPredictionId,
    createdByUserId: actorUserId(context.actor),
    createdAtMs: context.nowMs,
    openedAtMs: 0,
    bettingClosesAtMs: 0,
    lockedAtMs: 0,
    lockEffectiveAtMs: 0,
    lockReason: undefined,
    resolvedAtMs: 0,
    winningOutcomeId: '',
    voidGraceEndsAtMs: 0,
    canceledAtMs: 0,
    cancelReason: undefined,
    cancelReasonText: '',
    voidedAtMs: 0,
    version: 1,
    updatedAtMs: context.nowMs,
  };
  const events: MarketEvent[] = [{ type: 'MarketCreated', market }];
  if (command.openNow && !mirroring) {
    events.push(openedEvent(market, context.actor, context.nowMs));
  }
  return events;
}

function openedEvent(market: Market, actor: Actor, nowMs: number): MarketEvent {
  return {
    type: 'MarketOpened',
    openedAtMs: nowMs,
    bettingClosesAtMs: nowMs + market.bettingWindowSeconds * 1000,
    openedByUserId: actorUserId(actor),
  };
}

/** Common arguments of lifecycle commands. */
export interface LifecycleContext {
  readonly actor: Actor;
  /** The channel's current owner (whoever may manage it now). */
  readonly channelOwnerUserId: string;
  readonly nowMs: number;
  /** 0 = no check. */
  readonly expectedVersion?: number;
}

/** Decides OpenMarket: DRAFT → OPEN; an OPEN market is returned unchanged (no events). */
export function decideOpen(market: Market, context: LifecycleContext): MarketEvent[] {
  assertCanManage(context.actor, context.channelOwnerUserId);
  if (market.state === 'OPEN') return [];
  assertExpectedVersion(market, context.expectedVersion ?? 0);
  if (market.state !== 'DRAFT') {
    throw new IllegalStateError(
      `market ${market.marketId} is ${market.state}: only a DRAFT market can be opened`,
    );
  }
  return [openedEvent(market, context.actor, context.nowMs)];
}

/** Arguments of a lock beyond the common ones. */
export interface LockCommand {
  readonly reason: LockReason;
  /**
   * When the event happened on stream (ms). Absent: now − broadcast delay. Must not be more than
   * 60 s before now for a MANUAL lock (system locks clamp instead of refusing).
   */
  readonly eventAtMs: number | undefined;
  /** The channel's broadcast delay in seconds (0–60), the default reach of a retroactive lock. */
  readonly broadcastDelaySeconds: number;
}

/**
 * Decides LockMarket: OPEN → LOCKED at the lock instant that lock-instant.ts's {@link lockInstant}
 * gives (the one retroactive-lock rule): `eventAtMs` or now − broadcast delay, clamped into
 * [max(opened_at, now − 60 s), min(now, betting_closes_at)]; a MANUAL `eventAtMs` more than 60 s
 * back is refused, system locks clamp. A LOCKED market is returned unchanged.
 */
export function decideLock(
  market: Market,
  command: LockCommand,
  context: LifecycleContext,
): MarketEvent[] {
  assertCanManage(context.actor, context.channelOwnerUserId);
  if (market.state === 'LOCKED') return [];
  assertExpectedVersion(market, context.expectedVersion ?? 0);
  if (market.state !== 'OPEN') {
    const hint = market.state === 'DRAFT' ? ': open it first (or cancel it)' : '';
    throw new IllegalStateError(
      `market ${market.marketId} is ${market.state}: only an OPEN market can be locked${hint}`,
    );
  }
  const lockEffectiveAtMs = lockInstant({
    nowMs: context.nowMs,
    eventAtMs: command.eventAtMs,
    broadcastDelaySeconds: command.broadcastDelaySeconds,
    openedAtMs: market.openedAtMs,
    bettingClosesAtMs: market.bettingClosesAtMs,
    refuseTooFarBack: command.reason === 'MANUAL',
  });
  return [
    {
      type: 'MarketLocked',
      lockedAtMs: context.nowMs,
      lockEffectiveAtMs,
      reason: command.reason,
      lockedByUserId: actorUserId(context.actor),
    },
  ];
}

/**
 * Decides the auto-lock of an OPEN market whose betting window elapsed: locked at now, effective
 * at betting_closes_at (the bet engine already rejects bets from that instant). No events when
 * the market is not OPEN or its window has not elapsed: the timer may race a manual transition.
 */
export function decideLockIfDue(market: Market, nowMs: number): MarketEvent[] {
  if (market.state !== 'OPEN' || market.bettingClosesAtMs > nowMs) return [];
  return [
    {
      type: 'MarketLocked',
      lockedAtMs: nowMs,
      lockEffectiveAtMs: market.bettingClosesAtMs,
      reason: 'WINDOW_ELAPSED',
      lockedByUserId: '',
    },
  ];
}

/**
 * Decides ResolveMarket: LOCKED → RESOLVED with one winning outcome and a void grace period.
 * Repeating it with the same winner returns no events; a different winner, or a market not
 * LOCKED, is refused (FAILED_PRECONDITION); an unknown outcome is INVALID_ARGUMENT.
 */
export function decideResolve(
  market: Market,
  command: { readonly winningOutcomeId: string; readonly voidGracePeriodMs: number },
  context: LifecycleContext,
): MarketEvent[] {
  assertCanManage(context.actor, context.channelOwnerUserId);
  if (!market.outcomes.some((outcome) => outcome.outcomeId === command.winningOutcomeId)) {
    throw new ValidationError('invalid winner', [
      {
        field: 'winning_outcome_id',
        description: `is not an outcome of market ${market.marketId}`,
      },
    ]);
  }
  if (market.state === 'RESOLVED') {
    if (market.winningOutcomeId === command.winningOutcomeId) return [];
    throw new IllegalStateError(
      `market ${market.marketId} is already resolved with outcome ${market.winningOutcomeId}`,
    );
  }
  assertExpectedVersion(market, context.expectedVersion ?? 0);
  if (market.state !== 'LOCKED') {
    const hint = market.state === 'OPEN' ? ': lock it first' : '';
    throw new IllegalStateError(
      `market ${market.marketId} is ${market.state}: only a LOCKED market can be resolved${hint}`,
    );
  }
  return [
    {
      type: 'MarketResolved',
      winningOutcomeId: command.winningOutcomeId,
      resolvedAtMs: context.nowMs,
      voidGraceEndsAtMs: context.nowMs + command.voidGracePeriodMs,
      resolvedByUserId: actorUserId(context.actor),
    },
  ];
}

function reasonViolations(reasonText: string): FieldViolation[] {
  const length = textLength(reasonText.trim());
  return length >= 1 && length <= MAX_REASON_LENGTH
    ? []
    : [
        {
          field: 'reason',
          description: `must be 1–${MAX_REASON_LENGTH} characters after trimming`,
        },
      ];
}

/**
 * Decides CancelMarket: DRAFT/OPEN/LOCKED → CANCELED. A CANCELED market (not voided) is returned
 * unchanged; a RESOLVED one is refused (an admin may void it instead).
 */
export function decideCancel(
  market: Market,
  command: { readonly reason: CancelReason; readonly reasonText: string },
  context: LifecycleContext,
): MarketEvent[] {
  assertCanManage(context.actor, context.channelOwnerUserId);
  if (command.reason === 'MANUAL') {
    const violations = reasonViolations(command.reasonText);
    if (violations.length > 0) throw new ValidationError('invalid cancel', violations);
  }
  if (market.state === 'CANCELED' && market.voidedAtMs === 0) return [];
  assertExpectedVersion(market, context.expectedVersion ?? 0);
  if (market.state === 'RESOLVED') {
    throw new IllegalStateError(
      `market ${market.marketId} is RESOLVED: it can no longer be canceled (an admin may void it within the grace period)`,
    );
  }
  if (market.state === 'CANCELED') {
    throw new IllegalStateError(`market ${market.marketId} was voided after resolution`);
  }
  return [
    {
      type: 'MarketCanceled',
      previousState: market.state,
      reason: command.reason,
      reasonText: command.reasonText.trim(),
      canceledByUserId: actorUserId(context.actor),
      canceledAtMs: context.nowMs,
    },
  ];
}

/**
 * Decides VoidResolvedMarket (admin only): RESOLVED → CANCELED within the grace period. A voided
 * market is returned unchanged. Whether every payout is still reversible is settlement's check
 * (it reverses them all-or-nothing from MarketVoided); see the service README in app.ts.
 */
export function decideVoid(
  market: Market,
  command: { readonly reasonText: string },
  context: LifecycleContext,
): MarketEvent[] {
  if (context.actor.kind === 'user' && context.actor.role !== 'admin') {
    throw new PermissionDeniedError('only an admin may void a resolved market');
  }
  const violations = reasonViolations(command.reasonText);
  if (violations.length > 0) throw new ValidationError('invalid void', violations);
  if (market.state === 'CANCELED' && market.voidedAtMs !== 0) return [];
  assertExpectedVersion(market, context.expectedVersion ?? 0);
  if (market.state !== 'RESOLVED') {
    throw new IllegalStateError(
      `market ${market.marketId} is ${market.state}: only a RESOLVED market can be voided`,
    );
  }
  if (context.nowMs >= market.voidGraceEndsAtMs) {
    throw new IllegalStateError(
      `the void grace period of market ${market.marketId} ended at ${new Date(market.voidGraceEndsAtMs).toISOString()}: the resolution is final`,
    );
  }
  return [
    {
      type: 'MarketVoided',
      voidedWinningOutcomeId: market.winningOutcomeId,
      reasonText: command.reasonText.trim(),
      voidedByUserId: actorUserId(context.actor),
      voidedAtMs: context.nowMs,
    },
  ];
}

/**
 * Whether a caller may see a market: DRAFT markets only for the channel's owner and admins
 * (everyone else gets NOT_FOUND, as if it did not exist).
 */
export function canSee(market: Market, actor: Actor, channelOwnerUserId: string): boolean {
  if (market.state !== 'DRAFT') return true;
  if (actor.kind === 'system') return true;
  return actor.role === 'admin' || actor.userId === channelOwnerUserId;
}
