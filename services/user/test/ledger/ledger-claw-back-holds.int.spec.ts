/**
 * After ResolveMarket only stake holds (BET_STAKE) are refused on the market (MARKET_RESOLVED,
 * migration 0113): the claw-back holds a ReverseSettlement takes (PAYOUT_REVERSAL, naming the
 * market) are ordinary holds, on the one-statement path and on the full path alike. They keep
 * their own state (not the market's resolution), are posted, voided and expired on their own, and
 * the ledger still balances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import {
  PendingStatus,
  TransferCode,
  TransferKind,
  TransferResultCode,
} from '../../src/ledger/domain/index.js';
import type { LedgerStore } from '../../src/ledger/store/index.js';
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

for (const target of sqlTargets()) {
  describe(`claw-back holds on a resolved market on ${target.name}`, () => {
    let db: SqlTestDatabase;
    let store: LedgerStore;
    const clock = manualClock();

    beforeAll(async () => {
      db = await target.create();
      store = await openLedger(db.sql, { clock });
      await store.createAccounts([house()]);
    });
    afterAll(async () => {
      await expectInvariants(db.sql);
      await db.dispose();
    });

    async function balance(id: string) {
      const [account] = await store.lookupAccounts([id]);
      return account!.balance;
    }

    it('accepts claw-back holds, posts, voids and expires them; still refuses stake holds', async () => {
      const esc = escrow(7001);
      const marketId = esc.ownerId;
      const wallets = [wallet(700_101), wallet(700_102), wallet(700_103)];
      await store.createAccounts([esc, ...wallets]);
      const funded = await store.submitTransfers(
        wallets.map((w) =>
          command({
            transferId: `fund:${w.accountId}`,
            debitAccountId: house().accountId,
            creditAccountId: w.accountId,
            amountMinor: 100n,
          }),
        ),
      );
      expect(funded.every((r) => r.code === TransferResultCode.OK)).toBe(true);
      const stake = (id: string, from: number, amountMinor: bigint) =>
        command({
          transferId: `${marketId}:${id}`,
          kind: TransferKind.PENDING,
          debitAccountId: wallets[from]!.accountId,
          creditAccountId: esc.accountId,
          amountMinor,
          code: TransferCode.BET_STAKE,
          marketId,
          betId: ulid(700_000 + from),
          memo: '',
        });
      const placed = await store.submitTransfers([stake('s0', 0, 40n), stake('s1', 1, 60n)]);
      expect(placed.map((r) => r.code)).toEqual([TransferResultCode.OK, TransferResultCode.OK]);
      await store.resolveMarket({
        marketId,
        settlementId: ulid(7_000_001),
        action: 'post-in-full',
        code: TransferCode.BET_STAKE,
        expectedOpenAmountMinor: 100n,
      });
      // Settled: wallet 0 won everything, wallet 2 got a refund-like credit to claw back too.
      const paid = await store.submitTransfers([
        command({
          transferId: `${marketId}:payout:0`,
          debitAccountId: esc.accountId,
          creditAccountId: wallets[0]!.accountId,
          amountMinor: 90n,
          code: TransferCode.PAYOUT,
          marketId,
        }),
        command({
          transferId: `${marketId}:payout:2`,
          debitAccountId: esc.accountId,
          creditAccountId: wallets[2]!.accountId,
          amountMinor: 10n,
          code: TransferCode.PAYOUT,
          marketId,
        }),
      ]);
      expect(paid.map((r) => r.code)).toEqual([TransferResultCode.OK, TransferResultCode.OK]);

      const clawBack = (
        id: string,
        from: number,
        amountMinor: bigint,
        extra: { linked?: boolean; timeoutSeconds?: bigint } = {},
      ) =>
        command({
          transferId: `${marketId}:reverse:${id}:hold:0`,
          kind: TransferKind.PENDING,
          debitAccountId: wallets[from]!.accountId,
          creditAccountId: esc.accountId,
          amountMinor,
          code: TransferCode.PAYOUT_REVERSAL,
          marketId,
          ...extra,
        });
      // One hold alone (one-statement path).
      const [lone] = await store.submitTransfers([clawBack('a', 0, 30n)]);
      expect(lone?.code).toBe(TransferResultCode.OK);
      // A linked chain (full path), as the reversal takes them.
      const chain = await store.submitTransfers([
        clawBack('b', 0, 20n, { linked: true }),
        clawBack('c', 2, 10n),
      ]);
      expect(chain.map((r) => r.code)).toEqual([TransferResultCode.OK, TransferResultCode.OK]);
      // A hold with a timeout, expired by the sweep on its own.
      const [timed] = await store.submitTransfers([clawBack('d', 0, 5n, { timeoutSeconds: 10n })]);
      expect(timed?.code).toBe(TransferResultCode.OK);
      // Stake holds are still refused, alone and in a batch beside a claw-back hold.
      const [late] = await store.submitTransfers([stake('late1', 1, 5n)]);
      expect(late?.code).toBe(TransferResultCode.MARKET_RESOLVED);
      const mixed = await store.submitTransfers([stake('late2', 1, 5n), clawBack('e', 0, 1n)]);
      expect(mixed.map((r) => r.code)).toEqual([
        TransferResultCode.MARKET_RESOLVED,
        TransferResultCode.OK,
      ]);

      // Their own state, not the market's resolution (POSTED).
      const holds = await store.lookupTransfers([
        `${marketId}:reverse:a:hold:0`,
        `${marketId}:reverse:b:hold:0`,
        `${marketId}:reverse:c:hold:0`,
      ]);
      expect(holds.map((t) => t.pendingStatus)).toEqual([
        PendingStatus.PENDING,
        PendingStatus.PENDING,
        PendingStatus.PENDING,
      ]);
      const w0 = await balance(wallets[0]!.accountId);
      expect(w0.debitsPending).toBe(30n + 20n + 5n + 1n);
      expect((await balance(esc.accountId)).creditsPending).toBe(30n + 20n + 10n + 5n + 1n);

      // Post two (full path, as the reversal's phase 2), void one, expire one.
      const resolving = (id: string, kind: TransferKind, amountMinor = 0n) =>
        command({
          transferId: `${marketId}:reverse:${id}${kind === TransferKind.VOID_PENDING ? ':void' : ''}`,
          kind,
          pendingId: `${marketId}:reverse:${id}:hold:0`,
          amountMinor,
          code: TransferCode.PAYOUT_REVERSAL,
          marketId,
        });
      const resolved = await store.submitTransfers([
        resolving('a', TransferKind.POST_PENDING, 30n),
        resolving('c', TransferKind.POST_PENDING, 10n),
        resolving('b', TransferKind.VOID_PENDING),
      ]);
      expect(resolved.map((r) => r.code)).toEqual([
        TransferResultCode.OK,
        TransferResultCode.OK,
        TransferResultCode.OK,
      ]);
      // A repeat is idempotent.
      const again = await store.submitTransfers([resolving('a', TransferKind.POST_PENDING, 30n)]);
      expect(again[0]?.code).toBe(TransferResultCode.ALREADY_EXISTS_SAME);
      clock.advance(11_000);
      expect(await store.expirePendingTransfers(clock.now())).toBeGreaterThanOrEqual(1);

      const after = await store.lookupTransfers([
        `${marketId}:reverse:a:hold:0`,
        `${marketId}:reverse:b:hold:0`,
        `${marketId}:reverse:c:hold:0`,
        `${marketId}:reverse:d:hold:0`,
        `${marketId}:reverse:e:hold:0`,
      ]);
      expect(after.map((t) => t.pendingStatus)).toEqual([
        PendingStatus.POSTED,
        PendingStatus.VOIDED,
        PendingStatus.POSTED,
        PendingStatus.EXPIRED,
        PendingStatus.PENDING,
      ]);
      // Wallet 0: 100 − 40 staked + 90 paid − 30 clawed back, 1 still held.
      expect(await balance(wallets[0]!.accountId)).toMatchObject({
        debitsPending: 1n,
        debitsPosted: 40n + 30n,
        creditsPosted: 100n + 90n,
      });
      expect(await balance(wallets[2]!.accountId)).toMatchObject({
        debitsPending: 0n,
        debitsPosted: 10n,
        creditsPosted: 110n,
      });
      // Escrow: 100 staked − 100 paid + 40 clawed back, 1 pending.
      expect(await balance(esc.accountId)).toMatchObject({
        creditsPending: 1n,
        creditsPosted: 100n + 40n,
        debitsPosted: 100n,
      });
      // The market's stake bookkeeping is untouched: nothing of it is open.
      expect(await store.openHoldTotals([wallets[0]!.accountId], TransferCode.BET_STAKE)).toEqual(
        new Map(),
      );
      await expectInvariants(db.sql);
    });
  });
}
