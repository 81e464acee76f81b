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
  holdResolutionCommand,
  TransferCode,
  TransferKind,
  TransferResultCode,
} from '../../src/ledger/domain/index.js';
import type { LedgerEffect, LedgerStore } from '../../src/ledger/store/index.js';
import {
  allBalances,
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
      if (effect.type !== 'transfer') throw new Error('expected a transfer effect');
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

    it('commits a batch that debits a wallet and then refills it when the wallet covers its lowest point', async () => {
      const a = await funded(30n);
      const b = await funded(20n);
      const c = await funded(0n);
      const results = await store.submitTransfers([
        command({
          transferId: 'refill:1',
          debitAccountId: a,
          creditAccountId: b,
          amountMinor: 30n,
        }),
        command({
          transferId: 'refill:2',
          debitAccountId: b,
          creditAccountId: c,
          amountMinor: 50n,
        }),
        command({
          transferId: 'refill:3',
          debitAccountId: c,
          creditAccountId: a,
          amountMinor: 45n,
        }),
        command({
          transferId: 'refill:4',
          debitAccountId: a,
          creditAccountId: b,
          amountMinor: 45n,
        }),
      ]);
      expect(results.map((r) => r.code)).toEqual([
        TransferResultCode.OK,
        TransferResultCode.OK,
        TransferResultCode.OK,
        TransferResultCode.OK,
      ]);
      expect([await available(a), await available(b), await available(c)]).toEqual([0n, 45n, 5n]);
      // One unit short at e's lowest point: the second command overdraws, and so the third finds
      // f empty. Every account ends at or above zero if all three applied, so only the statement's
      // check of e's lowest point (migration 0105) tells this batch from the one above.
      const d = await funded(30n);
      const e = await funded(19n);
      const f = await funded(0n);
      const short = await store.submitTransfers([
        command({
          transferId: 'refill:5',
          debitAccountId: d,
          creditAccountId: e,
          amountMinor: 30n,
        }),
        command({
          transferId: 'refill:6',
          debitAccountId: e,
          creditAccountId: f,
          amountMinor: 50n,
        }),
        command({ transferId: 'refill:7', debitAccountId: f, creditAccountId: e, amountMinor: 1n }),
      ]);
      expect(short.map((r) => r.code)).toEqual([
        TransferResultCode.OK,
        TransferResultCode.EXCEEDS_AVAILABLE,
        TransferResultCode.EXCEEDS_AVAILABLE,
      ]);
      expect([await available(d), await available(e), await available(f)]).toEqual([0n, 49n, 0n]);
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
      // One effect per page that moved something, none per hold; balances as of after the page.
      const pageEffects = effects.filter((e) => e.type === 'market-holds');
      expect(effects.filter((e) => e.type === 'transfer' && e.transfer.kind > 2)).toEqual([]);
      expect(pageEffects).toHaveLength(
        pages.filter((p) => p.resolvedCount + p.expiredCount > 0).length,
      );
      expect(pageEffects.reduce((n, e) => n + e.resolvedCount, 0)).toBe(12);
      expect(pageEffects.reduce((n, e) => n + e.expiredCount, 0)).toBe(1);
      expect(pageEffects.reduce((n, e) => n + e.expiredAmountMinor, 0n)).toBe(5n);
      const last = pageEffects[pageEffects.length - 1]!;
      for (const snapshot of last.accounts) {
        const [now] = await store.lookupAccounts([snapshot.accountId]);
        expect(snapshot.balance).toEqual(now!.balance);
      }
      expect(last.accounts.map((a) => a.accountId)).toContain(market.accountId);
      // The expired hold was expired as the expiry path does it: status, sequence, released.
      const expiredRow = await db.sql.query<{ status: number; expiry_seq: bigint | null }>(
        'SELECT status, expiry_seq FROM ledger_holds WHERE transfer_id = $1',
        [`bet:${ulid(900_200)}:stake`],
      );
      expect(Number(expiredRow.rows[0]!.status)).toBe(PendingStatus.EXPIRED);
      expect(expiredRow.rows[0]!.expiry_seq).not.toBeNull();
      // Same fingerprint as the JS path: SubmitTransfers of the derived command is a no-op.
      const [holdOf100] = await store.lookupTransfers([`bet:${ulid(900_100)}:stake`]);
      const [same] = await store.submitTransfers([
        holdResolutionCommand(holdOf100!, 'post-in-full', settlementId, TransferCode.BET_STAKE),
      ]);
      expect(same?.code).toBe(TransferResultCode.ALREADY_EXISTS_SAME);
      expect(same?.transfer?.sequence).toBe(posted?.sequence);
      const [different] = await store.submitTransfers([
        holdResolutionCommand(holdOf100!, 'post-in-full', ulid(4243), TransferCode.BET_STAKE),
      ]);
      expect(different?.code).toBe(TransferResultCode.ID_REUSED_DIFFERENT_CONTENT);
      const sequences = await db.sql.query<{ n: bigint; d: bigint }>(
        `SELECT count(*)::bigint AS n, count(DISTINCT seq)::bigint AS d FROM ledger_transfers`,
      );
      expect(sequences.rows[0]!.n).toBe(sequences.rows[0]!.d);
    });

    it('pages with the cursor, never resolves a hold twice, and a retried page changes nothing', async () => {
      const other = escrow(10);
      await store.createAccounts([other]);
      const m = other.ownerId;
      const wallets = [await funded(500n), await funded(500n)];
      const ids = Array.from({ length: 7 }, (_, k) => 500 + k);
      const placed = await store.submitTransfers(
        ids.map((n, k) => ({
          ...hold(n, wallets[k % 2]!, 10n * BigInt(k + 1)),
          creditAccountId: other.accountId,
          marketId: m,
        })),
      );
      expect(placed.every((r) => r.code === TransferResultCode.OK)).toBe(true);
      // One hold is voided on its own before bulk settlement reaches it.
      const [single] = await store.submitTransfers([
        command({
          transferId: 'own-void:503',
          kind: TransferKind.VOID_PENDING,
          pendingId: `bet:${ulid(900_503)}:stake`,
          code: TransferCode.BET_STAKE,
          marketId: m,
          betId: ulid(900_503),
          memo: '',
        }),
      ]);
      expect(single?.code).toBe(TransferResultCode.OK);
      const query = {
        marketId: m,
        action: 'void' as const,
        settlementId: ulid(77),
        code: TransferCode.BET_STAKE,
        limit: 3,
      };
      const first = await store.resolveMarketHolds({ ...query, afterHoldId: '' });
      expect(first).toMatchObject({
        resolvedCount: 3,
        nextAfterHoldId: `bet:${ulid(900_502)}:stake`,
      });
      const effectsBefore = effects.length;
      const snapshot = await allBalances(db.sql);
      const pageAgain = await store.resolveMarketHolds({ ...query, afterHoldId: '', limit: 3 });
      // The first page's holds are resolved: the same request continues after them.
      expect(pageAgain.resolvedCount).toBe(3);
      expect(pageAgain.failures).toEqual([]);
      const rest = await store.resolveMarketHolds({
        ...query,
        afterHoldId: pageAgain.nextAfterHoldId,
      });
      expect(rest).toMatchObject({ resolvedCount: 0, nextAfterHoldId: '' });
      expect(first.resolvedAmountMinor + pageAgain.resolvedAmountMinor).toBe(
        10n + 20n + 30n + 50n + 60n + 70n,
      );
      expect(effects.length - effectsBefore).toBe(1);
      // Retries of every cursor now move nothing and emit nothing.
      const settled = await allBalances(db.sql);
      for (const after of ['', first.nextAfterHoldId, pageAgain.nextAfterHoldId]) {
        const retry = await store.resolveMarketHolds({ ...query, afterHoldId: after });
        expect(retry).toMatchObject({ resolvedCount: 0, expiredCount: 0, failures: [] });
      }
      expect(await allBalances(db.sql)).toEqual(settled);
      expect(effects.length - effectsBefore).toBe(1);
      expect(settled).not.toEqual(snapshot);
      const perHold = await db.sql.query<{ pending_id: string; n: bigint }>(
        `SELECT pending_id, count(*)::bigint AS n FROM ledger_transfers
         WHERE market_id = $1 AND kind IN (3, 4) GROUP BY pending_id`,
        [m],
      );
      expect(perHold.rows).toHaveLength(7);
      expect(perHold.rows.every((row) => Number(row.n) === 1)).toBe(true);
      // Bulk-written voids keep no hash (migration 0108) yet answer as the command they derive
      // from: SubmitTransfers of it is ALREADY_EXISTS_SAME, of another settlement's is refused.
      const [heldFirst] = await store.lookupTransfers([`bet:${ulid(900_500)}:stake`]);
      const stored = await db.sql.query<{ fingerprint: string }>(
        'SELECT fingerprint FROM ledger_transfers WHERE id = $1',
        [`bet:${ulid(900_500)}:stake:void`],
      );
      expect(stored.rows[0]?.fingerprint).toBe('');
      const [sameVoid] = await store.submitTransfers([
        holdResolutionCommand(heldFirst!, 'void', query.settlementId, TransferCode.BET_STAKE),
      ]);
      expect(sameVoid?.code).toBe(TransferResultCode.ALREADY_EXISTS_SAME);
      const [otherVoid] = await store.submitTransfers([
        holdResolutionCommand(heldFirst!, 'void', ulid(78), TransferCode.BET_STAKE),
      ]);
      expect(otherVoid?.code).toBe(TransferResultCode.ID_REUSED_DIFFERENT_CONTENT);
      const [escrowNow] = await store.lookupAccounts([other.accountId]);
      expect(escrowNow?.balance).toMatchObject({ creditsPending: 0n, creditsPosted: 0n });
      expect(await available(wallets[0]!)).toBe(500n);
      expect(await available(wallets[1]!)).toBe(500n);
      await expectInvariants(db.sql);
    });

    it('reports refused holds as the per-command path does, moving nothing for them', async () => {
      const other = escrow(11);
      await store.createAccounts([other]);
      const a = await funded(100n);
      const placed = await store.submitTransfers([
        { ...hold(600, a, 30n), creditAccountId: other.accountId, marketId: other.ownerId },
      ]);
      expect(placed[0]?.code).toBe(TransferResultCode.OK);
      const before = await allBalances(db.sql);
      // A code whose commands always need a payment id: every hold is refused, nothing moves.
      const refused = await store.resolveMarketHolds({
        marketId: other.ownerId,
        action: 'post-in-full',
        settlementId: '',
        code: TransferCode.DEPOSIT,
        afterHoldId: '',
        limit: 10,
      });
      expect(refused.resolvedCount).toBe(0);
      expect(refused.failures.map((f) => f.code)).toEqual([TransferResultCode.INVALID_FIELD]);
      // The derived id taken by a different transfer: refused with ID_REUSED_DIFFERENT_CONTENT.
      const holdId = `bet:${ulid(900_600)}:stake`;
      const [squat] = await store.submitTransfers([
        command({
          transferId: `${holdId}:post`,
          debitAccountId: house().accountId,
          creditAccountId: a,
          amountMinor: 1n,
        }),
      ]);
      expect(squat?.code).toBe(TransferResultCode.OK);
      const reused = await store.resolveMarketHolds({
        marketId: other.ownerId,
        action: 'post-in-full',
        settlementId: '',
        code: TransferCode.BET_STAKE,
        afterHoldId: '',
        limit: 10,
      });
      expect(reused.resolvedCount).toBe(0);
      expect(reused.failures).toMatchObject([
        { transferId: `${holdId}:post`, code: TransferResultCode.ID_REUSED_DIFFERENT_CONTENT },
      ]);
      const after = await allBalances(db.sql);
      after.delete(a);
      after.delete(house().accountId);
      before.delete(a);
      before.delete(house().accountId);
      expect(after).toEqual(before);
      const [stillOpen] = await store.lookupTransfers([holdId]);
      expect(stillOpen?.pendingStatus).toBe(PendingStatus.PENDING);
      // Voided with SubmitTransfers so the market ends settled.
      const [voided] = await store.submitTransfers([
        holdResolutionCommand(stillOpen!, 'void', '', TransferCode.BET_STAKE),
      ]);
      expect(voided?.code).toBe(TransferResultCode.OK);
    });

    it('resolves each hold exactly once when single voids race a bulk page', async () => {
      const other = escrow(12);
      await store.createAccounts([other]);
      const m = other.ownerId;
      const wallets = [await funded(10_000n), await funded(10_000n), await funded(10_000n)];
      const ids = Array.from({ length: 60 }, (_, k) => 700 + k);
      const placed = await store.submitTransfers(
        ids.map((n, k) => ({
          ...hold(n, wallets[k % 3]!, BigInt(k + 1)),
          creditAccountId: other.accountId,
          marketId: m,
        })),
      );
      expect(placed.every((r) => r.code === TransferResultCode.OK)).toBe(true);
      const [anyHold] = await store.lookupTransfers([`bet:${ulid(900_700)}:stake`]);
      const singles = ids
        .filter((_, k) => k % 7 === 3)
        .map((n) => ({
          ...anyHold!,
          transferId: `bet:${ulid(900_000 + n)}:stake`,
          betId: ulid(900_000 + n),
        }));
      const bulk = (async () => {
        const pages = [];
        let after = '';
        do {
          const page = await store.resolveMarketHolds({
            marketId: m,
            action: 'post-in-full',
            settlementId: '',
            code: TransferCode.BET_STAKE,
            afterHoldId: after,
            limit: 8,
          });
          pages.push(page);
          after = page.nextAfterHoldId;
        } while (after !== '');
        return pages;
      })();
      const voids = Promise.all(
        singles.map((h) =>
          store.submitTransfers([holdResolutionCommand(h, 'void', '', TransferCode.BET_STAKE)]),
        ),
      );
      const [pages, voidResults] = await Promise.all([bulk, voids]);
      const voidedBySingle = voidResults.filter((r) => r[0]?.code === TransferResultCode.OK).length;
      for (const r of voidResults) {
        expect([TransferResultCode.OK, TransferResultCode.PENDING_ALREADY_RESOLVED]).toContain(
          r[0]?.code,
        );
      }
      const resolved = pages.reduce((n, p) => n + p.resolvedCount, 0);
      expect(pages.flatMap((p) => p.failures)).toEqual([]);
      expect(resolved + voidedBySingle).toBe(60);
      const perHold = await db.sql.query<{ n: bigint }>(
        `SELECT count(*)::bigint AS n FROM ledger_transfers
         WHERE market_id = $1 AND kind IN (3, 4) GROUP BY pending_id`,
        [m],
      );
      expect(perHold.rows).toHaveLength(60);
      expect(perHold.rows.every((row) => Number(row.n) === 1)).toBe(true);
      const [escrowNow] = await store.lookupAccounts([other.accountId]);
      expect(escrowNow?.balance.creditsPending).toBe(0n);
      expect(escrowNow?.balance.creditsPosted).toBe(
        pages.reduce((n, p) => n + p.resolvedAmountMinor, 0n),
      );
      await expectInvariants(db.sql);
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
