/**
 * Migration 0110 moves existing data: a ledger created before market-level resolution (migrations
 * up to 0108), written with that schema's own functions — funded wallets, a market settled by the
 * per-hold bulk path, a market with open holds (one voided on its own, one past its timeout and
 * never swept), a hold without a market — migrates, still balances, gets each market's open-hold
 * totals from its open holds, and then settles with ResolveMarket and CreditMarketPayouts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import {
  PendingStatus,
  TransferCode,
  TransferResultCode,
  availableOf,
} from '../../src/ledger/domain/index.js';
import { ledgerMigrations } from '../../src/ledger/migrations/index.js';
import { createLedgerStore } from '../../src/ledger/store/index.js';
import {
  REAL,
  allBalances,
  escrow,
  expectInvariants,
  house,
  manualClock,
  ulid,
  wallet,
} from './ledger-fixtures.js';

const BEFORE = '0108_ledger_bulk_fingerprints_on_demand';
const T0 = 1_800_000_000_000;

/** One transfer or hold through the old schema's one-statement function (0102). */
async function oldTransfer(
  sql: Sql,
  t: {
    id: string;
    pending: boolean;
    debit: string;
    credit: string;
    amount: bigint;
    code: TransferCode;
    market?: string;
    bet?: string;
    expiresAtMs?: number;
  },
): Promise<void> {
  await sql.query(
    `SELECT * FROM ledger_transfer_one($1::text, $2::smallint, $3::text, $4::text, $5::bigint,
       $6::text, $7::bigint, $8::bigint, $9::smallint, $10::text, $11::text, '', '', $12::text,
       $13::bigint, $14::text, $15::smallint)`,
    [
      t.id,
      t.pending ? 2 : 1,
      t.debit,
      t.credit,
      t.amount.toString(),
      REAL,
      t.expiresAtMs === undefined ? '0' : '60',
      String(t.expiresAtMs ?? 0),
      t.code,
      t.market ?? '',
      t.bet ?? '',
      t.code === TransferCode.ADJUSTMENT ? 'funding' : '',
      String(T0),
      `fp-${t.id}`,
      t.pending ? 1 : null,
    ],
  );
}

/** One page of the old per-hold bulk settlement (0108). */
async function oldResolvePage(
  sql: Sql,
  marketId: string,
  post: boolean,
  limit: number,
): Promise<void> {
  await sql.query(
    `SELECT * FROM ledger_resolve_market_holds($1::text, '', $2::integer, $3::boolean, 3::smallint,
       '', $4::bigint, 123, true)`,
    [marketId, limit, post, String(T0)],
  );
}

