import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  MarketKind,
  MarketSchema,
  MarketState,
  MarketTemplateSchema,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  PayoutKind,
  PayoutSchema,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import {
  channelRevenue,
  checkMarketForm,
  createMarketRequest,
  defaultOverlayLook,
  emptyMarketForm,
  featuredMarket,
  lockInstant,
  overlayLookFromParams,
  overlayUrl,
  poolShares,
  rgba,
  saveTemplateRequest,
  templateNameError,
  templateToForm,
  type MarketForm,
} from '@streambet/client/studio';

const currencies = ['BRL', 'PTS'];

function form(overrides: Partial<MarketForm> = {}): MarketForm {
  return {
    ...emptyMarketForm('BRL'),
    title: 'Who wins the round?',
    outcomes: ['Blue', 'Red', ''],
    ...overrides,
  };
}

describe('market form', () => {
  it('given a valid form with spare blank rows, when checked, then it becomes a definition with defaults left unset', () => {
    const check = checkMarketForm(form({ title: '  Who wins the round?  ' }), currencies);
    expect(check).toEqual({
      ok: true,
      definition: {
        title: 'Who wins the round?',
        outcomeTitles: ['Blue', 'Red'],
        currency: 'BRL',
        bettingWindowSeconds: undefined,
        stakeLimits: undefined,
        autoLockOnOffline: undefined,
      },
    });
  });

  it('given each broken rule, when checked, then the field that breaks it is named', () => {
    const check = checkMarketForm(
      form({
        title: 'x'.repeat(141),
        outcomes: ['Yes', ' yes ', '', 'y'.repeat(41)],
        currency: 'EUR',
        windowSeconds: '29',
        minStake: '5',
        maxStakePerBet: '',
        maxStakePerUser: '1.234',
      }),
      currencies,
    );
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(Object.keys(check.errors).sort()).toEqual(
      [
        'title',
        'outcomes.1',
        'outcomes.3',
        'currency',
        'windowSeconds',
        'maxStakePerBet',
        'maxStakePerUser',
      ].sort(),
    );
    expect(check.errors['outcomes.1']).toBe('Same as outcome 1.');
  });

  it('given one outcome, an empty title and a window of 1801 s, when checked, then each is refused', () => {
    const check = checkMarketForm(
      form({ title: ' ', outcomes: ['Only', ''], windowSeconds: '1801' }),
      currencies,
    );
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.errors).toMatchObject({
      title: 'Write the question viewers bet on.',
      'outcomes.1': 'Name this outcome.',
      windowSeconds: 'A whole number of seconds from 30 to 1800.',
    });
    const eleven = checkMarketForm(
      form({ outcomes: Array.from({ length: 11 }, (_, i) => `O${i}`) }),
      currencies,
    );
    expect(eleven.ok ? undefined : eleven.errors.outcomes).toBe('At most 10 outcomes.');
  });

  it('given stake limits that do not grow, when checked, then stakes is refused; growing ones become minor units', () => {
    const shrinking = checkMarketForm(
      form({ minStake: '10', maxStakePerBet: '5', maxStakePerUser: '20' }),
      currencies,
    );
    expect(shrinking.ok ? undefined : shrinking.errors.stakes).toMatch(/minimum ≤ most per bet/);
    const growing = checkMarketForm(
      form({
        minStake: '1',
        maxStakePerBet: '2.5',
        maxStakePerUser: '10',
        windowSeconds: '90',
        autoLock: 'off',
      }),
      currencies,
    );
    expect(growing.ok && growing.definition).toMatchObject({
      stakeLimits: { minStakeMinor: 100n, maxStakePerBetMinor: 250n, maxStakePerUserMinor: 1000n },
      bettingWindowSeconds: 90,
      autoLockOnOffline: false,
    });
  });

  it('given a definition, when turned into requests, then CreateMarket opens at once and a template round-trips to the same form', () => {
    const check = checkMarketForm(
      form({
        minStake: '1',
        maxStakePerBet: '2.5',
        maxStakePerUser: '10',
        windowSeconds: '90',
        autoLock: 'on',
      }),
      currencies,
    );
    if (!check.ok) throw new Error('expected a valid form');
    expect(createMarketRequest('CH', check.definition, 'k1')).toMatchObject({
      idempotencyKey: 'k1',
      channelId: 'CH',
      outcomes: [{ title: 'Blue' }, { title: 'Red' }],
      kind: MarketKind.POOL,
      bettingWindowSeconds: 90,
      autoLockOnOffline: true,
      openNow: true,
    });
    const save = saveTemplateRequest('CH', ' Round ', check.definition, true);
    expect(save).toMatchObject({
      name: 'Round',
      outcomeTitles: ['Blue', 'Red'],
      openOnStreamOnline: true,
    });
    const template = create(MarketTemplateSchema, {
      templateId: 'T1',
      name: save.name,
      title: save.title,
      outcomeTitles: save.outcomeTitles,
      currency: save.currency,
      kind: save.kind,
      stakeLimits: check.definition.stakeLimits,
      bettingWindowSeconds: save.bettingWindowSeconds,
      autoLockOnOffline: save.autoLockOnOffline,
      openOnStreamOnline: save.openOnStreamOnline,
    });
    expect(templateToForm(template)).toEqual({
      title: 'Who wins the round?',
      outcomes: ['Blue', 'Red'],
      currency: 'BRL',
      windowSeconds: '90',
      minStake: '1',
      maxStakePerBet: '2.5',
      maxStakePerUser: '10',
      autoLock: 'on',
    });
    expect(templateNameError('  ')).toBe('Name the template.');
    expect(templateNameError('x'.repeat(61))).toBe('At most 60 characters.');
    expect(templateNameError('Round')).toBeUndefined();
  });
});

