import { trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentLogContext, runWithLogContext } from '@streambet/platform/log/log-context';
import { initTracing } from '@streambet/platform/obs/tracing';
import { POSTGRES_SKIP_REASON, sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import {
  AccountKind,
  CreateAccountResultCode,
  PendingStatus,
  TransferCode,
  TransferKind,
  TransferResultCode,
  type TransferCommand,
} from '../../src/ledger/domain/index.js';
import {
  withGroupCommit,
  type LedgerEffect,
  type LedgerStore,
} from '../../src/ledger/store/index.js';
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
// Spans are recorded only while something exports them; the group-commit test reads them.
initTracing({
  serviceName: 'ledger-store-test',
  spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
});
if (!targets.some((target) => target.name === 'postgres')) {
  describe.skip(`ledger store on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs the same tests on real PostgreSQL', () => undefined);
  });
}

for (const target of targets) {
  describe(`ledger store on ${target.name}`, () => {
    let db: SqlTestDatabase;
    let store: LedgerStore;
    const clock = manualClock();
    const effects: LedgerEffect[] = [];
    let nextUser = 100;
    const newUser = () => wallet((nextUser += 1)).accountId;

    /** A funded wallet: house → wallet. */
    async function funded(amountMinor: bigint): Promise<string> {
      const id = newUser();
      const [created] = await store.createAccounts([wallet(nextUser)]);
      expect(created?.code).toBe(CreateAccountResultCode.OK);
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

    async function balanceOf(id: string) {
      const [account] = await store.lookupAccounts([id]);
      return account!.balance;
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
      await store.createAccounts([house(), house('PTS'), escrow(1)]);
    });
    afterAll(async () => {
      await expectInvariants(db.sql);
      await db.dispose();
    });

    it('creates accounts idempotently and refuses bad or conflicting ones, each on its own', async () => {
      const w = wallet(5000);
      const results = await store.createAccounts([
        w,
        w,
        { ...wallet(5001), kind: 0 },
        wallet(5002, 'USD'),
        { ...wallet(5003), accountId: 'wallet:bogus' },
      ]);
      expect(results.map((r) => r.code)).toEqual([
        CreateAccountResultCode.OK,
        CreateAccountResultCode.DUPLICATE_IN_REQUEST,
        CreateAccountResultCode.INVALID_KIND,
        CreateAccountResultCode.UNSUPPORTED_CURRENCY,
        CreateAccountResultCode.INVALID_ID,
      ]);
      const [again] = await store.createAccounts([w]);
      expect(again?.code).toBe(CreateAccountResultCode.ALREADY_EXISTS_SAME);
      expect(again?.account?.accountId).toBe(w.accountId);
      // Same id with another kind is not canonical, so it is refused before storage.
      const [otherKind] = await store.createAccounts([
        { ...w, kind: AccountKind.STREAMER_REVENUE },
      ]);
      expect(otherKind?.code).toBe(CreateAccountResultCode.INVALID_ID);
      expect(await store.lookupAccounts(['wallet:nobody:BRL', w.accountId])).toHaveLength(1);
      expect((await store.accountsOfOwner(ulid(5000))).map((a) => a.accountId)).toEqual([
        w.accountId,
      ]);
    });

    it('moves money, keeps wallets non-negative and lets the house run a debit balance', async () => {
      const a = await funded(100n);
      const b = await funded(0n);
      const results = await store.submitTransfers([
        command({ transferId: 'mv:1', debitAccountId: a, creditAccountId: b, amountMinor: 70n }),
        command({ transferId: 'mv:2', debitAccountId: a, creditAccountId: b, amountMinor: 31n }),
      ]);
      expect(results.map((r) => r.code)).toEqual([
        TransferResultCode.OK,
        TransferResultCode.EXCEEDS_AVAILABLE,
      ]);
      expect(results[0]?.transfer?.sequence).toBeGreaterThan(0n);
      expect((await balanceOf(a)).debitsPosted).toBe(70n);
      expect((await balanceOf(b)).creditsPosted).toBe(70n);
      expect((await balanceOf(house().accountId)).debitsPosted).toBeGreaterThanOrEqual(100n);
    });

    it('returns the first result for a retried id and refuses the id with other content', async () => {
      const a = await funded(50n);
      const b = await funded(0n);
      const first = command({
        transferId: 'retry:1',
        debitAccountId: a,
        creditAccountId: b,
        amountMinor: 20n,
      });
      const [original] = await store.submitTransfers([first]);
      clock.advance(1000);
      const [repeat] = await store.submitTransfers([first]);
      expect(repeat?.code).toBe(TransferResultCode.ALREADY_EXISTS_SAME);
      expect(repeat?.transfer).toEqual(original?.transfer);
      const [different] = await store.submitTransfers([{ ...first, amountMinor: 21n }]);
      expect(different?.code).toBe(TransferResultCode.ID_REUSED_DIFFERENT_CONTENT);
      expect((await balanceOf(a)).debitsPosted).toBe(20n);
    });

    it('holds, posts in part, voids and refuses a second resolution; history shows the hold state', async () => {
      const a = await funded(100n);
      const escrowId = escrow(1).accountId;
      const marketId = ulid(1_000_001);
      const stake = (id: string, amount: bigint): TransferCommand =>
        command({
          transferId: id,
          kind: TransferKind.PENDING,
          debitAccountId: a,
          creditAccountId: escrowId,
          amountMinor: amount,
          code: TransferCode.BET_STAKE,
          marketId,
          betId: ulid(id.length * 1000 + Number(amount)),
          memo: '',
        });
      const placed = await store.submitTransfers([
        stake('bet:1', 60n),
        stake('bet:2', 40n),
        stake('bet:3', 1n),
      ]);
      expect(placed.map((r) => r.code)).toEqual([
        TransferResultCode.OK,
        TransferResultCode.OK,
        TransferResultCode.EXCEEDS_AVAILABLE,
      ]);
      const resolve = (
        id: string,
        kind: TransferKind,
        pendingId: string,
        amount: bigint,
      ): TransferCommand =>
        command({
          transferId: id,
          kind,
          pendingId,
          amountMinor: amount,
          code: TransferCode.BET_STAKE,
          marketId,
          betId: ulid(9),
          memo: '',
        });
      const settled = await store.submitTransfers([
        resolve('post:1', TransferKind.POST_PENDING, 'bet:1', 25n),
        resolve('void:2', TransferKind.VOID_PENDING, 'bet:2', 0n),
        resolve('void:1', TransferKind.VOID_PENDING, 'bet:1', 0n),
      ]);
      expect(settled.map((r) => r.code)).toEqual([
        TransferResultCode.OK,
        TransferResultCode.OK,
        TransferResultCode.PENDING_ALREADY_RESOLVED,
      ]);
      expect(settled[1]?.transfer?.amountMinor).toBe(40n);
      expect(await balanceOf(a)).toEqual({
        debitsPending: 0n,
        debitsPosted: 25n,
        creditsPending: 0n,
        creditsPosted: 100n,
      });
      const [hold1, hold2] = await store.lookupTransfers(['bet:1', 'bet:2', 'missing']);
      expect([hold1?.pendingStatus, hold2?.pendingStatus]).toEqual([
        PendingStatus.POSTED,
        PendingStatus.VOIDED,
      ]);

      const page1 = await store.listAccountTransfers({
        accountId: a,
        codes: [TransferCode.BET_STAKE],
        fromMs: 0,
        toMs: 0,
        newestFirst: true,
        limit: 2,
      });
      expect(page1.transfers.map((t) => t.transferId)).toEqual(['void:2', 'post:1']);
      const page2 = await store.listAccountTransfers({
        accountId: a,
        codes: [TransferCode.BET_STAKE],
        fromMs: 0,
        toMs: 0,
        newestFirst: true,
        limit: 2,
        afterSequence: page1.nextAfterSequence!,
      });
      expect(page2.transfers.map((t) => t.transferId)).toEqual(['bet:2', 'bet:1']);
      expect(page2.nextAfterSequence).toBeUndefined();
      await expect(
        store.listAccountTransfers({
          accountId: 'wallet:nobody:BRL',
          codes: [],
          fromMs: 0,
          toMs: 0,
          newestFirst: false,
          limit: 5,
        }),
      ).rejects.toThrow(/does not exist/);
    });

    it('expires holds after their timeout, by sweep or lazily on post', async () => {
      const a = await funded(100n);
      const b = await funded(0n);
      const hold = (id: string, timeoutSeconds: bigint): TransferCommand =>
        command({
          transferId: id,
          kind: TransferKind.PENDING,
          debitAccountId: a,
          creditAccountId: b,
          amountMinor: 30n,
          timeoutSeconds,
        });
      await store.submitTransfers([hold('exp:1', 10n), hold('exp:2', 10n), hold('exp:3', 0n)]);
      expect((await balanceOf(a)).debitsPending).toBe(90n);
      expect(await store.expirePendingTransfers(clock.now())).toBe(0);
      clock.advance(10_000);
      const [post] = await store.submitTransfers([
        command({
          transferId: 'exp:post',
          kind: TransferKind.POST_PENDING,
          pendingId: 'exp:1',
          amountMinor: 30n,
        }),
      ]);
      expect(post?.code).toBe(TransferResultCode.PENDING_EXPIRED);
      expect((await balanceOf(a)).debitsPending).toBe(60n);
      expect(await store.expirePendingTransfers(clock.now())).toBe(1);
      expect(await store.expirePendingTransfers(clock.now())).toBe(0);
      expect(await balanceOf(a)).toEqual({
        debitsPending: 30n,
        debitsPosted: 0n,
        creditsPending: 0n,
        creditsPosted: 100n,
      });
      const [expired] = await store.lookupTransfers(['exp:2']);
      expect(expired?.pendingStatus).toBe(PendingStatus.EXPIRED);
      expect(expired?.resolvedAtMs).toBe(clock.now());
      const expiryEffects = effects
        .filter((e) => e.type === 'expiry')
        .map((e) => e.type === 'expiry' && e.hold.transferId);
      expect(expiryEffects).toEqual(expect.arrayContaining(['exp:1', 'exp:2']));
    });

    it('applies linked chains all-or-nothing and treats a retried chain as the same', async () => {
      const a = await funded(10n);
      const b = await funded(0n);
      const chain = [
        command({
          transferId: 'ch:1',
          debitAccountId: a,
          creditAccountId: b,
          amountMinor: 5n,
          linked: true,
        }),
        command({ transferId: 'ch:2', debitAccountId: a, creditAccountId: b, amountMinor: 6n }),
      ];
      expect((await store.submitTransfers(chain)).map((r) => r.code)).toEqual([
        TransferResultCode.LINKED_EVENT_FAILED,
        TransferResultCode.EXCEEDS_AVAILABLE,
      ]);
      expect(await store.lookupTransfers(['ch:1', 'ch:2'])).toEqual([]);
      const good = [chain[0]!, { ...chain[1]!, amountMinor: 5n }];
      expect((await store.submitTransfers(good)).map((r) => r.code)).toEqual([
        TransferResultCode.OK,
        TransferResultCode.OK,
      ]);
      expect((await store.submitTransfers(good)).map((r) => r.code)).toEqual([
        TransferResultCode.ALREADY_EXISTS_SAME,
        TransferResultCode.ALREADY_EXISTS_SAME,
      ]);
      // The first member alone is not "the same": it was committed inside a chain.
      const [alone] = await store.submitTransfers([{ ...chain[0]!, linked: false }]);
      expect(alone?.code).toBe(TransferResultCode.ID_REUSED_DIFFERENT_CONTENT);
      expect(await balanceOf(a)).toMatchObject({ debitsPosted: 10n });
    });

    it('hands the outbox hook balance snapshots right after each change, in sequence order', async () => {
      const a = await funded(100n);
      const b = await funded(0n);
      effects.length = 0;
      await store.submitTransfers([
        command({ transferId: 'snap:1', debitAccountId: a, creditAccountId: b, amountMinor: 10n }),
        command({ transferId: 'snap:2', debitAccountId: a, creditAccountId: b, amountMinor: 15n }),
      ]);
      expect(effects).toHaveLength(2);
      const [first, second] = effects as [
        Extract<LedgerEffect, { type: 'transfer' | 'expiry' }>,
        Extract<LedgerEffect, { type: 'transfer' | 'expiry' }>,
      ];
      expect(first.debit.balance.debitsPosted).toBe(10n);
      expect(second.debit.balance.debitsPosted).toBe(25n);
      expect(second.credit.balance.creditsPosted).toBe(25n);
      expect(
        first.type === 'transfer' &&
          second.type === 'transfer' &&
          first.transfer.sequence < second.transfer.sequence,
      ).toBe(true);
    });

    it('group commit gives each concurrent caller exactly its own results', async () => {
      const a = await funded(100n);
      const b = await funded(0n);
      const grouped = withGroupCommit(store, { maxInFlight: 1 });
      const move = (id: string, amount: bigint, linked = false): TransferCommand =>
        command({
          transferId: id,
          debitAccountId: a,
          creditAccountId: b,
          amountMinor: amount,
          linked,
        });
      const calls = [
        [move('gc:1', 10n)],
        [move('gc:2', 20n), move('gc:3', 500n)],
        [move('gc:1', 10n)],
        [move('gc:1', 11n)],
        [move('gc:4', 5n, true), move('gc:5', 5n)],
        [move('gc:6', 1n, true)],
      ];
      const results = await Promise.all(calls.map((commands) => grouped.submitTransfers(commands)));
      expect(results.map((r) => r.map((x) => x.code))).toEqual([
        [TransferResultCode.OK],
        [TransferResultCode.OK, TransferResultCode.EXCEEDS_AVAILABLE],
        [TransferResultCode.ALREADY_EXISTS_SAME],
        [TransferResultCode.ID_REUSED_DIFFERENT_CONTENT],
        [TransferResultCode.OK, TransferResultCode.OK],
        [TransferResultCode.LINKED_EVENT_CHAIN_OPEN],
      ]);
      expect(results[2]![0]!.transfer).toEqual(results[0]![0]!.transfer);
      expect((await balanceOf(a)).debitsPosted).toBe(40n);
    });

    it('runs each group in its own span (a lone caller’s child, or linking several callers), not in the context of the caller that started it', async () => {
      const a = await funded(100n);
      const b = await funded(0n);
      const seen: Array<{ requestId: string | undefined; span: ReadableSpan | undefined }> = [];
      const grouped = withGroupCommit(
        {
          ...store,
          submitTransfers(commands) {
            seen.push({
              requestId: currentLogContext()?.requestId,
              span: trace.getActiveSpan() as unknown as ReadableSpan | undefined,
            });
            return store.submitTransfers(commands);
          },
        },
        { maxInFlight: 1 },
      );
      const tracer = trace.getTracer('test');
      const call = (requestId: string, i: number) =>
        tracer.startActiveSpan(requestId, (span) =>
          runWithLogContext({ requestId }, async () => {
            const [result] = await grouped.submitTransfers([
              command({
                transferId: `ctx:${a}:${i}`,
                debitAccountId: a,
                creditAccountId: b,
                amountMinor: 1n,
              }),
            ]);
            span.end();
            return { code: result?.code, spanId: span.spanContext().spanId };
          }),
        );
      const callers = [
        await call('req-a', 0),
        ...(await Promise.all([call('req-b', 1), call('req-c', 2)])),
      ];
      expect(callers.map((c) => c.code)).toEqual([
        TransferResultCode.OK,
        TransferResultCode.OK,
        TransferResultCode.OK,
      ]);
      // req-a ran alone (answered before the others called); req-b and req-c, calling in the same
      // turn, share the second group
      expect(seen.map((s) => s.requestId)).toEqual([undefined, undefined]);
      expect(seen.map((s) => s.span?.name)).toEqual(['ledger group commit', 'ledger group commit']);
      // a group of one is its caller's child (withBatchSpan); a group of several links each caller
      expect(seen.map((s) => s.span?.parentSpanContext?.spanId)).toEqual([
        callers[0]!.spanId,
        undefined,
      ]);
      expect(seen.map((s) => s.span?.links.map((l) => l.context.spanId))).toEqual([
        [],
        [callers[1]!.spanId, callers[2]!.spanId],
      ]);
      expect(seen.map((s) => s.span?.attributes['streambet.batch.size'])).toEqual([1, 2]);
    });

    it('reports totals per currency that balance', async () => {
      const totals = await store.getLedgerTotals('');
      expect(totals.map((t) => t.currency)).toEqual(['BRL', 'PTS']);
      for (const entry of totals) {
        expect(entry.totals.debitsPosted).toBe(entry.totals.creditsPosted);
        expect(entry.totals.debitsPending).toBe(entry.totals.creditsPending);
      }
      const rows = await allBalances(db.sql);
      expect(rows.size).toBeGreaterThan(3);
    });
  });
}
