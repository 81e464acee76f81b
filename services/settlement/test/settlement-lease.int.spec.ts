/**
 * The run's lease and its fence, on every SQL target, with the harness's manual clock and manual
 * heartbeat timers (nothing here waits on wall time): a successor takes over a run whose runner
 * stopped renewing as soon as the short lease expired; the old runner's writes are refused by the
 * lease token and change nothing; the heartbeat keeps a run held while one step runs long; and
 * every fenced write of the store refuses a stale token.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { settlePool } from '@streambet/parimutuel/settlement';
import { SettlementCompletedSchema } from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { createLogger } from '@streambet/platform/log/logger';
import { sqlTargets } from '@streambet/testkit/sql';
import { DEFAULT_LEASE_MS, type RunnerDeps } from '../src/runner.js';
import { LeaseLostError, type RunLease } from '../src/store.js';
import {
  CUR,
  createHarness,
  ulid,
  type Harness,
  type TestBet,
  type TestMarket,
} from './harness.js';

const FUND = 10_000n;
const USERS = [ulid(201), ulid(202), ulid(203), ulid(204), ulid(205)];

function marketBets(market: TestMarket): TestBet[] {
  const [win, lose] = market.outcomeIds as [string, string];
  return Array.from({ length: 23 }, (_, i) => ({
    betId: ulid(9000 + i),
    userId: USERS[i % USERS.length]!,
    outcomeId: i % 3 === 0 ? lose : win,
    stakeMinor: BigInt(20 + i * 11),
  }));
}

/** A promise and its resolver. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/**
 * A ledger whose `blockAt`-th money-moving call (ResolveMarket, then the CreditMarketPayouts
 * pages) commits in the ledger and then hangs until `release` — a runner stalled (or dead)
 * mid-step, with the ledger ahead of its own progress.
 */
function stallingLedger(base: RunnerDeps['ledger'], blockAt: number) {
  const reached = deferred();
  const gate = deferred();
  let calls = 0;
  const stallAfter = async <T>(result: T): Promise<T> => {
    calls += 1;
    if (calls === blockAt) {
      reached.resolve();
      await gate.promise;
    }
    return result;
  };
  const ledger: RunnerDeps['ledger'] = {
    ...base,
    async resolveMarket(call) {
      return stallAfter(await base.resolveMarket(call));
    },
    async creditMarketPayouts(context, entries) {
      return stallAfter(await base.creditMarketPayouts(context, entries));
    },
  };
  return { ledger, reached: reached.promise, release: gate.resolve };
}

/** Log lines written by a runner (JSON, one per line). */
function capturingLogger() {
  const lines: Array<{ msg: string; marketId?: string; leaseToken?: number }> = [];
  const logger = createLogger({
    service: 'settlement',
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as never) },
  });
  return { logger, lines };
}

/** Everything a stale runner could touch: the run row, its payout rows, outbox and transfers. */
async function snapshot(h: Harness, marketId: string): Promise<string> {
  const run = await h.sql.query('SELECT * FROM settlements WHERE market_id = $1', [marketId]);
  const payouts = await h.sql.query(
    'SELECT * FROM settlement_payouts WHERE market_id = $1 ORDER BY user_id, kind',
    [marketId],
  );
  const outbox = await h.sql.query<{ type: string }>(
    'SELECT type FROM outbox WHERE key = $1 ORDER BY seq',
    [marketId],
  );
  const transfers = await h.sql.query<{ id: string }>(
    `SELECT id FROM ledger_transfers WHERE id LIKE $1
       OR (market_id = $2 AND (kind IN (3, 4) OR id LIKE 'payout:%'))
     ORDER BY id`,
    [`settle:${marketId}:%`, marketId],
  );
  return JSON.stringify(
    [run.rows, payouts.rows, outbox.rows, transfers.rows],
    (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value),
  );
}

async function expectSettledOnce(h: Harness, market: TestMarket, bets: TestBet[]): Promise<void> {
  const expected = settlePool(bets, {
    outcomeIds: market.outcomeIds,
    winningOutcomeId: market.outcomeIds[0]!,
    commissionBps: market.commissionBps,
    streamerShareBps: market.streamerShareBps,
  });
  for (const user of expected.users) {
    expect(await h.balance(`wallet:${user.userId}:${CUR}`)).toBe(FUND + user.netMinor);
    expect(await h.available(`wallet:${user.userId}:${CUR}`)).toBe(FUND + user.netMinor);
  }
  expect(await h.balance(`market:${market.marketId}:escrow`)).toBe(0n);
  expect(await h.balance(`rake:${CUR}`)).toBe(expected.figures.rakeMinor);
  await h.expectBalanced();
  const completed = await h.sql.query<{ n: bigint }>(
    'SELECT count(*)::bigint AS n FROM outbox WHERE key = $1 AND type = $2',
    [market.marketId, SettlementCompletedSchema.typeName],
  );
  expect(Number(completed.rows[0]!.n)).toBe(1);
}

