/**
 * Crash test: a child process applying a 1000-command batch is SIGKILLed (deterministically, when
 * it reports from inside the transaction that everything is written but not committed, or right
 * after the commit). After the restart the batch is there completely or not at all, the
 * invariants hold, and resubmitting the batch completes it exactly once.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runUntilKilled } from '@streambet/testkit/process';
import { openSqlUrl, sqlTargets } from '@streambet/testkit/sql';
import { TransferResultCode } from '../../src/ledger/domain/index.js';
import { CRASH_BATCH, crashBatch } from './fixtures/crash-batch.js';
import { expectInvariants, openLedger } from './ledger-fixtures.js';
import type { LedgerCrashJob } from './fixtures/crash-child.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'crash-child.ts');

for (const target of sqlTargets()) {
  const where = target.name === 'pglite' ? 'PGlite on disk' : 'PostgreSQL';
  describe(`ledger crash on ${where}`, () => {
    // Each PGlite-on-disk round costs two engine starts (child and check); the after-commit case
    // (durability of a commit) runs on PostgreSQL only to keep the embedded suite within budget.
    const cases = [
      ['before-commit', 'BEFORE_COMMIT', 0],
      ...(target.name === 'postgres' ? [['after-commit', 'COMMITTED', CRASH_BATCH] as const] : []),
    ] as const;
    it.each(cases)(
      'killed %s: the batch is all or nothing and a retry completes it once',
      async (mode, signal, expectedRows) => {
        const database = await target.createUrl();
        try {
          const job: LedgerCrashJob = { url: database.url, mode };
          await runUntilKilled(child, job, { killAt: signal });
          const sql = await openSqlUrl(database.url, { applicationName: 'ledger-crash-check' });
          try {
            const count = await sql.query<{ n: bigint }>(
              `SELECT count(*)::bigint AS n FROM ledger_transfers WHERE id LIKE 'crash:%'`,
            );
            expect(Number(count.rows[0]!.n)).toBe(expectedRows);
            await expectInvariants(sql);
            const store = await openLedger(sql);
            const results = await store.submitTransfers(crashBatch());
            const expected =
              expectedRows === 0 ? TransferResultCode.OK : TransferResultCode.ALREADY_EXISTS_SAME;
            expect(results.filter((r) => r.code !== expected)).toEqual([]);
            const after = await sql.query<{ n: bigint }>(
              `SELECT count(*)::bigint AS n FROM ledger_transfers WHERE id LIKE 'crash:%'`,
            );
            expect(Number(after.rows[0]!.n)).toBe(CRASH_BATCH);
            await expectInvariants(sql);
          } finally {
            await sql.close();
          }
        } finally {
          await database.dispose();
        }
      },
      // Two engine starts on disk: on a loaded 2-core machine PGlite alone can take most of a minute.
      180_000,
    );
  });
}
