/**
 * Market-level hold resolution (ResolveMarket) and bulk payouts (CreditMarketPayouts) on the real
 * store, per SQL target: one record resolves every open hold of a market, balances move by
 * per-account aggregates, each hold's state is derived (and shown) from the record, holds resolved
 * on their own before keep their own state, holds past their timeout are released and never
 * posted, the market takes no new hold, the expiry sweep skips it, every command is idempotent by
 * its id, and the escrow pays out to zero and never below.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlreadyExistsError, IllegalStateError } from '@streambet/platform/errors/domain-errors';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import {
  AccountKind,
  PendingStatus,
  TransferCode,
  TransferKind,
  TransferResultCode,
  availableChangeOf,
  availableOf,
  canonicalContent,
  marketPayoutCommand,
  type TransferCommand,
} from '../../src/ledger/domain/index.js';
import type { LedgerEffect, LedgerStore } from '../../src/ledger/store/index.js';
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

const rake = {
  accountId: 'rake:BRL',
  kind: AccountKind.RAKE,
  currency: 'BRL',
  ownerId: '',
} as const;

for (const target of sqlTargets()) {
  describe(`market resolution on ${target.name}`, () => {
    let db: SqlTestDatabase;
    let store: LedgerStore;
    const clock = manualClock();
    const effects: LedgerEffect[] = [];
    let marketNo = 100;

    beforeAll(async () => {
      db = await target.create();
      store = await openLedger(db.sql, {
        clock,
        onCommitted: (_tx, committed) => {
          effects.push(...committed);
          return Promise.resolve();
        },
      });
      await store.createAccounts([house(), rake]);
    });
    afterAll(async () => {
      await expectInvariants(db.sql);
      await db.dispose();
    });

    /** A new market with its escrow and `n` funded wallets (100 each). */
    async function market(n: number) {
      marketNo += 1;
      const esc = escrow(marketNo);
      const marketId = esc.ownerId;
      const wallets = Array.from({ length: n }, (_, i) => wallet(marketNo * 100 + i));
      await store.createAccounts([esc, ...wallets]);
      const funding = await store.submitTransfers(
        wallets.map((w) =>
          command({
            transferId: `fund:${w.accountId}`,
            debitAccountId: house().accountId,
            creditAccountId: w.accountId,
            amountMinor: 100n,
          }),
        ),
      );
      expect(funding.every((r) => r.code === TransferResultCode.OK)).toBe(true);
      const stake = (id: string, from: number, amountMinor: bigint, timeoutSeconds = 0n) =>
        command({
          transferId: `${marketId}:${id}`,
          kind: TransferKind.PENDING,
          debitAccountId: wallets[from]!.accountId,
          creditAccountId: esc.accountId,
          amountMinor,
          timeoutSeconds,
          code: TransferCode.BET_STAKE,
          marketId,
          betId: ulid(marketNo * 1000 + Number(amountMinor) + from * 7 + id.length),
          memo: '',
        });
      return { esc, marketId, wallets, stake, settlementId: ulid(5_000_000 + marketNo) };
    }

    async function balance(id: string) {
      const [account] = await store.lookupAccounts([id]);
      return account!.balance;
    }

    it('posts every open hold with one record, moving balances by per-account sums', async () => {
      const m = await market(3);
      const placed = await store.submitTransfers([
        m.stake('a1', 0, 30n),
        m.stake('a2', 0, 20n),
        m.stake('b1', 1, 50n),
        m.stake('c1', 2, 10n, 60n), // past its timeout at the resolution, never swept
        m.stake('c2', 2, 15n),
      ]);
      expect(placed.map((r) => r.code)).toEqual(Array(5).fill(TransferResultCode.OK));
      // Resolved on its own before: a late bet voided.
      const [voided] = await store.submitTransfers([
        command({
          transferId: `${m.marketId}:b1:void`,
          kind: TransferKind.VOID_PENDING,
          pendingId: `${m.marketId}:b1`,
          code: TransferCode.BET_STAKE,
          marketId: m.marketId,
          betId: ulid(1),
          memo: '',
        }),
      ]);
      expect(voided?.code).toBe(TransferResultCode.OK);
      const voidedAtMs = clock.now();
      clock.advance(61_000);
      effects.length = 0;

      const first = await store.resolveMarket({
        marketId: m.marketId,
        settlementId: m.settlementId,
        action: 'post-in-full',
        code: TransferCode.BET_STAKE,
        expectedOpenAmountMinor: 65n,
      });
      expect(first.replayed).toBe(false);
      expect(first.resolution).toMatchObject({
        resolvedCount: 3,
        resolvedAmountMinor: 65n,
        expiredCount: 1,
        expiredAmountMinor: 10n,
        accountCount: 3,
        resolvedAtMs: clock.now(),
      });
      expect(first.resolution.escrow?.balance).toEqual({
        debitsPending: 0n,
        debitsPosted: 0n,
        creditsPending: 0n,
        creditsPosted: 65n,
      });
      expect(await balance(m.wallets[0]!.accountId)).toMatchObject({
        debitsPending: 0n,
        debitsPosted: 50n,
      });
      expect(availableOf(await balance(m.wallets[1]!.accountId))).toBe(100n);
      expect(await balance(m.wallets[2]!.accountId)).toMatchObject({
        debitsPending: 0n,
        debitsPosted: 15n,
      });
      // One event for the whole market, with every changed account.
      expect(effects).toHaveLength(1);
      const effect = effects[0]!;
      expect(effect.type).toBe('market-resolution');
      if (effect.type !== 'market-resolution') return;
      expect(effect.accounts.map((a) => a.accountId)).toEqual([
        m.wallets[0]!.accountId,
        m.wallets[2]!.accountId,
        m.esc.accountId,
      ]);
      // Each hold's state derived from the record; the late bet keeps its own.
      const holds = await store.lookupTransfers(
        ['a1', 'a2', 'b1', 'c1', 'c2'].map((id) => `${m.marketId}:${id}`),
      );
      expect(holds.map((h) => [h.pendingStatus, h.resolvedAtMs])).toEqual([
        [PendingStatus.POSTED, clock.now()],
        [PendingStatus.POSTED, clock.now()],
        [PendingStatus.VOIDED, voidedAtMs],
        [PendingStatus.EXPIRED, clock.now()],
        [PendingStatus.POSTED, clock.now()],
      ]);
      await expectInvariants(db.sql);
    });

    it('answers a repeated resolution with the first result and refuses another one', async () => {
      const m = await market(2);
      await store.submitTransfers([m.stake('x', 0, 40n), m.stake('y', 1, 60n)]);
      const resolve = {
        marketId: m.marketId,
        settlementId: m.settlementId,
        action: 'void' as const,
        code: TransferCode.BET_STAKE,
        expectedOpenAmountMinor: 0n,
      };
      const first = await store.resolveMarket(resolve);
      expect(first.resolution).toMatchObject({ resolvedCount: 2, resolvedAmountMinor: 100n });
      for (const w of m.wallets) expect(availableOf(await balance(w.accountId))).toBe(100n);
      clock.advance(1000);
      effects.length = 0;
      const again = await store.resolveMarket(resolve);
      expect(again).toEqual({ resolution: first.resolution, replayed: true });
      expect(effects).toEqual([]);
      await expect(store.resolveMarket({ ...resolve, action: 'post-in-full' })).rejects.toThrow(
        AlreadyExistsError,
      );
      await expect(
        store.resolveMarket({ ...resolve, settlementId: ulid(6_000_000) }),
      ).rejects.toThrow(/already resolved \(VOID\) by settlement/);
      for (const w of m.wallets) expect(availableOf(await balance(w.accountId))).toBe(100n);
      const holds = await store.lookupTransfers([`${m.marketId}:x`, `${m.marketId}:y`]);
      expect(holds.map((h) => h.pendingStatus)).toEqual([
        PendingStatus.VOIDED,
        PendingStatus.VOIDED,
      ]);
    });

    it('refuses a resolution whose expected amount differs, writing nothing', async () => {
      const m = await market(1);
      await store.submitTransfers([m.stake('x', 0, 40n)]);
      await expect(
        store.resolveMarket({
          marketId: m.marketId,
          settlementId: m.settlementId,
          action: 'post-in-full',
          code: TransferCode.BET_STAKE,
          expectedOpenAmountMinor: 41n,
        }),
      ).rejects.toThrow(IllegalStateError);
      const [hold] = await store.lookupTransfers([`${m.marketId}:x`]);
      expect(hold?.pendingStatus).toBe(PendingStatus.PENDING);
      expect((await balance(m.esc.accountId)).creditsPending).toBe(40n);
    });

    it('after the resolution: no new hold, single posts and voids answer as for a resolved hold, the sweep skips it', async () => {
      const m = await market(2);
      await store.submitTransfers([m.stake('x', 0, 40n, 30n), m.stake('y', 1, 10n)]);
      await store.resolveMarket({
        marketId: m.marketId,
        settlementId: m.settlementId,
        action: 'post-in-full',
        code: TransferCode.BET_STAKE,
        expectedOpenAmountMinor: 0n,
      });
      const before = await Promise.all(m.wallets.map((w) => balance(w.accountId)));
      // One new hold (one-statement path) and a batch (full path): both refused.
      const [lone] = await store.submitTransfers([m.stake('late1', 0, 5n)]);
      expect(lone?.code).toBe(TransferResultCode.MARKET_RESOLVED);
      const batch = await store.submitTransfers([
        m.stake('late2', 0, 5n),
        m.stake('late3', 1, 500n),
      ]);
      expect(batch.map((r) => r.code)).toEqual([
        TransferResultCode.MARKET_RESOLVED,
        TransferResultCode.MARKET_RESOLVED,
      ]);
      const resolving = (id: string, kind: TransferKind, amount = 0n): TransferCommand =>
        command({
          transferId: `${m.marketId}:${id}:${kind}`,
          kind,
          pendingId: `${m.marketId}:${id}`,
          amountMinor: amount,
          code: TransferCode.BET_STAKE,
          marketId: m.marketId,
          betId: ulid(1),
          memo: '',
        });
      const late = await store.submitTransfers([
        resolving('x', TransferKind.VOID_PENDING),
        resolving('y', TransferKind.POST_PENDING, 10n),
      ]);
      expect(late.map((r) => r.code)).toEqual([
        TransferResultCode.PENDING_ALREADY_RESOLVED,
        TransferResultCode.PENDING_ALREADY_RESOLVED,
      ]);
      // Past the hold's timeout: the sweep writes the derived state, moves nothing.
      clock.advance(31_000);
      expect(await store.expirePendingTransfers(clock.now())).toBeGreaterThanOrEqual(1);
      const [x] = await store.lookupTransfers([`${m.marketId}:x`]);
      expect(x?.pendingStatus).toBe(PendingStatus.POSTED);
      expect(await Promise.all(m.wallets.map((w) => balance(w.accountId)))).toEqual(before);
      expect(await store.openHoldTotals([m.wallets[1]!.accountId], TransferCode.BET_STAKE)).toEqual(
        new Map(),
      );
      // The per-hold bulk path finds nothing open.
      const legacy = await store.resolveMarketHolds({
        marketId: m.marketId,
        action: 'void',
        settlementId: '',
        code: TransferCode.BET_STAKE,
        afterHoldId: '',
        limit: 100,
      });
      expect(legacy).toMatchObject({ resolvedCount: 0, expiredCount: 0, nextAfterHoldId: '' });
      await expectInvariants(db.sql);
    });

    it('shows a resolved hold in the wallet history as posted at the resolution instant', async () => {
      const m = await market(1);
      await store.submitTransfers([m.stake('x', 0, 40n)]);
      clock.advance(5000);
      await store.resolveMarket({
        marketId: m.marketId,
        settlementId: m.settlementId,
        action: 'post-in-full',
        code: TransferCode.BET_STAKE,
        expectedOpenAmountMinor: 40n,
      });
      const history = await store.listWalletHistory({
        accountIds: [m.wallets[0]!.accountId],
        codes: [TransferCode.BET_STAKE],
        fromMs: 0,
        toMs: 0,
        limit: 10,
      });
      expect(
        history.entries.map((e) => [
          e.transfer.kind,
          e.transfer.pendingStatus,
          e.transfer.resolvedAtMs,
        ]),
      ).toEqual([[TransferKind.PENDING, PendingStatus.POSTED, clock.now()]]);
      const page = await store.listAccountTransfers({
        accountId: m.esc.accountId,
        codes: [],
        fromMs: 0,
        toMs: 0,
        newestFirst: false,
        limit: 10,
      });
      expect(page.transfers.map((t) => t.pendingStatus)).toEqual([PendingStatus.POSTED]);
    });

    it('shows what a resolution released in the wallet history, so the signed amounts add up', async () => {
      for (const action of ['void', 'post-in-full'] as const) {
        const m = await market(1);
        await store.submitTransfers([m.stake('x', 0, 40n), m.stake('y', 0, 25n, 10n)]);
        clock.advance(11_000);
        await store.resolveMarket({
          marketId: m.marketId,
          settlementId: m.settlementId,
          action,
          code: TransferCode.BET_STAKE,
          expectedOpenAmountMinor: 0n,
        });
        const walletId = m.wallets[0]!.accountId;
        const history = await store.listWalletHistory({
          accountIds: [walletId],
          codes: [],
          fromMs: 0,
          toMs: 0,
          limit: 10,
        });
        const released = action === 'void' ? 65n : 25n;
        expect(history.entries[0]?.transfer).toMatchObject({
          transferId: `market:${m.marketId}:release`,
          kind: TransferKind.VOID_PENDING,
          amountMinor: released,
          resolvedAtMs: 0,
          committedAtMs: clock.now(),
        });
        const signed = history.entries.reduce(
          (sum, e) => sum + availableChangeOf(e.transfer, e.heldAmountMinor, walletId),
          0n,
        );
        expect(signed).toBe(availableOf(await balance(walletId)));
        const paged = await store.listWalletHistory({
          accountIds: [walletId],
          codes: [],
          fromMs: 0,
          toMs: 0,
          limit: 1,
        });
        const rest = await store.listWalletHistory({
          accountIds: [walletId],
          codes: [],
          fromMs: 0,
          toMs: 0,
          limit: 10,
          beforeSequence: paged.nextBeforeSequence!,
        });
        expect([...paged.entries, ...rest.entries]).toEqual(history.entries);
      }
    });

    it('pays a settled market out of its escrow once, to zero, and never below', async () => {
      const m = await market(3);
      await store.submitTransfers([
        m.stake('a', 0, 60n),
        m.stake('b', 1, 30n),
        m.stake('c', 2, 10n),
      ]);
      const page = {
        marketId: m.marketId,
        settlementId: m.settlementId,
        currency: 'BRL',
        entries: [
          { accountId: m.wallets[0]!.accountId, amountMinor: 85n, code: TransferCode.PAYOUT },
          { accountId: rake.accountId, amountMinor: 10n, code: TransferCode.COMMISSION },
          { accountId: house().accountId, amountMinor: 5n, code: TransferCode.BREAKAGE },
        ],
      };
      // Not resolved yet: refused whole.
      await expect(store.creditMarketPayouts(page)).rejects.toThrow(/POST_IN_FULL/);
      await store.resolveMarket({
        marketId: m.marketId,
        settlementId: m.settlementId,
        action: 'post-in-full',
        code: TransferCode.BET_STAKE,
        expectedOpenAmountMinor: 100n,
      });
      // More than the escrow holds: refused whole, nothing written.
      await expect(
        store.creditMarketPayouts({
          ...page,
          entries: [{ ...page.entries[0]!, amountMinor: 101n }],
        }),
      ).rejects.toThrow(/escrow .* has 100 available/);
      effects.length = 0;
      const paid = await store.creditMarketPayouts(page);
      expect(paid.outcomes.map((o) => o.code)).toEqual(Array(3).fill(TransferResultCode.OK));
      expect(paid).toMatchObject({ creditedCount: 3, creditedAmountMinor: 100n });
      expect(availableOf(paid.escrow.balance)).toBe(0n);
      expect(availableOf(await balance(m.wallets[0]!.accountId))).toBe(125n);
      expect(effects.map((e) => e.type)).toEqual(['market-payouts']);
      // The effect carries what each account received (Σ = the page's credited amount).
      const credits = effects[0]!.type === 'market-payouts' ? effects[0]!.credits : [];
      expect(credits).toHaveLength(3);
      expect(credits.reduce((sum, c) => sum + c.amountMinor, 0n)).toBe(100n);
      // A retried page moves nothing and answers the first transfers.
      effects.length = 0;
      const again = await store.creditMarketPayouts(page);
      expect(again.outcomes.map((o) => [o.code, o.sequence])).toEqual(
        paid.outcomes.map((o) => [TransferResultCode.ALREADY_EXISTS_SAME, o.sequence]),
      );
      expect(again.creditedCount).toBe(0);
      expect(effects).toEqual([]);
      // The same transfer through SubmitTransfers is the same command; other content is not.
      const payout = marketPayoutCommand(
        { ...page, escrowAccountId: m.esc.accountId },
        page.entries[0]!,
      );
      const [same] = await store.submitTransfers([payout]);
      expect(same?.code).toBe(TransferResultCode.ALREADY_EXISTS_SAME);
      const changed = await store.creditMarketPayouts({
        ...page,
        entries: [
          { ...page.entries[0]!, amountMinor: 1n },
          { accountId: wallet(999_999).accountId, amountMinor: 1n, code: TransferCode.PAYOUT },
        ],
      });
      expect(changed.outcomes.map((o) => o.code)).toEqual([
        TransferResultCode.ID_REUSED_DIFFERENT_CONTENT,
        TransferResultCode.ACCOUNT_NOT_FOUND,
      ]);
      expect(availableOf(await balance(m.esc.accountId))).toBe(0n);
      // The payout is what the winner's history shows.
      const history = await store.listWalletHistory({
        accountIds: [m.wallets[0]!.accountId],
        codes: [TransferCode.PAYOUT],
        fromMs: 0,
        toMs: 0,
        limit: 10,
      });
      expect(history.entries.map((e) => [e.transfer.transferId, e.transfer.amountMinor])).toEqual([
        [payout.transferId, 85n],
      ]);
      expect(canonicalContent(payout)).toContain(m.settlementId);
      await expectInvariants(db.sql);
    });

    it('keeps a market resolved by the per-hold path resolvable: nothing left to move', async () => {
      const m = await market(1);
      await store.submitTransfers([m.stake('x', 0, 40n)]);
      const legacy = await store.resolveMarketHolds({
        marketId: m.marketId,
        action: 'post-in-full',
        settlementId: m.settlementId,
        code: TransferCode.BET_STAKE,
        afterHoldId: '',
        limit: 100,
      });
      expect(legacy.resolvedCount).toBe(1);
      const resolved = await store.resolveMarket({
        marketId: m.marketId,
        settlementId: m.settlementId,
        action: 'post-in-full',
        code: TransferCode.BET_STAKE,
        expectedOpenAmountMinor: 0n,
      });
      expect(resolved.resolution).toMatchObject({ resolvedCount: 0, accountCount: 0 });
      expect((await balance(m.esc.accountId)).creditsPosted).toBe(40n);
      await expectInvariants(db.sql);
    });
  });
}

