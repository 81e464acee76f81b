import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '@streambet/platform/errors/domain-errors';
import { defaultPoolSettings } from '../src/config.js';
import { lockInstant, MAX_RETROACTIVE_LOCK_MS } from '../src/domain/lock-instant.js';
import {
  applyEvents,
  decideCreate,
  decideLock,
  decideOpen,
  type Actor,
  type LockReason,
  type Market,
} from '../src/domain/market.js';

const t0 = Date.UTC(2026, 11, 7, 18, 0, 0);
const owner: Actor = { kind: 'user', userId: 'owner', role: 'streamer' };
const windowSeconds = 600;

/** A market opened at t0 whose betting closes at t0 + 10 min. */
function openMarket(): Market {
  const events = decideCreate(
    {
      title: 'First blood?',
      outcomes: [
        { title: 'Yes', twitchOutcomeId: '' },
        { title: 'No', twitchOutcomeId: '' },
      ],
      currency: 'PTS',
      kind: 'POOL',
      stakeLimits: undefined,
      bettingWindowSeconds: windowSeconds,
      commissionBps: undefined,
      autoLockOnOffline: undefined,
      twitchPredictionId: '',
      openNow: false,
    },
    {
      actor: owner,
      channelId: 'ch',
      channelOwnerUserId: 'owner',
      defaults: defaultPoolSettings.channelDefaults,
      realCurrency: 'BRL',
      nowMs: t0,
      marketId: 'm1',
      outcomeIds: ['o1', 'o2'],
    },
  );
  const first = events[0]!;
  if (first.type !== 'MarketCreated') throw new Error('expected MarketCreated');
  const market = first.market;
  return applyEvents(
    market,
    decideOpen(market, { actor: owner, channelOwnerUserId: 'owner', nowMs: t0 }),
    t0,
  ).market;
}

/** The lock instant the pool's LockMarket decision records. */
function poolLocksAt(
  market: Market,
  nowMs: number,
  eventAtMs: number | undefined,
  broadcastDelaySeconds: number,
  reason: LockReason = 'MANUAL',
): number {
  const [event] = decideLock(
    market,
    { reason, eventAtMs, broadcastDelaySeconds },
    { actor: reason === 'MANUAL' ? owner : { kind: 'system' }, channelOwnerUserId: 'owner', nowMs },
  );
  if (event?.type !== 'MarketLocked') throw new Error('expected MarketLocked');
  return event.lockEffectiveAtMs;
}

