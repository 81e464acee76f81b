import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  ConcurrencyError,
  IllegalStateError,
  PermissionDeniedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import {
  applyEvents,
  assertCanMirror,
  decideCancel,
  decideCreate,
  decideLock,
  decideLockIfDue,
  decideOpen,
  decideResolve,
  decideVoid,
  type Actor,
  type CreateMarketCommand,
  type CreateMarketContext,
  type Market,
} from '../src/domain/market.js';
import { decideSettingsUpdate } from '../src/domain/channel-settings.js';
import { defaultPoolSettings } from '../src/config.js';

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const owner: Actor = { kind: 'user', userId: 'owner', role: 'streamer' };
const other: Actor = { kind: 'user', userId: 'other', role: 'streamer' };
const admin: Actor = { kind: 'user', userId: 'admin', role: 'admin' };
const defaults = defaultPoolSettings.channelDefaults;

const command: CreateMarketCommand = {
  title: 'Will she win?',
  outcomes: [
    { title: 'Yes', twitchOutcomeId: '' },
    { title: 'No', twitchOutcomeId: '' },
  ],
  currency: 'PTS',
  kind: 'POOL',
  stakeLimits: undefined,
  bettingWindowSeconds: 60,
  commissionBps: undefined,
  autoLockOnOffline: undefined,
  twitchPredictionId: '',
  openNow: false,
};

function context(overrides: Partial<CreateMarketContext> = {}): CreateMarketContext {
  return {
    actor: owner,
    channelId: 'ch',
    channelOwnerUserId: 'owner',
    defaults,
    realCurrency: 'BRL',
    nowMs: t0,
    marketId: 'm1',
    outcomeIds: ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9', 'o10', 'o11'],
    ...overrides,
  };
}

function created(overrides: Partial<CreateMarketCommand> = {}): Market {
  const events = decideCreate({ ...command, ...overrides }, context());
  const first = events[0]!;
  if (first.type !== 'MarketCreated') throw new Error('expected MarketCreated');
  return applyEvents(first.market, events.slice(1), t0).market;
}

const lc = (actor: Actor = owner, nowMs = t0) => ({ actor, channelOwnerUserId: 'owner', nowMs });

function opened(): Market {
  const market = created();
  return applyEvents(market, decideOpen(market, lc()), t0).market;
}

function locked(): Market {
  const market = opened();
  const at = t0 + 10_000;
  return applyEvents(
    market,
    decideLock(
      market,
      { reason: 'MANUAL', eventAtMs: undefined, broadcastDelaySeconds: 0 },
      lc(owner, at),
    ),
    at,
  ).market;
}

function violationsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error.violations.map((v) => v.field);
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('market creation rules', () => {
  it('given a valid definition, then the market is DRAFT at version 1 with the channel defaults', () => {
    const market = created();
    expect(market).toMatchObject({
      state: 'DRAFT',
      version: 1,
      commissionBps: defaults.commissionBps,
      streamerRevenueShareBps: defaults.streamerRevenueShareBps,
      stakeLimits: defaults.pointsStakeLimits,
      channelOwnerUserId: 'owner',
      outcomes: [
        { outcomeId: 'o1', title: 'Yes' },
        { outcomeId: 'o2', title: 'No' },
      ],
    });
  });

  it('given open_now, then MarketOpened follows and betting closes after the window', () => {
    const events = decideCreate({ ...command, openNow: true }, context());
    expect(events.map((e) => e.type)).toEqual(['MarketCreated', 'MarketOpened']);
    expect(events[1]).toMatchObject({ openedAtMs: t0, bettingClosesAtMs: t0 + 60_000 });
  });

  it.each([
    ['empty title', { title: '   ' }, 'title'],
    ['141-char title', { title: 'x'.repeat(141) }, 'title'],
    ['one outcome', { outcomes: [{ title: 'Yes', twitchOutcomeId: '' }] }, 'outcomes'],
    [
      'eleven outcomes',
      { outcomes: Array.from({ length: 11 }, (_, i) => ({ title: `o${i}`, twitchOutcomeId: '' })) },
      'outcomes',
    ],
    [
      'empty outcome',
      {
        outcomes: [
          { title: 'Yes', twitchOutcomeId: '' },
          { title: ' ', twitchOutcomeId: '' },
        ],
      },
      'outcomes[1].title',
    ],
    [
      '41-char outcome',
      {
        outcomes: [
          { title: 'Yes', twitchOutcomeId: '' },
          { title: 'n'.repeat(41), twitchOutcomeId: '' },
        ],
      },
      'outcomes[1].title',
    ],
    [
      'duplicate outcomes',
      {
        outcomes: [
          { title: 'Yes', twitchOutcomeId: '' },
          { title: ' yes ', twitchOutcomeId: '' },
        ],
      },
      'outcomes[1].title',
    ],
    ['unknown currency', { currency: 'USD' }, 'currency'],
    ['missing kind', { kind: 'UNSPECIFIED' as const }, 'kind'],
    ['window 29 s', { bettingWindowSeconds: 29 }, 'betting_window_seconds'],
    ['window 1801 s', { bettingWindowSeconds: 1801 }, 'betting_window_seconds'],
    ['commission 2001', { commissionBps: 2001 }, 'commission_bps'],
    [
      'min stake 0',
      { stakeLimits: { minStakeMinor: 0n, maxStakePerBetMinor: 10n, maxStakePerUserMinor: 10n } },
      'stake_limits.min_stake_minor',
    ],
    [
      'max per bet below min',
      { stakeLimits: { minStakeMinor: 10n, maxStakePerBetMinor: 9n, maxStakePerUserMinor: 10n } },
      'stake_limits.max_stake_per_bet_minor',
    ],
    [
      'max per user below max per bet',
      { stakeLimits: { minStakeMinor: 1n, maxStakePerBetMinor: 10n, maxStakePerUserMinor: 9n } },
      'stake_limits.max_stake_per_user_minor',
    ],
    ['46-char mirrored title', { title: 'x'.repeat(46), twitchPredictionId: 'p1' }, 'title'],
  ])('given %s, then INVALID_ARGUMENT names the field', (_name, overrides, field) => {
    expect(violationsOf(() => decideCreate({ ...command, ...overrides }, context()))).toContain(
      field,
    );
  });

  it('given the boundaries (140-char title, 10 outcomes of 40 chars, 30 s and 1800 s windows), then they are accepted', () => {
    expect(() =>
      decideCreate(
        {
          ...command,
          title: 't'.repeat(140),
          outcomes: Array.from({ length: 10 }, (_, i) => ({
            title: `${i}`.padEnd(40, 'x'),
            twitchOutcomeId: '',
          })),
          bettingWindowSeconds: 30,
        },
        context(),
      ),
    ).not.toThrow();
    expect(() =>
      decideCreate({ ...command, bettingWindowSeconds: 1800, currency: 'BRL' }, context()),
    ).not.toThrow();
  });

  it('given an EXCHANGE market, then it is refused as not offered yet (FAILED_PRECONDITION)', () => {
    expect(() => decideCreate({ ...command, kind: 'EXCHANGE' }, context())).toThrow(
      IllegalStateError,
    );
  });

  it("given another channel's streamer or a streamer below the channel's commission, then PERMISSION_DENIED; an admin may go lower", () => {
    expect(() => decideCreate(command, context({ actor: other }))).toThrow(PermissionDeniedError);
    expect(() => decideCreate({ ...command, commissionBps: 100 }, context())).toThrow(
      PermissionDeniedError,
    );
    expect(() =>
      decideCreate({ ...command, commissionBps: 100 }, context({ actor: admin })),
    ).not.toThrow();
  });
});

