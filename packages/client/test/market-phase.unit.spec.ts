import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { MarketSchema, MarketState } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { WalletBalanceSchema } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import {
  bettingWindowText,
  isBettable,
  marketPhase,
  marketPhaseLabel,
  orderMarkets,
  visibleBalances,
} from '@streambet/client/view';

const closesAtMs = 1_800_000_000_000;

function market(id: string, state: MarketState, closes = closesAtMs, createdAtMs = 0) {
  return create(MarketSchema, {
    marketId: id,
    state,
    bettingClosesAtMs: BigInt(closes),
    createdAtMs: BigInt(createdAtMs),
  });
}

describe('marketPhase (the betting window from the clock)', () => {
  it('given an open market before its closes-at time, then it is open and bettable', () => {
    const m = market('m1', MarketState.OPEN);
    expect(marketPhase(m, closesAtMs - 1)).toBe('open');
    expect(isBettable(m, closesAtMs - 1)).toBe(true);
    expect(bettingWindowText(m, closesAtMs - 65_000)).toBe('closes in 1:05');
  });

  it('given an open market once its window ended, then it reads closed before the pool locks it', () => {
    const m = market('m1', MarketState.OPEN);
    expect(marketPhase(m, closesAtMs)).toBe('closed');
    expect(isBettable(m, closesAtMs)).toBe(false);
    expect(marketPhaseLabel('closed')).toBe('Betting closed');
    expect(bettingWindowText(m, closesAtMs + 5_000)).toBe('betting closed, locking…');
  });

  it('given an open market without a closes-at time, then it stays open', () => {
    expect(marketPhase(market('m1', MarketState.OPEN, 0), Number.MAX_SAFE_INTEGER)).toBe('open');
  });

  it("given the pool's other states, then the phase is the state whatever the clock says", () => {
    expect(marketPhase(market('m', MarketState.LOCKED), 0)).toBe('locked');
    expect(marketPhase(market('m', MarketState.RESOLVED), 0)).toBe('resolved');
    expect(marketPhase(market('m', MarketState.CANCELED), 0)).toBe('canceled');
    expect(marketPhase(market('m', MarketState.DRAFT), 0)).toBe('draft');
    expect(isBettable(market('m', MarketState.LOCKED), 0)).toBe(false);
    expect(bettingWindowText(market('m', MarketState.LOCKED), 0)).toBe('');
  });

  it('given a mix, then bettable markets come first (soonest closing on top), then closed, locked, settled', () => {
    const now = closesAtMs;
    const ordered = orderMarkets(
      [
        market('resolved', MarketState.RESOLVED, now - 10, 5),
        market('locked', MarketState.LOCKED, now - 10, 4),
        market('closed', MarketState.OPEN, now - 1, 3),
        market('open-late', MarketState.OPEN, now + 60_000, 2),
        market('open-soon', MarketState.OPEN, now + 10_000, 1),
      ],
      now,
    );
    expect(ordered.map((m) => m.marketId)).toEqual([
      'open-soon',
      'open-late',
      'closed',
      'locked',
      'resolved',
    ]);
  });
});

describe('visibleBalances (no "R$ 0.00" in a play-money demo)', () => {
  const balance = (currency: string, postedMinor: bigint, pendingMinor = 0n) =>
    create(WalletBalanceSchema, {
      currency,
      postedMinor,
      pendingMinor,
      availableMinor: postedMinor - pendingMinor,
    });

  it('given an empty real-currency wallet, then only points are shown', () => {
    const shown = visibleBalances([balance('BRL', 0n), balance('PTS', 100_000n)]);
    expect(shown.map((b) => b.currency)).toEqual(['PTS']);
  });

  it('given money in a real currency (posted or held in bets), then it is shown after points', () => {
    expect(
      visibleBalances([balance('BRL', 1_000n), balance('PTS', 0n)]).map((b) => b.currency),
    ).toEqual(['PTS', 'BRL']);
    expect(
      visibleBalances([balance('BRL', 500n, 500n), balance('PTS', 0n)]).map((b) => b.currency),
    ).toEqual(['PTS', 'BRL']);
  });
});
