/**
 * Test mode: both provider fakes in this process, and the control that `npm run simulate` uses
 * (`POST /fake/simulate` on the payment service's own port, registered only with fake providers):
 * it moves the fake object of a payment (a deposit succeeds, is declined, canceled or expires; a
 * payout is paid or fails) and answers the webhook delivery the provider would send, signed with
 * the fake's webhook secret, for the caller to POST to the gateway.
 */
import { fakeSecrets } from '../config.js';
import type { PaymentStore } from '../store.js';
import { startMercadoPagoFake, type MercadoPagoFake } from './mercadopago-fake.js';
import { startStripeFake, type StripeFake } from './stripe-fake.js';

/** Both fakes. */
export interface ProviderFakes {
  readonly stripe: StripeFake;
  readonly mercadoPago: MercadoPagoFake;
  close(): Promise<void>;
}

/** Starts both fakes on free ports, signing with {@link fakeSecrets}. */
export async function startProviderFakes(now: () => number): Promise<ProviderFakes> {
  const stripe = await startStripeFake({ webhookSecret: fakeSecrets.stripeWebhookSecret, now });
  const mercadoPago = await startMercadoPagoFake({
    webhookSecret: fakeSecrets.mercadoPagoWebhookSecret,
    now,
  });
  return {
    stripe,
    mercadoPago,
    async close() {
      await Promise.all([stripe.close(), mercadoPago.close()]);
    },
  };
}

/** A webhook delivery for the simulate command to send. */
export interface SimulatedDelivery {
  /** Path (and query) on the gateway, e.g. `/webhooks/stripe`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The outcomes the simulate command accepts, per provider. */
export const simulateOutcomes = {
  stripe: ['succeed', 'decline', 'cancel', 'paid', 'failed'],
  mercadopago: ['succeed', 'fail', 'expire', 'paid', 'failed'],
} as const;

/** Moves the fake object of `paymentId` and answers its signed webhook (throws a message for people). */
export async function simulate(
  fakes: ProviderFakes,
  store: PaymentStore,
  provider: string,
  outcome: string,
  paymentId: string,
): Promise<SimulatedDelivery> {
  const row = await store.get(paymentId);
  if (row === undefined) throw new Error(`no payment ${paymentId}`);
  if (provider === 'stripe') {
    if (row.provider !== 'STRIPE') throw new Error(`payment ${paymentId} is not a Stripe payment`);
    if (row.kind === 'DEPOSIT') {
      const intent = fakes.stripe.intentOf(paymentId);
      if (intent === undefined) throw new Error(`no PaymentIntent was created for ${paymentId}`);
      const map = { succeed: 'succeed', decline: 'decline', cancel: 'cancel' } as const;
      const move = map[outcome as keyof typeof map];
      if (move === undefined) throw new Error('a Stripe deposit can succeed, decline or cancel');
      const delivery = fakes.stripe.settleIntent(intent.id, move);
      return { path: '/webhooks/stripe', headers: delivery.headers, body: delivery.body };
    }
    const payout = fakes.stripe.payoutOf(paymentId);
    if (payout === undefined) throw new Error(`no payout was created for ${paymentId}`);
    if (outcome !== 'paid' && outcome !== 'failed')
      throw new Error('a payout can be paid or failed');
    const delivery = fakes.stripe.settlePayout(payout.id, outcome);
    return { path: '/webhooks/stripe', headers: delivery.headers, body: delivery.body };
  }
  if (provider === 'mercadopago') {
    if (row.provider !== 'MERCADOPAGO_PIX') {
      throw new Error(`payment ${paymentId} is not a MercadoPago payment`);
    }
    if (row.kind === 'DEPOSIT') {
      const payment = fakes.mercadoPago.paymentOf(paymentId);
      if (payment === undefined) throw new Error(`no Pix charge was created for ${paymentId}`);
      const map = { succeed: 'approve', fail: 'reject', expire: 'expire' } as const;
      const move = map[outcome as keyof typeof map];
      if (move === undefined) throw new Error('a Pix deposit can succeed, fail or expire');
      const delivery = fakes.mercadoPago.settlePayment(String(payment.id), move);
      return {
        path: `/webhooks/mercadopago${delivery.query}`,
        headers: delivery.headers,
        body: delivery.body,
      };
    }
    const intent = fakes.mercadoPago.intentOf(paymentId);
    if (intent === undefined) throw new Error(`no Pix transfer was created for ${paymentId}`);
    if (outcome !== 'paid' && outcome !== 'failed')
      throw new Error('a payout can be paid or failed');
    const delivery = fakes.mercadoPago.settleIntent(
      intent.id,
      outcome === 'paid' ? 'approve' : 'reject',
    );
    return {
      path: `/webhooks/mercadopago${delivery.query}`,
      headers: delivery.headers,
      body: delivery.body,
    };
  }
  throw new Error('provider must be stripe or mercadopago');
}