describe('retroactive lock instant', () => {
  it('given seconds ago at the bounds, when converted, then 0 and 60 pass, 61, -1 and 1.5 do not, empty is the server default', () => {
    const now = 1_000_000;
    expect(lockInstant('', now)).toEqual({ ok: true, eventAtMs: undefined });
    expect(lockInstant('0', now)).toEqual({ ok: true, eventAtMs: 1_000_000n });
    expect(lockInstant(' 60 ', now)).toEqual({ ok: true, eventAtMs: 940_000n });
    for (const bad of ['61', '-1', '1.5', 'soon']) expect(lockInstant(bad, now).ok).toBe(false);
  });
});

describe('channel revenue', () => {
  it('given payouts of several kinds, channels and a reversed one, when summed, then only live revenue shares of the channel count', () => {
    const payout = (init: Parameters<typeof create<typeof PayoutSchema>>[1]) =>
      create(PayoutSchema, {
        kind: PayoutKind.STREAMER_REVENUE_SHARE,
        channelId: 'CH',
        currency: 'BRL',
        ...init,
      });
    const totals = channelRevenue(
      [
        payout({ payoutMinor: 120n }),
        payout({ payoutMinor: 30n }),
        payout({ payoutMinor: 7n, currency: 'PTS' }),
        payout({ payoutMinor: 1000n, reversedAtMs: 5n }),
        payout({ payoutMinor: 500n, channelId: 'OTHER' }),
        payout({ payoutMinor: 900n, kind: PayoutKind.SETTLEMENT }),
      ],
      'CH',
    );
    expect([...totals]).toEqual([
      ['BRL', 150n],
      ['PTS', 7n],
    ]);
  });
});

describe('overlay look', () => {
  it('given a look, when written to a URL and read back, then it is the same look and defaults are not written', () => {
    const look = {
      position: 'top-right' as const,
      widthPx: 600,
      accent: '#00ff88',
      text: '#101010',
      background: '#fafafa',
      backgroundOpacityPct: 40,
    };
    const url = new URL(overlayUrl('http://localhost:8080', 'CH1', look));
    expect(url.searchParams.get('view')).toBe('overlay');
    expect(url.searchParams.get('channel')).toBe('CH1');
    expect(overlayLookFromParams(url.searchParams)).toEqual(look);
    const plain = new URL(overlayUrl('http://localhost:8080', 'CH1', defaultOverlayLook));
    expect([...plain.searchParams.keys()]).toEqual(['view', 'channel']);
  });

  it('given hostile or out-of-range parameters, when read, then each falls back to its default', () => {
    const look = overlayLookFromParams(
      new URLSearchParams({
        pos: 'middle',
        w: '5000',
        accent: 'red;background:url(x)',
        fg: '#12345',
        bg: 'zzzzzz',
        alpha: '101',
      }),
    );
    expect(look).toEqual(defaultOverlayLook);
    expect(rgba('#ff8000', 50)).toBe('rgba(255, 128, 0, 0.5)');
    expect(rgba('not a colour', 100)).toBe('rgba(0, 0, 0, 1)');
  });

  it('given stakes, when shares are computed, then they add up to 100 by largest remainder, or are all 0', () => {
    expect(poolShares([1n, 1n, 1n])).toEqual([34, 33, 33]);
    expect(poolShares([2n, 1n])).toEqual([67, 33]);
    expect(poolShares([0n, 0n])).toEqual([0, 0]);
    expect(poolShares([5n, 0n])).toEqual([100, 0]);
  });
});

describe("the overlay's featured market", () => {
  const market = (id: string, state: MarketState, createdAtMs: bigint, extra = {}) =>
    create(MarketSchema, { marketId: id, state, createdAtMs, ...extra });
  const now = 10_000_000;

  it('given open, locked and resolved markets, when featured, then the newest open one wins, then the newest locked one', () => {
    const markets = [
      market('old-open', MarketState.OPEN, 1n),
      market('new-open', MarketState.OPEN, 3n),
      market('locked', MarketState.LOCKED, 4n),
      market('resolved', MarketState.RESOLVED, 5n, { resolvedAtMs: BigInt(now - 1000) }),
    ];
    expect(featuredMarket(markets, now)?.marketId).toBe('new-open');
    expect(featuredMarket(markets.slice(2), now)?.marketId).toBe('locked');
  });

  it('given only finished markets, when featured, then a result shows for 3 minutes and then nothing', () => {
    const resolved = market('resolved', MarketState.RESOLVED, 5n, {
      resolvedAtMs: BigInt(now - 180_000 + 1),
    });
    const canceled = market('canceled', MarketState.CANCELED, 4n, {
      canceledAtMs: BigInt(now - 10_000),
    });
    expect(featuredMarket([resolved, canceled], now)?.marketId).toBe('resolved');
    expect(featuredMarket([resolved, canceled], now + 1)?.marketId).toBe('canceled');
    expect(featuredMarket([resolved, canceled], now + 200_000)).toBeUndefined();
    expect(featuredMarket([], now)).toBeUndefined();
  });
});
