/**
 * The missing-run sweeper: a RESOLVED or CANCELED market whose event never reached settlement
 * gets its run from the sweeper (terms from the pool), is settled once, and markets that have a
 * run, finished within the grace period, are EXCHANGE markets or lie before the lookback window
 * are left alone. The pool is an in-test list behind the sweeper's narrow ports; time is the
 * harness's manual clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import type { MarketOutcome } from '../src/downstreams.js';
import { createMarketConsumer } from '../src/consumers.js';
import {
  createMissingRunSweeper,
  type FinishedMarket,
  type MissingRunSweeper,
} from '../src/sweeper.js';
import { CUR, createHarness, ulid, type Harness, type TestMarket } from './harness.js';

const FUND = 10_000n;
const A = ulid(201);
const B = ulid(202);
const wallet = (userId: string): string => `wallet:${userId}:${CUR}`;
const noLogs = { warn: () => {}, error: () => {}, info: () => {}, debug: () => {} };

/** The pool as the sweeper sees it: finished markets (listed two per page) and their terms. */
function fakePool() {
  const finished: FinishedMarket[] = [];
  const terms = new Map<string, MarketOutcome>();
  return {
    finished,
    terms,
    termCalls: [] as string[],
    finish(market: TestMarket, finishedAtMs: number, outcome: Partial<MarketOutcome> = {}) {
      finished.push({
        marketId: market.marketId,
        kind: outcome.kind ?? MarketKind.POOL,
        createdAtMs: finishedAtMs - 60_000,
        finishedAtMs,
        voided: false,
      });
      finished.sort((a, b) => b.createdAtMs - a.createdAtMs);
      terms.set(market.marketId, {
        marketId: market.marketId,
        channelId: market.channelId,
        kind: MarketKind.POOL,
        currency: CUR,
        outcomeIds: market.outcomeIds,
        commissionBps: market.commissionBps,
        streamerShareBps: market.streamerShareBps,
        streamerUserId: market.streamerUserId,
        canceled: false,
        winningOutcomeId: market.outcomeIds[0]!,
        ...outcome,
      });
    },
  };
}

for (const target of sqlTargets()) {
  describe(`missing-run sweeper on ${target.name}`, () => {
    let h: Harness;
    let pool: ReturnType<typeof fakePool>;
    let sweeper: MissingRunSweeper;
    let woken: string[];

    beforeEach(async () => {
      h = await createHarness(target);
      await h.fundUsers([A, B], FUND);
      pool = fakePool();
      woken = [];
      let settlementIds = 0;
      sweeper = createMissingRunSweeper({
        store: h.store,
        sql: h.sql,
        markets: {
          list(pageToken) {
            const start = pageToken === '' ? 0 : Number(pageToken);
            const markets = pool.finished.slice(start, start + 2);
            const next = start + 2 < pool.finished.length ? String(start + 2) : '';
            return Promise.resolve({ markets, nextPageToken: next });
          },
        },
        terms: {
          get(marketId) {
            pool.termCalls.push(marketId);
            const found = pool.terms.get(marketId);
            return found === undefined
              ? Promise.reject(new Error(`unknown market ${marketId}`))
              : Promise.resolve(found);
          },
        },
        clock: h.clock,
        logger: noLogs as never,
        newSettlementId: () => ulid(900_000 + (settlementIds += 1)),
        lookbackMs: 30 * 86_400_000,
        graceMs: 30_000,
        onRunRecorded: (marketId) => woken.push(marketId),
      });
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('starts the run of a resolved market whose MarketResolved was never delivered, and it settles once', async () => {
      const market = await h.createMarket(1);
      const [win, lose] = market.outcomeIds as [string, string];
      await h.placeBets(market, [
        { betId: ulid(3001), userId: A, outcomeId: win, stakeMinor: 400n },
        { betId: ulid(3002), userId: B, outcomeId: lose, stakeMinor: 600n },
      ]);
      // The pool resolved it; the event is lost: no run.
      pool.finish(market, h.clock.now());
      expect(await h.store.get(market.marketId)).toBeUndefined();

      // Within the grace period the sweeper leaves it to the event.
      expect(await sweeper.sweepOnce()).toEqual({ checked: 0, started: [] });
      expect(pool.termCalls).toEqual([]);

      h.clock.advance(31_000);
      expect(await sweeper.sweepOnce()).toEqual({ checked: 1, started: [market.marketId] });
      expect(woken).toEqual([market.marketId]);
      const recorded = await h.store.get(market.marketId);
      expect(recorded).toMatchObject({ status: 'PENDING', canceled: false, winningOutcomeId: win });

      const settled = await h.runner.runOnce(market.marketId);
      expect(settled?.status).toBe('COMPLETED');
      expect(await h.balance(`market:${market.marketId}:escrow`)).toBe(0n);
      expect(await h.balance(wallet(B))).toBe(FUND - 600n);
      expect(await h.balance(wallet(A))).toBeGreaterThan(FUND);
      await h.expectBalanced();

      // The late event and the next sweep change nothing.
      await h.resolve(market, win);
      expect(await h.store.get(market.marketId)).toMatchObject({
        status: 'COMPLETED',
        settlementId: recorded?.settlementId,
      });
      expect(await sweeper.sweepOnce()).toEqual({ checked: 1, started: [] });
      expect(pool.termCalls).toEqual([market.marketId]);
    });

    it('refunds a canceled market whose MarketCanceled was never delivered', async () => {
      const market = await h.createMarket(2);
      await h.placeBets(market, [
        { betId: ulid(3101), userId: A, outcomeId: market.outcomeIds[0]!, stakeMinor: 250n },
      ]);
      pool.finish(market, h.clock.now(), { canceled: true, winningOutcomeId: '' });
      h.clock.advance(60_000);
      expect((await sweeper.sweepOnce()).started).toEqual([market.marketId]);
      expect((await h.runner.runOnce(market.marketId))?.status).toBe('REFUNDED');
      expect(await h.available(wallet(A))).toBe(FUND);
      await h.expectBalanced();
    });

    it('leaves markets with a run, EXCHANGE markets and markets before the window alone', async () => {
      const withRun = await h.createMarket(3);
      pool.finish(withRun, h.clock.now());
      expect(await h.resolve(withRun, withRun.outcomeIds[0]!)).toBe(true);
      const exchange = await h.createMarket(4);
      pool.finish(exchange, h.clock.now(), { kind: MarketKind.EXCHANGE });
      const ancient = await h.createMarket(5);
      pool.finish(ancient, h.clock.now() - 40 * 86_400_000);
      h.clock.advance(60_000);

      expect(await sweeper.sweepOnce()).toEqual({ checked: 1, started: [] });
      expect(pool.termCalls).toEqual([]);
      expect(await h.store.get(ancient.marketId)).toBeUndefined();
      expect(await h.store.get(exchange.marketId)).toBeUndefined();
    });

    it('the market consumer retries forever: a database blip never dead-letters MarketResolved', () => {
      const consumer = createMarketConsumer({
        store: h.store,
        clock: h.clock,
        logger: noLogs as never,
      });
      expect(consumer.maxAttempts).toBe('unlimited');
    });
  });
}
