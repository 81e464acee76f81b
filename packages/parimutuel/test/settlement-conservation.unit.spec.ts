import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INT64_MAX_MINOR } from '../src/bounds.js';
import {
  createPoolPayoutCalculator,
  createPoolTotalsAccumulator,
  decidePoolSettlement,
  settlePool,
  type PoolBet,
  type PoolSettlementTerms,
} from '../src/settlement.js';

const OUTCOMES = ['a', 'b', 'c', 'd'];

/** Stakes mixing one-unit, everyday and huge amounts; at most 64 bets of ≤ int64/64 never overflow T. */
const stakeArb = fc.oneof(
  fc.bigInt({ min: 1n, max: 3n }),
  fc.bigInt({ min: 1n, max: 10_000n }),
  fc.bigInt({ min: 1n, max: INT64_MAX_MINOR / 64n }),
);

const marketArb = fc
  .record({
    outcomeCount: fc.integer({ min: 2, max: 4 }),
    rawBets: fc.array(fc.record({ outcome: fc.nat(3), user: fc.nat(7), stakeMinor: stakeArb }), {
      maxLength: 64,
      size: 'medium',
    }),
    winner: fc.nat(3),
    commissionBps: fc.oneof(
      fc.constantFrom(0, 1, 500, 2000, 9999, 10_000),
      fc.integer({ min: 0, max: 10_000 }),
    ),
    streamerShareBps: fc.oneof(
      fc.constantFrom(0, 5000, 10_000),
      fc.integer({ min: 0, max: 10_000 }),
    ),
  })
  .map(({ outcomeCount, rawBets, winner, commissionBps, streamerShareBps }) => {
    const outcomeIds = OUTCOMES.slice(0, outcomeCount);
    const bets: PoolBet[] = rawBets.map((b, i) => ({
      betId: `bet-${String(i).padStart(3, '0')}`,
      userId: `user-${b.user}`,
      outcomeId: outcomeIds[b.outcome % outcomeCount]!,
      stakeMinor: b.stakeMinor,
    }));
    const terms: PoolSettlementTerms = {
      outcomeIds,
      winningOutcomeId: outcomeIds[winner % outcomeCount]!,
      commissionBps,
      streamerShareBps,
    };
    return { bets, terms };
  });

const sum = (values: readonly bigint[]): bigint => values.reduce((a, b) => a + b, 0n);

describe('pool settlement conservation (property)', () => {
  it('given any market, when settled, then Σ payouts + C + B = T, escrow ends at zero and winners never get less than their stake', () => {
    fc.assert(
      fc.property(marketArb, ({ bets, terms }) => {
        const result = settlePool(bets, terms);
        const f = result.figures;
        const totalMinor = sum(bets.map((b) => b.stakeMinor));
        expect(f.totalStakedMinor).toBe(totalMinor);
        expect(sum(result.bets.map((b) => b.payoutMinor))).toBe(f.payoutTotalMinor);
        expect(sum(result.users.map((u) => u.payoutMinor))).toBe(f.payoutTotalMinor);
        expect(f.payoutTotalMinor + f.commissionMinor + f.breakageMinor).toBe(totalMinor);
        expect(f.streamerShareMinor + f.rakeMinor).toBe(f.commissionMinor);
        // Escrow: what the holds put in minus what the transfers take out.
        const escrowMinor =
          result.ledger.postedToEscrowMinor -
          sum(result.ledger.escrowTransfers.map((t) => t.amountMinor));
        expect(escrowMinor).toBe(0n);
        expect(result.ledger.escrowTransfers.every((t) => t.amountMinor > 0n)).toBe(true);

        if (result.kind === 'PAYOUT') {
          const winners = result.bets.filter((b) => b.result === 'WON');
          expect(f.commissionMinor).toBe(
            (f.losingStakedMinor * BigInt(terms.commissionBps)) / 10_000n,
          );
          expect(f.distributableMinor).toBe(f.losingStakedMinor - f.commissionMinor);
          expect(result.ledger.postedToEscrowMinor).toBe(totalMinor);
          for (const row of result.bets) {
            expect(row.holdAction).toBe('POST_IN_FULL');
            if (row.result === 'WON') {
              expect(row.payoutMinor >= row.stakeMinor).toBe(true);
              expect(row.payoutMinor).toBe(
                row.stakeMinor + (row.stakeMinor * f.distributableMinor) / f.winningStakedMinor,
              );
            } else {
              expect(row.payoutMinor).toBe(0n);
            }
          }
          // Each winner's floor drops less than one unit, so B < number of winning bets.
          expect(f.breakageMinor >= 0n && f.breakageMinor < BigInt(winners.length)).toBe(true);
        } else {
          expect(f.commissionMinor + f.breakageMinor).toBe(0n);
          expect(result.ledger.escrowTransfers).toEqual([]);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('given any refunded market, when settled, then every bet gets exactly its stake back and every hold is voided', () => {
    fc.assert(
      fc.property(marketArb, fc.boolean(), ({ bets, terms }, canceled) => {
        // Force a refund: cancel, or resolve for an outcome nobody backed / the only one backed.
        const backed = new Set(bets.map((b) => b.outcomeId));
        const unbacked = terms.outcomeIds.find((o) => !backed.has(o));
        const winningOutcomeId = canceled ? null : (unbacked ?? null);
        const result = settlePool(bets, { ...terms, winningOutcomeId });
        expect(result.kind).toBe('REFUND');
        expect(result.refundReason).toBe(
          canceled || unbacked === undefined ? 'MARKET_CANCELED' : 'NO_WINNING_STAKES',
        );
        result.bets.forEach((row, i) => {
          expect(row).toMatchObject({ result: 'REFUNDED', holdAction: 'VOID', netProfitMinor: 0n });
          expect(row.payoutMinor).toBe(bets[i]!.stakeMinor);
        });
        for (const user of result.users) {
          expect(user.payoutMinor).toBe(user.stakeMinor);
          expect(user.kind).toBe('REFUND');
        }
        expect(result.figures.payoutTotalMinor).toBe(sum(bets.map((b) => b.stakeMinor)));
      }),
      { numRuns: 200 },
    );
  });

  it('given any batching of the stream, when settled in two passes, then the result is the same as the whole-array one', () => {
    fc.assert(
      fc.property(
        marketArb,
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 10 }),
        ({ bets, terms }, sizes) => {
          const batches: PoolBet[][] = [];
          for (let i = 0, k = 0; i < bets.length; k++) {
            const size = sizes[k % sizes.length]!;
            batches.push(bets.slice(i, i + size));
            i += size;
          }
          const totals = createPoolTotalsAccumulator(terms.outcomeIds);
          for (const batch of batches) totals.add(batch);
          const calculator = createPoolPayoutCalculator(
            decidePoolSettlement(totals.totals(), terms),
          );
          const rows = batches.flatMap((batch) => calculator.settle(batch));
          expect({ ...calculator.finish(), bets: rows }).toEqual(settlePool(bets, terms));
        },
      ),
      { numRuns: 100 },
    );
  });
});
