/**
 * The parimutuel oracle, per SQL target: bets placed through the real bet engine (placement,
 * eligibility, ledger holds), a real settlement (the production runner: the bet engine's
 * ResolveMarketBets, the ledger's market resolution and payout pages), and every figure compared
 * with product.md's formula computed here, independently (bigint arithmetic written out in this
 * file, nothing imported from packages/parimutuel): each bet's status and payout as ListMyBets shows
 * it, each user's wallet, the commission (rake and streamer share), the breakage, the escrow.
 * The settlement's events are not delivered to the bet engine: a COMPLETED settlement's bets show
 * their result from the resolution record alone.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';
import {
  BetStatus,
  type Bet,
  type BetEngineInternalService,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketResolvedSchema } from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import { handleOnce } from '@streambet/platform/outbox/inbox';
import { testLogger } from '@streambet/testkit/rpc';
import { sqlTargets } from '@streambet/testkit/sql';
import {
  betSourceFromClient,
  createMarketHandler,
  createSettlementRunner,
  createSettlementStore,
  ledgerFromClient,
  migrateSettlement,
} from '@streambet/settlement/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, newKey, newUlid, type Harness } from './harness.js';

const targets = sqlTargets();
const FUND = 1_000_000n;
const COMMISSION_BPS = 650n;
const SHARE_BPS = 3_300n;

/** A Connect client whose every call carries `options` (a service credential). */
function calling<T extends object>(client: T, options: object): T {
  return new Proxy(client, {
    get(target, property) {
      const method = Reflect.get(target, property) as unknown;
      if (typeof method !== 'function') return method;
      return (request: unknown, more: object = {}) =>
        (method as (r: unknown, o: object) => unknown).call(target, request, {
          ...options,
          ...more,
        });
    },
  });
}

/** product.md's POOL settlement, written out for this test. */
function oracle(bets: readonly Bet[], winner: string) {
  let total = 0n;
  let winning = 0n;
  for (const bet of bets) {
    total += bet.stakeMinor;
    if (bet.outcomeId === winner) winning += bet.stakeMinor;
  }
  const losing = total - winning;
  const commission = (losing * COMMISSION_BPS) / 10_000n;
  const distributable = losing - commission;
  const share = (commission * SHARE_BPS) / 10_000n;
  const payouts = new Map<string, bigint>();
  let floors = 0n;
  for (const bet of bets) {
    if (bet.outcomeId !== winner) {
      payouts.set(bet.betId, 0n);
      continue;
    }
    const floor = (bet.stakeMinor * distributable) / winning;
    floors += floor;
    payouts.set(bet.betId, bet.stakeMinor + floor);
  }
  const breakage = distributable - floors;
  const deltas = new Map<string, bigint>();
  for (const bet of bets) {
    deltas.set(
      bet.userId,
      (deltas.get(bet.userId) ?? 0n) + payouts.get(bet.betId)! - bet.stakeMinor,
    );
  }
  return { total, winning, losing, commission, distributable, share, breakage, payouts, deltas };
}

