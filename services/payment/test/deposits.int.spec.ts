/**
 * Deposits end to end on the real pieces: CreateDeposit through the auth interceptors and the
 * provider fakes (Stripe PaymentIntents through the `stripe` package, MercadoPago Pix over REST),
 * the signed webhooks crediting the wallet exactly once through the real ledger, bad deliveries
 * refused with nothing changed, expiry and a late success, the per-provider circuit breaker.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import {
  PaymentProvider,
  PaymentStatus,
} from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import { EligibilityResultSchema } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signMercadoPago, fakeSecrets } from '../src/testing.js';
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
const money = (amountMinor: bigint, currency = CUR) => ({ currency, amountMinor });

describe.each(sqlTargets().map((t) => [t.name, t] as const))('deposits on %s', (_name, target) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(target);
  }, 60_000);
  afterAll(async () => {
    await h.dispose();
  });

  async function stripeDeposit(userId: string, amountMinor: bigint, key = 'k1') {
    return h.svc.payment.createDeposit(
      { idempotencyKey: key, provider: PaymentProvider.STRIPE, amount: money(amountMinor) },
      await h.as(userId),
    );
  }

  it('creates a PaymentIntent once per key and returns the client action', async () => {
    const userId = await h.newUser();
    const first = await stripeDeposit(userId, 2500n);
    expect(first.payment?.status).toBe(PaymentStatus.REQUIRES_ACTION);
    expect(first.nextAction?.action.case).toBe('stripe');
    const paymentId = first.payment!.paymentId;
    const intent = h.svc.fakes.stripe.intentOf(paymentId)!;
    expect(intent.amount).toBe(2500);
    expect(first.payment?.providerReference).toBe(intent.id);
    const again = await stripeDeposit(userId, 2500n);
    expect(again.payment?.paymentId).toBe(paymentId);
    expect(
      h.svc.fakes.stripe.server.requests.filter((r) => r.path === '/v1/payment_intents'),
    ).toHaveLength(1);
    expect(h.svc.fakes.stripe.server.requests.at(-1)?.headers['idempotency-key']).toBe(paymentId);
    const conflict = await failure(stripeDeposit(userId, 2600n));
    expect(conflict.code).toBe(Code.AlreadyExists);
  });

  it('credits the wallet exactly once from the signed webhook, whatever is redelivered', async () => {
    const userId = await h.newUser();
    const { payment } = await stripeDeposit(userId, 4000n);
    const paymentId = payment!.paymentId;
    const intent = h.svc.fakes.stripe.intentOf(paymentId)!;
    const delivery = h.svc.fakes.stripe.settleIntent(intent.id, 'succeed');
    const first = await h.svc.webhooks.stripe(bytes(delivery.body), delivery.headers);
    expect(first).toEqual({ status: 200, body: { status: 'applied' } });
    const duplicate = await h.svc.webhooks.stripe(bytes(delivery.body), delivery.headers);
    expect(duplicate.body).toEqual({ status: 'duplicate' });
    // The same news under a new event id (Stripe may send both): the state machine ignores it.
    const resent = h.svc.fakes.stripe.event('payment_intent.succeeded', intent);
    expect((await h.svc.webhooks.stripe(bytes(resent.body), resent.headers)).body).toEqual({
      status: 'unchanged',
    });
    // A late 'processing' after success moves nothing back.
    const late = h.svc.fakes.stripe.event('payment_intent.processing', {
      ...intent,
      status: 'processing',
    });
    expect((await h.svc.webhooks.stripe(bytes(late.body), late.headers)).status).toBe(200);
    expect(await h.wallet(userId)).toMatchObject({ posted: 4000n, available: 4000n });
    const got = await h.svc.payment.getPayment({ paymentId }, await h.as(userId));
    expect(got.payment?.status).toBe(PaymentStatus.SUCCEEDED);
    expect(got.payment?.ledgerTransferId).toBe(`payment:${paymentId}:credit`);
    expect(got.nextAction).toBeUndefined();
    expect((await h.events()).filter((e) => e === 'DepositSucceeded')).toHaveLength(1);
    expect(await h.ledgerBalanced()).toBe(true);
  });

  it('refuses unsigned, forged, stale and malformed deliveries and changes nothing', async () => {
    const userId = await h.newUser();
    const { payment } = await stripeDeposit(userId, 3000n);
    const intent = h.svc.fakes.stripe.intentOf(payment!.paymentId)!;
    const good = h.svc.fakes.stripe.settleIntent(intent.id, 'succeed');
    const forged = good.body.replace('"amount":3000', '"amount":3001');
    const answers = [
      await h.svc.webhooks.stripe(bytes(good.body), {}),
      await h.svc.webhooks.stripe(bytes(forged), good.headers),
      await h.svc.webhooks.stripe(bytes(good.body), {
        // One hex digit of the signature changed (always to a different digit).
        'stripe-signature': good.headers['stripe-signature']!.replace(
          /v1=(.)/,
          (_, digit: string) => `v1=${digit === '0' ? '1' : '0'}`,
        ),
      }),
    ];
    h.clock.advance(6 * 60_000);
    answers.push(await h.svc.webhooks.stripe(bytes(good.body), good.headers));
    const garbage = h.svc.fakes.stripe.event('x', {});
    answers.push(await h.svc.webhooks.stripe(bytes('not json'), garbage.headers));
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400, 400]);
    expect(answers[3]?.body.error).toMatch(/tolerance/);
    const got = await h.svc.payment.getPayment(
      { paymentId: payment!.paymentId },
      await h.as(userId),
    );
    expect(got.payment?.status).toBe(PaymentStatus.REQUIRES_ACTION);
    expect(await h.wallet(userId)).toMatchObject({ posted: 0n });
  });

  it('a declined card keeps the deposit payable, with the decline shown', async () => {
    const userId = await h.newUser();
    const { payment } = await stripeDeposit(userId, 1500n);
    const intent = h.svc.fakes.stripe.intentOf(payment!.paymentId)!;
    const declined = h.svc.fakes.stripe.settleIntent(intent.id, 'decline');
    expect((await h.svc.webhooks.stripe(bytes(declined.body), declined.headers)).status).toBe(200);
    const got = await h.svc.payment.getPayment(
      { paymentId: payment!.paymentId },
      await h.as(userId),
    );
    expect(got.payment).toMatchObject({
      status: PaymentStatus.REQUIRES_ACTION,
      failureCode: 'card_declined',
    });
    expect(got.nextAction?.action.case).toBe('stripe');
  });

  it('Pix: QR code with expiry, signed notification, state fetched from MercadoPago', async () => {
    const userId = await h.newUser();
    const { payment, nextAction } = await h.svc.payment.createDeposit(
      { idempotencyKey: 'pix1', provider: PaymentProvider.MERCADOPAGO_PIX, amount: money(1050n) },
      await h.as(userId),
    );
    expect(nextAction?.action.case).toBe('pix');
    if (nextAction?.action.case !== 'pix') throw new Error('no pix action');
    expect(nextAction.action.value.qrCode).toMatch(/^0002/);
    expect(nextAction.action.value.qrCodePngBase64).not.toBe('');
    expect(Number(nextAction.action.value.expiresAtMs)).toBe(h.clock.now() + 30 * 60_000);
    const charge = h.svc.fakes.mercadoPago.paymentOf(payment!.paymentId)!;
    expect(charge.transaction_amount).toBe(10.5);
    const forged = h.svc.fakes.mercadoPago.notification(String(charge.id), 'payment');
    const tampered = {
      ...forged.headers,
      'x-signature': signMercadoPago('wrong-secret', String(charge.id), 'r', 1),
    };
    const refused = await h.svc.webhooks.mercadoPago(
      bytes(forged.body),
      tampered,
      new URLSearchParams(forged.query),
    );
    expect(refused.status).toBe(400);
    const delivery = h.svc.fakes.mercadoPago.settlePayment(String(charge.id), 'approve');
    const applied = await h.svc.webhooks.mercadoPago(
      bytes(delivery.body),
      delivery.headers,
      new URLSearchParams(delivery.query),
    );
    expect(applied).toEqual({ status: 200, body: { status: 'applied' } });
    const again = await h.svc.webhooks.mercadoPago(
      bytes(delivery.body),
      delivery.headers,
      new URLSearchParams(delivery.query),
    );
    expect(again.body).toEqual({ status: 'duplicate' });
    expect(await h.wallet(userId)).toMatchObject({ posted: 1050n });
    expect(fakeSecrets.mercadoPagoWebhookSecret).not.toBe('');
  });

  it('an unpaid Pix code expires; a success after expiry still credits', async () => {
    const userId = await h.newUser();
    const { payment } = await h.svc.payment.createDeposit(
      { idempotencyKey: 'pix2', provider: PaymentProvider.MERCADOPAGO_PIX, amount: money(700n) },
      await h.as(userId),
    );
    const paymentId = payment!.paymentId;
    h.clock.advance(31 * 60_000);
    await h.svc.reconciliation.runOnce();
    const expired = await h.svc.payment.getPayment({ paymentId }, await h.as(userId));
    expect(expired.payment?.status).toBe(PaymentStatus.EXPIRED);
    expect(expired.nextAction).toBeUndefined();
    const charge = h.svc.fakes.mercadoPago.paymentOf(paymentId)!;
    const late = h.svc.fakes.mercadoPago.settlePayment(String(charge.id), 'approve');
    const answer = await h.svc.webhooks.mercadoPago(
      bytes(late.body),
      late.headers,
      new URLSearchParams(late.query),
    );
    expect(answer.body).toEqual({ status: 'applied' });
    const after = await h.svc.payment.getPayment({ paymentId }, await h.as(userId));
    expect(after.payment?.status).toBe(PaymentStatus.SUCCEEDED);
    expect(await h.wallet(userId)).toMatchObject({ posted: 700n });
    expect(await h.ledgerBalanced()).toBe(true);
  });

  it('refuses bad amounts, currencies and providers, and ineligible users, moving nothing', async () => {
    const userId = await h.newUser();
    const call = async (provider: PaymentProvider, amountMinor: bigint, currency = CUR) =>
      failure(
        h.svc.payment.createDeposit(
          {
            idempotencyKey: `bad${amountMinor}${currency}${provider}`,
            provider,
            amount: money(amountMinor, currency),
          },
          await h.as(userId),
        ),
      );
    for (const error of [
      await call(PaymentProvider.STRIPE, 0n),
      await call(PaymentProvider.STRIPE, -5n),
      await call(PaymentProvider.STRIPE, 2_000_000n),
      await call(PaymentProvider.STRIPE, 1000n, 'PTS'),
      await call(PaymentProvider.UNSPECIFIED, 1000n),
    ]) {
      expect(error.code).toBe(Code.InvalidArgument);
    }
    await h.userDb.sql.query(`UPDATE users SET status = 'frozen' WHERE id = $1`, [userId]);
    const frozen = await call(PaymentProvider.STRIPE, 1000n);
    expect(frozen.code).toBe(Code.FailedPrecondition);
    expect(frozen.findDetails(EligibilityResultSchema)[0]?.allowed).toBe(false);
    const listed = await h.svc.payment.listPayments({}, await h.as(userId));
    expect(listed.payments).toHaveLength(0);
    expect(await failure(h.svc.payment.listPayments({}))).toMatchObject({
      code: Code.Unauthenticated,
    });
  });

  it('Stripe down: card deposits answer UNAVAILABLE, then fast (circuit open); Pix unaffected', async () => {
    const userId = await h.newUser();
    h.svc.fakes.stripe.server.health = 'error';
    try {
      for (let i = 0; i < 3; i += 1) {
        expect((await failure(stripeDeposit(userId, 1000n, `down${i}`))).code).toBe(
          Code.Unavailable,
        );
      }
      const before = h.svc.fakes.stripe.server.requests.length;
      const fast = await failure(stripeDeposit(userId, 1000n, 'down-fast'));
      expect(fast.code).toBe(Code.Unavailable);
      expect(fast.message).toMatch(/circuit open/);
      expect(h.svc.fakes.stripe.server.requests.length).toBe(before);
      const pix = await h.svc.payment.createDeposit(
        {
          idempotencyKey: 'pix-ok',
          provider: PaymentProvider.MERCADOPAGO_PIX,
          amount: money(900n),
        },
        await h.as(userId),
      );
      expect(pix.payment?.status).toBe(PaymentStatus.REQUIRES_ACTION);
    } finally {
      h.svc.fakes.stripe.server.health = 'up';
    }
    // Back up: after the open period a retry with the same key creates the charge.
    h.clock.advance(10_000);
    const retried = await stripeDeposit(userId, 1000n, 'down0');
    expect(retried.payment?.status).toBe(PaymentStatus.REQUIRES_ACTION);
    expect(retried.nextAction?.action.case).toBe('stripe');
  });

  it('lists own payments newest first with pages; others need admin', async () => {
    const userId = await h.newUser();
    for (let i = 0; i < 3; i += 1) {
      h.clock.advance(1000);
      await stripeDeposit(userId, 1000n + BigInt(i), `list${i}`);
    }
    const first = await h.svc.payment.listPayments({ page: { pageSize: 2 } }, await h.as(userId));
    expect(first.payments.map((p) => p.amount?.amountMinor)).toEqual([1002n, 1001n]);
    const second = await h.svc.payment.listPayments(
      { page: { pageSize: 2, pageToken: first.page!.nextPageToken } },
      await h.as(userId),
    );
    expect(second.payments.map((p) => p.amount?.amountMinor)).toEqual([1000n]);
    const other = await h.newUser();
    expect((await failure(h.svc.payment.listPayments({ userId }, await h.as(other)))).code).toBe(
      Code.PermissionDenied,
    );
    const admin = await h.svc.payment.listPayments({ userId }, await h.as(other, 'admin'));
    expect(admin.payments).toHaveLength(3);
    const notYours = await failure(
      h.svc.payment.getPayment({ paymentId: first.payments[0]!.paymentId }, await h.as(other)),
    );
    expect(notYours.code).toBe(Code.NotFound);
  });
});

describe('a provider without keys', () => {
  it('refuses its payments with FAILED_PRECONDITION and stores nothing', async () => {
    const h = await createHarness(sqlTargets()[0]!, {
      configured: { STRIPE: false, MERCADOPAGO_PIX: true },
    });
    try {
      const userId = await h.newUser();
      const refused = await failure(
        h.svc.payment.createDeposit(
          { idempotencyKey: 'nokeys', provider: PaymentProvider.STRIPE, amount: money(1000n) },
          await h.as(userId),
        ),
      );
      expect(refused.code).toBe(Code.FailedPrecondition);
      expect(refused.rawMessage).toMatch(/not configured/);
      const pix = await h.svc.payment.createDeposit(
        { idempotencyKey: 'pix', provider: PaymentProvider.MERCADOPAGO_PIX, amount: money(1000n) },
        await h.as(userId),
      );
      expect(pix.payment?.status).toBe(PaymentStatus.REQUIRES_ACTION);
      expect((await h.svc.payment.listPayments({}, await h.as(userId))).payments).toHaveLength(1);
    } finally {
      await h.dispose();
    }
  }, 60_000);
});
