/**
 * MercadoPago over its REST API with fetch: Pix deposits as payments (`POST /v1/payments`,
 * payment_method_id `pix`, with `date_of_expiration`; the answer carries the copy-paste code and
 * QR image in `point_of_interaction.transaction_data`), read back with `GET /v1/payments/{id}`,
 * canceled with `PUT /v1/payments/{id}` `{status: "cancelled"}`; Pix withdrawals through the
 * money-out API (`POST /v1/transaction-intents/process`, read back with
 * `GET /v1/transaction-intents/{id}`). Every create carries `X-Idempotency-Key: <payment id>` and
 * `external_reference: <payment id>`. Amounts are decimal reais on the wire, written from minor
 * units without floating point.
 */
import type { Destination } from '../domain/limits.js';
import type { DepositObservation, PayoutObservation } from '../domain/payment.js';
import {
  ProviderRefusedError,
  ProviderUnavailableError,
  type PaymentProviderPort,
} from './types.js';

/** A JSON scalar as text ('' for anything else). */
function text(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint'
    ? String(value)
    : '';
}

/** Options of {@link createMercadoPagoProvider}. */
export interface MercadoPagoProviderOptions {
  /** Base URL of the API (https://api.mercadopago.com, or a fake's). */
  readonly apiUrl: string;
  readonly accessToken: string;
  readonly timeoutMs: number;
  /** notification_url sent with each create; empty = the application's. */
  readonly notificationUrl: string;
}

/** `1050n` → `10.50`: a JSON number literal of the amount in reais, exact. */
export function decimalAmount(amountMinor: bigint): string {
  const whole = amountMinor / 100n;
  const cents = amountMinor % 100n;
  return `${whole}.${cents.toString().padStart(2, '0')}`;
}

/** A MercadoPago payment's state as a deposit observation. */
export function observeMercadoPagoPayment(payment: {
  readonly status?: string;
  readonly status_detail?: string;
}): DepositObservation {
  const detail = payment.status_detail ?? '';
  switch (payment.status) {
    // Money that was taken stays taken for us: refunds and chargebacks are not handled here.
    case 'approved':
    case 'refunded':
    case 'charged_back':
      return { kind: 'succeeded' };
    case 'authorized':
    case 'in_process':
    case 'in_mediation':
      return { kind: 'processing' };
    case 'rejected':
      return {
        kind: 'failed',
        code: detail || 'rejected',
        message: 'The Pix payment was rejected.',
      };
    case 'cancelled':
      return detail === 'expired'
        ? { kind: 'expired' }
        : {
            kind: 'canceled',
            code: detail || 'cancelled',
            message: 'The Pix charge was canceled.',
          };
    default:
      return { kind: 'pending' };
  }
}

/** A money-out transaction intent's state as a payout observation. */
export function observeTransactionIntent(intent: {
  readonly id?: string | number;
  readonly status?: string;
  readonly status_detail?: string;
}): PayoutObservation {
  const reference = text(intent.id);
  switch (intent.status) {
    case 'approved':
    case 'processed':
      return { kind: 'paid', reference };
    case 'rejected':
    case 'cancelled':
    case 'failed':
      return {
        kind: 'failed',
        reference,
        code: intent.status_detail ?? intent.status,
        message: 'The Pix transfer was refused by the receiving bank or MercadoPago.',
      };
    default:
      return { kind: 'in-flight', reference };
  }
}

const pixKeyTypes = { CPF: 'CPF', EMAIL: 'EMAIL', PHONE: 'PHONE', RANDOM: 'EVP' } as const;

