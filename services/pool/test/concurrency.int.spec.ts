import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MarketCanceledSchema,
  MarketLockedSchema,
  MarketResolvedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { MarketState } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { createHarness, marketRequest, outcomeId, type Harness } from './harness.js';

const targets = sqlTargets();
const terminalTypes = new Set<string>([
  MarketResolvedSchema.typeName,
  MarketCanceledSchema.typeName,
]);

/**
 * Concurrent terminal transitions on one market. On PostgreSQL the calls really overlap (a pool of
 * connections; losers wait on the market's row lock and re-read); PGlite has one backend, so there
 * the same test checks the rules with the calls interleaved rather than overlapping.
 */
describe.each(targets.map((t) => [t.name, t] as const))(
  'concurrent lifecycle calls on %s',
  (_name, target) => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
      await h.linkChannel('CHC', 'streamer-c');
    });
    afterAll(async () => {
      await h.dispose();
    });

    async function settle(calls: Array<Promise<unknown>>): Promise<{ ok: number; codes: Code[] }> {
      const results = await Promise.allSettled(calls);
      const codes: Code[] = [];
      let ok = 0;
      for (const result of results) {
        if (result.status === 'fulfilled') ok += 1;
        else codes.push(ConnectError.from(result.reason).code);
      }
      return { ok, codes };
    }

    it('given a LOCKED market, when Resolve (two winners) and Cancel race, then exactly one terminal state and one terminal event', async () => {
      const owner = await h.as('streamer-c', 'streamer');
      const admin = await h.as('admin-c', 'admin');
      for (let round = 0; round < 4; round += 1) {
        const market = (await h.pool.createMarket(marketRequest('CHC', { openNow: true }), owner))
          .market!;
        h.clock.advance(10_000);
        await h.pool.lockMarket({ marketId: market.marketId }, owner);
        const calls: Array<Promise<unknown>> = [];
        for (let i = 0; i < 4; i += 1) {
          const caller = i % 2 === 0 ? owner : admin;
          calls.push(
            h.pool.resolveMarket(
              { marketId: market.marketId, winningOutcomeId: outcomeId(market, 0) },
              caller,
            ),
          );
          calls.push(
            h.pool.cancelMarket({ marketId: market.marketId, reason: `cancel ${i}` }, caller),
          );
          calls.push(
            h.pool.resolveMarket(
              { marketId: market.marketId, winningOutcomeId: outcomeId(market, 1) },
              caller,
            ),
          );
        }
        const { ok, codes } = await settle(calls);
        expect(codes.every((code) => code === Code.FailedPrecondition)).toBe(true);
        const terminal = (await h.outbox(market.marketId)).filter((row) =>
          terminalTypes.has(row.type),
        );
        expect(terminal).toHaveLength(1);
        const final = (await h.pool.getMarket({ marketId: market.marketId })).market!;
        if (terminal[0]!.type === MarketCanceledSchema.typeName) {
          expect(final.state).toBe(MarketState.CANCELED);
          expect(ok).toBe(4); // every cancel: the first wins, the others are idempotent repeats
        } else {
          expect(final.state).toBe(MarketState.RESOLVED);
          expect(ok).toBe(4); // every resolve naming the winner that won
        }
        expect(final.version).toBe(4n);
      }
    });

    it('given an OPEN market, when Lock, Cancel and Resolve race, then it ends CANCELED or RESOLVED once, with at most one lock', async () => {
      const owner = await h.as('streamer-c', 'streamer');
      for (let round = 0; round < 4; round += 1) {
        const market = (await h.pool.createMarket(marketRequest('CHC', { openNow: true }), owner))
          .market!;
        h.clock.advance(10_000);
        const calls: Array<Promise<unknown>> = [];
        for (let i = 0; i < 3; i += 1) {
          calls.push(h.pool.lockMarket({ marketId: market.marketId }, owner));
          calls.push(
            h.pool.resolveMarket(
              { marketId: market.marketId, winningOutcomeId: outcomeId(market, 0) },
              owner,
            ),
          );
          calls.push(h.pool.cancelMarket({ marketId: market.marketId, reason: 'race' }, owner));
        }
        calls.push(h.store.lockDueMarkets(Number(market.bettingClosesAtMs)));
        await settle(calls);
        const rows = await h.outbox(market.marketId);
        expect(rows.filter((row) => terminalTypes.has(row.type)).length).toBeLessThanOrEqual(1);
        expect(
          rows.filter((row) => row.type === MarketLockedSchema.typeName).length,
        ).toBeLessThanOrEqual(1);
        // Whatever won, a cancel afterwards settles it: exactly one terminal event in the end.
        await h.pool
          .cancelMarket({ marketId: market.marketId, reason: 'race' }, owner)
          .catch(() => undefined);
        const after = await h.outbox(market.marketId);
        expect(after.filter((row) => terminalTypes.has(row.type))).toHaveLength(1);
        const final = (await h.pool.getMarket({ marketId: market.marketId })).market!;
        expect([MarketState.CANCELED, MarketState.RESOLVED]).toContain(final.state);
        expect(final.version).toBe(BigInt(after.length));
      }
    });
  },
);

if (!targets.some((t) => t.name === 'postgres')) {
  describe.skip(`concurrent lifecycle calls on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs the same cases on real PostgreSQL', () => {});
  });
}
