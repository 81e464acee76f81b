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
  // Recompute every account from the transfers: posted from single-phase and posts, pending from
  // open holds; a hold resolved with its market (ResolveMarket: no resolving transfer) counts as
  // its derived state says (posted in full, or nothing when voided or expired).
  const recomputed = await sql.query<{
    id: string;
    dpend: string;
    dpost: string;
    cpend: string;
    cpost: string;
  }>(
    `WITH holds AS (${DERIVED_HOLDS}),
     moves AS (
       SELECT debit_account_id AS id, 0::numeric AS dpend, amount::numeric AS dpost, 0::numeric AS cpend, 0::numeric AS cpost
         FROM ledger_transfers WHERE kind IN (1, 3)
       UNION ALL SELECT credit_account_id, 0, 0, 0, amount FROM ledger_transfers WHERE kind IN (1, 3)
       UNION ALL SELECT debit, amount, 0, 0, 0 FROM holds WHERE status = 1
       UNION ALL SELECT credit, 0, 0, amount, 0 FROM holds WHERE status = 1
       UNION ALL SELECT debit, 0, amount, 0, 0 FROM holds WHERE status = 2 AND by_market
       UNION ALL SELECT credit, 0, 0, 0, amount FROM holds WHERE status = 2 AND by_market
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
  // Each market's open-hold totals per (debit, credit) pair equal its open stake holds; once the
  // market is resolved, the holds it resolved.
  const totalsMismatch = await sql.query(
    `WITH holds AS (${DERIVED_HOLDS}),
     counted AS (
       SELECT market_id, debit, credit, count(*)::bigint AS n, sum(amount)::bigint AS amount
       FROM holds WHERE market_id <> '' AND code = 3 AND (status = 1 OR by_market)
       GROUP BY market_id, debit, credit),
     kept AS (
       SELECT market_id, debit_account_id AS debit, credit_account_id AS credit,
         open_count AS n, open_amount AS amount
       FROM ledger_market_hold_totals WHERE open_count <> 0 OR open_amount <> 0)
     SELECT coalesce(c.market_id, k.market_id) AS market_id, c.n AS counted_n, k.n AS kept_n,
       c.amount AS counted_amount, k.amount AS kept_amount
     FROM counted c FULL JOIN kept k
       ON k.market_id = c.market_id AND k.debit = c.debit AND k.credit = c.credit
     WHERE c.n IS DISTINCT FROM k.n OR c.amount IS DISTINCT FROM k.amount`,
  );
  expect(totalsMismatch.rows, 'market open-hold totals match the holds').toEqual([]);
}

/**
 * Every hold with its state as the ledger derives it (migration 0110): a stake hold (BET_STAKE,
 * migration 0113; other holds naming a market keep their own state) still PENDING in its
 * row whose market is resolved takes the resolution's state (EXPIRED when its timeout had elapsed
 * by then); `by_market` marks holds resolved by their market's resolution (also once the expiry
 * sweep wrote that state into the row).
 */
export const DERIVED_HOLDS = `
  SELECT t.id, t.market_id, t.code, t.debit_account_id AS debit, t.credit_account_id AS credit,
    t.amount,
    CASE WHEN h.status = 1 AND m.resolved_at_ms IS NOT NULL THEN
      CASE WHEN h.expires_at_ms > 0 AND h.expires_at_ms <= m.resolved_at_ms THEN 4
        ELSE m.hold_status END
    ELSE h.status END AS status,
    (h.status = 1 AND m.resolved_at_ms IS NOT NULL) OR h.resolved_by LIKE 'market:%' AS by_market
  FROM ledger_transfers t JOIN ledger_holds h ON h.transfer_id = t.id
  LEFT JOIN ledger_markets m ON m.market_id = t.market_id AND t.code = 3`;