for (const target of sqlTargets()) {
  describe(`ledger data migration to market-level resolution on ${target.name}`, () => {
    let db: SqlTestDatabase;
    const settled = escrow(1);
    const open = escrow(2);
    const users = [wallet(1), wallet(2), wallet(3)];
    const hold = (market: string, n: number) => `bet:${market}:${n}`;

    beforeAll(async () => {
      db = await target.create();
      await migrate(
        db.sql,
        'user',
        ledgerMigrations.filter((m) => m.id <= BEFORE),
      );
      const old = createLedgerStore(db.sql, {
        clock: manualClock(T0),
        currencies: { real: REAL },
      });
      await old.createAccounts([house(), settled, open, ...users]);
      for (const user of users)
        await oldTransfer(db.sql, {
          id: `fund:${user.accountId}`,
          pending: false,
          debit: house().accountId,
          credit: user.accountId,
          amount: 100n,
          code: TransferCode.ADJUSTMENT,
        });
      let n = 0;
      const stake = async (
        market: typeof settled,
        user: number,
        amount: bigint,
        expires?: number,
      ) =>
        oldTransfer(db.sql, {
          id: hold(market.ownerId, (n += 1)),
          pending: true,
          debit: users[user]!.accountId,
          credit: market.accountId,
          amount,
          code: TransferCode.BET_STAKE,
          market: market.ownerId,
          bet: ulid(900 + n),
          ...(expires === undefined ? {} : { expiresAtMs: expires }),
        });
      // Market 1: three stakes, settled by the old per-hold path.
      await stake(settled, 0, 10n);
      await stake(settled, 1, 20n);
      await stake(settled, 2, 30n);
      await oldResolvePage(db.sql, settled.ownerId, true, 100);
      // Market 2: five stakes; the first voided on its own (a one-hold page of the old path);
      // the last past its timeout by the time it resolves, never swept.
      await stake(open, 0, 15n); // hold 4, voided
      await stake(open, 0, 25n); // hold 5
      await stake(open, 1, 35n); // hold 6
      await stake(open, 2, 5n); // hold 7
      await stake(open, 2, 7n, T0 + 30_000); // hold 8, expires
      await oldResolvePage(db.sql, open.ownerId, false, 1);
      // A hold with no market (a withdrawal): no market totals.
      await oldTransfer(db.sql, {
        id: 'withdraw:1',
        pending: true,
        debit: users[1]!.accountId,
        credit: house().accountId,
        amount: 3n,
        code: TransferCode.ADJUSTMENT,
      });
    });
    afterAll(async () => {
      await db.dispose();
    });

    it('migrates, balances, and settles the migrated market with one resolution', async () => {
      const before = await allBalances(db.sql);
      await migrate(db.sql, 'user', ledgerMigrations);
      expect(await allBalances(db.sql)).toEqual(before);
      await expectInvariants(db.sql);
      const totals = await db.sql.query<{
        market_id: string;
        debit_account_id: string;
        open_count: bigint;
        open_amount: bigint;
      }>(
        `SELECT market_id, debit_account_id, open_count, open_amount
         FROM ledger_market_hold_totals ORDER BY market_id, debit_account_id`,
      );
      expect(
        totals.rows.map((r) => [r.market_id, r.debit_account_id, r.open_count, r.open_amount]),
      ).toEqual([
        [open.ownerId, users[0]!.accountId, 1n, 25n],
        [open.ownerId, users[1]!.accountId, 1n, 35n],
        [open.ownerId, users[2]!.accountId, 2n, 12n],
      ]);

      const clock = manualClock(T0 + 60_000);
      const store = createLedgerStore(db.sql, { clock, currencies: { real: REAL } });
      const settlementId = ulid(777);
      const { resolution } = await store.resolveMarket({
        marketId: open.ownerId,
        settlementId,
        action: 'post-in-full',
        code: TransferCode.BET_STAKE,
        expectedOpenAmountMinor: 65n,
      });
      expect(resolution).toMatchObject({
        resolvedCount: 3,
        resolvedAmountMinor: 65n,
        expiredCount: 1,
        expiredAmountMinor: 7n,
        accountCount: 4,
      });
      const holds = await store.lookupTransfers([4, 5, 6, 7, 8].map((i) => hold(open.ownerId, i)));
      expect(holds.map((h) => h.pendingStatus)).toEqual([
        PendingStatus.VOIDED,
        PendingStatus.POSTED,
        PendingStatus.POSTED,
        PendingStatus.POSTED,
        PendingStatus.EXPIRED,
      ]);
      const paid = await store.creditMarketPayouts({
        marketId: open.ownerId,
        settlementId,
        currency: REAL,
        entries: [
          { accountId: users[1]!.accountId, amountMinor: 60n, code: TransferCode.PAYOUT },
          { accountId: house().accountId, amountMinor: 5n, code: TransferCode.BREAKAGE },
        ],
      });
      expect(paid.outcomes.map((o) => o.code)).toEqual([
        TransferResultCode.OK,
        TransferResultCode.OK,
      ]);
      expect(availableOf(paid.escrow.balance)).toBe(0n);
      // The market settled by the old path has nothing open: its resolution moves nothing.
      const again = await store.resolveMarket({
        marketId: settled.ownerId,
        settlementId: ulid(778),
        action: 'post-in-full',
        code: TransferCode.BET_STAKE,
        expectedOpenAmountMinor: 0n,
      });
      expect(again.resolution).toMatchObject({ resolvedCount: 0, accountCount: 0 });
      const [settledEscrow] = await store.lookupAccounts([settled.accountId]);
      expect(settledEscrow!.balance.creditsPosted).toBe(60n);
      // The withdrawal hold is still open and still resolvable on its own.
      expect(await store.openHoldTotals([users[1]!.accountId], TransferCode.ADJUSTMENT)).toEqual(
        new Map([[users[1]!.accountId, 3n]]),
      );
      await expectInvariants(db.sql);
    });
  });
}
