/**
 * Property test: random sequences of transfers, holds, posts, voids, clock jumps with expiry
 * sweeps, linked chains and retries against the real store, checking after every step that
 * debits equal credits, no wallet is below zero available, every account's totals equal what its
 * transfers say, a retried command changes nothing, and a hold is resolved at most once.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import {
  TransferKind,
  TransferResultCode,
  type TransferCommand,
  type TransferOutcome,
} from '../../src/ledger/domain/index.js';
import type { LedgerStore } from '../../src/ledger/store/index.js';
import {
  allBalances,
  command,
  escrow,
  expectInvariants,
  house,
  manualClock,
  openLedger,
  wallet,
} from './ledger-fixtures.js';

type Action =
  | { type: 'transfer'; from: number; to: number; amount: bigint }
  | { type: 'hold'; from: number; to: number; amount: bigint; timeout: bigint }
  | { type: 'post'; hold: number; amount: bigint }
  | { type: 'void'; hold: number }
  | { type: 'advance'; seconds: number }
  | { type: 'retry'; batch: number }
  | { type: 'chain'; from: number; to: number; amounts: bigint[] };

const party = fc.nat(4);
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    type: fc.constant('transfer' as const),
    from: party,
    to: party,
    amount: fc.bigInt(-5n, 120n),
  }),
  fc.record({
    type: fc.constant('hold' as const),
    from: party,
    to: party,
    amount: fc.bigInt(1n, 120n),
    timeout: fc.constantFrom(0n, 1n, 5n),
  }),
  fc.record({ type: fc.constant('post' as const), hold: fc.nat(20), amount: fc.bigInt(0n, 130n) }),
  fc.record({ type: fc.constant('void' as const), hold: fc.nat(20) }),
  fc.record({ type: fc.constant('advance' as const), seconds: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ type: fc.constant('retry' as const), batch: fc.nat(30) }),
  fc.record({
    type: fc.constant('chain' as const),
    from: party,
    to: party,
    amounts: fc.array(fc.bigInt(1n, 80n), { minLength: 2, maxLength: 3 }),
  }),
);

const NUM_RUNS = Number(process.env.LEDGER_PROPERTY_RUNS ?? 30);

for (const target of sqlTargets()) {
  describe(`ledger properties on ${target.name}`, () => {
    let db: SqlTestDatabase;
    let store: LedgerStore;
    const clock = manualClock();
    let run = 0;

    beforeAll(async () => {
      db = await target.create();
      store = await openLedger(db.sql, { clock });
      await store.createAccounts([house()]);
    });
    afterAll(async () => {
      await db.dispose();
    });

    async function expectHoldsResolvedAtMostOnce(): Promise<void> {
      const twice = await db.sql.query(
        `SELECT pending_id FROM ledger_transfers WHERE kind IN (3, 4) GROUP BY pending_id HAVING count(*) > 1`,
      );
      expect(twice.rows).toEqual([]);
      const mismatched = await db.sql.query(
        `SELECT h.transfer_id FROM ledger_holds h
         LEFT JOIN ledger_transfers r ON r.pending_id = h.transfer_id AND r.kind IN (3, 4)
         WHERE (h.status IN (2, 3)) <> (r.id IS NOT NULL)
            OR (h.status = 2 AND r.kind <> 3) OR (h.status = 3 AND r.kind <> 4)`,
      );
      expect(mismatched.rows).toEqual([]);
    }

    it('keeps the invariants after every step of random command sequences', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 16 }), async (actions) => {
          run += 1;
          const prefix = `r${run}`;
          const wallets = [0, 1, 2].map((i) => wallet(run * 10 + i));
          const market = escrow(run);
          const parties = [...wallets.map((w) => w.accountId), house().accountId, market.accountId];
          await store.createAccounts([...wallets, market]);
          await store.submitTransfers(
            wallets.map((w) =>
              command({
                transferId: `${prefix}:fund:${w.accountId}`,
                debitAccountId: house().accountId,
                creditAccountId: w.accountId,
                amountMinor: 100n,
              }),
            ),
          );
          const holds: string[] = [];
          const committedBatches: TransferCommand[][] = [];
          let counter = 0;
          const nextId = (kind: string) => `${prefix}:${kind}:${(counter += 1)}`;

          const submit = async (commands: TransferCommand[]): Promise<TransferOutcome[]> => {
            const results = await store.submitTransfers(commands);
            expect(results.map((r) => r.transferId)).toEqual(commands.map((c) => c.transferId));
            if (results.every((r) => r.code === TransferResultCode.OK))
              committedBatches.push(commands);
            return results;
          };

          for (const step of actions) {
            switch (step.type) {
              case 'transfer':
                await submit([
                  command({
                    transferId: nextId('t'),
                    debitAccountId: parties[step.from]!,
                    creditAccountId: parties[step.to]!,
                    amountMinor: step.amount,
                  }),
                ]);
                break;
              case 'hold': {
                const id = nextId('h');
                const [result] = await submit([
                  command({
                    transferId: id,
                    kind: TransferKind.PENDING,
                    debitAccountId: parties[step.from]!,
                    creditAccountId: parties[step.to]!,
                    amountMinor: step.amount,
                    timeoutSeconds: step.timeout,
                  }),
                ]);
                if (result?.code === TransferResultCode.OK) holds.push(id);
                break;
              }
              case 'post':
              case 'void': {
                const pendingId =
                  holds.length === 0 ? `${prefix}:none` : holds[step.hold % holds.length]!;
                const post = step.type === 'post';
                const [before] = await store.lookupTransfers([pendingId]);
                const [result] = await submit([
                  command({
                    transferId: nextId(post ? 'p' : 'v'),
                    kind: post ? TransferKind.POST_PENDING : TransferKind.VOID_PENDING,
                    pendingId,
                    amountMinor: post ? step.amount : 0n,
                  }),
                ]);
                if (result?.code === TransferResultCode.OK) {
                  expect(before?.pendingStatus).toBe(1);
                  expect(result.transfer?.amountMinor).toBe(
                    post ? step.amount : before?.amountMinor,
                  );
                  const [after] = await store.lookupTransfers([pendingId]);
                  expect(after?.pendingStatus).toBe(post ? 2 : 3);
                }
                break;
              }
              case 'advance':
                clock.advance(step.seconds * 1000);
                await store.expirePendingTransfers(clock.now());
                break;
              case 'retry': {
                if (committedBatches.length === 0) break;
                const batch = committedBatches[step.batch % committedBatches.length]!;
                const before = await allBalances(db.sql);
                const results = await store.submitTransfers(batch);
                expect(results.map((r) => r.code)).toEqual(
                  batch.map(() => TransferResultCode.ALREADY_EXISTS_SAME),
                );
                expect(await allBalances(db.sql)).toEqual(before);
                break;
              }
              case 'chain': {
                const ids = step.amounts.map(() => nextId('c'));
                const commands = step.amounts.map((amount, index) =>
                  command({
                    transferId: ids[index]!,
                    debitAccountId: parties[step.from]!,
                    creditAccountId: parties[(step.to + index) % parties.length]!,
                    amountMinor: amount,
                    linked: index < step.amounts.length - 1,
                  }),
                );
                const results = await submit(commands);
                const committed = results.filter((r) => r.code === TransferResultCode.OK).length;
                expect([0, commands.length]).toContain(committed);
                break;
              }
            }
            await expectInvariants(db.sql);
            await expectHoldsResolvedAtMostOnce();
          }
        }),
        {
          numRuns: NUM_RUNS,
          seed: Number(process.env.LEDGER_PROPERTY_SEED ?? 20261124),
          endOnFailure: true,
        },
      );
    });
  });
}
