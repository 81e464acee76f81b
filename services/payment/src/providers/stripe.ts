/**
 * Stripe through the `stripe` package: card deposits as PaymentIntents, withdrawals as payouts on
 * the user's connected account (`Stripe-Account`), each create with the payment id as its
 * `Idempotency-Key`, so a retry after an unknown outcome returns the first object. The package's
 * own retries are off (the saga and reconciliation retry, through the circuit breaker); its
 * host/port/protocol options point it at the local fake in tests and embedded mode.
 */
import Stripe from 'stripe';
import type { DepositObservation, PayoutObservation } from '../domain/payment.js';
import {
  ProviderRefusedError,
  ProviderUnavailableError,
  type PaymentProviderPort,
} from './types.js';

/** Options of {@link createStripeProvider}. */
export interface StripeProviderOptions {
  /** Base URL of Stripe's API (https://api.stripe.com, or a fake's http://127.0.0.1:port). */
  readonly apiUrl: string;
  readonly secretKey: string;
  readonly publishableKey: string;
  readonly timeoutMs: number;
}

/** A Stripe client for `apiUrl` (also what verifies webhooks: `stripe.webhooks`). */
export function createStripeClient(options: StripeProviderOptions): Stripe {
  const url = new URL(options.apiUrl);
  return new Stripe(options.secretKey, {
    host: url.hostname,
    port: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
    protocol: url.protocol === 'http:' ? 'http' : 'https',
    maxNetworkRetries: 0,
    timeout: options.timeoutMs,
    telemetry: false,
  });
}

/** A PaymentIntent's state as a deposit observation. */
export function observePaymentIntent(intent: {
  readonly status: string;
  readonly last_payment_error?: { readonly code?: string; readonly message?: string } | null;
}): DepositObservation {
  switch (intent.status) {
    case 'succeeded':
      return { kind: 'succeeded' };
    case 'processing':
    case 'requires_capture':
      return { kind: 'processing' };
    case 'canceled':
      return { kind: 'canceled' };
    default: {
      const error = intent.last_payment_error;
      if (error !== null && error !== undefined) {
        return {
          kind: 'declined',
          code: error.code ?? 'payment_failed',
          message: error.message ?? 'The payment failed.',
        };
      }
      return { kind: 'pending' };
    }
  }
}

/** A payout's state as a payout observation. */
export function observePayout(payout: {
  readonly id: string;
  readonly status: string;
  readonly failure_code?: string | null;
  readonly failure_message?: string | null;
}): PayoutObservation {
  switch (payout.status) {
    case 'paid':
      return { kind: 'paid', reference: payout.id };
    case 'failed':
    case 'canceled':
      return {
        kind: 'failed',
        reference: payout.id,
        code: payout.failure_code ?? payout.status,
        message: payout.failure_message ?? `The payout was ${payout.status}.`,
      };
    default:
      return { kind: 'in-flight', reference: payout.id };
  }
}

function translate(error: unknown): never {
  if (error instanceof Stripe.errors.StripeError) {
    const status = error.statusCode;
    if (
      status === undefined ||
      status >= 500 ||
      status === 429 ||
      error.type === 'StripeConnectionError' ||
      error.type === 'StripeIdempotencyError'
    ) {
      throw new ProviderUnavailableError('STRIPE', error.message, { cause: error });
    }
    throw new ProviderRefusedError('STRIPE', error.code ?? error.type, error.message);
  }
  throw new ProviderUnavailableError('STRIPE', String(error), { cause: error });
}

/** Stripe as a {@link PaymentProviderPort}. */
export function createStripeProvider(options: StripeProviderOptions): PaymentProviderPort {
  const stripe = createStripeClient(options);
  return {
    provider: 'STRIPE',
    async createDeposit(charge) {
      try {
        const intent = await stripe.paymentIntents.create(
          {
            amount: Number(charge.amountMinor),
            currency: charge.currency.toLowerCase(),
            automatic_payment_methods: { enabled: true },
            metadata: { payment_id: charge.paymentId, user_id: charge.userId },
          },
          { idempotencyKey: charge.paymentId },
        );
        return {
          reference: intent.id,
          action: {
            kind: 'stripe',
            clientSecret: intent.client_secret ?? '',
            publishableKey: options.publishableKey,
          },
        };
      } catch (error) {
        return translate(error);
      }
    },
    async getDeposit(reference) {
      try {
        const intent = await stripe.paymentIntents.retrieve(reference);
        return {
          observation: observePaymentIntent(intent),
          paymentId: intent.metadata.payment_id ?? '',
        };
      } catch (error) {
        return translate(error);
      }
    },
    async cancelDeposit(reference) {
      try {
        return observePaymentIntent(await stripe.paymentIntents.cancel(reference));
      } catch (error) {
        // A PaymentIntent that succeeded (or is processing) meanwhile cannot be canceled: say so.
        if (error instanceof Stripe.errors.StripeInvalidRequestError) {
          return (await this.getDeposit(reference)).observation;
        }
        return translate(error);
      }
    },
    async createPayout(request) {
      if (request.destination.kind !== 'stripe') {
        throw new ProviderRefusedError('STRIPE', 'invalid_destination', 'not a Stripe account');
      }
      try {
        const payout = await stripe.payouts.create(
          {
            amount: Number(request.amountMinor),
            currency: request.currency.toLowerCase(),
            metadata: { payment_id: request.paymentId, user_id: request.userId },
          },
          {
            idempotencyKey: request.paymentId,
            stripeAccount: request.destination.connectedAccountId,
          },
        );
        return observePayout(payout);
      } catch (error) {
        return translate(error);
      }
    },
    async getPayout(reference, destination) {
      try {
        const payout = await stripe.payouts.retrieve(
          reference,
          {},
          destination?.kind === 'stripe' ? { stripeAccount: destination.connectedAccountId } : {},
        );
        return { observation: observePayout(payout), paymentId: payout.metadata?.payment_id ?? '' };
      } catch (error) {
        return translate(error);
      }
    },
  };
}
