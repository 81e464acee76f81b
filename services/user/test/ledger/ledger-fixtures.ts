/**
 * The ledger tests' fixtures: the user service's ledger builders (its testing entry), the ledger
 * tests' clock, and invariant checks read straight from the tables.
 */
import { expect } from 'vitest';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { AccountKind, availableOf } from '../../src/ledger/domain/index.js';
import {
  createLedgerStore,
  type LedgerStore,
  type LedgerStoreOptions,
} from '../../src/ledger/store/index.js';
import { ledgerMigrations } from '../../src/ledger/migrations/index.js';
import { manualClock as testkitManualClock, type ManualClock } from '@streambet/testkit/clock';
import { testRealCurrency as REAL } from '../../src/testing.js';

export { command, escrow, house, wallet, testRealCurrency as REAL } from '../../src/testing.js';
export { ulidOf as ulid } from '@streambet/testkit/ids';

/** A manual clock at 2027-01-15T08:00:00Z unless told otherwise (the ledger tests' epoch). */
export function manualClock(startMs = 1_800_000_000_000): ManualClock {
  return testkitManualClock(startMs);
}

/** Migrates a fresh database and returns a store on it. */
export async function openLedger(
  sql: Sql,
  options: Partial<LedgerStoreOptions> = {},
): Promise<LedgerStore> {
  await migrate(sql, 'user', ledgerMigrations);
  return createLedgerStore(sql, {
    clock: options.clock ?? manualClock(),
    currencies: { real: REAL },
    ...options,
  });
}

/** Every account's four totals, straight from the table. */
export async function allBalances(
  sql: Sql,
): Promise<
  Map<string, { kind: number; dpend: bigint; dpost: bigint; cpend: bigint; cpost: bigint }>
> {
  const rows = await sql.query<{
    id: string;
    kind: number;
    dpend: bigint;
    dpost: bigint;
    cpend: bigint;
    cpost: bigint;
  }>(
    `SELECT id, kind, debits_pending AS dpend, debits_posted AS dpost, credits_pending AS cpend,
       credits_posted AS cpost FROM ledger_accounts ORDER BY id`,
  );
  return new Map(rows.rows.map((row) => [row.id, row]));
}

/**
 * The ledger's invariants, checked from the tables themselves: per currency debits equal credits
 * (posted and pending); no constrained account below zero available; each account's totals equal
 * the sums over its transfers and open holds.
 */
export async function expectInvariants(sql: Sql): Promise<void> {
  const totals = await sql.query<{
    currency: string;
    d: string;
    c: string;
    dp: string;
    cp: string;
  }>(
    `SELECT currency, sum(debits_posted)::text AS d, sum(credits_posted)::text AS c,
       sum(debits_pending)::text AS dp, sum(credits_pending)::text AS cp
     FROM ledger_accounts GROUP BY currency`,
  );
  for (const row of totals.rows) {
    expect(row.d, `posted debits = credits in ${row.currency}`).toBe(row.c);
    expect(row.dp, `pending debits = credits in ${row.currency}`).toBe(row.cp);
  }
  for (const [id, balance] of await allBalances(sql)) {
    if (balance.kind !== AccountKind.HOUSE && balance.kind !== AccountKind.PSP_CLEARING) {
      const available = availableOf({
        debitsPending: balance.dpend,
        debitsPosted: balance.dpost,
        creditsPending: balance.cpend,
        creditsPosted: balance.cpost,
      });
      expect(available >= 0n, `available of ${id} is ${available}`).toBe(true);
    }
  }
  // Recompute every account from the transfers: posted from single-phase and posts, pending from open holds.
  const recomputed = await sql.query<{
    id: string;
    dpend: string;
    dpost: string;
    cpend: string;
    cpost: string;
  }>(
    `WITH moves AS (
       SELECT debit_account_id AS id, 0::numeric AS dpend, amount::numeric AS dpost, 0::numeric AS cpend, 0::numeric AS cpost
         FROM ledger_transfers WHERE kind IN (1, 3)
       UNION ALL SELECT credit_account_id, 0, 0, 0, amount FROM ledger_transfers WHERE kind IN (1, 3)
       UNION ALL SELECT t.debit_account_id, t.amount, 0, 0, 0 FROM ledger_transfers t JOIN ledger_holds h ON h.transfer_id = t.id WHERE h.status = 1
       UNION ALL SELECT t.credit_account_id, 0, 0, t.amount, 0 FROM ledger_transfers t JOIN ledger_holds h ON h.transfer_id = t.id WHERE h.status = 1
     )
     SELECT a.id, coalesce(sum(m.dpend), 0)::text AS dpend, coalesce(sum(m.dpost), 0)::text AS dpost,
       coalesce(sum(m.cpend), 0)::text AS cpend, coalesce(sum(m.cpost), 0)::text AS cpost
     FROM ledger_accounts a LEFT JOIN moves m ON m.id = a.id GROUP BY a.id`,
  );
  const stored = await allBalances(sql);
  for (const row of recomputed.rows) {
    const balance = stored.get(row.id)!;
    expect(
      [balance.dpend, balance.dpost, balance.cpend, balance.cpost].map(String),
      `totals of ${row.id} match its transfers`,
    ).toEqual([row.dpend, row.dpost, row.cpend, row.cpost]);
  }
}
