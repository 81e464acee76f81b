/**
 * ListPayouts' store query since paid_at_ms is derived from the run's completion (migration 0006):
 * every filter combination, paged at sizes that stop inside a run and across runs, answers exactly
 * the rows an independent sort gives (paid runs only; (paid_at_ms, market, user, kind) descending,
 * ties of completion time broken by market id). And a database written before 0006 (rows stamped
 * paid_at_ms at FINISH) migrates and answers the same listing as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformMigrations } from '@streambet/platform/outbox/index';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { manualClock } from '@streambet/testkit/clock';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { settlementMigrations } from '../src/migrations/index.js';
import {
  payoutKindNumber,
  statusNumber,
  type PayoutKindName,
  type PayoutRecord,
} from '../src/proto-codec.js';
import { createSettlementStore, type PayoutQuery } from '../src/store.js';

const KIND_NUMBER: Record<PayoutKindName, number> = {
  SETTLEMENT: payoutKindNumber('SETTLEMENT'),
  REFUND: payoutKindNumber('REFUND'),
  STREAMER_REVENUE_SHARE: payoutKindNumber('STREAMER_REVENUE_SHARE'),
};

interface Run {
  readonly marketId: string;
  /** 0: not done yet (its rows must not be listed). */
  readonly completedAtMs: number;
  readonly rows: readonly { userId: string; kind: PayoutKindName; payoutMinor: bigint }[];
}

/** Runs with completion ties, an unfinished run, users in several runs, all three kinds. */
function fixture(): Run[] {
  const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
  const run = (marketId: string, completedAtMs: number, take: number, kind: PayoutKindName) => ({
    marketId,
    completedAtMs,
    rows: [
      ...users.slice(0, take).map((userId, i) => ({ userId, kind, payoutMinor: BigInt(10 + i) })),
      ...(kind === 'SETTLEMENT'
        ? [{ userId: 'u3', kind: 'STREAMER_REVENUE_SHARE' as const, payoutMinor: 7n }]
        : []),
    ],
  });
  return [
    run('m-a', 5_000, 5, 'SETTLEMENT'),
    run('m-b', 5_000, 3, 'REFUND'),
    run('m-c', 9_000, 4, 'SETTLEMENT'),
    run('m-d', 1_000, 1, 'REFUND'),
    run('m-e', 0, 5, 'SETTLEMENT'),
    run('m-f', 9_000, 2, 'SETTLEMENT'),
  ];
}

/** The expected listing, computed from the fixture alone. */
function expected(runs: Run[], filter: Omit<PayoutQuery, 'limit' | 'after'>): string[] {
  const rows = runs.flatMap((run) =>
    run.completedAtMs === 0
      ? []
      : run.rows.map((row) => ({ ...row, marketId: run.marketId, paidAtMs: run.completedAtMs })),
  );
  return rows
    .filter(
      (row) =>
        (!filter.marketId || row.marketId === filter.marketId) &&
        (!filter.userId || row.userId === filter.userId) &&
        (filter.kinds.length === 0 || filter.kinds.includes(row.kind)),
    )
    .sort(
      (x, y) =>
        y.paidAtMs - x.paidAtMs ||
        (y.marketId < x.marketId ? -1 : y.marketId > x.marketId ? 1 : 0) ||
        (y.userId < x.userId ? -1 : y.userId > x.userId ? 1 : 0) ||
        KIND_NUMBER[y.kind] - KIND_NUMBER[x.kind],
    )
    .map((row) => `${row.paidAtMs}/${row.marketId}/${row.userId}/${row.kind}/${row.payoutMinor}`);
}

const show = (row: PayoutRecord): string =>
  `${row.paidAtMs}/${row.marketId}/${row.userId}/${row.kind}/${row.payoutMinor}`;