describe('market lifecycle', () => {
  it('given DRAFT, when opened twice, then the second open changes nothing', () => {
    const market = opened();
    expect(market.state).toBe('OPEN');
    expect(decideOpen(market, lc())).toEqual([]);
  });

  it('given a default lock, then it is retroactive by the broadcast delay', () => {
    const market = opened();
    const now = t0 + 30_000;
    const [event] = decideLock(
      market,
      { reason: 'MANUAL', eventAtMs: undefined, broadcastDelaySeconds: 7 },
      lc(owner, now),
    );
    expect(event).toMatchObject({
      type: 'MarketLocked',
      lockedAtMs: now,
      lockEffectiveAtMs: now - 7000,
    });
  });

  it('given an event instant exactly 60 s back, then it is the lock instant; 60 001 ms back is INVALID_ARGUMENT', () => {
    const market = opened();
    const now = t0 + 50_000 + 60_000;
    const [event] = decideLock(
      market,
      { reason: 'MANUAL', eventAtMs: now - 60_000, broadcastDelaySeconds: 0 },
      lc(owner, now),
    );
    expect(event).toMatchObject({ lockEffectiveAtMs: now - 60_000 });
    expect(
      violationsOf(() =>
        decideLock(
          market,
          { reason: 'MANUAL', eventAtMs: now - 60_001, broadcastDelaySeconds: 0 },
          lc(owner, now),
        ),
      ),
    ).toEqual(['event_at_ms']);
  });

  it('given an instant in the future or before the opening, then it is clamped to now or to the opening', () => {
    const market = opened();
    const now = t0 + 20_000;
    expect(
      decideLock(
        market,
        { reason: 'MANUAL', eventAtMs: now + 5000, broadcastDelaySeconds: 0 },
        lc(owner, now),
      )[0],
    ).toMatchObject({ lockEffectiveAtMs: now });
    expect(
      decideLock(
        market,
        { reason: 'MANUAL', eventAtMs: t0 - 5000, broadcastDelaySeconds: 0 },
        lc(owner, now),
      )[0],
    ).toMatchObject({ lockEffectiveAtMs: t0 });
  });

  it('given a manual lock after the window elapsed, then the lock instant is at most betting_closes_at', () => {
    const market = opened();
    const now = market.bettingClosesAtMs + 10_000;
    expect(
      decideLock(
        market,
        { reason: 'MANUAL', eventAtMs: undefined, broadcastDelaySeconds: 0 },
        lc(owner, now),
      )[0],
    ).toMatchObject({ lockEffectiveAtMs: market.bettingClosesAtMs });
  });

  it('given an OPEN market whose window elapsed, then the auto-lock locks it at betting_closes_at; not before', () => {
    const market = opened();
    expect(decideLockIfDue(market, market.bettingClosesAtMs - 1)).toEqual([]);
    expect(decideLockIfDue(market, market.bettingClosesAtMs + 5000)[0]).toMatchObject({
      reason: 'WINDOW_ELAPSED',
      lockEffectiveAtMs: market.bettingClosesAtMs,
    });
  });

  it('given a DRAFT market, then lock and resolve are FAILED_PRECONDITION; a LOCKED market resolves once', () => {
    expect(() =>
      decideLock(
        created(),
        { reason: 'MANUAL', eventAtMs: undefined, broadcastDelaySeconds: 0 },
        lc(),
      ),
    ).toThrow(IllegalStateError);
    expect(() =>
      decideResolve(opened(), { winningOutcomeId: 'o1', voidGracePeriodMs: 600_000 }, lc()),
    ).toThrow(/lock it first/);
    const market = locked();
    const resolved = applyEvents(
      market,
      decideResolve(market, { winningOutcomeId: 'o1', voidGracePeriodMs: 600_000 }, lc()),
      t0,
    ).market;
    expect(resolved).toMatchObject({
      state: 'RESOLVED',
      winningOutcomeId: 'o1',
      voidGraceEndsAtMs: t0 + 600_000,
    });
    expect(
      decideResolve(resolved, { winningOutcomeId: 'o1', voidGracePeriodMs: 600_000 }, lc()),
    ).toEqual([]);
    expect(() =>
      decideResolve(resolved, { winningOutcomeId: 'o2', voidGracePeriodMs: 600_000 }, lc()),
    ).toThrow(/already resolved/);
    expect(() => decideCancel(resolved, { reason: 'MANUAL', reasonText: 'x' }, lc())).toThrow(
      /void/,
    );
    expect(
      violationsOf(() =>
        decideResolve(market, { winningOutcomeId: 'nope', voidGracePeriodMs: 1 }, lc()),
      ),
    ).toEqual(['winning_outcome_id']);
  });

  it('given any state before RESOLVED, then cancel wins once and repeats are no-ops; an empty reason is INVALID_ARGUMENT', () => {
    for (const market of [created(), opened(), locked()]) {
      const events = decideCancel(
        market,
        { reason: 'MANUAL', reasonText: 'technical issue' },
        lc(),
      );
      expect(events[0]).toMatchObject({ type: 'MarketCanceled', previousState: market.state });
      const canceled = applyEvents(market, events, t0).market;
      expect(
        decideCancel(canceled, { reason: 'MANUAL', reasonText: 'technical issue' }, lc()),
      ).toEqual([]);
      expect(() => decideOpen(canceled, lc())).toThrow(IllegalStateError);
    }
    expect(
      violationsOf(() => decideCancel(opened(), { reason: 'MANUAL', reasonText: '' }, lc())),
    ).toEqual(['reason']);
  });

  it('given a resolved market, then only an admin voids it, only within the grace period', () => {
    const market = locked();
    const resolved = applyEvents(
      market,
      decideResolve(market, { winningOutcomeId: 'o2', voidGracePeriodMs: 600_000 }, lc()),
      t0,
    ).market;
    expect(() => decideVoid(resolved, { reasonText: 'wrong result' }, lc(owner))).toThrow(
      PermissionDeniedError,
    );
    expect(() =>
      decideVoid(resolved, { reasonText: 'wrong result' }, lc(admin, t0 + 600_000)),
    ).toThrow(/grace period/);
    const events = decideVoid(resolved, { reasonText: 'wrong result' }, lc(admin, t0 + 599_999));
    const voided = applyEvents(resolved, events, t0 + 599_999).market;
    expect(voided).toMatchObject({
      state: 'CANCELED',
      cancelReason: 'VOIDED_AFTER_RESOLUTION',
      voidedAtMs: t0 + 599_999,
      winningOutcomeId: 'o2',
    });
    expect(decideVoid(voided, { reasonText: 'wrong result' }, lc(admin, t0 + 700_000))).toEqual([]);
  });

  it("given another channel's streamer, then every lifecycle command is PERMISSION_DENIED; a stale expected version is ABORTED", () => {
    const market = opened();
    const theirs = { actor: other, channelOwnerUserId: 'owner', nowMs: t0 };
    expect(() =>
      decideLock(
        market,
        { reason: 'MANUAL', eventAtMs: undefined, broadcastDelaySeconds: 0 },
        theirs,
      ),
    ).toThrow(PermissionDeniedError);
    expect(() => decideCancel(market, { reason: 'MANUAL', reasonText: 'x' }, theirs)).toThrow(
      PermissionDeniedError,
    );
    expect(() =>
      decideLock(
        market,
        { reason: 'MANUAL', eventAtMs: undefined, broadcastDelaySeconds: 0 },
        { ...lc(), expectedVersion: 1 },
      ),
    ).toThrow(ConcurrencyError);
  });
});

