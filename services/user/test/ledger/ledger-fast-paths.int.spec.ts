/**
 * The ledger's fast paths, per SQL target: the one-statement (speculative) commit of plain
 * transfers and holds must give exactly the full path's results — including the refusals it
 * hands back to the full path (insufficient funds, a batch that dips below zero and comes back,
 * a reused id) — and bulk settlement (resolveMarketHolds) must resolve a market's open holds page
 * by page, once, with expiry, events and idempotent retries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_SKIP_REASON, sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import {
  PendingStatus,
  TransferCode,
  TransferKind,
  TransferResultCode,
} from '../../src/domain/ledger/index.js';
import type { LedgerEffect, LedgerStore } from '../../src/ledger-store.js';
import {
  command,
  escrow,
  expectInvariants,
  house,
  manualClock,
  openLedger,
  ulid,
  wallet,
} from './ledger-fixtures.js';

const targets = sqlTargets();
if (!targets.some((target) => target.name === 'postgres')) {
  describe.skip(`ledger fast paths on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs the same tests on real PostgreSQL', () => undefined);
  });
}

for (const target of targets) {
  describe(`ledger fast paths on ${target.name}`, () => {
    let db: SqlTestDatabase;
    let store: LedgerStore;
    const clock = manualClock();
    const effects: LedgerEffect[] = [];
    let nextUser = 7000;
    const market = escrow(7);
    const marketId = market.ownerId;

    async function funded(amountMinor: bigint): Promise<string> {
      nextUser += 1;
      const id = wallet(nextUser).accountId;
      await store.createAccounts([wallet(nextUser)]);
      if (amountMinor === 0n) return id;
      const [result] = await store.submitTransfers([
        command({
          transferId: `fund:${id}`,
          debitAccountId: house().accountId,
          creditAccountId: id,
          amountMinor,
        }),
      ]);
      expect(result?.code).toBe(TransferResultCode.OK);
      return id;
    }

    async function available(id: string): Promise<bigint> {
      const [account] = await store.lookupAccounts([id]);
      const b = account!.balance;
      return b.creditsPosted - b.debitsPosted - b.debitsPending;
    }

    function hold(n: number, from: string, amountMinor: bigint, timeoutSeconds = 0n) {
      const betId = ulid(900_000 + n);
      return command({
        transferId: `bet:${betId}:stake`,
        kind: TransferKind.PENDING,
        debitAccountId: from,
        creditAccountId: market.accountId,
        amountMinor,
        timeoutSeconds,
        code: TransferCode.BET_STAKE,
        marketId,
        betId,
        memo: '',
      });
    }

    beforeAll(async () => {
      db = await target.create();
      store = await openLedger(db.sql, {
        clock,
        onCommitted: (_tx, committed) => {
          effects.push(...committed);
          return Promise.resolve();
        },
      });
      await store.createAccounts([house(), market]);
    });
    afterAll(async () => {
      await expectInvariants(db.sql);
      await db.dispose();
    });

    it('commits a lone transfer in one statement with the full path result and event', async () => {
      const a = await funded(100n);
      const b = await funded(0n);
      const before = effects.length;
      const [ok] = await store.submitTransfers([
        command({ transferId: 'fast:1', debitAccountId: a, creditAccountId: b, amountMinor: 40n }),
      ]);
      expect(ok?.code).toBe(TransferResultCode.OK);
      expect(ok?.transfer?.sequence).toBeGreaterThan(0n);
      expect(effects.slice(before).map((e) => e.type)).toEqual(['transfer']);
      const effect = effects[before]!;
      expect(effect.debit.balance.debitsPosted).toBe(40n);
      expect(effect.credit.balance.creditsPosted).toBe(40n);
      // Same command again: the id is taken, the full path answers ALREADY_EXISTS_SAME.
      const [again] = await store.submitTransfers([
        command({ transferId: 'fast:1', debitAccountId: a, creditAccountId: b, amountMinor: 40n }),
      ]);
      expect(again?.code).toBe(TransferResultCode.ALREADY_EXISTS_SAME);
      expect(again?.transfer?.sequence).toBe(ok?.transfer?.sequence);
      const [reused] = await store.submitTransfers([
        command({ transferId: 'fast:1', debitAccountId: a, creditAccountId: b, amountMinor: 41n }),
      ]);
      expect(reused?.code).toBe(TransferResultCode.ID_REUSED_DIFFERENT_CONTENT);
      // Too much: the CHECK refuses the statement, the full path gives EXCEEDS_AVAILABLE.
      const [tooMuch] = await store.submitTransfers([
        command({ transferId: 'fast:2', debitAccountId: a, creditAccountId: b, amountMinor: 61n }),
      ]);
      expect(tooMuch?.code).toBe(TransferResultCode.EXCEEDS_AVAILABLE);
      expect(await available(a)).toBe(60n);
      expect(await available(b)).toBe(40n);
    });

    it('refuses a command that dips below zero even when a later one would refill the wallet', async () => {
      const a = await funded(10n);
      const b = await funded(50n);
      const results = await store.submitTransfers([
        command({ transferId: 'dip:1', debitAccountId: a, creditAccountId: b, amountMinor: 30n }),
        command({ transferId: 'dip:2', debitAccountId: b, creditAccountId: a, amountMinor: 50n }),
      ]);
      expect(results.map((r) => r.code)).toEqual([
        TransferResultCode.EXCEEDS_AVAILABLE,
        TransferResultCode.OK,
      ]);
      expect(await available(a)).toBe(60n);
      expect(await available(b)).toBe(0n);
    });

    it('commits a batch of plain holds in one statement, all or per command as the full path', async () => {
      const a = await funded(100n);
      const b = await funded(100n);
      const results = await store.submitTransfers([
        hold(1, a, 60n),
        hold(2, b, 100n),
        hold(3, a, 40n),
      ]);
      expect(results.map((r) => r.code)).toEqual([
        TransferResultCode.OK,
        TransferResultCode.OK,
        TransferResultCode.OK,
      ]);
      expect(results.every((r) => r.transfer?.pendingStatus === PendingStatus.PENDING)).toBe(true);
      const over = await store.submitTransfers([hold(4, a, 1n), hold(5, b, 1n)]);
      expect(over.map((r) => r.code)).toEqual([
        TransferResultCode.EXCEEDS_AVAILABLE,
        TransferResultCode.EXCEEDS_AVAILABLE,
      ]);
    });

    it('resolves every open hold of a market in pages, once, expiring holds past their timeout', async () => {
      const wallets = [await funded(1000n), await funded(1000n), await funded(1000n)];
      const placed = await store.submitTransfers([
        ...Array.from({ length: 9 }, (_, k) => hold(100 + k, wallets[k % 3]!, 10n + BigInt(k))),
        hold(200, wallets[0]!, 5n, 60n),
      ]);
      expect(placed.every((r) => r.code === TransferResultCode.OK)).toBe(true);
      clock.advance(61_000);
      // Another market's hold is never touched.
      const other = escrow(8);
      await store.createAccounts([other]);
      const [foreign] = await store.submitTransfers([
        {
          ...hold(300, wallets[1]!, 7n),
          creditAccountId: other.accountId,
          marketId: other.ownerId,
        },
      ]);
      expect(foreign?.code).toBe(TransferResultCode.OK);
      const escrowBefore = (await store.lookupAccounts([market.accountId]))[0]!.balance;

      const settlementId = ulid(4242);
      const pages = [];
      let after = '';
      do {
        const page = await store.resolveMarketHolds({
          marketId,
          action: 'post-in-full',
          settlementId,
          code: TransferCode.BET_STAKE,
          afterHoldId: after,
          limit: 4,
        });
        pages.push(page);
        after = page.nextAfterHoldId;
      } while (after !== '');
      // Holds of the earlier tests (same market) are resolved too: 3 + 9 placed here + 1 expiring.
      const resolved = pages.reduce((n, p) => n + p.resolvedCount, 0);
      const expired = pages.reduce((n, p) => n + p.expiredCount, 0);
      expect(expired).toBe(1);
      expect(resolved).toBe(12);
      expect(pages.flatMap((p) => p.failures)).toEqual([]);
      const amount = pages.reduce((n, p) => n + p.resolvedAmountMinor, 0n);
      expect(amount).toBe(
        200n + Array.from({ length: 9 }, (_, k) => 10n + BigInt(k)).reduce((x, y) => x + y, 0n),
      );
      const escrowAfter = (await store.lookupAccounts([market.accountId]))[0]!.balance;
      expect(escrowAfter.creditsPending).toBe(0n);
      expect(escrowAfter.creditsPosted - escrowBefore.creditsPosted).toBe(amount);
      // The derived ids are committed transfers a SubmitTransfers retry meets.
      const [posted] = await store.lookupTransfers([`bet:${ulid(900_100)}:stake:post`]);
      expect(posted?.kind).toBe(TransferKind.POST_PENDING);
      expect(posted?.settlementId).toBe(settlementId);
      const [holdNow] = await store.lookupTransfers([`bet:${ulid(900_100)}:stake`]);
      expect(holdNow?.pendingStatus).toBe(PendingStatus.POSTED);
      // Nothing left: a retry from the start resolves nothing and fails nothing.
      const retry = await store.resolveMarketHolds({
        marketId,
        action: 'void',
        settlementId,
        code: TransferCode.BET_STAKE,
        afterHoldId: '',
        limit: 100,
      });
      expect(retry).toMatchObject({ resolvedCount: 0, failures: [], nextAfterHoldId: '' });
      const [foreignNow] = await store.lookupTransfers([foreign!.transferId]);
      expect(foreignNow?.pendingStatus).toBe(PendingStatus.PENDING);
      const postedEvents = effects.filter(
        (e) => e.type === 'transfer' && e.transfer.kind === TransferKind.POST_PENDING,
      );
      expect(postedEvents).toHaveLength(12);
    });

    it('voids a market in bulk, releasing every hold to its wallet', async () => {
      const other = escrow(9);
      await store.createAccounts([other]);
      const a = await funded(100n);
      const placed = await store.submitTransfers([
        { ...hold(400, a, 30n), creditAccountId: other.accountId, marketId: other.ownerId },
        { ...hold(401, a, 70n), creditAccountId: other.accountId, marketId: other.ownerId },
      ]);
      expect(placed.every((r) => r.code === TransferResultCode.OK)).toBe(true);
      expect(await available(a)).toBe(0n);
      const page = await store.resolveMarketHolds({
        marketId: other.ownerId,
        action: 'void',
        settlementId: '',
        code: TransferCode.REFUND,
        afterHoldId: '',
        limit: 5000,
      });
      expect(page).toMatchObject({
        resolvedCount: 2,
        resolvedAmountMinor: 100n,
        nextAfterHoldId: '',
      });
      expect(await available(a)).toBe(100n);
      const [escrowNow] = await store.lookupAccounts([other.accountId]);
      expect(escrowNow?.balance.creditsPending).toBe(0n);
    });
  });
}
