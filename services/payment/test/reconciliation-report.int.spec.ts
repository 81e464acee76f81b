/**
 * The daily provider-vs-ledger report on the real pieces (payment store, the user service's real
 * ledger, provider fakes) with a manual clock: a day whose deposits and paid withdrawals all reached
 * the ledger is clean; a day with a ledger credit no provider confirmed, and a confirmed deposit the
 * ledger never credited, is flagged with the difference and the payments named; admins list them.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import {
  PaymentKind,
  PaymentProvider,
} from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import {
  TransferKind,
  TransferCode,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { nextUlid } from '@streambet/testkit/ids';
import { sqlTargets } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUR, createHarness, type Harness } from './harness.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const money = (amountMinor: bigint) => ({ currency: CUR, amountMinor });
const dayOne = Date.UTC(2026, 11, 1);
const dayMs = 86_400_000;

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'daily reconciliation report on %s',
  (_name, target) => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    }, 60_000);
    afterAll(async () => {
      await h.dispose();
    });

    async function deposit(userId: string, amountMinor: bigint, key: string): Promise<string> {
      const { payment } = await h.svc.payment.createDeposit(
        { idempotencyKey: key, provider: PaymentProvider.STRIPE, amount: money(amountMinor) },
        await h.as(userId),
      );
      const intent = h.svc.fakes.stripe.intentOf(payment!.paymentId)!;
      const delivery = h.svc.fakes.stripe.settleIntent(intent.id, 'succeed');
      expect((await h.svc.webhooks.stripe(bytes(delivery.body), delivery.headers)).status).toBe(
        200,
      );
      return payment!.paymentId;
    }

    it('finds a clean day clean and flags a day with a deliberate mismatch', async () => {
      // Day one: a deposit credited and a withdrawal paid, both through the real saga.
      h.clock.set(dayOne + 10 * 3_600_000);
      const userId = await h.newUser();
      await deposit(userId, 10_000n, 'd1');
      const { payment: withdrawal } = await h.svc.payment.requestWithdrawal(
        {
          idempotencyKey: 'w1',
          amount: money(4000n),
          destination: {
            destination: { case: 'stripe', value: { connectedAccountId: 'acct_1TEST' } },
          },
        },
        await h.as(userId),
      );
      const payout = h.svc.fakes.stripe.payouts.find(
        (p) => p.metadata.payment_id === withdrawal!.paymentId,
      )!;
      const paid = h.svc.fakes.stripe.settlePayout(payout.id, 'paid');
      expect((await h.svc.webhooks.stripe(bytes(paid.body), paid.headers)).status).toBe(200);

      const clean = await h.svc.dailyReport.runDay(dayOne);
      expect(
        clean.map((r) => [r.kind, r.providerTotalMinor, r.ledgerTotalMinor, r.flagged]),
      ).toEqual([
        ['DEPOSIT', 10_000n, 10_000n, false],
        ['WITHDRAWAL', 4000n, 4000n, false],
      ]);

      // Day two: one honest deposit, a credit made behind the payment service's back (a
      // `payment:` transfer no provider confirmed), and a deposit marked succeeded whose credit
      // never reached the ledger.
      h.clock.set(dayOne + dayMs + 9 * 3_600_000);
      await deposit(userId, 3000n, 'd2');
      const phantom = nextUlid();
      const submitted = await h.ledger.submitTransfers({
        commands: [
          {
            transferId: `payment:${phantom}:credit`,
            kind: TransferKind.SINGLE_PHASE,
            debitAccountId: `psp_clearing:${CUR}`,
            creditAccountId: `wallet:${userId}:${CUR}`,
            amountMinor: 700n,
            currency: CUR,
            code: TransferCode.DEPOSIT,
            paymentId: phantom,
          },
        ],
      });
      expect(submitted.results[0]?.detail ?? '').toBe('');
      const uncredited = (
        await h.svc.payment.createDeposit(
          { idempotencyKey: 'd3', provider: PaymentProvider.STRIPE, amount: money(1200n) },
          await h.as(userId),
        )
      ).payment!.paymentId;
      await h.paymentDb.sql.query(
        `UPDATE payments SET status = 'SUCCEEDED', completed_at_ms = $2 WHERE payment_id = $1`,
        [uncredited, h.clock.now()],
      );

      // The job's pass on day three computes day two as the complete day.
      h.clock.set(dayOne + 2 * dayMs + 3_600_000);
      await h.svc.dailyReport.task.runOnce();

      const admin = await h.as(nextUlid(), 'admin');
      const flagged = await h.svc.payment.listReconciliationReports(
        { fromMs: BigInt(dayOne), toMs: BigInt(dayOne + 3 * dayMs), onlyFlagged: true },
        admin,
      );
      expect(flagged.reports).toHaveLength(1);
      const report = flagged.reports[0]!;
      expect(report).toMatchObject({
        dayStartMs: BigInt(dayOne + dayMs),
        currency: CUR,
        kind: PaymentKind.DEPOSIT,
        providerTotalMinor: 4200n,
        ledgerTotalMinor: 3700n,
        differenceMinor: 500n,
        providerCount: 2,
        ledgerCount: 2,
        flagged: true,
      });
      expect(report.mismatchedPaymentIds).toEqual([phantom, uncredited].sort());

      const all = await h.svc.payment.listReconciliationReports(
        { fromMs: BigInt(dayOne), toMs: BigInt(dayOne + 3 * dayMs) },
        admin,
      );
      // Newest day first: day three (so far), day two, day one; deposit before withdrawal.
      expect(
        all.reports.map((r) => [Number(r.dayStartMs - BigInt(dayOne)) / dayMs, r.flagged]),
      ).toEqual([
        [2, false],
        [2, false],
        [1, true],
        [1, false],
        [0, false],
        [0, false],
      ]);

      const viewer = ConnectError.from(
        await h.svc.payment
          .listReconciliationReports({}, await h.as(userId))
          .then(() => new Error('viewer listed reports'))
          .catch((error: unknown) => error),
      );
      expect(viewer.code).toBe(Code.PermissionDenied);
      const badRange = await h.svc.payment
        .listReconciliationReports({ fromMs: 10n, toMs: 5n }, admin)
        .catch((error: unknown) => ConnectError.from(error));
      expect(badRange).toBeInstanceOf(ConnectError);
      expect((badRange as ConnectError).code).toBe(Code.InvalidArgument);
    });
  },
);