for (const target of sqlTargets()) {
  describe(`settlement lease on ${target.name}`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await createHarness(target, { holdPageSize: 4, batchSize: 2, payoutPageSize: 2 });
      await h.fundUsers(USERS, FUND);
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('a successor takes over a stalled run; the old runner is fenced and changes nothing', async () => {
      const market = await h.createMarket(1);
      const bets = marketBets(market);
      await h.placeBets(market, bets);
      await h.resolve(market, market.outcomeIds[0]!);

      // Runner A claims, resolves the market's holds, then stalls inside its first payout page
      // (committed in the ledger, cursor not saved) and renews nothing more: a crash, as far as
      // the database can tell.
      const stall = stallingLedger(h.runnerDeps.ledger, 2);
      const lost: RunLease[] = [];
      const log = capturingLogger();
      const runnerA = h.runnerWith({
        ledger: stall.ledger,
        logger: log.logger,
        onLeaseLost: (lease) => lost.push(lease),
      });
      const claimedAtMs = h.clock.now();
      const attemptA = runnerA.runOnce(market.marketId);
      await stall.reached;
      const held = await h.store.get(market.marketId);
      expect(held).toMatchObject({ status: 'RUNNING', leaseToken: 1, attemptCount: 1 });
      expect(held!.leasedUntilMs).toBe(claimedAtMs + DEFAULT_LEASE_MS);

      // Runner B: refused while A's lease stands, due and claimed the moment it expires.
      h.clock.set(held!.leasedUntilMs - 1);
      expect(await h.store.dueMarketIds(10)).toEqual([]);
      expect((await h.runner.runOnce(market.marketId))?.attemptCount).toBe(1);
      h.clock.set(held!.leasedUntilMs);
      expect(await h.store.dueMarketIds(10)).toEqual([market.marketId]);
      const done = await h.runner.runOnce(market.marketId);
      expect(done, done?.lastError).toMatchObject({
        status: 'COMPLETED',
        leaseToken: 2,
        attemptCount: 2,
      });
      expect(done!.completedAtMs - claimedAtMs).toBe(DEFAULT_LEASE_MS);
      const afterB = await snapshot(h, market.marketId);

      // A wakes up: its next write (the payouts cursor) is refused by the fence and it stops.
      stall.release();
      const resultA = await attemptA;
      expect(resultA?.status).toBe('COMPLETED');
      expect(lost).toEqual([{ marketId: market.marketId, token: 1 }]);
      expect(log.lines).toContainEqual(
        expect.objectContaining({
          msg: 'settlement lease lost to another runner: attempt stopped without writing',
          marketId: market.marketId,
          leaseToken: 1,
        }),
      );
      expect(await snapshot(h, market.marketId)).toBe(afterB);
      await expectSettledOnce(h, market, bets);
    });

    it('the heartbeat keeps a long step leased; once it stops, the successor takes over', async () => {
      const market = await h.createMarket(2);
      const bets = marketBets(market);
      await h.placeBets(market, bets);
      await h.resolve(market, market.outcomeIds[0]!);

      const stall = stallingLedger(h.runnerDeps.ledger, 1);
      const lost: RunLease[] = [];
      let renewals = 0;
      let renewed = deferred();
      const runnerA = h.runnerWith({
        ledger: stall.ledger,
        store: {
          ...h.store,
          async renewLease(lease, leaseMs) {
            try {
              await h.store.renewLease(lease, leaseMs);
              renewals += 1;
            } finally {
              renewed.resolve();
            }
          },
        },
        onLeaseLost: (lease) => lost.push(lease),
      });
      const claimedAtMs = h.clock.now();
      const attemptA = runnerA.runOnce(market.marketId);
      await stall.reached;

      // A third of the lease later the heartbeat renews, though the step has not returned.
      h.clock.advance(Math.floor(DEFAULT_LEASE_MS / 3));
      expect(h.scheduler.runDue()).toBe(1);
      await renewed.promise;
      expect(renewals).toBe(1);
      const renewedUntil = h.clock.now() + DEFAULT_LEASE_MS;
      expect((await h.store.get(market.marketId))?.leasedUntilMs).toBe(renewedUntil);
      // The first lease's end passes: still held.
      h.clock.set(claimedAtMs + DEFAULT_LEASE_MS);
      expect(await h.store.dueMarketIds(10)).toEqual([]);
      expect((await h.runner.runOnce(market.marketId))?.status).toBe('RUNNING');

      // The heartbeat stops (the process froze): the successor takes over at the renewed end.
      h.clock.set(renewedUntil);
      const done = await h.runner.runOnce(market.marketId);
      expect(done, done?.lastError).toMatchObject({ status: 'COMPLETED', leaseToken: 2 });
      const afterB = await snapshot(h, market.marketId);

      // A's next heartbeat finds the token stale; A stops at once when its step returns.
      renewed = deferred();
      expect(h.scheduler.runDue()).toBe(1);
      await renewed.promise;
      expect(renewals).toBe(1);
      stall.release();
      expect((await attemptA)?.status).toBe('COMPLETED');
      expect(lost).toEqual([{ marketId: market.marketId, token: 1 }]);
      expect(h.scheduler.pending()).toBe(0);
      expect(await snapshot(h, market.marketId)).toBe(afterB);
      await expectSettledOnce(h, market, bets);
    });

    it('every write under a stale lease token is refused and changes nothing', async () => {
      const market = await h.createMarket(3);
      await h.placeBets(market, marketBets(market));
      await h.resolve(market, market.outcomeIds[0]!);
      const first = await h.store.claim(market.marketId, DEFAULT_LEASE_MS, false);
      if (!first.claimed) throw new Error('first claim refused');
      expect(first.takeover).toBe(false);
      // Not due while leased, even to an admin's forced retry.
      const refused = await h.store.claim(market.marketId, DEFAULT_LEASE_MS, true);
      expect(refused).toMatchObject({ claimed: false, reason: 'leased' });
      h.clock.advance(DEFAULT_LEASE_MS);
      const second = await h.store.claim(market.marketId, DEFAULT_LEASE_MS, false);
      if (!second.claimed) throw new Error('takeover refused');
      expect(second.takeover).toBe(true);
      expect(second.lease.token).toBe(first.lease.token + 1);

      const stale = first.lease;
      const before = await snapshot(h, market.marketId);
      const writes: Array<[string, () => Promise<unknown>]> = [
        ['renewLease', () => h.store.renewLease(stale, DEFAULT_LEASE_MS)],
        [
          'saveTerms',
          () =>
            h.store.saveTerms(stale, {
              marketId: market.marketId,
              channelId: 'other',
              kind: MarketKind.POOL,
              currency: CUR,
              outcomeIds: market.outcomeIds,
              commissionBps: 1,
              streamerShareBps: 1,
              streamerUserId: 'other',
            }),
        ],
        ['saveHoldsCursor', () => h.store.saveHoldsCursor(stale, 'x', DEFAULT_LEASE_MS)],
        ['savePayoutsCursor', () => h.store.savePayoutsCursor(stale, 'x', DEFAULT_LEASE_MS)],
        [
          'savePlan',
          () =>
            h.store.savePlan(stale, {
              figures: second.record.figures,
              refundReason: null,
              marketResolved: false,
              payouts: [
                {
                  userId: USERS[0]!,
                  kind: 'SETTLEMENT',
                  stakeMinor: 1n,
                  payoutMinor: 1n,
                  netMinor: 0n,
                  transferId: 'x',
                },
              ],
              next: 'PAYOUTS',
            }),
        ],
        ['setPhase', () => h.store.setPhase(stale, 'FINISH')],
        ['finish', () => h.store.finish(stale)],
        ['fail', () => h.store.fail(stale, 'stale', 1000, false)],
      ];
      for (const [name, write] of writes) {
        await expect(write(), name).rejects.toBeInstanceOf(LeaseLostError);
      }
      expect(await snapshot(h, market.marketId)).toBe(before);

      // The current holder's writes go through.
      h.clock.advance(1000);
      await h.store.renewLease(second.lease, DEFAULT_LEASE_MS);
      expect((await h.store.get(market.marketId))?.leasedUntilMs).toBe(
        h.clock.now() + DEFAULT_LEASE_MS,
      );
    });
  });
}