/** Inserts the runs and their rows directly (the shape FINISH leaves), optionally paid_at_ms too. */
async function seed(sql: Sql, runs: Run[], stampPaidAt: boolean): Promise<void> {
  for (const run of runs) {
    await sql.query(
      `INSERT INTO settlements (market_id, settlement_id, channel_id, kind, currency, canceled,
         status, phase, market_event_at_ms, due_at_ms, completed_at_ms)
       VALUES ($1, $2, 'ch', 1, 'USD', false, $3, $4, 1, 1, $5)`,
      [
        run.marketId,
        `s-${run.marketId}`,
        statusNumber(run.completedAtMs === 0 ? 'RUNNING' : 'COMPLETED'),
        run.completedAtMs === 0 ? 'PAYOUTS' : 'DONE',
        run.completedAtMs,
      ],
    );
    for (const row of run.rows) {
      await sql.query(
        `INSERT INTO settlement_payouts (market_id, user_id, kind, channel_id, currency,
           stake_minor, payout_minor, net_minor, transfer_id${stampPaidAt ? ', paid_at_ms' : ''})
         VALUES ($1, $2, $3, 'ch', 'USD', 5, $4::bigint, $4::bigint - 5, $5${stampPaidAt ? ', $6' : ''})`,
        [
          run.marketId,
          row.userId,
          KIND_NUMBER[row.kind],
          row.payoutMinor,
          `t-${run.marketId}-${row.userId}-${row.kind}`,
          ...(stampPaidAt ? [run.completedAtMs] : []),
        ],
      );
    }
  }
}

const FILTERS: Omit<PayoutQuery, 'limit' | 'after'>[] = [
  { kinds: [] },
  { kinds: ['STREAMER_REVENUE_SHARE'] },
  { kinds: ['SETTLEMENT', 'REFUND'] },
  { kinds: [], marketId: 'm-a' },
  { kinds: [], marketId: 'm-e' },
  { kinds: ['REFUND'], marketId: 'm-b' },
  { kinds: [], userId: 'u3' },
  { kinds: ['SETTLEMENT'], userId: 'u1' },
  { kinds: [], userId: 'u2', marketId: 'm-c' },
];

type Store = ReturnType<typeof createSettlementStore>;

/** Every page of `filter` at `size`, each page asked with the previous page's last row. */
async function allPages(
  store: Store,
  filter: Omit<PayoutQuery, 'limit' | 'after'>,
  size: number,
): Promise<string[]> {
  const seen: string[] = [];
  let after: PayoutQuery['after'];
  for (let guard = 0; guard < 100; guard += 1) {
    const page = await store.listPayouts({ ...filter, limit: size, after });
    expect(page.length).toBeLessThanOrEqual(size);
    seen.push(...page.map(show));
    const last = page[page.length - 1];
    if (page.length < size || last === undefined) return seen;
    after = {
      paidAtMs: last.paidAtMs,
      marketId: last.marketId,
      userId: last.userId,
      kind: KIND_NUMBER[last.kind],
    };
  }
  throw new Error('paging did not end');
}

describe.each(sqlTargets())('payout listing on $name', (target) => {
  let fresh: SqlTestDatabase;
  let old: SqlTestDatabase;
  const runs = fixture();

  beforeAll(async () => {
    fresh = await target.create();
    await migrate(fresh.sql, 'settlement', [...platformMigrations, ...settlementMigrations]);
    await seed(fresh.sql, runs, false);
    // A database of the schema before 0006, with rows stamped at FINISH, then migrated.
    old = await target.create();
    const before = settlementMigrations.filter((m) => m.id < '0006');
    expect(before.length).toBe(5);
    await migrate(old.sql, 'settlement', [...platformMigrations, ...before]);
    await seed(old.sql, runs, true);
    await migrate(old.sql, 'settlement', [...platformMigrations, ...settlementMigrations]);
  });
  afterAll(async () => {
    await fresh?.dispose();
    await old?.dispose();
  });

  it('answers every filter, at every page size, in the order of an independent sort', async () => {
    const store = createSettlementStore({ sql: fresh.sql, clock: manualClock() });
    for (const filter of FILTERS) {
      const want = expected(runs, filter);
      for (const size of [1, 2, 3, 4, 7, 50]) {
        expect(await allPages(store, filter, size), `${JSON.stringify(filter)} by ${size}`).toEqual(
          want,
        );
      }
    }
    expect(expected(runs, { kinds: [] })).toHaveLength(18);
    expect(await store.listPayouts({ kinds: [], marketId: 'm-e', limit: 10 })).toEqual([]);
  });

  it('answers the same after migrating a database whose rows carried paid_at_ms', async () => {
    const store = createSettlementStore({ sql: old.sql, clock: manualClock() });
    for (const filter of FILTERS) {
      expect(await allPages(store, filter, 3)).toEqual(expected(runs, filter));
    }
    const rows = await store.payoutsOfMarket('m-c');
    expect(rows.map((row) => row.paidAtMs)).toEqual([9_000, 9_000, 9_000, 9_000, 9_000]);
    expect((await store.payoutsOfMarket('m-e')).every((row) => row.paidAtMs === 0)).toBe(true);
  });
});
