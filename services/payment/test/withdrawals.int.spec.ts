/**
 * The withdrawal saga on the real pieces: hold in the real ledger, payout at the provider fakes,
 * post on the provider's success, void (the compensation) on its failure; an unanswered payout
 * resolved by asking the provider again with the same idempotency key (one payout, never two);
 * reconciliation of a payout in flight; balance, racing and velocity refusals moving nothing.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import {
  PaymentProvider,
  PaymentStatus,
  PixKeyType,
} from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { RequestWithdrawalRequestSchema } from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUR, createHarness, type Harness } from './harness.js';

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error('call unexpectedly succeeded');
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const money = (amountMinor: bigint) => ({ currency: CUR, amountMinor });
const toStripe = {
  destination: { case: 'stripe' as const, value: { connectedAccountId: 'acct_1TEST' } },
};
const toPix = {
  destination: {
    case: 'pix' as const,
    value: { keyType: PixKeyType.CPF, key: '12345678901' },
  },
};

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'withdrawals on %s',
  (_name, target) => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(target);
    }, 60_000);
    afterAll(async () => {
      await h.dispose();
    });

    /** A verified user with `amountMinor` deposited (through a real Stripe deposit and webhook). */
    async function funded(amountMinor: bigint): Promise<string> {
      const userId = await h.newUser();
      const { payment } = await h.svc.payment.createDeposit(
        { idempotencyKey: 'fund', provider: PaymentProvider.STRIPE, amount: money(amountMinor) },
        await h.as(userId),
      );
      const intent = h.svc.fakes.stripe.intentOf(payment!.paymentId)!;
      const delivery = h.svc.fakes.stripe.settleIntent(intent.id, 'succeed');
      expect((await h.svc.webhooks.stripe(bytes(delivery.body), delivery.headers)).status).toBe(
        200,
      );
      return userId;
    }

    async function withdraw(
      userId: string,
      amountMinor: bigint,
      key: string,
      destination: MessageInitShape<
        typeof RequestWithdrawalRequestSchema
      >['destination'] = toStripe,
    ) {
      const request: MessageInitShape<typeof RequestWithdrawalRequestSchema> = {
        idempotencyKey: key,
        amount: money(amountMinor),
        destination,
      };
      return h.svc.payment.requestWithdrawal(request, await h.as(userId));
    }

    it('holds, pays out once, and posts the hold when the payout is paid', async () => {
      const userId = await funded(10_000n);
      const { payment } = await withdraw(userId, 4000n, 'w1');
      expect(payment?.status).toBe(PaymentStatus.PROCESSING);
      expect(payment?.destination?.destination.value).toMatchObject({
        connectedAccountId: '******TEST',
      });
      expect(await h.wallet(userId)).toMatchObject({ posted: 10_000n, available: 6000n });
      const again = await withdraw(userId, 4000n, 'w1');
      expect(again.payment?.paymentId).toBe(payment!.paymentId);
      const payouts = h.svc.fakes.stripe.payouts.filter(
        (p) => p.metadata.payment_id === payment!.paymentId,
      );
      expect(payouts).toHaveLength(1);
      expect(payouts[0]?.account).toBe('acct_1TEST');
      const delivery = h.svc.fakes.stripe.settlePayout(payouts[0]!.id, 'paid');
      expect((await h.svc.webhooks.stripe(bytes(delivery.body), delivery.headers)).body).toEqual({
        status: 'applied',
      });
      const got = await h.svc.payment.getPayment(
        { paymentId: payment!.paymentId },
        await h.as(userId),
      );
      expect(got.payment?.status).toBe(PaymentStatus.SUCCEEDED);
      expect(await h.wallet(userId)).toMatchObject({
        posted: 6000n,
        available: 6000n,
        pending: 0n,
      });
      const events = await h.events();
      expect(events.filter((e) => e === 'WithdrawalRequested')).toHaveLength(1);
      expect(events.filter((e) => e === 'WithdrawalPaid')).toHaveLength(1);
      expect(await h.ledgerBalanced()).toBe(true);
    });

    it('voids the hold when the payout fails: the money is available again', async () => {
      const userId = await funded(5000n);
      const { payment } = await withdraw(userId, 5000n, 'wfail', toPix);
      expect(await h.wallet(userId)).toMatchObject({ available: 0n });
      const intent = h.svc.fakes.mercadoPago.intentOf(payment!.paymentId)!;
      expect(intent.chave).toEqual({ type: 'CPF', value: '12345678901' });
      const delivery = h.svc.fakes.mercadoPago.settleIntent(intent.id, 'reject');
      const answer = await h.svc.webhooks.mercadoPago(
        bytes(delivery.body),
        delivery.headers,
        new URLSearchParams(delivery.query),
      );
      expect(answer.body).toEqual({ status: 'applied' });
      const got = await h.svc.payment.getPayment(
        { paymentId: payment!.paymentId },
        await h.as(userId),
      );
      expect(got.payment).toMatchObject({
        status: PaymentStatus.FAILED,
        failureCode: 'rejected_by_bank',
      });
      expect(await h.wallet(userId)).toMatchObject({
        posted: 5000n,
        available: 5000n,
        pending: 0n,
      });
      expect((await h.events()).filter((e) => e === 'WithdrawalFailed')).toHaveLength(1);
    });

    it('a lost payout answer is resolved by asking again with the same key: one payout', async () => {
      const userId = await funded(3000n);
      h.svc.fakes.stripe.server.health = 'drop';
      const { payment: answered } = await withdraw(userId, 2000n, 'wlost').finally(() => {
        h.svc.fakes.stripe.server.health = 'up';
      });
      // Held, payout outcome unknown: still PROCESSING (HELD), retried by the saga.
      expect(answered?.status).toBe(PaymentStatus.PROCESSING);
      const payment = { paymentId: answered?.paymentId ?? '' };
      expect(await h.svc.store.get(payment.paymentId)).toMatchObject({ status: 'HELD' });
      expect(
        h.svc.fakes.stripe.payouts.filter((p) => p.metadata.payment_id === payment.paymentId),
      ).toHaveLength(1);
      h.clock.advance(5000);
      await h.svc.saga.runOnce();
      const after = await h.svc.store.get(payment.paymentId);
      expect(after).toMatchObject({ status: 'PAYOUT_SENT' });
      const payouts = h.svc.fakes.stripe.payouts.filter(
        (p) => p.metadata.payment_id === payment.paymentId,
      );
      expect(payouts).toHaveLength(1);
      expect(after?.providerReference).toBe(payouts[0]!.id);
      // The payout's own webhook is lost too: reconciliation asks Stripe and posts the hold.
      h.svc.fakes.stripe.settlePayout(payouts[0]!.id, 'paid');
      h.clock.advance(10 * 60_000);
      await h.svc.reconciliation.runOnce();
      expect(await h.svc.store.get(payment.paymentId)).toMatchObject({ status: 'PAID' });
      expect(await h.wallet(userId)).toMatchObject({ posted: 1000n, available: 1000n });
      expect(await h.ledgerBalanced()).toBe(true);
    }, 30_000);

    it('refuses a withdrawal above the available balance, and one of two racing for it', async () => {
      const userId = await funded(3000n);
      const above = await failure(withdraw(userId, 3001n, 'wabove'));
      expect(above.code).toBe(Code.FailedPrecondition);
      expect(above.rawMessage).toMatch(/available balance/);
      expect(await h.wallet(userId)).toMatchObject({ available: 3000n, pending: 0n });
      const results = await Promise.allSettled([
        withdraw(userId, 2000n, 'race-a'),
        withdraw(userId, 2000n, 'race-b'),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(ConnectError.from((lost[0] as PromiseRejectedResult).reason).code).toBe(
        Code.FailedPrecondition,
      );
      expect(await h.wallet(userId)).toMatchObject({ available: 1000n, pending: 2000n });
    });

    it('refuses bad destinations, amounts and unverified users; enforces velocity', async () => {
      const userId = await funded(100_000n);
      const bad = await failure(
        withdraw(userId, 1000n, 'wbad', {
          destination: { case: 'pix', value: { keyType: PixKeyType.CPF, key: '123' } },
        }),
      );
      expect(bad.code).toBe(Code.InvalidArgument);
      expect(bad.rawMessage).toMatch(/destination.pix.key/);
      expect((await failure(withdraw(userId, 0n, 'wzero'))).code).toBe(Code.InvalidArgument);
      expect((await failure(withdraw(userId, 1000n, 'wnodest', {}))).code).toBe(
        Code.InvalidArgument,
      );
      const unverified = await h.newUser({ kycVerified: false });
      expect((await failure(withdraw(unverified, 1000n, 'wkyc'))).code).toBe(
        Code.FailedPrecondition,
      );
      for (let i = 0; i < 5; i += 1) await withdraw(userId, 1000n, `wv${i}`);
      const sixth = await failure(withdraw(userId, 1000n, 'wv5'));
      expect(sixth.code).toBe(Code.ResourceExhausted);
      expect(await h.wallet(userId)).toMatchObject({ available: 95_000n });
    });
  },
);
