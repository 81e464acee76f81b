/**
 * The bet engine against the real pool service (its routes and store on an in-memory transport):
 * a market the projection has never seen is fetched with GetMarketForBetting on the first bet, and
 * ListMarketBets asked before MarketLocked arrived learns the lock from the pool, answers
 * UNAVAILABLE while the retroactive void runs, then streams the final set.
 */
import type { Client } from '@connectrpc/connect';
import { Code } from '@connectrpc/connect';
import { BetStatus } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import type { PoolInternalService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  createPoolTestService,
  marketRequest,
  type PoolTestService,
} from '@streambet/pool/testing';
import { manualClock, type ManualClock } from '@streambet/testkit/clock';
import { asService, asUser } from '@streambet/testkit/rpc';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { createTestTokens, type TestTokens } from '@streambet/testkit/tokens';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { poolMarketSource } from '../src/downstreams.js';
import { createHarness, failure, newKey, newUlid, testSettings, type Harness } from './harness.js';

const targets = sqlTargets();

describe.each(targets.map((t) => [t.name, t] as const))(
  'bet engine with the pool on %s',
  (_name, target) => {
    let poolDb: SqlTestDatabase;
    let poolClock: ManualClock;
    let poolTokens: TestTokens;
    let pool: PoolTestService;
    let h: Harness;
    /** Market ids the bet engine asked the pool about, in order. */
    const poolAsked: string[] = [];

    beforeAll(async () => {
      poolDb = await target.create();
      poolClock = manualClock();
      poolTokens = await createTestTokens();
      pool = await createPoolTestService({ sql: poolDb.sql, clock: poolClock, tokens: poolTokens });
      const asBetEngine = await asService(poolTokens, 'bet-engine');
      // The bet engine's PoolInternalService client, carrying its service credential.
      const client = {
        getMarketForBetting: (request: { marketId: string }) => {
          poolAsked.push(request.marketId);
          return pool.internal.getMarketForBetting(request, asBetEngine);
        },
      } as unknown as Client<typeof PoolInternalService>;
      h = await createHarness(target, testSettings, { marketSource: poolMarketSource(client) });
    }, 180_000);
    afterAll(async () => {
      await h?.dispose();
      await poolDb?.dispose();
    });

    it('fills a projection miss from the pool, and learns a lock from it when settlement asks first', async () => {
      const owner = newUlid();
      await pool.linkChannel('CHP', owner);
      poolClock.set(h.clock.now());
      const created = await pool.pool.createMarket(
        marketRequest('CHP', { openNow: true }),
        await asUser(poolTokens, owner, 'streamer'),
      );
      const market = created.market!;
      const openedAtMs = h.clock.now();
      h.clock.advance(2_000);
      const user = await h.addUser(1_000n);
      const placed = await h.betEngine.placeBet(
        {
          idempotencyKey: newKey(),
          marketId: market.marketId,
          outcomeId: market.outcomes[0]!.outcomeId,
          currency: market.currency,
          stakeMinor: 100n,
        },
        await h.as(user),
      );
      expect(placed.bet?.status).toBe(BetStatus.ACCEPTED);
      expect(await h.pending(`wallet:${user}:PTS`)).toBe(100n);
      // The pool's owner rule reaches the bet engine through BettingRules too.
      const own = await failure(
        h.betEngine.placeBet(
          {
            idempotencyKey: newKey(),
            marketId: market.marketId,
            outcomeId: market.outcomes[0]!.outcomeId,
            currency: market.currency,
            stakeMinor: 100n,
          },
          await h.as(owner, 'streamer'),
        ),
      );
      expect(own.code).toBe(Code.PermissionDenied);

      // Locked in the pool with an instant before the bet; no MarketLocked delivered here.
      h.clock.advance(5_000);
      poolClock.set(h.clock.now());
      await pool.pool.lockMarket(
        { marketId: market.marketId, eventAtMs: BigInt(openedAtMs + 1_000) },
        await asUser(poolTokens, owner, 'streamer'),
      );
      const list = async () => {
        const bets = [];
        for await (const batch of h.internal.listMarketBets(
          { marketId: market.marketId },
          await h.service('settlement'),
        )) {
          bets.push(...batch.bets);
        }
        return bets;
      };
      const first = await failure(list());
      expect(first.code).toBe(Code.Unavailable);
      await vi.waitFor(async () => expect(await list()).toEqual([]), { timeout: 20_000 });
      expect(await h.pending(`wallet:${user}:PTS`)).toBe(0n);
      const mine = (await h.betEngine.listMyBets({}, await h.as(user))).bets[0]!;
      expect([mine.status, mine.marketId]).toEqual([BetStatus.VOIDED, market.marketId]);
    });

    it('asks the pool again about a market it last saw as DRAFT: the first bet after opening is accepted', async () => {
      const owner = newUlid();
      await pool.linkChannel('CHD', owner);
      poolClock.set(h.clock.now());
      const streamer = await asUser(poolTokens, owner, 'streamer');
      const market = (await pool.pool.createMarket(marketRequest('CHD'), streamer)).market!;
      const user = await h.addUser(1_000n);
      const bet = async () =>
        h.betEngine.placeBet(
          {
            idempotencyKey: newKey(),
            marketId: market.marketId,
            outcomeId: market.outcomes[0]!.outcomeId,
            currency: market.currency,
            stakeMinor: 100n,
          },
          await h.as(user),
        );
      // Still a draft: nobody may bet, and the projection now holds it as DRAFT.
      expect((await failure(bet())).code).toBe(Code.NotFound);
      // Opened in the pool; the MarketOpened event has not reached the bet engine.
      await pool.pool.openMarket({ marketId: market.marketId }, streamer);
      const placed = await bet();
      expect(placed.bet?.status).toBe(BetStatus.ACCEPTED);
    });

    it('remembers for a few seconds that the pool does not know an id, and quotes ids briefly', async () => {
      const user = await h.addUser(1_000n);
      const unknownId = newUlid();
      const place = async (marketId: string) =>
        failure(
          h.betEngine.placeBet(
            {
              idempotencyKey: newKey(),
              marketId,
              outcomeId: 'o1',
              currency: 'PTS',
              stakeMinor: 100n,
            },
            await h.as(user),
          ),
        );
      const asked = poolAsked.length;
      expect((await place(unknownId)).code).toBe(Code.NotFound);
      expect((await failure(h.betEngine.getOdds({ marketId: unknownId }))).code).toBe(
        Code.NotFound,
      );
      expect((await place(unknownId)).code).toBe(Code.NotFound);
      // One pool call for three look-ups within the 5 s the answer is remembered.
      expect(poolAsked.slice(asked)).toEqual([unknownId]);
      h.clock.advance(5_000);
      expect((await place(unknownId)).code).toBe(Code.NotFound);
      expect(poolAsked.slice(asked)).toEqual([unknownId, unknownId]);

      const longId = 'm'.repeat(120);
      const refused = await place(longId);
      expect(refused.code).toBe(Code.NotFound);
      expect(refused.message).toBe(`market "${'m'.repeat(40)}…" (120 characters) does not exist`);
    });
  },
);