/** MercadoPago as a {@link PaymentProviderPort}. */
export function createMercadoPagoProvider(
  options: MercadoPagoProviderOptions,
): PaymentProviderPort {
  const base = options.apiUrl.replace(/\/+$/, '');

  async function call(
    method: string,
    path: string,
    body?: string,
    idempotencyKey?: string,
  ): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${options.accessToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(idempotencyKey === undefined ? {} : { 'x-idempotency-key': idempotencyKey }),
        },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw new ProviderUnavailableError('MERCADOPAGO_PIX', (error as Error).message, {
        cause: error,
      });
    }
    const text = await response.text().catch(() => '');
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // a non-JSON answer: judged by its status below
    }
    if (response.status >= 500 || response.status === 429) {
      throw new ProviderUnavailableError('MERCADOPAGO_PIX', `HTTP ${response.status}`);
    }
    if (response.status >= 400) {
      const code = typeof parsed.error === 'string' ? parsed.error : `http_${response.status}`;
      const message =
        typeof parsed.message === 'string'
          ? parsed.message
          : `MercadoPago answered ${response.status}`;
      throw new ProviderRefusedError('MERCADOPAGO_PIX', code, message);
    }
    return parsed;
  }

  const notification = options.notificationUrl;

  return {
    provider: 'MERCADOPAGO_PIX',
    async createDeposit(charge) {
      const body = `{"transaction_amount":${decimalAmount(charge.amountMinor)},${JSON.stringify({
        description: 'StreamBet deposit',
        payment_method_id: 'pix',
        payer: { email: `${charge.userId.toLowerCase()}@users.streambet.invalid` },
        external_reference: charge.paymentId,
        date_of_expiration: new Date(charge.expiresAtMs).toISOString(),
        ...(notification === '' ? {} : { notification_url: notification }),
      }).slice(1)}`;
      const payment = await call('POST', '/v1/payments', body, charge.paymentId);
      const data = ((payment.point_of_interaction as Record<string, unknown> | undefined)
        ?.transaction_data ?? {}) as Record<string, unknown>;
      const expires = Date.parse(text(payment.date_of_expiration));
      return {
        reference: text(payment.id),
        action: {
          kind: 'pix',
          qrCode: text(data.qr_code),
          qrCodePngBase64: text(data.qr_code_base64),
          ticketUrl: text(data.ticket_url),
          expiresAtMs: Number.isFinite(expires) ? expires : charge.expiresAtMs,
        },
      };
    },
    async getDeposit(reference) {
      const payment = await call('GET', `/v1/payments/${encodeURIComponent(reference)}`);
      return {
        observation: observeMercadoPagoPayment(payment),
        paymentId: text(payment.external_reference),
      };
    },
    async cancelDeposit(reference) {
      try {
        return observeMercadoPagoPayment(
          await call(
            'PUT',
            `/v1/payments/${encodeURIComponent(reference)}`,
            JSON.stringify({ status: 'cancelled' }),
          ),
        );
      } catch (error) {
        // Paid meanwhile (or already final): MercadoPago refuses the cancel; report the state.
        if (error instanceof ProviderRefusedError)
          return (await this.getDeposit(reference)).observation;
        throw error;
      }
    },
    async createPayout(request) {
      const destination: Destination = request.destination;
      if (destination.kind !== 'pix' || destination.keyType === undefined) {
        throw new ProviderRefusedError('MERCADOPAGO_PIX', 'invalid_destination', 'not a Pix key');
      }
      const amount = decimalAmount(request.amountMinor);
      const body = JSON.stringify({
        external_reference: request.paymentId,
        point_of_interaction: { type: 'PSP_TRANSFER' },
        ...(notification === ''
          ? {}
          : { seller_configuration: { notification_info: { notification_url: notification } } }),
        transaction: {
          from: { accounts: [{ amount: '@@AMOUNT@@' }] },
          to: {
            accounts: [
              {
                type: 'current',
                amount: '@@AMOUNT@@',
                chave: { type: pixKeyTypes[destination.keyType], value: destination.key },
              },
            ],
          },
          total_amount: '@@AMOUNT@@',
        },
      }).replaceAll('"@@AMOUNT@@"', amount);
      return observeTransactionIntent(
        await call('POST', '/v1/transaction-intents/process', body, request.paymentId),
      );
    },
    async getPayout(reference) {
      const intent = await call('GET', `/v1/transaction-intents/${encodeURIComponent(reference)}`);
      return {
        observation: observeTransactionIntent(intent),
        paymentId: text(intent.external_reference),
      };
    },
  };
}