describe.each(targets.map((t) => [t.name, t] as const))(
  'parimutuel oracle on %s',
  (_name, target) => {
    let h: Harness;

    beforeAll(async () => {
      h = await createHarness(target);
      // Settlement's tables beside the ledger's (as its own tests do): one database per service
      // pair is enough here.
      await migrateSettlement(h.userSql, { onUnknownApplied: 'warn' });
    }, 180_000);
    afterAll(async () => {
      await h?.dispose();
    });

    it('pays every bet, wallet, commission, share and breakage exactly as the formula says', async () => {
      const market = await h.addMarket({
        outcomes: 3,
        commissionBps: Number(COMMISSION_BPS),
        maxStakePerBetMinor: 100_000n,
        maxStakePerUserMinor: 1_000_000n,
      });
      const users = await h.addUsers(9, FUND);
      const placed: Bet[] = [];
      // Stakes chosen so D / P_w is far from whole: floors and breakage matter.
      for (let i = 0; i < 45; i += 1) {
        const response = await h.betEngine.placeBet(
          {
            idempotencyKey: newKey(),
            marketId: market.marketId,
            outcomeId: market.outcomeIds[(i * 5) % 3]!,
            currency: 'PTS',
            stakeMinor: BigInt(11 + ((i * 7_919) % 9_973)),
          },
          await h.as(users[i % 9]!),
        );
        expect(response.bet?.status).toBe(BetStatus.ACCEPTED);
        placed.push(response.bet!);
      }
      await h.internal.voidBetsAfter(
        { marketId: market.marketId, lockEffectiveAtMs: BigInt(h.clock.now()) },
        await h.service('pool'),
      );
      const winner = market.outcomeIds[1]!;
      const expected = oracle(placed, winner);
      expect(expected.breakage).toBeGreaterThan(0n);

      // A real settlement run on the settlement service's store.
      const clock = h.clock;
      const logger = testLogger('settlement');
      const store = createSettlementStore({ sql: h.userSql, clock });
      const handle = createMarketHandler({ store, clock, logger });
      await handleOnce(h.userSql, 'settlement.market', { id: newUlid() }, async (tx) => {
        await store.recordMarketTerms(tx, {
          marketId: market.marketId,
          channelId: market.channelId,
          kind: MarketKind.POOL,
          currency: 'PTS',
          outcomeIds: market.outcomeIds,
          commissionBps: Number(COMMISSION_BPS),
          streamerShareBps: Number(SHARE_BPS),
          streamerUserId: market.ownerUserId,
        });
        const resolved = create(MarketResolvedSchema, {
          marketId: market.marketId,
          channelId: market.channelId,
          winningOutcomeId: winner,
          kind: MarketKind.POOL,
          currency: 'PTS',
          commissionBps: Number(COMMISSION_BPS),
          streamerRevenueShareBps: Number(SHARE_BPS),
          streamerUserId: market.ownerUserId,
          resolvedAtMs: BigInt(clock.now()),
          version: 4n,
        });
        await handle(MarketResolvedSchema.typeName, toBinary(MarketResolvedSchema, resolved), tx);
      });
      const settlementCredential = await h.service('settlement');
      const runner = createSettlementRunner({
        store,
        clock,
        logger,
        bets: betSourceFromClient(
          calling<Client<typeof BetEngineInternalService>>(h.internal, settlementCredential),
        ),
        ledger: ledgerFromClient(
          calling<Client<typeof LedgerInternalService>>(h.ledger, settlementCredential),
        ),
      });
      const houseBefore = await h.available('house:PTS');
      const record = await runner.runOnce(market.marketId);
      expect(record?.status, record?.lastError).toBe('COMPLETED');

      // The run's figures.
      expect(record!.figures).toMatchObject({
        totalStakedMinor: expected.total,
        winningStakedMinor: expected.winning,
        losingStakedMinor: expected.losing,
        commissionMinor: expected.commission,
        streamerShareMinor: expected.share,
        rakeMinor: expected.commission - expected.share,
        distributableMinor: expected.distributable,
        breakageMinor: expected.breakage,
        payoutTotalMinor: expected.total - expected.commission - expected.breakage,
        betCount: 45n,
      });
      // Every bet, as its owner sees it (no settlement event reached the bet engine).
      for (const user of users) {
        const mine = (await h.betEngine.listMyBets({ marketId: market.marketId }, await h.as(user)))
          .bets;
        expect(mine).toHaveLength(5);
        for (const bet of mine) {
          const payout = expected.payouts.get(bet.betId)!;
          expect([
            bet.betId,
            bet.status,
            bet.payoutMinor,
            bet.netProfitMinor,
            bet.heldMinor,
          ]).toEqual([
            bet.betId,
            bet.outcomeId === winner ? BetStatus.WON : BetStatus.LOST,
            payout,
            payout - bet.stakeMinor,
            0n,
          ]);
        }
        // Every wallet: funded, minus stakes, plus payouts; nothing left held.
        expect(await h.available(`wallet:${user}:PTS`)).toBe(FUND + expected.deltas.get(user)!);
        expect(await h.pending(`wallet:${user}:PTS`)).toBe(0n);
      }
      // Commission split, breakage to the house, the escrow empty.
      expect(await h.available('rake:PTS')).toBe(expected.commission - expected.share);
      expect(await h.available(`streamer:${market.ownerUserId}:revenue:PTS`)).toBe(expected.share);
      expect((await h.available('house:PTS')) - houseBefore).toBe(expected.breakage);
      expect(await h.available(`market:${market.marketId}:escrow`)).toBe(0n);
      // Σ payouts + C + B = T.
      const paid = [...expected.payouts.values()].reduce((sum, p) => sum + p, 0n);
      expect(paid + expected.commission + expected.breakage).toBe(expected.total);
    });
  },
);
