/**
 * A local fake of the parts of MercadoPago's API the payment service calls, in its documented
 * shapes: `POST /v1/payments` (Pix: payment_method_id `pix`, `date_of_expiration`, the copy-paste
 * code and QR image under `point_of_interaction.transaction_data`), `GET` / `PUT /v1/payments/{id}`,
 * and the money-out API `POST /v1/transaction-intents/process`, `GET /v1/transaction-intents/{id}`;
 * `X-Idempotency-Key` replays; Bearer auth. Tests and `npm run simulate` approve, reject or expire
 * a charge and settle a payout, and get the notification MercadoPago would send, signed with the
 * documented x-signature manifest `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { startFakeServer, type FakeAnswer, type FakeRequest, type FakeServer } from './http.js';
import { qrPngBase64 } from './qr-png.js';

/** A JSON scalar as text ('' for anything else). */
function text(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint'
    ? String(value)
    : '';
}

interface FakePixPayment {
  id: number;
  status: string;
  status_detail: string;
  transaction_amount: number;
  currency_id: string;
  external_reference: string;
  date_of_expiration: string;
  payment_method_id: string;
  point_of_interaction: {
    type: string;
    transaction_data: { qr_code: string; qr_code_base64: string; ticket_url: string };
  };
}

interface FakeTransactionIntent {
  id: string;
  status: string;
  status_detail: string;
  external_reference: string;
  total_amount: number;
  chave: { type: string; value: string };
}

