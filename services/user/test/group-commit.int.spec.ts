/**
 * The ledger's group commit (store/group-commit.ts) on the real ledger store: how concurrent calls
 * form groups, that each caller gets its own results in arrival order, and that one call's failure
 * or refusal leaves the other calls of its group alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_SKIP_REASON, sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { TransferResultCode, type TransferCommand } from '../src/ledger/domain/index.js';
import { withGroupCommit, type LedgerStore } from '../src/ledger/store/index.js';
import {
  command,
  expectInvariants,
  house,
  manualClock,
  openLedger,
  wallet,
} from './ledger/ledger-fixtures.js';

const targets = sqlTargets();
if (!targets.some((target) => target.name === 'postgres')) {
  describe.skip(`group commit on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs the same tests on real PostgreSQL', () => undefined);
  });
}

for (const target of targets) {
  describe(`group commit on ${target.name}`, () => {
    let db: SqlTestDatabase;
    let store: LedgerStore;
    /** The calls the group commit made to the real store, one per shared transaction. */
    const batches: TransferCommand[][] = [];
    /** The real store, recording each call it gets (what group commit hands it). */
    let recording: LedgerStore;
    let nextUser = 5000;

    /** `count` new wallets, each funded with `amountMinor` from the house. */
    async function funded(count: number, amountMinor: bigint): Promise<string[]> {
      const accounts = Array.from({ length: count }, () => wallet((nextUser += 1)));
      await store.createAccounts(accounts);
      const results = await store.submitTransfers(
        accounts.map((account) =>
          command({
            transferId: `fund:${account.accountId}`,
            debitAccountId: house().accountId,
            creditAccountId: account.accountId,
            amountMinor,
          }),
        ),
      );
      expect(results.map((r) => r.code)).toEqual(accounts.map(() => TransferResultCode.OK));
      return accounts.map((account) => account.accountId);
    }

    const move = (
      transferId: string,
      from: string,
      to: string,
      amountMinor = 1n,
      extra: Partial<TransferCommand> = {},
    ): TransferCommand =>
      command({
        transferId,
        debitAccountId: from,
        creditAccountId: to,
        amountMinor,
        ...extra,
      });

    async function balanceOf(id: string) {
      const [account] = await store.lookupAccounts([id]);
      return account!.balance;
    }

    beforeAll(async () => {
      db = await target.create();
      store = await openLedger(db.sql, { clock: manualClock() });
      await store.createAccounts([house()]);
      recording = {
        ...store,
        submitTransfers(commands) {
          batches.push([...commands]);
          return store.submitTransfers(commands);
        },
      };
    });
    afterAll(async () => {
      await db.dispose();
    });

    it('coalesces calls made in the same turn into one commit per free slot, split evenly', async () => {
      const wallets = await funded(40, 100n);
      batches.length = 0;
      const grouped = withGroupCommit(recording, { maxInFlight: 2 });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          grouped.submitTransfers([move(`even:${i}`, wallets[2 * i]!, wallets[2 * i + 1]!)]),
        ),
      );
      expect(results.map((r) => r.map((x) => x.code))).toEqual(
        results.map(() => [TransferResultCode.OK]),
      );
      expect(results.map((r) => r[0]!.transferId)).toEqual(
        Array.from({ length: 20 }, (_, i) => `even:${i}`),
      );
      expect(batches.map((b) => b.length)).toEqual([10, 10]);
      expect(batches.flat().map((c) => c.transferId)).toEqual(
        Array.from({ length: 20 }, (_, i) => `even:${i}`),
      );
    });

    it('callers that resubmit when answered form one group again, not a lone call and a trailing group', async () => {
      const wallets = await funded(20, 100n);
      batches.length = 0;
      const grouped = withGroupCommit(recording, { maxInFlight: 1 });
      const rounds = 4;
      await Promise.all(
        wallets.map(async (from, caller) => {
          for (let round = 0; round < rounds; round += 1) {
            const to = wallets[(caller + 1) % wallets.length]!;
            const [result] = await grouped.submitTransfers([
              move(`again:${caller}:${round}`, from, to),
            ]);
            expect(result?.code).toBe(TransferResultCode.OK);
          }
        }),
      );
      expect(batches.map((b) => b.length)).toEqual([20, 20, 20, 20]);
    });

    it('applies concurrent calls in arrival order: the earlier call takes the money, the later one is refused alone', async () => {
      const [payer, first, second, third] = await funded(4, 30n);
      batches.length = 0;
      const grouped = withGroupCommit(recording, { maxInFlight: 1 });
      const [a, b, c] = await Promise.all([
        grouped.submitTransfers([move('order:a', payer!, first!, 20n)]),
        grouped.submitTransfers([move('order:b', payer!, second!, 20n)]),
        grouped.submitTransfers([move('order:c', payer!, third!, 10n)]),
      ]);
      expect(batches).toHaveLength(1);
      expect([a[0]!.code, b[0]!.code, c[0]!.code]).toEqual([
        TransferResultCode.OK,
        TransferResultCode.EXCEEDS_AVAILABLE,
        TransferResultCode.OK,
      ]);
      expect(a[0]!.transfer!.sequence).toBeLessThan(c[0]!.transfer!.sequence);
      expect((await balanceOf(payer!)).debitsPosted).toBe(30n);
      expect((await balanceOf(second!)).creditsPosted).toBe(30n);
    });

    it('one refused transfer in a shared commit leaves the other calls committed', async () => {
      const wallets = await funded(6, 50n);
      batches.length = 0;
      const grouped = withGroupCommit(recording, { maxInFlight: 1 });
      const results = await Promise.all([
        grouped.submitTransfers([move('refuse:1', wallets[0]!, wallets[1]!, 5n)]),
        grouped.submitTransfers([move('refuse:2', wallets[2]!, 'wallet:NOPE:BRL', 5n)]),
        grouped.submitTransfers([
          move('refuse:3', wallets[3]!, wallets[4]!, 5n),
          move('refuse:4', wallets[3]!, wallets[4]!, 500n),
        ]),
        grouped.submitTransfers([move('refuse:5', wallets[5]!, wallets[0]!, 7n)]),
      ]);
      expect(batches).toHaveLength(1);
      expect(results.map((r) => r.map((x) => x.code))).toEqual([
        [TransferResultCode.OK],
        [TransferResultCode.ACCOUNT_NOT_FOUND],
        [TransferResultCode.OK, TransferResultCode.EXCEEDS_AVAILABLE],
        [TransferResultCode.OK],
      ]);
      expect((await balanceOf(wallets[0]!)).creditsPosted).toBe(57n);
      expect((await balanceOf(wallets[2]!)).debitsPosted).toBe(0n);
      await expectInvariants(db.sql);
    });

    it('a call whose transfer makes the shared statement fail gets the error; the others of its group commit', async () => {
      const wallets = await funded(6, 50n);
      batches.length = 0;
      const grouped = withGroupCommit(recording, { maxInFlight: 1 });
      // A NUL character cannot be stored in a PostgreSQL text column: the statement fails.
      const poisoned = move('poison:2', wallets[2]!, wallets[3]!, 5n, { memo: 'bad\u0000memo' });
      const settled = await Promise.allSettled([
        grouped.submitTransfers([move('poison:1', wallets[0]!, wallets[1]!, 5n)]),
        grouped.submitTransfers([poisoned]),
        grouped.submitTransfers([move('poison:3', wallets[4]!, wallets[5]!, 5n)]),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      for (const index of [0, 2]) {
        const outcome = settled[index]!;
        expect(outcome.status === 'fulfilled' && outcome.value.map((r) => r.code)).toEqual([
          TransferResultCode.OK,
        ]);
      }
      // One shared attempt, then each call alone, in arrival order.
      expect(batches.map((b) => b.map((c) => c.transferId))).toEqual([
        ['poison:1', 'poison:2', 'poison:3'],
        ['poison:1'],
        ['poison:2'],
        ['poison:3'],
      ]);
      expect((await balanceOf(wallets[1]!)).creditsPosted).toBe(55n);
      expect((await balanceOf(wallets[2]!)).debitsPosted).toBe(0n);
      expect((await balanceOf(wallets[5]!)).creditsPosted).toBe(55n);
      expect(await store.lookupTransfers(['poison:2'])).toEqual([]);
      await expectInvariants(db.sql);
    });

    it('a lone call that fails gets its error once, without a second attempt', async () => {
      const wallets = await funded(2, 50n);
      batches.length = 0;
      const grouped = withGroupCommit(recording, { maxInFlight: 1 });
      await expect(
        grouped.submitTransfers([
          move('lone:1', wallets[0]!, wallets[1]!, 5n, { memo: 'bad\u0000memo' }),
        ]),
      ).rejects.toThrow();
      expect(batches).toHaveLength(1);
    });
  });
}
