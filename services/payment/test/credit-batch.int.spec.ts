/**
 * Deposit credits in batches (credit-batcher.ts) on the real pieces: webhooks that arrive while a
 * credit batch is committing share ONE SubmitTransfers call and ONE payment transaction, each
 * answered 200 only after its credit committed; a payment the ledger refuses fails alone; and a
 * credit queue deeper than its bound answers 503 with Retry-After at once.
 */
import { createClient, createRouterTransport } from '@connectrpc/connect';
import { PaymentProvider } from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import {
  LedgerInternalService,
  TransferResultCode,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  AccountKind,
  TransferCode,
  TransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import { afterEach, describe, expect, it } from 'vitest';
import { accountIds, transferIds } from '../src/domain/payment.js';
import { CUR, createHarness, type Harness } from './harness.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'credit batches on %s',
  { timeout: 120_000 },
  (_name, target) => {
    let h: Harness | undefined;
    afterEach(async () => {
      await h?.dispose();
      h = undefined;
    });

    /** Holds the first credit batch before its ledger call until `release` (then lets all pass). */
    function firstBatchGate() {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let held = false;
      let reached: () => void = () => undefined;
      const inFlight = new Promise<void>((resolve) => (reached = resolve));
      const onStep = async (step: string): Promise<void> => {
        if (step === 'credit:before-ledger' && !held) {
          held = true;
          reached();
          await gate;
        }
      };
      return { onStep, inFlight, release: () => release() };
    }

    /** The ledger as the payment service calls it (with its credential). */
    async function paymentLedger(harness: Harness) {
      const token = await harness.tokens.serviceToken('payment');
      return createClient(
        LedgerInternalService,
        createRouterTransport(harness.user.routes, {
          router: { interceptors: harness.user.interceptors },
          transport: {
            interceptors: [
              (next) => (request) => {
                request.header.set('authorization', `Bearer ${token}`);
                return next(request);
              },
            ],
          },
        }),
      );
    }

    /** Opens the wallets (and psp_clearing), as registration does, so credits find them. */
    async function openAccounts(harness: Harness, owners: readonly { userId: string }[]) {
      const ledger = await paymentLedger(harness);
      const response = await ledger.createAccounts({
        accounts: [
          { accountId: accountIds.pspClearing(CUR), kind: AccountKind.PSP_CLEARING, currency: CUR },
          ...owners.map((o) => ({
            accountId: accountIds.wallet(o.userId, CUR),
            kind: AccountKind.USER_WALLET,
            currency: CUR,
            ownerId: o.userId,
          })),
        ],
      });
      expect(response.results).toHaveLength(owners.length + 1);
    }

    /** A Stripe deposit of `amountMinor` for a new user, settled at the fake: its delivery. */
    async function settledDeposit(harness: Harness, amountMinor: bigint) {
      const userId = await harness.newUser();
      const { payment } = await harness.svc.payment.createDeposit(
        {
          idempotencyKey: `k-${userId}`,
          provider: PaymentProvider.STRIPE,
          amount: { currency: CUR, amountMinor },
        },
        await harness.as(userId),
      );
      const paymentId = payment!.paymentId;
      const intent = harness.svc.fakes.stripe.intentOf(paymentId)!;
      const delivery = harness.svc.fakes.stripe.settleIntent(intent.id, 'succeed');
      return { userId, paymentId, delivery };
    }

    it('credits concurrent webhooks in shared ledger calls, each exactly once', async () => {
      const gate = firstBatchGate();
      h = await createHarness(target, { onStep: gate.onStep });
      const harness = h;
      const deposits = [];
      for (let i = 0; i < 12; i += 1) {
        deposits.push(await settledDeposit(harness, 1000n + BigInt(i)));
      }
      await openAccounts(harness, deposits);
      const before = harness.userCalls.length;
      const pending = deposits.map((d) =>
        harness.svc.webhooks.stripe(bytes(d.delivery.body), d.delivery.headers),
      );
      // The first credit is in flight; the eleven others arrive meanwhile and wait together.
      await gate.inFlight;
      await expect
        .poll(() => harness.svc.payments.creditQueueDepth(), { timeout: 30_000 })
        .toBe(12);
      gate.release();
      const answers = await Promise.all(pending);
      expect(answers.map((a) => a.status)).toEqual(deposits.map(() => 200));
      expect(answers.map((a) => a.body)).toEqual(deposits.map(() => ({ status: 'applied' })));
      // The first credit went alone; the eleven that arrived while it was in flight shared one call.
      const submits = harness.userCalls.slice(before).filter((m) => m === 'SubmitTransfers');
      expect(submits).toHaveLength(2);
      for (const [i, d] of deposits.entries()) {
        expect((await harness.wallet(d.userId)).posted).toBe(1000n + BigInt(i));
        const row = (await harness.svc.store.get(d.paymentId))!;
        expect(row.status).toBe('SUCCEEDED');
        expect(row.ledgerTransferId).toBe(transferIds.credit(d.paymentId));
      }
      expect((await harness.events()).filter((e) => e === 'DepositSucceeded')).toHaveLength(12);
      // Redelivered all at once: every one a duplicate, nothing credited twice.
      const again = await Promise.all(
        deposits.map((d) =>
          harness.svc.webhooks.stripe(bytes(d.delivery.body), d.delivery.headers),
        ),
      );
      expect(again.map((a) => a.body)).toEqual(deposits.map(() => ({ status: 'duplicate' })));
      for (const [i, d] of deposits.entries()) {
        expect((await harness.wallet(d.userId)).posted).toBe(1000n + BigInt(i));
      }
      expect(await harness.ledgerBalanced()).toBe(true);
    });

    it('fails a payment the ledger refuses alone; the rest of its batch is credited', async () => {
      const gate = firstBatchGate();
      h = await createHarness(target, { onStep: gate.onStep });
      const harness = h;
      const opener = await settledDeposit(harness, 2000n);
      const deposits = [];
      for (let i = 0; i < 5; i += 1) deposits.push(await settledDeposit(harness, 2000n));
      const poisoned = deposits[2]!;
      // Someone already used poisoned's credit id with another amount: the ledger refuses ours.
      const asPayment = await paymentLedger(harness);
      await openAccounts(harness, [opener, ...deposits]);
      const planted = await asPayment.submitTransfers({
        commands: [
          {
            transferId: transferIds.credit(poisoned.paymentId),
            kind: TransferKind.SINGLE_PHASE,
            debitAccountId: accountIds.pspClearing(CUR),
            creditAccountId: accountIds.wallet(poisoned.userId, CUR),
            amountMinor: 1n,
            currency: CUR,
            code: TransferCode.DEPOSIT,
            paymentId: poisoned.paymentId,
          },
        ],
      });
      expect(planted.results[0]?.code).toBe(TransferResultCode.OK);
      // The opener's credit holds the first batch; the five then share the next one.
      const openerAnswer = harness.svc.webhooks.stripe(
        bytes(opener.delivery.body),
        opener.delivery.headers,
      );
      await gate.inFlight;
      const pending = deposits.map((d) =>
        harness.svc.webhooks.stripe(bytes(d.delivery.body), d.delivery.headers),
      );
      await expect.poll(() => harness.svc.payments.creditQueueDepth(), { timeout: 30_000 }).toBe(6);
      const before = harness.userCalls.length;
      gate.release();
      expect((await openerAnswer).status).toBe(200);
      const answers = await Promise.all(pending);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 500, 200, 200]);
      // One call for the opener's batch, one for the five.
      const submits = harness.userCalls.slice(before).filter((m) => m === 'SubmitTransfers');
      expect(submits).toHaveLength(2);
      for (const d of deposits) {
        const row = (await harness.svc.store.get(d.paymentId))!;
        const wallet = await harness.wallet(d.userId);
        if (d === poisoned) {
          expect(row.status).toBe('REQUIRES_ACTION');
          expect(wallet.posted).toBe(1n);
        } else {
          expect(row.status).toBe('SUCCEEDED');
          expect(wallet.posted).toBe(2000n);
        }
      }
      // Its delivery was not recorded: the provider's redelivery is tried again (and fails again).
      const retried = await harness.svc.webhooks.stripe(
        bytes(poisoned.delivery.body),
        poisoned.delivery.headers,
      );
      expect(retried.status).toBe(500);
      // The opener and the four others.
      expect((await harness.events()).filter((e) => e === 'DepositSucceeded')).toHaveLength(5);
    });

    it('answers 503 with Retry-After while the credit queue is over its bound', async () => {
      const gate = firstBatchGate();
      h = await createHarness(target, { creditQueueMax: 1, onStep: gate.onStep });
      const harness = h;
      const first = await settledDeposit(harness, 3000n);
      const second = await settledDeposit(harness, 3000n);
      const third = await settledDeposit(harness, 3000n);
      const firstAnswer = harness.svc.webhooks.stripe(
        bytes(first.delivery.body),
        first.delivery.headers,
      );
      await gate.inFlight;
      // One credit in flight: a second one still queues (depth 1 is within the bound) ...
      const secondAnswer = harness.svc.webhooks.stripe(
        bytes(second.delivery.body),
        second.delivery.headers,
      );
      await expect.poll(() => harness.svc.payments.creditQueueDepth(), { timeout: 30_000 }).toBe(2);
      // ... and a third is turned away at once, nothing changed.
      const refused = await harness.svc.webhooks.stripe(
        bytes(third.delivery.body),
        third.delivery.headers,
      );
      expect(refused.status).toBe(503);
      expect(refused.headers?.['retry-after']).toBe('1');
      expect((await harness.svc.store.get(third.paymentId))!.status).toBe('REQUIRES_ACTION');
      gate.release();
      expect((await firstAnswer).status).toBe(200);
      expect((await secondAnswer).status).toBe(200);
      // The provider's redelivery, once the queue drained, is applied.
      const redelivered = await harness.svc.webhooks.stripe(
        bytes(third.delivery.body),
        third.delivery.headers,
      );
      expect(redelivered).toEqual({ status: 200, body: { status: 'applied' } });
      for (const d of [first, second, third]) {
        expect((await harness.wallet(d.userId)).posted).toBe(3000n);
      }
      expect(await harness.ledgerBalanced()).toBe(true);
    });
  },
);
