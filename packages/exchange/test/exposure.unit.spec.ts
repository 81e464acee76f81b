/**
 * The exposure rule (what a user's market hold must be) and settlement per user per market,
 * each against an independent computation written here: a brute force over which open orders
 * match, and Betfair's net-winnings-with-commission rule computed from raw prices.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fillLiabilityMinor,
  layReserveMinor,
  matchedProfitByOutcome,
  requiredHoldMinor,
  settleUser,
  type OpenOrder,
  type PositionFill,
} from '../src/exposure.js';
import type { Side } from '../src/types.js';

function fill(outcomeIndex: number, side: Side, stake: bigint, odds: number): PositionFill {
  return {
    outcomeIndex,
    side,
    stakeMinor: stake,
    liabilityMinor: fillLiabilityMinor(stake, odds),
  };
}

describe('requiredHoldMinor', () => {
  it('holds a back stake and a lay liability (rounded up) when nothing offsets them', () => {
    expect(
      requiredHoldMinor(
        2,
        [],
        [{ outcomeIndex: 0, side: 'back', remainingMinor: 100n, oddsHundredths: 250 }],
      ),
    ).toBe(100n);
    expect(
      requiredHoldMinor(
        2,
        [],
        [{ outcomeIndex: 0, side: 'lay', remainingMinor: 101n, oddsHundredths: 250 }],
      ),
    ).toBe(152n);
    expect(layReserveMinor(101n, 250)).toBe(152n);
    expect(fillLiabilityMinor(101n, 250)).toBe(151n);
  });

  it('nets matched bets: a back and a lay of the same stake and price hold nothing', () => {
    expect(requiredHoldMinor(2, [fill(0, 'back', 100n, 300), fill(0, 'lay', 100n, 300)], [])).toBe(
      0n,
    );
    // Backed at 3.00, laid at 2.50: a guaranteed profit (green book) holds nothing.
    expect(requiredHoldMinor(2, [fill(0, 'back', 100n, 300), fill(0, 'lay', 100n, 250)], [])).toBe(
      0n,
    );
  });

  it('backing every outcome holds the worst scenario, not the sum of the stakes', () => {
    const fills = [
      fill(0, 'back', 100n, 200),
      fill(1, 'back', 100n, 200),
      fill(2, 'back', 100n, 200),
    ];
    // Whoever wins: +100 on one back, −200 on the two others.
    expect(requiredHoldMinor(3, fills, [])).toBe(100n);
  });

  it('counts an open order that hurts but never credits one that would help', () => {
    const fills = [fill(0, 'back', 100n, 300)]; // outcome 0: +200, outcome 1: −100
    const hedge: OpenOrder = {
      outcomeIndex: 0,
      side: 'lay',
      remainingMinor: 100n,
      oddsHundredths: 200,
    };
    // The unmatched lay may never match: outcome 1 still loses 100; outcome 0 loses 100 − 200 < 0.
    expect(requiredHoldMinor(2, fills, [hedge])).toBe(100n);
  });

  it('is never below the loss of any subset of open orders matching at their prices', () => {
    const order = fc.record({
      outcomeIndex: fc.nat(2),
      side: fc.constantFrom<Side>('back', 'lay'),
      remainingMinor: fc.bigInt({ min: 1n, max: 1000n }),
      oddsHundredths: fc.integer({ min: 101, max: 1000 }),
    });
    fc.assert(
      fc.property(
        fc.array(order, { maxLength: 6 }),
        fc.array(order, { maxLength: 5 }),
        (matched, open) => {
          const fills = matched.map((o) =>
            fill(o.outcomeIndex, o.side, o.remainingMinor, o.oddsHundredths),
          );
          const required = requiredHoldMinor(3, fills, open);
          let worst = 0n;
          for (let mask = 0; mask < 1 << open.length; mask += 1) {
            const all = [
              ...fills,
              ...open
                .filter((_, i) => (mask & (1 << i)) !== 0)
                .map((o) => fill(o.outcomeIndex, o.side, o.remainingMinor, o.oddsHundredths)),
            ];
            for (const profit of matchedProfitByOutcome(3, all))
              if (-profit > worst) worst = -profit;
          }
          // Enough in every case, and exact when every open order is a back (no rounding).
          expect(required).toBeGreaterThanOrEqual(worst);
          if (open.every((o) => o.side === 'back')) expect(required).toBe(worst);
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** Betfair's rule, independently: per fill from raw prices, net, commission on a positive net. */
function betfairSettlement(
  bets: ReadonlyArray<{ outcome: number; side: Side; stake: number; odds: number }>,
  winner: number,
  commissionBps: number,
): { net: number; commission: number; credit: number; debit: number } {
  let net = 0;
  for (const bet of bets) {
    const winnings = Math.floor((bet.stake * (bet.odds - 100)) / 100);
    const backerWins = bet.outcome === winner;
    if (bet.side === 'back') net += backerWins ? winnings : -bet.stake;
    else net += backerWins ? -winnings : bet.stake;
  }
  const commission = net > 0 ? Math.floor((net * commissionBps) / 10000) : 0;
  return { net, commission, credit: net > 0 ? net - commission : 0, debit: net < 0 ? -net : 0 };
}