function refusedFields(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error.violations.map((v) => v.field);
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('lockInstant: the retroactive lock rule', () => {
  const openedAtMs = t0;
  const bettingClosesAtMs = t0 + windowSeconds * 1000;
  const nowMs = t0 + 100_000;
  const base = {
    nowMs,
    eventAtMs: undefined,
    broadcastDelaySeconds: 15,
    openedAtMs,
    bettingClosesAtMs,
    refuseTooFarBack: true,
  };

  it('given no event instant, then the instant is now minus the broadcast delay', () => {
    expect(lockInstant(base)).toBe(nowMs - 15_000);
    expect(lockInstant({ ...base, broadcastDelaySeconds: 0 })).toBe(nowMs);
  });

  it('given an event instant 60 s back, then it is used; 60 001 ms back is refused unless the caller clamps', () => {
    expect(lockInstant({ ...base, eventAtMs: nowMs - 60_000 })).toBe(nowMs - 60_000);
    expect(refusedFields(() => lockInstant({ ...base, eventAtMs: nowMs - 60_001 }))).toEqual([
      'event_at_ms',
    ]);
    expect(lockInstant({ ...base, eventAtMs: nowMs - 60_001, refuseTooFarBack: false })).toBe(
      nowMs - 60_000,
    );
  });

  it('given an event instant in the future, then it is clamped to now', () => {
    expect(lockInstant({ ...base, eventAtMs: nowMs + 5_000 })).toBe(nowMs);
  });

  it('given an event instant before the opening, then it is clamped to the opening', () => {
    expect(lockInstant({ ...base, eventAtMs: nowMs - 30_000, openedAtMs: nowMs - 10_000 })).toBe(
      nowMs - 10_000,
    );
  });

  it('given a lock after betting closed, then the instant is at most betting_closes_at', () => {
    const late = bettingClosesAtMs + 30_000;
    expect(lockInstant({ ...base, nowMs: late })).toBe(bettingClosesAtMs);
    expect(lockInstant({ ...base, nowMs: late, eventAtMs: late - 20_000 })).toBe(bettingClosesAtMs);
  });
});

describe('the retroactive lock rule as the pool applies it', () => {
  const market = openMarket();
  const now = t0 + 5 * 60_000;

  it("given no event instant, when the streamer locks, then the instant is now minus the channel's broadcast delay (the default)", () => {
    const delay = defaultPoolSettings.channelDefaults.broadcastDelaySeconds;
    expect(poolLocksAt(market, now, undefined, delay)).toBe(now - delay * 1000);
    expect(poolLocksAt(market, now, undefined, 60)).toBe(now - 60_000);
    expect(poolLocksAt(market, now, undefined, 0)).toBe(now);
  });

  it('given an event instant exactly 60 s back, then it is the instant; 1 ms further back is refused naming event_at_ms', () => {
    expect(MAX_RETROACTIVE_LOCK_MS).toBe(60_000);
    expect(poolLocksAt(market, now, now - 60_000, 0)).toBe(now - 60_000);
    expect(refusedFields(() => poolLocksAt(market, now, now - 60_001, 0))).toEqual(['event_at_ms']);
  });

  it('given a late platform event (offline stream, Twitch lock) more than 60 s back, then the pool clamps it to 60 s instead of refusing', () => {
    expect(poolLocksAt(market, now, now - 90_000, 0, 'STREAM_OFFLINE')).toBe(now - 60_000);
    expect(poolLocksAt(market, now, now - 90_000, 0, 'TWITCH_PREDICTION_LOCKED')).toBe(
      now - 60_000,
    );
  });

  it('given an instant in the future, before the opening or after betting closed, then it is clamped to now, the opening and the close', () => {
    expect(poolLocksAt(market, now, now + 5_000, 0)).toBe(now);
    const justOpened = t0 + 10_000;
    expect(poolLocksAt(market, justOpened, undefined, 30)).toBe(t0);
    const closesAt = t0 + windowSeconds * 1000;
    expect(poolLocksAt(market, closesAt + 20_000, undefined, 5)).toBe(closesAt);
  });

  it('given any lock request, then the instant the pool records is the one lockInstant gives (one rule, one place)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: windowSeconds * 1000 + 120_000 }),
        fc.option(fc.integer({ min: -200_000, max: 20_000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 60 }),
        fc.constantFrom<LockReason>('MANUAL', 'STREAM_OFFLINE', 'TWITCH_PREDICTION_LOCKED'),
        (sinceOpenMs, eventOffsetMs, delay, reason) => {
          const nowMs = t0 + sinceOpenMs;
          const eventAtMs = eventOffsetMs === undefined ? undefined : nowMs + eventOffsetMs;
          const input = {
            nowMs,
            eventAtMs,
            broadcastDelaySeconds: delay,
            openedAtMs: market.openedAtMs,
            bettingClosesAtMs: market.bettingClosesAtMs,
            refuseTooFarBack: reason === 'MANUAL',
          };
          let expected: number | 'refused';
          try {
            expected = lockInstant(input);
          } catch (error) {
            if (!(error instanceof ValidationError)) throw error;
            expected = 'refused';
          }
          let actual: number | 'refused';
          try {
            actual = poolLocksAt(market, nowMs, eventAtMs, delay, reason);
          } catch (error) {
            if (!(error instanceof ValidationError)) throw error;
            actual = 'refused';
          }
          expect(actual).toBe(expected);
          if (typeof actual === 'number') {
            expect(actual).toBeGreaterThanOrEqual(
              Math.min(Math.max(market.openedAtMs, nowMs - 60_000), market.bettingClosesAtMs),
            );
            expect(actual).toBeLessThanOrEqual(Math.min(nowMs, market.bettingClosesAtMs));
          }
        },
      ),
    );
  });
});
