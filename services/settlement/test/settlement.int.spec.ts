/**
 * POOL settlement against the real ledger (user service's store and LedgerInternalService) on
 * every SQL target: the product formulas per wallet, the refund paths, idempotency, resumability,
 * retries, the RPCs' visibility rules and the reversal of a completed settlement.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MarketRefundedSchema,
  PayoutsMadeSchema,
  SettlementCompletedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import {
  PayoutKind,
  RefundReason,
  SettlementStatus,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { TransferCode, TransferKind } from '@streambet/user/testing';
import {
  CUR,
  command,
  createHarness,
  submitOk,
  ulid,
  type Harness,
  type TestBet,
  type TestMarket,
  withoutMarketResolution,
} from './harness.js';

const FUND = 10_000n;
const A = ulid(101);
const B = ulid(102);
const C = ulid(103);
const D = ulid(104);
const wallet = (userId: string): string => `wallet:${userId}:${CUR}`;

async function failure(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await call;
  } catch (error) {
    const e = ConnectError.from(error);
    return { code: e.code, message: e.rawMessage };
  }
  throw new Error('call unexpectedly succeeded');
}

/** The worked example: P_w = 1101 (A 300 + 101, B 700), L = 833 (C 500, D 333), r = 5 %, share 30 %. */
function exampleBets(market: TestMarket): TestBet[] {
  const [win, lose] = market.outcomeIds as [string, string];
  return [
    { betId: ulid(1001), userId: A, outcomeId: win, stakeMinor: 300n },
    { betId: ulid(1002), userId: C, outcomeId: lose, stakeMinor: 500n },
    { betId: ulid(1003), userId: B, outcomeId: win, stakeMinor: 700n },
    { betId: ulid(1004), userId: A, outcomeId: win, stakeMinor: 101n },
    { betId: ulid(1005), userId: D, outcomeId: lose, stakeMinor: 333n },
  ];
}

/**
 * The settlement's transfers of a market: its own (settle:… on the older path, payout:<settlement
 * id>:… after ResolveMarket) and the holds it resolved one by one (the older path).
 */
async function settleTransferCount(h: Harness, marketId: string): Promise<number> {
  const settlementId = (await h.store.get(marketId))?.settlementId ?? '-';
  const result = await h.sql.query<{ n: bigint }>(
    `SELECT count(*)::bigint AS n FROM ledger_transfers
     WHERE id LIKE $1 OR id LIKE $3 OR (market_id = $2 AND kind IN (3, 4))`,
    [`settle:${marketId}:%`, marketId, `payout:${settlementId}:%`],
  );
  return Number(result.rows[0]!.n);
}

async function outboxTypes(h: Harness, marketId: string): Promise<string[]> {
  const result = await h.sql.query<{ type: string }>(
    'SELECT type FROM outbox WHERE key = $1 ORDER BY seq',
    [marketId],
  );
  return result.rows.map((row) => row.type.replace('streambet.events.v1.', ''));
}