describe('settleUser', () => {
  it('charges commission on positive net winnings only, floored', () => {
    const fills = [fill(0, 'back', 100n, 300), fill(1, 'back', 50n, 200)];
    // Outcome 0 wins: +200 − 50 = 150; 5% → 7.5 → 7.
    expect(settleUser(fills, 0, 500)).toEqual({
      netMinor: 150n,
      commissionMinor: 7n,
      creditMinor: 143n,
      debitMinor: 0n,
    });
    // Outcome 1 wins: −100 + 50 = −50: no commission.
    expect(settleUser(fills, 1, 500)).toEqual({
      netMinor: -50n,
      commissionMinor: 0n,
      creditMinor: 0n,
      debitMinor: 50n,
    });
  });

  it('matches the independent computation and conserves money across a market', () => {
    const bet = fc.record({
      outcome: fc.nat(2),
      stake: fc.integer({ min: 1, max: 100_000 }),
      odds: fc.integer({ min: 101, max: 100_000 }),
      backUser: fc.nat(4),
      layUser: fc.nat(4),
    });
    fc.assert(
      fc.property(
        fc.array(bet, { maxLength: 20 }),
        fc.nat(2),
        fc.integer({ min: 0, max: 10_000 }),
        (trades, winner, bps) => {
          let escrow = 0n;
          let house = 0n;
          for (let user = 0; user < 5; user += 1) {
            const mine = trades.flatMap((t) => [
              ...(t.backUser === user
                ? [{ outcome: t.outcome, side: 'back' as const, stake: t.stake, odds: t.odds }]
                : []),
              ...(t.layUser === user
                ? [{ outcome: t.outcome, side: 'lay' as const, stake: t.stake, odds: t.odds }]
                : []),
            ]);
            const expected = betfairSettlement(mine, winner, bps);
            const got = settleUser(
              mine.map((m) => fill(m.outcome, m.side, BigInt(m.stake), m.odds)),
              winner,
              bps,
            );
            expect(got).toEqual({
              netMinor: BigInt(expected.net),
              commissionMinor: BigInt(expected.commission),
              creditMinor: BigInt(expected.credit),
              debitMinor: BigInt(expected.debit),
            });
            escrow += got.debitMinor - got.creditMinor - got.commissionMinor;
            house += got.commissionMinor;
          }
          // Losers pay exactly what winners win: escrow ends empty, commission is the house's.
          expect(escrow).toBe(0n);
          expect(house).toBeGreaterThanOrEqual(0n);
        },
      ),
      { numRuns: 300 },
    );
  });
});
