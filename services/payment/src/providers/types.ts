/**
 * The payment service's view of a payment provider (Stripe, MercadoPago): the few calls it makes,
 * with normalized answers, and the two ways a call can fail:
 * - {@link ProviderUnavailableError}: no answer, a timeout, a 5xx or 429 — the outcome is unknown,
 *   so the caller repeats the same call with the same idempotency key (the payment id) or asks
 *   the provider later; the provider's circuit breaker counts these;
 * - {@link ProviderRefusedError}: a definitive 4xx answer (bad account, declined) — nothing was
 *   done at the provider.
 */
import type { Destination } from '../domain/limits.js';
import type { DepositObservation, PayoutObservation, Provider } from '../domain/payment.js';

/** What the client needs to pay a deposit (payment.proto's DepositAction). */
export type ClientAction =
  | { readonly kind: 'stripe'; readonly clientSecret: string; readonly publishableKey: string }
  | {
      readonly kind: 'pix';
      readonly qrCode: string;
      readonly qrCodePngBase64: string;
      readonly ticketUrl: string;
      readonly expiresAtMs: number;
    };

/** A deposit to create at the provider. */
export interface DepositCharge {
  /** Our payment id: the provider's idempotency key and its metadata / external reference. */
  readonly paymentId: string;
  readonly userId: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  /** When the charge stops being payable (Pix), ms. */
  readonly expiresAtMs: number;
}

/** The provider's charge as created. */
export interface CreatedCharge {
  /** Stripe PaymentIntent id or MercadoPago payment id. */
  readonly reference: string;
  readonly action: ClientAction;
}

/** A payout to request. */
export interface PayoutRequest {
  readonly paymentId: string;
  readonly userId: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly destination: Destination;
}

/** What a provider reports about one of its objects: its state and our payment id on it. */
export interface ProviderView<O> {
  readonly observation: O;
  /** The payment id we created it with (metadata / external_reference); '' when absent. */
  readonly paymentId: string;
}

/** One provider's API as the payment service uses it. */
export interface PaymentProviderPort {
  readonly provider: Provider;
  /** Creates the charge (idempotent by `charge.paymentId`). */
  createDeposit(charge: DepositCharge): Promise<CreatedCharge>;
  /** The charge's state now, and the payment id it was created for. */
  getDeposit(reference: string): Promise<ProviderView<DepositObservation>>;
  /** Cancels an unpaid charge; answers the state after the attempt (it may have succeeded meanwhile). */
  cancelDeposit(reference: string): Promise<DepositObservation>;
  /** Requests the payout (idempotent by `request.paymentId`): a retry returns the first payout. */
  createPayout(request: PayoutRequest): Promise<PayoutObservation>;
  /** The payout's state now, and the payment id it was created for. */
  getPayout(reference: string, destination?: Destination): Promise<ProviderView<PayoutObservation>>;
}

/** The provider did not answer (network, timeout, 5xx, 429, circuit open): outcome unknown. */
export class ProviderUnavailableError extends Error {
  constructor(
    readonly provider: Provider,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${provider === 'STRIPE' ? 'Stripe' : 'MercadoPago'} is unavailable: ${message}`,
      options,
    );
    this.name = 'ProviderUnavailableError';
  }
}

/** The provider refused the request for good; nothing happened there. */
export class ProviderRefusedError extends Error {
  constructor(
    readonly provider: Provider,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProviderRefusedError';
  }
}
