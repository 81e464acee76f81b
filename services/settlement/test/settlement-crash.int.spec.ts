/**
 * Crash test: a settlement runs in a child process (real ledger store in the child, same database)
 * that is SIGKILLed right after a ledger call committed and before the run saved its progress —
 * right after the market's resolution (ResolveMarket), mid-payouts (CreditMarketPayouts pages), or
 * after the last transfer before the final state. The dead runner left
 * a short lease (at most DEFAULT_LEASE_MS past its last renewal, as recorded in the row): a
 * restarted runner respects it, finds the run due the moment it expires (the task's query) and takes
 * it over with the next lease token: the run completes, every wallet ends exactly as the formula
 * says, no transfer exists twice, Σ balances = 0 and escrow 0. Both processes use manual clocks
 * from the same instant, so the bound is asserted on the recorded lease, not on wall time.
 * PGlite runs from an on-disk data folder opened by one process at a time (the parent closes it
 * before the child starts and reopens it after the kill).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { settlePool } from '@streambet/parimutuel/settlement';
import { SettlementCompletedSchema } from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { runUntilKilled } from '@streambet/testkit/process';
import { openSqlUrl, sqlTargets } from '@streambet/testkit/sql';
import { DEFAULT_LEASE_MS } from '../src/runner.js';
import { CUR, createHarnessOn, manualClock, type Harness, type TestMarket } from './harness.js';
import { CRASH_PAYOUT_PAGE, CRASH_USERS, crashBets } from './fixtures/crash-market.js';
import type { SettlementCrashJob } from './fixtures/crash-child.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'crash-child.ts');
const FUND = 100_000n;

async function open(url: string, startMs?: number): Promise<Harness> {
  const sql = await openSqlUrl(url, { applicationName: 'settlement-crash-test' });
  const clock = startMs === undefined ? manualClock() : manualClock(startMs);
  return createHarnessOn(
    { sql, dispose: () => sql.close() },
    { batchSize: 10, holdPageSize: 10, payoutPageSize: CRASH_PAYOUT_PAGE },
    clock,
  );
}

for (const target of sqlTargets()) {
  describe(`settlement crash on ${target.name === 'pglite' ? 'PGlite on disk' : 'PostgreSQL'}`, () => {
    // Ledger calls: 1 ResolveMarket (the market's 57 holds at once), 2 payout pages (8 paying
    // users by 5), 1 for commission/share/breakage. Each PGlite round costs three engine starts:
    // one case there.
    const cases =
      target.name === 'pglite'
        ? ([['mid-payouts', 2]] as const)
        : ([
            ['right after the market resolution', 1],
            ['mid-payouts', 2],
            ['after the last transfer', 4],
          ] as const);
    it.each(cases)(
      'killed %s: the restart completes it once',
      { timeout: 180_000 },
      async (_name, killAfterCall) => {
        const database = await target.createUrl();
        try {
          let market: TestMarket;
          {
            const h = await open(database.url);
            await h.fundUsers(CRASH_USERS, FUND);
            market = await h.createMarket(1);
            await h.placeBets(market, crashBets(market));
            await h.resolve(market, market.outcomeIds[0]!);
            await h.dispose();
          }
          const job: SettlementCrashJob = {
            url: database.url,
            marketId: market.marketId,
            outcomeIds: market.outcomeIds,
            killAfterCall,
          };
          const output = await runUntilKilled(child, job);
          expect(output).toContain(`LEDGER_CALL ${killAfterCall}`);

          const startMs = manualClock().now();
          const h = await open(database.url, startMs);
          try {
            h.engine.bets.set(market.marketId, crashBets(market));
            // The dead runner's lease still stands: nobody may run it yet. It ends at most one
            // short lease after the dead runner's last renewal (its clock stood at startMs).
            const leased = await h.runner.runOnce(market.marketId);
            expect(leased?.status).toBe('RUNNING');
            expect(leased!.leasedUntilMs - startMs).toBeGreaterThan(0);
            expect(leased!.leasedUntilMs - startMs).toBeLessThanOrEqual(5_000);
            expect(leased!.leasedUntilMs - startMs).toBeLessThanOrEqual(DEFAULT_LEASE_MS);
            expect(leased?.leaseToken).toBe(1);
            h.clock.set(leased!.leasedUntilMs - 1);
            expect(await h.store.dueMarketIds(10)).toEqual([]);
            // Due the moment it expires: the restarted process's next poll takes it over.
            h.clock.set(leased!.leasedUntilMs);
            expect(await h.store.dueMarketIds(10)).toEqual([market.marketId]);
            const done = await h.runner.runOnce(market.marketId);
            expect(done?.status, done?.lastError).toBe('COMPLETED');
            expect(done).toMatchObject({ attemptCount: 2, leaseToken: 2 });
            expect(done!.completedAtMs - startMs).toBeLessThanOrEqual(DEFAULT_LEASE_MS);

            const expected = settlePool(crashBets(market), {
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
            // One resolution record for the holds (no transfer per hold), each payout once.
            expect(done?.marketResolved).toBe(true);
            const transfers = await h.sql.query<{ n: bigint }>(
              `SELECT count(*)::bigint AS n FROM ledger_transfers
               WHERE id LIKE $1 OR (market_id = $2 AND kind IN (3, 4))`,
              [`payout:${done!.settlementId}:%`, market.marketId],
            );
            const paying = expected.users.filter((u) => u.payoutMinor > 0n).length;
            const system = expected.ledger.escrowTransfers.filter(
              (t) => t.code !== 'PAYOUT',
            ).length;
            expect(paying).toBe(8);
            expect(Number(transfers.rows[0]!.n)).toBe(paying + system);
            await h.expectBalanced();
            const completed = await h.sql.query<{ n: bigint }>(
              'SELECT count(*)::bigint AS n FROM outbox WHERE key = $1 AND type = $2',
              [market.marketId, SettlementCompletedSchema.typeName],
            );
            expect(Number(completed.rows[0]!.n)).toBe(1);
          } finally {
            await h.dispose();
          }
        } finally {
          await database.dispose();
        }
      },
    );
  });
}
