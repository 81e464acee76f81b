/**
 * Crash test of a market resolution: a child process resolving a market of 200 holds from 40
 * wallets is SIGKILLed deterministically — when it reports from inside the transaction that the
 * resolution is written but not committed, or right after the commit. After the kill the market is
 * resolved completely or not at all, the invariants hold, and running the resolution again (same
 * settlement id) ends at the same final balances, computed here from the stakes, exactly once.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runUntilKilled } from '@streambet/testkit/process';
import { openSqlUrl, sqlTargets } from '@streambet/testkit/sql';
import {
  MARKET_CRASH_HOLDS,
  MARKET_CRASH_WALLETS,
  crashEscrow,
  crashResolution,
} from './fixtures/market-crash.js';
import { allBalances, expectInvariants, house, openLedger, wallet } from './ledger-fixtures.js';
import type { MarketCrashJob } from './fixtures/market-crash-child.js';

const child = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'fixtures',
  'market-crash-child.ts',
);

/** The final balances after the resolution, from the stakes alone (stake k of wallet w: w × k). */
function expectedFinal(): Map<string, [bigint, bigint, bigint, bigint]> {
  const perWallet = MARKET_CRASH_HOLDS / MARKET_CRASH_WALLETS;
  const stakesOf = (w: number) => BigInt(w * ((perWallet * (perWallet + 1)) / 2));
  const final = new Map<string, [bigint, bigint, bigint, bigint]>();
  let escrowTotal = 0n;
  for (let w = 1; w <= MARKET_CRASH_WALLETS; w += 1) {
    final.set(wallet(w).accountId, [0n, stakesOf(w), 0n, 10_000n]);
    escrowTotal += stakesOf(w);
  }
  final.set(crashEscrow.accountId, [0n, 0n, 0n, escrowTotal]);
  final.set(house().accountId, [0n, BigInt(MARKET_CRASH_WALLETS) * 10_000n, 0n, 0n]);
  return final;
}

for (const target of sqlTargets()) {
  const where = target.name === 'pglite' ? 'PGlite on disk' : 'PostgreSQL';
  describe(`market resolution crash on ${where}`, () => {
    // PGlite on disk costs two engine starts per case: the embedded suite runs before-commit only.
    const cases = [
      ['before-commit', 'BEFORE_COMMIT', false],
      ...(target.name === 'postgres' ? [['after-commit', 'COMMITTED', true] as const] : []),
    ] as const;
    it.each(cases)(
      'killed %s: the market is resolved all or nothing and a rerun ends at the same balances once',
      async (mode, signal, committed) => {
        const database = await target.createUrl();
        try {
          const job: MarketCrashJob = { url: database.url, mode };
          await runUntilKilled(child, job, { killAt: signal });
          const sql = await openSqlUrl(database.url, { applicationName: 'ledger-market-crash' });
          try {
            const market = await sql.query<{ resolved: boolean }>(
              `SELECT resolved_at_ms IS NOT NULL AS resolved FROM ledger_markets WHERE market_id = $1`,
              [crashEscrow.ownerId],
            );
            expect(market.rows.map((r) => r.resolved)).toEqual([committed]);
            const [escrowAfterKill] = await (
              await openLedger(sql)
            ).lookupAccounts([crashEscrow.accountId]);
            expect(escrowAfterKill!.balance.creditsPending === 0n).toBe(committed);
            await expectInvariants(sql);

            const store = await openLedger(sql);
            const rerun = await store.resolveMarket(crashResolution);
            expect(rerun.replayed).toBe(committed);
            expect(rerun.resolution.resolvedCount).toBe(MARKET_CRASH_HOLDS);
            const balances = await allBalances(sql);
            const actual = new Map(
              [...balances].map(([id, b]) => [id, [b.dpend, b.dpost, b.cpend, b.cpost]] as const),
            );
            expect(actual).toEqual(expectedFinal());
            await expectInvariants(sql);
            const again = await store.resolveMarket(crashResolution);
            expect(again).toEqual({ resolution: rerun.resolution, replayed: true });
            expect(await allBalances(sql)).toEqual(balances);
          } finally {
            await sql.close();
          }
        } finally {
          await database.dispose();
        }
      },
      180_000,
    );
  });
}
