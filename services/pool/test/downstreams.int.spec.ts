import { fromBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, createRouterTransport } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BetEngineInternalService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketVoidedSchema } from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { MarketState } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { SettlementInternalService } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { betEngineVoider, settlementReverser } from '../src/downstreams.js';
import {
  createHarness,
  failure,
  marketRequest,
  outcomeId,
  testSettings,
  type Harness,
} from './harness.js';

const targets = sqlTargets();

/**
 * LockMarket and VoidResolvedMarket with the bet engine's and settlement's internal services on
 * an in-memory transport (stand-ins answering as their contracts say: the real services are built
 * in parallel), through the same client adapters app.ts uses.
 */
describe.each(targets.map((t) => [t.name, t] as const))(
  'calls to the bet engine and settlement on %s',
  (_name, target) => {
    let h: Harness;
    const voidCalls: Array<{ marketId: string; lockEffectiveAtMs: bigint }> = [];
    const reverseCalls: Array<{ marketId: string; reason: string; requestedByUserId: string }> = [];
    let betEngineDown = false;
    const irreversible = new Set<string>();

    beforeAll(async () => {
      const transport = createRouterTransport((router) => {
        router.service(BetEngineInternalService, {
          voidBetsAfter(request) {
            if (betEngineDown) throw new ConnectError('bet engine is restarting', Code.Unavailable);
            voidCalls.push({
              marketId: request.marketId,
              lockEffectiveAtMs: request.lockEffectiveAtMs,
            });
            return {
              lockEffectiveAtMs: request.lockEffectiveAtMs,
              voidedBetCount: 3n,
              voidedStakeMinor: 450n,
            };
          },
        });
        router.service(SettlementInternalService, {
          reverseSettlement(request) {
            if (irreversible.has(request.marketId)) {
              throw new ConnectError('2 payouts were already withdrawn', Code.FailedPrecondition);
            }
            reverseCalls.push({
              marketId: request.marketId,
              reason: request.reason,
              requestedByUserId: request.requestedByUserId,
            });
            return {};
          },
        });
      });
      h = await createHarness(target, testSettings, {
        voidBetsAfter: betEngineVoider(createClient(BetEngineInternalService, transport)),
        reverseSettlement: settlementReverser(createClient(SettlementInternalService, transport)),
      });
      await h.linkChannel('CHD', 'streamer-d');
    });
    afterAll(async () => {
      await h.dispose();
    });

    async function lockedMarket() {
      const owner = await h.as('streamer-d', 'streamer');
      const market = (await h.pool.createMarket(marketRequest('CHD', { openNow: true }), owner))
        .market!;
      h.clock.advance(20_000);
      return { market, owner, lock: await h.pool.lockMarket({ marketId: market.marketId }, owner) };
    }

    it('given a lock, then the bet engine voids the late bets and the answer carries its counts; if it is down the lock still holds', async () => {
      const { market, lock } = await lockedMarket();
      expect(lock).toMatchObject({
        voidsConfirmed: true,
        voidedBetCount: 3n,
        voidedStakeMinor: 450n,
      });
      expect(voidCalls.at(-1)).toEqual({
        marketId: market.marketId,
        lockEffectiveAtMs: lock.market!.lockEffectiveAtMs,
      });
      betEngineDown = true;
      try {
        const down = await lockedMarket();
        expect(down.lock).toMatchObject({ voidsConfirmed: false, voidedBetCount: 0n });
        expect(down.lock.market!.state).toBe(MarketState.LOCKED);
      } finally {
        betEngineDown = false;
      }
    });

    it('given a void, then settlement reverses the payouts first; if they are not reversible the market stays RESOLVED', async () => {
      const admin = await h.as('admin-d', 'admin');
      const resolve = async () => {
        const { market, owner } = await lockedMarket();
        await h.pool.resolveMarket(
          { marketId: market.marketId, winningOutcomeId: outcomeId(market, 0) },
          owner,
        );
        return market.marketId;
      };
      const stuck = await resolve();
      irreversible.add(stuck);
      const refused = await failure(
        h.pool.voidResolvedMarket({ marketId: stuck, reason: 'wrong result' }, admin),
      );
      expect(refused).toMatchObject({
        code: Code.FailedPrecondition,
        message: expect.stringContaining('already withdrawn') as string,
      });
      expect((await h.pool.getMarket({ marketId: stuck })).market!.state).toBe(
        MarketState.RESOLVED,
      );
      expect((await h.outbox(stuck)).map((r) => r.type)).not.toContain(MarketVoidedSchema.typeName);

      const marketId = await resolve();
      const voided = (
        await h.pool.voidResolvedMarket({ marketId, reason: ' wrong result ' }, admin)
      ).market!;
      expect(voided.state).toBe(MarketState.CANCELED);
      expect(reverseCalls).toEqual([
        { marketId, reason: 'wrong result', requestedByUserId: 'admin-d' },
      ]);
      await h.pool.voidResolvedMarket({ marketId, reason: 'wrong result' }, admin);
      expect(reverseCalls).toHaveLength(1);
      const events = (await h.outbox(marketId)).filter(
        (r) => r.type === MarketVoidedSchema.typeName,
      );
      expect(events.map((r) => fromBinary(MarketVoidedSchema, r.payload).voidedByUserId)).toEqual([
        'admin-d',
      ]);
    });
  },
);

if (!targets.some((t) => t.name === 'postgres')) {
  describe.skip(`calls to the bet engine and settlement on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs the same cases on real PostgreSQL', () => {});
  });
}