for (const target of sqlTargets()) {
  describe(`settlement on ${target.name}`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await createHarness(target);
      await h.fundUsers([A, B, C, D], FUND);
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('pays every wallet per the product formula, escrow ends at zero, events follow', async () => {
      const market = await h.createMarket(1);
      await h.placeBets(market, exampleBets(market));
      expect(await h.resolve(market, market.outcomeIds[0]!)).toBe(true);
      const record = await h.runner.runOnce(market.marketId);
      expect(record?.status).toBe('COMPLETED');
      // A: 401 + floor(300×792/1101) + floor(101×792/1101) = 401 + 215 + 72; B: 700 + 503.
      expect(await h.balance(wallet(A))).toBe(FUND - 401n + 688n);
      expect(await h.balance(wallet(B))).toBe(FUND - 700n + 1203n);
      expect(await h.balance(wallet(C))).toBe(FUND - 500n);
      expect(await h.balance(wallet(D))).toBe(FUND - 333n);
      expect(await h.balance(`market:${market.marketId}:escrow`)).toBe(0n);
      expect(await h.balance(`rake:${CUR}`)).toBe(29n);
      expect(await h.balance(`streamer:${market.streamerUserId}:revenue:${CUR}`)).toBe(12n);
      expect(await h.balance(`house:${CUR}`)).toBe(-4n * FUND + 2n);
      await h.expectBalanced();

      const { settlement } = await h.settlement.getSettlement({ marketId: market.marketId });
      expect(settlement).toMatchObject({
        status: SettlementStatus.COMPLETED,
        totalStakedMinor: 1934n,
        winningStakedMinor: 1101n,
        losingStakedMinor: 833n,
        commissionMinor: 41n,
        streamerShareMinor: 12n,
        rakeMinor: 29n,
        distributableMinor: 792n,
        breakageMinor: 2n,
        payoutTotalMinor: 1891n,
        payoutCount: 4n,
        winnerCount: 2n,
        attemptCount: 1,
      });
      expect(await outboxTypes(h, market.marketId)).toEqual([
        'SettlementStarted',
        'SettlementCompleted',
        'PayoutsMade',
      ]);
      const rows = await h.sql.query<{ type: string; payload: Uint8Array }>(
        `SELECT type, payload FROM outbox WHERE key = $1 AND type = $2`,
        [market.marketId, PayoutsMadeSchema.typeName],
      );
      // One page with every row (four bettors and the streamer's share), in user id order.
      const page = fromBinary(PayoutsMadeSchema, rows.rows[0]!.payload);
      expect(page.marketId).toBe(market.marketId);
      const payouts = page.payouts;
      expect(payouts).toHaveLength(5);
      expect(payouts.map((p) => p.userId)).toEqual(payouts.map((p) => p.userId).sort());
      const byUser = new Map(payouts.map((p) => [`${p.userId}:${p.kind}`, p]));
      expect(byUser.get(`${C}:${PayoutKind.SETTLEMENT}`)).toMatchObject({
        stakeMinor: 500n,
        payoutMinor: 0n,
        netMinor: -500n,
        transferId: '',
      });
      // The ledger resolved the market's holds with one record and derived the payout's id.
      expect(record?.marketResolved).toBe(true);
      expect(byUser.get(`${A}:${PayoutKind.SETTLEMENT}`)).toMatchObject({
        payoutMinor: 688n,
        netMinor: 287n,
        transferId: `payout:${record!.settlementId}:${wallet(A)}`,
      });
      // Nothing was written per hold: no POST_PENDING or VOID_PENDING transfer of the market.
      const perHold = await h.sql.query<{ n: bigint }>(
        'SELECT count(*)::bigint AS n FROM ledger_transfers WHERE market_id = $1 AND kind IN (3, 4)',
        [market.marketId],
      );
      expect(Number(perHold.rows[0]!.n)).toBe(0);
      expect(
        byUser.get(`${market.streamerUserId}:${PayoutKind.STREAMER_REVENUE_SHARE}`),
      ).toMatchObject({ payoutMinor: 12n });
      const completed = await h.sql.query<{ payload: Uint8Array }>(
        `SELECT payload FROM outbox WHERE key = $1 AND type = $2`,
        [market.marketId, SettlementCompletedSchema.typeName],
      );
      expect(
        fromBinary(SettlementCompletedSchema, completed.rows[0]!.payload).settlement?.breakageMinor,
      ).toBe(2n);
    });

    it('refunds a canceled market in full: every hold voided, MarketRefunded and REFUND rows', async () => {
      const market = await h.createMarket(2);
      await h.placeBets(market, exampleBets(market));
      expect(await h.available(wallet(A))).toBe(FUND - 401n);
      await h.cancel(market);
      const record = await h.runner.runOnce(market.marketId);
      expect(record).toMatchObject({ status: 'REFUNDED', refundReason: 'MARKET_CANCELED' });
      for (const user of [A, B, C, D]) {
        expect(await h.available(wallet(user))).toBe(FUND);
        expect(await h.balance(wallet(user))).toBe(FUND);
      }
      expect(await h.balance(`market:${market.marketId}:escrow`)).toBe(0n);
      await h.expectBalanced();
      expect(await outboxTypes(h, market.marketId)).toEqual([
        'SettlementStarted',
        'MarketRefunded',
        'PayoutsMade',
      ]);
      const refunded = await h.sql.query<{ payload: Uint8Array }>(
        `SELECT payload FROM outbox WHERE key = $1 AND type = $2`,
        [market.marketId, MarketRefundedSchema.typeName],
      );
      expect(fromBinary(MarketRefundedSchema, refunded.rows[0]!.payload)).toMatchObject({
        reason: RefundReason.MARKET_CANCELED,
        refundedTotalMinor: 1934n,
        refundedBetCount: 5n,
        refundedUserCount: 4n,
      });
    });

    it('refunds when nobody backed the winner and when only one outcome has stakes', async () => {
      const noWinner = await h.createMarket(3, {
        outcomeIds: [ulid(9001), ulid(9002), ulid(9003)],
      });
      const [o1, o2, o3] = noWinner.outcomeIds as [string, string, string];
      await h.placeBets(noWinner, [
        { betId: ulid(2001), userId: A, outcomeId: o1, stakeMinor: 100n },
        { betId: ulid(2002), userId: B, outcomeId: o2, stakeMinor: 200n },
      ]);
      await h.resolve(noWinner, o3);
      expect(await h.runner.runOnce(noWinner.marketId)).toMatchObject({
        status: 'REFUNDED',
        refundReason: 'NO_WINNING_STAKES',
      });
      const oneSided = await h.createMarket(4);
      await h.placeBets(oneSided, [
        { betId: ulid(2003), userId: C, outcomeId: oneSided.outcomeIds[0]!, stakeMinor: 100n },
        { betId: ulid(2004), userId: D, outcomeId: oneSided.outcomeIds[0]!, stakeMinor: 50n },
      ]);
      await h.resolve(oneSided, oneSided.outcomeIds[0]!);
      expect(await h.runner.runOnce(oneSided.marketId)).toMatchObject({
        status: 'REFUNDED',
        refundReason: 'ONE_SIDED',
      });
      for (const user of [A, B, C, D]) expect(await h.available(wallet(user))).toBe(FUND);
      expect(await h.balance(`rake:${CUR}`)).toBe(0n);
      await h.expectBalanced();
    });

    it('is idempotent: the event twice (same or new id) gives one settlement, a rerun moves nothing', async () => {
      const market = await h.createMarket(5);
      await h.placeBets(market, exampleBets(market));
      expect(await h.resolve(market, market.outcomeIds[0]!, 'resolved-once')).toBe(true);
      expect(await h.resolve(market, market.outcomeIds[0]!, 'resolved-once')).toBe(false);
      await h.resolve(market, market.outcomeIds[0]!, 'resolved-redelivered-with-new-id');
      await h.cancel(market);
      const listed = await h.settlement.listSettlements({}, await h.as(A, 'admin'));
      expect(listed.settlements).toHaveLength(1);
      await h.runner.runOnce(market.marketId);
      const transfers = await settleTransferCount(h, market.marketId);
      const again = await h.runner.runOnce(market.marketId, { force: true });
      expect(again?.status).toBe('COMPLETED');
      expect(again?.attemptCount).toBe(1);
      expect(await settleTransferCount(h, market.marketId)).toBe(transfers);
      expect(await h.balance(wallet(B))).toBe(FUND - 700n + 1203n);
    });

    it('resumes a run stopped after k batches and completes it without doubling anything (older ledger)', async () => {
      const legacy = withoutMarketResolution(h.runnerDeps.ledger);
      const market = await h.createMarket(6);
      const [win, lose] = market.outcomeIds as [string, string];
      const users = [A, B, C, D];
      const bets: TestBet[] = Array.from({ length: 23 }, (_, i) => ({
        betId: ulid(3000 + i),
        userId: users[i % 4]!,
        outcomeId: i % 3 === 0 ? lose : win,
        stakeMinor: BigInt(10 + i * 7),
      }));
      await h.placeBets(market, bets);
      await h.resolve(market, win);
      const stopping = h.runnerWith({
        ledger: legacy,
        holdPageSize: 4,
        afterBatch: ({ phase, batches }) => {
          if (phase === 'HOLDS' && batches === 3) throw new Error('stopped after 3 batches');
        },
      });
      const stopped = await stopping.runOnce(market.marketId);
      expect(stopped).toMatchObject({
        status: 'FAILED',
        holdsCursor: `bet:${bets[11]!.betId}:stake`,
      });
      expect(stopped?.lastError).toContain('stopped after 3 batches');
      expect(await settleTransferCount(h, market.marketId)).toBe(12);
      // The payouts phase stopped too, after one batch of users.
      const stoppingPayouts = h.runnerWith({
        ledger: legacy,
        batchSize: 2,
        afterBatch: ({ phase }) => {
          if (phase === 'PAYOUTS') throw new Error('stopped in payouts');
        },
      });
      const second = await stoppingPayouts.runOnce(market.marketId, { force: true });
      expect(second).toMatchObject({ status: 'FAILED', phase: 'PAYOUTS', marketResolved: false });
      // A run started on the older path finishes on it, whatever the ledger offers now.
      const finished = await h.runner.runOnce(market.marketId, { force: true });
      expect(finished?.status).toBe('COMPLETED');
      expect(finished?.attemptCount).toBe(3);

      // Same figures as settling at once with the library, per wallet.
      const { settlePool } = await import('@streambet/parimutuel/settlement');
      const expected = settlePool(bets, {
        outcomeIds: market.outcomeIds,
        winningOutcomeId: win,
        commissionBps: market.commissionBps,
        streamerShareBps: market.streamerShareBps,
      });
      for (const user of expected.users) {
        expect(await h.balance(wallet(user.userId))).toBe(FUND + user.netMinor);
      }
      expect(await h.balance(`market:${market.marketId}:escrow`)).toBe(0n);
      const payingUsers = expected.users.filter((u) => u.payoutMinor > 0n).length;
      const system = expected.ledger.escrowTransfers.filter((t) => t.code !== 'PAYOUT').length;
      expect(await settleTransferCount(h, market.marketId)).toBe(23 + payingUsers + system);
      await h.expectBalanced();
    });

    it('moves nothing while the ledger disagrees with the bets listed, then settles once reconciled (older ledger)', async () => {
      const runner = h.runnerWith({ ledger: withoutMarketResolution(h.runnerDeps.ledger) });
      const market = await h.createMarket(11);
      const bets = exampleBets(market);
      await h.placeBets(market, bets);
      // An orphan hold on the market: the ledger has it, the bet engine does not list it (yet).
      const orphanBet = ulid(1099);
      await submitOk(h.ledger, [
        command({
          transferId: `bet:${orphanBet}:stake`,
          kind: TransferKind.PENDING,
          debitAccountId: wallet(C),
          creditAccountId: `market:${market.marketId}:escrow`,
          amountMinor: 77n,
          code: TransferCode.BET_STAKE,
          marketId: market.marketId,
          betId: orphanBet,
        }),
      ]);
      await h.resolve(market, market.outcomeIds[0]!);
      const before = await settleTransferCount(h, market.marketId);
      const refused = await runner.runOnce(market.marketId);
      expect(refused).toMatchObject({ status: 'FAILED', phase: 'HOLDS', holdsCursor: '' });
      expect(refused?.lastError).toContain('the ledger disagrees with the bet engine');
      expect(refused?.lastError).toContain('2011 pending');
      expect(refused!.dueAtMs).toBeGreaterThan(h.clock.now());
      expect(await settleTransferCount(h, market.marketId)).toBe(before);
      expect(await h.available(wallet(C))).toBe(FUND - 500n - 77n);
      // A bet listed whose hold is missing disagrees too.
      h.engine.bets.set(market.marketId, [
        ...bets,
        { betId: orphanBet, userId: C, outcomeId: market.outcomeIds[1]!, stakeMinor: 77n },
        { betId: ulid(1098), userId: D, outcomeId: market.outcomeIds[1]!, stakeMinor: 5n },
      ]);
      const missing = await runner.runOnce(market.marketId, { force: true });
      expect(missing?.lastError).toContain('bets listed stake 2016');
      expect(await settleTransferCount(h, market.marketId)).toBe(before);
      // Reconciled: the bet engine lists the orphan's bet; the run settles it with the others.
      h.engine.bets.set(market.marketId, [
        ...bets,
        { betId: orphanBet, userId: C, outcomeId: market.outcomeIds[1]!, stakeMinor: 77n },
      ]);
      const done = await runner.runOnce(market.marketId, { force: true });
      expect(done?.status, done?.lastError).toBe('COMPLETED');
      expect(await h.balance(wallet(C))).toBe(FUND - 577n);
      expect(await h.balance(`market:${market.marketId}:escrow`)).toBe(0n);
      await h.expectBalanced();
    });

    it('fails the attempt with the first refusal when the ledger refuses a hold of a page (older ledger)', async () => {
      const runner = h.runnerWith({ ledger: withoutMarketResolution(h.runnerDeps.ledger) });
      const market = await h.createMarket(12);
      await h.placeBets(market, exampleBets(market));
      await h.resolve(market, market.outcomeIds[0]!);
      // Someone squats the derived id of one hold's resolution: the ledger refuses that hold.
      const squatted = `bet:${ulid(1003)}:stake:post`;
      await submitOk(h.ledger, [
        command({
          transferId: squatted,
          debitAccountId: `house:${CUR}`,
          creditAccountId: wallet(B),
          amountMinor: 1n,
          memo: 'squat',
        }),
      ]);
      const failed = await runner.runOnce(market.marketId);
      expect(failed).toMatchObject({ status: 'FAILED', phase: 'HOLDS' });
      expect(failed?.lastError).toContain(`first ${squatted}: ID_REUSED_DIFFERENT_CONTENT`);
    });

    it('resumes after the market resolution and mid-payouts: one resolution, every payout once', async () => {
      const market = await h.createMarket(13);
      const [win, lose] = market.outcomeIds as [string, string];
      const users = [A, B, C, D];
      const bets: TestBet[] = Array.from({ length: 23 }, (_, i) => ({
        betId: ulid(3100 + i),
        userId: users[i % 4]!,
        outcomeId: i % 3 === 0 ? lose : win,
        stakeMinor: BigInt(10 + i * 7),
      }));
      await h.placeBets(market, bets);
      await h.resolve(market, win);
      const afterResolution = h.runnerWith({
        afterBatch: ({ phase }) => {
          if (phase === 'HOLDS') throw new Error('crashed after the resolution');
        },
      });
      const first = await afterResolution.runOnce(market.marketId);
      expect(first).toMatchObject({ status: 'FAILED', phase: 'HOLDS' });
      // The holds are resolved in the ledger; the run did not record its plan yet.
      expect(await h.available(wallet(A))).toBe(FUND - 10n - 38n - 66n - 94n - 122n - 150n);
      const midPayouts = h.runnerWith({
        payoutPageSize: 1,
        afterBatch: ({ phase, batches }) => {
          if (phase === 'PAYOUTS' && batches === 1) throw new Error('crashed mid-payouts');
        },
      });
      const second = await midPayouts.runOnce(market.marketId, { force: true });
      expect(second).toMatchObject({ status: 'FAILED', phase: 'PAYOUTS', marketResolved: true });
      const done = await h.runner.runOnce(market.marketId, { force: true });
      expect(done?.status, done?.lastError).toBe('COMPLETED');
      const { settlePool } = await import('@streambet/parimutuel/settlement');
      const expected = settlePool(bets, {
        outcomeIds: market.outcomeIds,
        winningOutcomeId: win,
        commissionBps: market.commissionBps,
        streamerShareBps: market.streamerShareBps,
      });
      for (const user of expected.users) {
        expect(await h.balance(wallet(user.userId))).toBe(FUND + user.netMinor);
        expect(await h.available(wallet(user.userId))).toBe(FUND + user.netMinor);
      }
      expect(await h.balance(`market:${market.marketId}:escrow`)).toBe(0n);
      const payingUsers = expected.users.filter((u) => u.payoutMinor > 0n).length;
      const system = expected.ledger.escrowTransfers.filter((t) => t.code !== 'PAYOUT').length;
      expect(await settleTransferCount(h, market.marketId)).toBe(payingUsers + system);
      // Settling the same market again pays nothing more.
      const again = await h.runner.runOnce(market.marketId, { force: true });
      expect(again?.status).toBe('COMPLETED');
      expect(await settleTransferCount(h, market.marketId)).toBe(payingUsers + system);
      await h.expectBalanced();
    });

    it('moves nothing while the open holds in the ledger disagree with the stakes the bet engine counted', async () => {
      const market = await h.createMarket(14);
      const bets = exampleBets(market);
      await h.placeBets(market, bets);
      // A bet the bet engine counts but whose hold the ledger does not have.
      h.engine.bets.set(market.marketId, [
        ...bets,
        { betId: ulid(1097), userId: D, outcomeId: market.outcomeIds[1]!, stakeMinor: 5n },
      ]);
      await h.resolve(market, market.outcomeIds[0]!);
      const refused = await h.runner.runOnce(market.marketId);
      expect(refused).toMatchObject({ status: 'FAILED', phase: 'HOLDS' });
      expect(await h.available(wallet(A))).toBe(FUND - 401n);
      expect(await h.balance(`market:${market.marketId}:escrow`)).toBe(0n);
      expect(await settleTransferCount(h, market.marketId)).toBe(0);
      h.engine.bets.set(market.marketId, bets);
      const done = await h.runner.runOnce(market.marketId, { force: true });
      expect(done?.status, done?.lastError).toBe('COMPLETED');
      expect(await h.balance(wallet(A))).toBe(FUND - 401n + 688n);
      await h.expectBalanced();
    });

    it('defers while the bet engine has pending bets, then settles once they are confirmed', async () => {
      const market = await h.createMarket(7);
      await h.placeBets(market, exampleBets(market));
      await h.resolve(market, market.outcomeIds[1]!);
      h.engine.unavailable = true;
      const deferred = await h.runner.runOnce(market.marketId);
      expect(deferred).toMatchObject({ status: 'PENDING', attemptCount: 1 });
      expect(deferred!.dueAtMs).toBe(h.clock.now() + 1000);
      expect(await h.store.dueMarketIds(10)).toEqual([]);
      h.engine.unavailable = false;
      h.clock.advance(1000);
      expect(await h.store.dueMarketIds(10)).toEqual([market.marketId]);
      const done = await h.runner.runOnce(market.marketId);
      expect(done?.status).toBe('COMPLETED');
      // Outcome 1 won: C 500 and D 333 share L = 1101 − floor(1101 × 5 %) = 1101 − 55 = 1046.
      expect(await h.balance(wallet(C))).toBe(FUND - 500n + 500n + (500n * 1046n) / 833n);
    });

    it('fetches terms from the pool when the market was never announced, and fails clearly without', async () => {
      const market = await h.createMarket(11);
      await h.placeBets(market, exampleBets(market));
      // Forget the announced terms: only the pool can tell the outcomes now.
      await h.sql.query('DELETE FROM settlement_markets WHERE market_id = $1', [market.marketId]);
      await h.cancel(market);
      const withoutPool = await h.runner.runOnce(market.marketId);
      expect(withoutPool).toMatchObject({ status: 'FAILED' });
      expect(withoutPool?.lastError).toContain('terms');
      let asked = 0;
      const withPool = h.runnerWith({
        terms: {
          get(marketId) {
            asked += 1;
            return Promise.resolve({
              marketId,
              channelId: market.channelId,
              kind: MarketKind.POOL,
              currency: CUR,
              outcomeIds: market.outcomeIds,
              commissionBps: market.commissionBps,
              streamerShareBps: market.streamerShareBps,
              streamerUserId: market.streamerUserId,
              canceled: true,
              winningOutcomeId: '',
            });
          },
        },
      });
      const done = await withPool.runOnce(market.marketId, { force: true });
      expect(done).toMatchObject({
        status: 'REFUNDED',
        refundReason: 'MARKET_CANCELED',
        kind: MarketKind.POOL,
      });
      expect(asked).toBe(1);
      for (const user of [A, B, C, D]) expect(await h.available(wallet(user))).toBe(FUND);
    });

    it('serves reads by role and lets an admin retry a FAILED run', async () => {
      const market = await h.createMarket(8);
      await h.placeBets(market, exampleBets(market));
      await h.resolve(market, market.outcomeIds[0]!);
      const failing = h.runnerWith({
        afterBatch: () => {
          throw new Error('ledger went away');
        },
      });
      await failing.runOnce(market.marketId);
      const anonymous = await h.settlement.getSettlement({ marketId: market.marketId });
      expect(anonymous.settlement?.status).toBe(SettlementStatus.FAILED);
      expect(anonymous.settlement?.lastError).toBe('');
      const admin = await h.as(ulid(999), 'admin');
      const asAdmin = await h.settlement.getSettlement({ marketId: market.marketId }, admin);
      expect(asAdmin.settlement?.lastError).toContain('ledger went away');
      const failed = await h.settlement.listSettlements(
        { statuses: [SettlementStatus.FAILED] },
        admin,
      );
      expect(failed.settlements.map((s) => s.marketId)).toEqual([market.marketId]);
      expect((await failure(h.settlement.listSettlements({}, await h.as(A, 'viewer')))).code).toBe(
        Code.PermissionDenied,
      );
      expect(
        (
          await failure(
            h.settlement.retrySettlement({ marketId: market.marketId }, await h.as(A, 'streamer')),
          )
        ).code,
      ).toBe(Code.PermissionDenied);
      const retried = await h.settlement.retrySettlement({ marketId: market.marketId }, admin);
      expect(retried.settlement?.status).toBe(SettlementStatus.COMPLETED);
      expect((await failure(h.settlement.retrySettlement({ marketId: ulid(1) }, admin))).code).toBe(
        Code.NotFound,
      );
      expect((await failure(h.settlement.getSettlement({ marketId: ulid(1) }))).code).toBe(
        Code.NotFound,
      );

      const own = await h.settlement.listPayouts({}, await h.as(A, 'viewer'));
      expect(own.payouts.map((p) => [p.userId, p.payoutMinor])).toEqual([[A, 688n]]);
      expect(
        (await failure(h.settlement.listPayouts({ userId: B }, await h.as(A, 'viewer')))).code,
      ).toBe(Code.PermissionDenied);
      const streamer = await h.settlement.listPayouts(
        {},
        await h.as(market.streamerUserId, 'streamer'),
      );
      expect(streamer.payouts.map((p) => p.kind)).toEqual([PayoutKind.STREAMER_REVENUE_SHARE]);
      const page1 = await h.settlement.listPayouts({ page: { pageSize: 3 } }, admin);
      expect(page1.payouts).toHaveLength(3);
      const page2 = await h.settlement.listPayouts(
        { page: { pageSize: 3, pageToken: page1.page!.nextPageToken } },
        admin,
      );
      expect(page2.payouts).toHaveLength(2);
      expect(page2.page?.nextPageToken).toBe('');
      expect(new Set([...page1.payouts, ...page2.payouts].map((p) => p.payoutId)).size).toBe(5);
    });

    it('reverses a completed settlement: every bettor has exactly their stakes back, escrow zero', async () => {
      const market = await h.createMarket(9);
      await h.placeBets(market, exampleBets(market));
      await h.resolve(market, market.outcomeIds[0]!);
      await h.runner.runOnce(market.marketId);
      const pool = await h.service('pool');
      const request = {
        marketId: market.marketId,
        reason: 'wrong winner',
        requestedByUserId: ulid(999),
      };
      const { settlement } = await h.internal.reverseSettlement(request, pool);
      expect(settlement).toMatchObject({
        status: SettlementStatus.REVERSED,
        refundReason: RefundReason.MARKET_VOIDED,
      });
      for (const user of [A, B, C, D]) expect(await h.balance(wallet(user))).toBe(FUND);
      expect(await h.balance(`market:${market.marketId}:escrow`)).toBe(0n);
      expect(await h.balance(`rake:${CUR}`)).toBe(0n);
      expect(await h.balance(`streamer:${market.streamerUserId}:revenue:${CUR}`)).toBe(0n);
      expect(await h.balance(`house:${CUR}`)).toBe(-4n * FUND);
      await h.expectBalanced();
      const transfers = await settleTransferCount(h, market.marketId);
      await h.internal.reverseSettlement(request, pool);
      expect(await settleTransferCount(h, market.marketId)).toBe(transfers);
      const types = await outboxTypes(h, market.marketId);
      expect(types.filter((t) => t === 'PayoutReversed')).toHaveLength(5);
      expect(types).toContain('SettlementReversed');
      expect(
        (await failure(h.internal.reverseSettlement(request, await h.as(A, 'admin')))).code,
      ).toBe(Code.PermissionDenied);
    });

    it('refuses a reversal, moving nothing, when a winner already spent the winnings', async () => {
      const market = await h.createMarket(10);
      await h.placeBets(market, exampleBets(market));
      await h.resolve(market, market.outcomeIds[0]!);
      await h.runner.runOnce(market.marketId);
      // B withdraws (spends) everything they have.
      const { command, submitOk } = await import('./harness.js');
      await submitOk(h.ledger, [
        command({
          transferId: 'spend:b',
          debitAccountId: wallet(B),
          creditAccountId: `house:${CUR}`,
          amountMinor: FUND - 700n + 1203n,
          memo: 'spent',
        }),
      ]);
      const before = await settleTransferCount(h, market.marketId);
      const refused = await failure(
        h.internal.reverseSettlement(
          { marketId: market.marketId, reason: 'wrong winner', requestedByUserId: ulid(999) },
          await h.service('pool'),
        ),
      );
      expect(refused.code).toBe(Code.FailedPrecondition);
      expect(refused.message).toContain('1 payout(s)');
      expect(await settleTransferCount(h, market.marketId)).toBe(before);
      expect((await h.store.get(market.marketId))?.status).toBe('COMPLETED');
    });
  });
}

describe.skipIf(sqlTargets().some((t) => t.name === 'postgres'))('settlement on postgres', () => {
  it.skip(POSTGRES_SKIP_REASON, () => undefined);
});