/** A signed notification, as MercadoPago would POST it (its query string carries data.id). */
export interface MercadoPagoDelivery {
  readonly query: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The running fake. */
export interface MercadoPagoFake {
  readonly server: FakeServer;
  readonly url: string;
  paymentOf(paymentId: string): FakePixPayment | undefined;
  intentOf(paymentId: string): FakeTransactionIntent | undefined;
  /** Transaction intents created (distinct): a withdrawal is never paid out twice. */
  readonly intents: readonly FakeTransactionIntent[];
  /** Moves a Pix charge and returns its signed notification. */
  settlePayment(id: string, outcome: 'approve' | 'reject' | 'expire'): MercadoPagoDelivery;
  /** Moves a money-out transfer and returns its signed notification. */
  settleIntent(id: string, outcome: 'approve' | 'reject'): MercadoPagoDelivery;
  /** A signed notification naming `dataId` (of `type` payment or transaction_intent). */
  notification(dataId: string, type: string): MercadoPagoDelivery;
  close(): Promise<void>;
}

/** Options of {@link startMercadoPagoFake}. */
export interface MercadoPagoFakeOptions {
  readonly port?: number;
  readonly webhookSecret: string;
  readonly now: () => number;
}

/** The x-signature header MercadoPago sends for a notification about `dataId`. */
export function signMercadoPago(
  secret: string,
  dataId: string,
  requestId: string,
  ts: number | string,
): string {
  const manifest = `id:${dataId};request-id:${requestId};ts:${ts};`;
  return `ts=${ts},v1=${createHmac('sha256', secret).update(manifest).digest('hex')}`;
}

const error = (status: number, code: string, message: string): FakeAnswer => ({
  status,
  body: { error: code, message, status, cause: [] },
});

/** Starts the MercadoPago fake. */
export async function startMercadoPagoFake(
  options: MercadoPagoFakeOptions,
): Promise<MercadoPagoFake> {
  const payments = new Map<string, FakePixPayment>();
  const intents = new Map<string, FakeTransactionIntent>();
  const intentList: FakeTransactionIntent[] = [];
  let serial = 1_000_000;

  const expireDue = (payment: FakePixPayment): void => {
    if (payment.status === 'pending' && Date.parse(payment.date_of_expiration) <= options.now()) {
      payment.status = 'cancelled';
      payment.status_detail = 'expired';
    }
  };

  function handle(request: FakeRequest): FakeAnswer {
    if (request.headers.authorization?.startsWith('Bearer ') !== true) {
      return error(401, 'unauthorized', 'invalid access token');
    }
    const parts = request.path.split('/').filter(Boolean);
    let body: Record<string, unknown> = {};
    if (request.body !== '') {
      try {
        body = JSON.parse(request.body) as Record<string, unknown>;
      } catch {
        return error(400, 'bad_request', 'body must be JSON');
      }
    }
    if (parts[0] === 'v1' && parts[1] === 'payments') {
      if (request.method === 'POST' && parts.length === 2) {
        const amount = body.transaction_amount;
        if (typeof amount !== 'number' || !(amount > 0)) {
          return error(400, 'bad_request', 'transaction_amount must be positive');
        }
        if (body.payment_method_id !== 'pix') {
          return error(400, 'bad_request', 'payment_method_id must be pix');
        }
        const id = ++serial;
        const code = `00020126580014br.gov.bcb.pix0136${randomUUID()}5204000053039865405${amount.toFixed(2)}5802BR6304FAKE`;
        const payment: FakePixPayment = {
          id,
          status: 'pending',
          status_detail: 'pending_waiting_transfer',
          transaction_amount: amount,
          currency_id: 'BRL',
          external_reference: text(body.external_reference),
          date_of_expiration:
            text(body.date_of_expiration) || new Date(options.now() + 86_400_000).toISOString(),
          payment_method_id: 'pix',
          point_of_interaction: {
            type: 'PIX',
            transaction_data: {
              qr_code: code,
              qr_code_base64: qrPngBase64(code),
              ticket_url: `https://www.mercadopago.com.br/payments/${id}/ticket?fake=1`,
            },
          },
        };
        payments.set(String(id), payment);
        return { status: 201, body: payment };
      }
      const payment = payments.get(parts[2] ?? '');
      if (payment === undefined) return error(404, 'not_found', 'Payment not found');
      expireDue(payment);
      if (request.method === 'GET') return { status: 200, body: payment };
      if (request.method === 'PUT' && body.status === 'cancelled') {
        if (payment.status !== 'pending') {
          return error(
            400,
            'bad_request',
            `payment in status ${payment.status} cannot be cancelled`,
          );
        }
        payment.status = 'cancelled';
        payment.status_detail = 'by_collector';
        return { status: 200, body: payment };
      }
    }
    if (parts[0] === 'v1' && parts[1] === 'transaction-intents') {
      if (request.method === 'POST' && parts[2] === 'process') {
        const transaction = body.transaction as
          | {
              to?: { accounts?: Array<{ chave?: { type?: string; value?: string } }> };
              total_amount?: number;
            }
          | undefined;
        const chave = transaction?.to?.accounts?.[0]?.chave;
        if (chave?.type === undefined || chave.value === undefined) {
          return error(400, 'bad_request', 'transaction.to.accounts[0].chave is required');
        }
        const intent: FakeTransactionIntent = {
          id: randomUUID(),
          status: 'pending',
          status_detail: 'in_process',
          external_reference: text(body.external_reference),
          total_amount: Number(transaction?.total_amount ?? 0),
          chave: { type: chave.type, value: chave.value },
        };
        intents.set(intent.id, intent);
        intentList.push(intent);
        return { status: 201, body: intent };
      }
      const intent = intents.get(parts[2] ?? '');
      if (intent === undefined) return error(404, 'not_found', 'transaction intent not found');
      if (request.method === 'GET') return { status: 200, body: intent };
    }
    return error(404, 'not_found', `no route ${request.method} ${request.path}`);
  }

  const server = await startFakeServer(options.port ?? 0, handle, 'x-idempotency-key');

  const notification = (dataId: string, type: string): MercadoPagoDelivery => {
    const requestId = randomUUID();
    const ts = Math.floor(options.now() / 1000);
    return {
      query: `?data.id=${encodeURIComponent(dataId)}&type=${type}`,
      body: JSON.stringify({
        id: ++serial,
        live_mode: false,
        type,
        date_created: new Date(options.now()).toISOString(),
        user_id: 'fake',
        api_version: 'v1',
        action: `${type}.updated`,
        data: { id: dataId },
      }),
      headers: {
        'content-type': 'application/json',
        'x-request-id': requestId,
        'x-signature': signMercadoPago(options.webhookSecret, dataId, requestId, ts),
      },
    };
  };

  return {
    server,
    url: server.url,
    paymentOf: (paymentId) =>
      [...payments.values()].find((payment) => payment.external_reference === paymentId),
    intentOf: (paymentId) => intentList.find((intent) => intent.external_reference === paymentId),
    intents: intentList,
    settlePayment(id, outcome) {
      const payment = payments.get(id);
      if (payment === undefined) throw new Error(`no MercadoPago payment ${id}`);
      if (outcome === 'approve') {
        payment.status = 'approved';
        payment.status_detail = 'accredited';
      } else if (outcome === 'reject') {
        payment.status = 'rejected';
        payment.status_detail = 'cc_rejected_other_reason';
      } else {
        payment.status = 'cancelled';
        payment.status_detail = 'expired';
      }
      return notification(id, 'payment');
    },
    settleIntent(id, outcome) {
      const intent = intents.get(id);
      if (intent === undefined) throw new Error(`no transaction intent ${id}`);
      intent.status = outcome === 'approve' ? 'approved' : 'rejected';
      intent.status_detail = outcome === 'approve' ? 'processed' : 'rejected_by_bank';
      return notification(id, 'transaction_intent');
    },
    notification,
    close: () => server.close(),
  };
}