const postgres = sqlTargets().find((target) => target.name === 'postgres');
if (postgres !== undefined) {
  describe('market resolution racing hold commits on PostgreSQL', () => {
    it('counts every hold committed before the resolution and refuses every later one', async () => {
      const db = await postgres.create();
      try {
        const store = await openLedger(db.sql);
        const esc = escrow(900);
        const marketId = esc.ownerId;
        const wallets = Array.from({ length: 20 }, (_, i) => wallet(90_000 + i));
        await store.createAccounts([house(), esc, ...wallets]);
        await store.submitTransfers(
          wallets.map((w) =>
            command({
              transferId: `fund:${w.accountId}`,
              debitAccountId: house().accountId,
              creditAccountId: w.accountId,
              amountMinor: 1_000n,
            }),
          ),
        );
        const stake = (w: number, n: number): TransferCommand =>
          command({
            transferId: `race:${w}:${n}`,
            kind: TransferKind.PENDING,
            debitAccountId: wallets[w]!.accountId,
            creditAccountId: esc.accountId,
            amountMinor: BigInt(n + 1),
            code: TransferCode.BET_STAKE,
            marketId,
            betId: ulid(200_000 + w * 100 + n),
            memo: '',
          });
        let committedAmount = 0n;
        let refused = 0;
        // Each wallet places 10 stakes, alone (one-statement path) and in pairs (batch path),
        // while the resolution runs after the first few.
        const bettors = wallets.map(async (_, w) => {
          for (let n = 0; n < 10; n += 2) {
            const results = await store.submitTransfers(
              w % 2 === 0 ? [stake(w, n), stake(w, n + 1)] : [stake(w, n)],
            );
            if (w % 2 === 1) {
              const [second] = await store.submitTransfers([stake(w, n + 1)]);
              results.push(second!);
            }
            results.forEach((r, i) => {
              if (r.code === TransferResultCode.OK) committedAmount += BigInt(n + i + 1);
              else if (r.code === TransferResultCode.MARKET_RESOLVED) refused += 1;
              else throw new Error(`unexpected ${r.code}: ${r.detail}`);
            });
          }
        });
        const resolution = (async () => {
          for (let waited = 0; waited < 200; waited += 1) {
            const [account] = await store.lookupAccounts([esc.accountId]);
            if (account!.balance.creditsPending >= 60n) break;
            await new Promise((resolve) => setImmediate(resolve));
          }
          return store.resolveMarket({
            marketId,
            settlementId: ulid(900_001),
            action: 'post-in-full',
            code: TransferCode.BET_STAKE,
            expectedOpenAmountMinor: 0n,
          });
        })();
        await Promise.all(bettors);
        const { resolution: resolved } = await resolution;
        expect(resolved.resolvedAmountMinor).toBe(committedAmount);
        expect(refused + resolved.resolvedCount).toBe(200);
        const [after] = await store.lookupAccounts([esc.accountId]);
        expect(after!.balance).toEqual({
          debitsPending: 0n,
          debitsPosted: 0n,
          creditsPending: 0n,
          creditsPosted: committedAmount,
        });
        await expectInvariants(db.sql);
      } finally {
        await db.dispose();
      }
    }, 120_000);
  });
}