describe('channel settings', () => {
  const ctx = (actor: Actor) => ({ actor, channelOwnerUserId: 'owner', expectedVersion: 0 });

  it('given the owner, then delay, limits and window change but commission and share are admin-only', () => {
    const result = decideSettingsUpdate(defaults, 0, { broadcastDelaySeconds: 12 }, ctx(owner));
    expect(result).toMatchObject({
      settings: { broadcastDelaySeconds: 12 },
      changedFields: ['broadcast_delay_seconds'],
    });
    expect(() => decideSettingsUpdate(defaults, 0, { commissionBps: 600 }, ctx(owner))).toThrow(
      /only an admin may change commission_bps/,
    );
    expect(
      decideSettingsUpdate(
        defaults,
        0,
        { commissionBps: 600, streamerRevenueShareBps: 1 },
        ctx(admin),
      ).changedFields,
    ).toEqual(['commission_bps', 'streamer_revenue_share_bps']);
    expect(() => decideSettingsUpdate(defaults, 0, {}, ctx(other))).toThrow(PermissionDeniedError);
  });

  it('given values out of range, then INVALID_ARGUMENT names each field', () => {
    expect(
      violationsOf(() =>
        decideSettingsUpdate(
          defaults,
          0,
          {
            commissionBps: 2001,
            streamerRevenueShareBps: 10_001,
            broadcastDelaySeconds: 61,
            defaultBettingWindowSeconds: 10,
            pointsStakeLimits: {
              minStakeMinor: 5n,
              maxStakePerBetMinor: 4n,
              maxStakePerUserMinor: 4n,
            },
          },
          ctx(admin),
        ),
      ),
    ).toEqual([
      'commission_bps',
      'streamer_revenue_share_bps',
      'broadcast_delay_seconds',
      'points_stake_limits.max_stake_per_bet_minor',
      'default_betting_window_seconds',
    ]);
  });
});

describe('assertCanMirror', () => {
  const free = {
    platform: 'TWITCH',
    predictionAlreadyMirrored: false,
    channelHasUnfinishedMirror: false,
  } as const;
  it('given a Twitch channel with no mirror of the prediction and none unfinished, then mirroring is allowed', () => {
    expect(() => assertCanMirror('p-1', free)).not.toThrow();
  });
  it('given another platform, a prediction mirrored already, or an unfinished mirror, then each is refused with its reason (platform first)', () => {
    expect(() =>
      assertCanMirror('p-1', { ...free, platform: 'KICK', predictionAlreadyMirrored: true }),
    ).toThrow(
      new IllegalStateError('twitch_prediction_id can only be mirrored on a Twitch channel'),
    );
    expect(() =>
      assertCanMirror('p-1', {
        ...free,
        predictionAlreadyMirrored: true,
        channelHasUnfinishedMirror: true,
      }),
    ).toThrow(
      new AlreadyExistsError('Twitch prediction p-1 is already mirrored by another market'),
    );
    expect(() => assertCanMirror('p-1', { ...free, channelHasUnfinishedMirror: true })).toThrow(
      IllegalStateError,
    );
  });
});
