/**
 * A local fake of the parts of Stripe's API the payment service calls, speaking Stripe's
 * documented shapes: form-encoded requests with bracketed keys, `Idempotency-Key` replays,
 * `Stripe-Account` for connected accounts, JSON objects and `{error: {type, code, message}}`
 * answers. PaymentIntents: create, retrieve, cancel. Payouts: create, retrieve. Tests and
 * `npm run simulate` move objects along (succeed, decline, pay, fail) and get the matching
 * webhook event signed exactly as Stripe signs it (the `stripe` package's test header).
 */
import Stripe from 'stripe';
import { startFakeServer, type FakeAnswer, type FakeRequest, type FakeServer } from './http.js';

interface FakeIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  currency: string;
  status: string;
  client_secret: string;
  metadata: Record<string, string>;
  last_payment_error: { code: string; message: string; type: string } | null;
  created: number;
}

interface FakePayout {
  id: string;
  object: 'payout';
  amount: number;
  currency: string;
  status: string;
  metadata: Record<string, string>;
  failure_code: string | null;
  failure_message: string | null;
  created: number;
  account: string;
}

/** A signed webhook delivery, as Stripe would POST it. */
export interface SignedDelivery {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The running fake. */
export interface StripeFake {
  readonly server: FakeServer;
  readonly url: string;
  /** The PaymentIntent created for our payment id, if any. */
  intentOf(paymentId: string): FakeIntent | undefined;
  intent(id: string): FakeIntent | undefined;
  /** Every PaymentIntent created for our payment id (a retry must not make a second one). */
  intentsOf(paymentId: string): FakeIntent[];
  payoutOf(paymentId: string): FakePayout | undefined;
  /** Payouts created (distinct objects): a payment is never paid out twice. */
  readonly payouts: readonly FakePayout[];
  /** Moves a PaymentIntent: `succeed`, `decline` (card declined, still payable) or `cancel`. */
  settleIntent(id: string, outcome: 'succeed' | 'decline' | 'cancel'): SignedDelivery;
  /** Moves a payout to paid or failed. */
  settlePayout(id: string, outcome: 'paid' | 'failed'): SignedDelivery;
  /** The signed webhook of an event about `object` (e.g. a replay, or a forged copy to tamper with). */
  event(type: string, object: object, account?: string): SignedDelivery;
  close(): Promise<void>;
}

/** Options of {@link startStripeFake}. */
export interface StripeFakeOptions {
  readonly port?: number;
  readonly webhookSecret: string;
  /** Unix ms; signatures and `created` use it. */
  readonly now: () => number;
}

function parseForm(body: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const match = /^([^[]+)\[([^\]]+)\]$/.exec(key);
    if (match === null) {
      out[key] = value;
    } else {
      const inner = (out[match[1]!] ?? {}) as Record<string, string>;
      inner[match[2]!] = value;
      out[match[1]!] = inner;
    }
  }
  return out;
}

const invalid = (message: string, param?: string): FakeAnswer => ({
  status: 400,
  body: { error: { type: 'invalid_request_error', code: 'parameter_invalid', message, param } },
});

const missing = (what: string, id: string): FakeAnswer => ({
  status: 404,
  body: {
    error: {
      type: 'invalid_request_error',
      code: 'resource_missing',
      message: `No such ${what}: '${id}'`,
    },
  },
});

/** Starts the Stripe fake. */
export async function startStripeFake(options: StripeFakeOptions): Promise<StripeFake> {
  const intents = new Map<string, FakeIntent>();
  const payouts = new Map<string, FakePayout>();
  const payoutList: FakePayout[] = [];
  let serial = 0;
  const newId = (prefix: string): string =>
    `${prefix}_fake${(++serial).toString(36).padStart(6, '0')}${options.now().toString(36)}`;
  const seconds = (): number => Math.floor(options.now() / 1000);

  function handle(request: FakeRequest): FakeAnswer {
    if (request.headers.authorization?.startsWith('Bearer sk_') !== true) {
      return {
        status: 401,
        body: { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } },
      };
    }
    const parts = request.path.split('/').filter(Boolean);
    const account = String(request.headers['stripe-account'] ?? '');
    if (parts[0] !== 'v1') return missing('route', request.path);
    if (parts[1] === 'payment_intents') {
      if (request.method === 'POST' && parts.length === 2) {
        const form = parseForm(request.body);
        const amount = Number(form.amount);
        if (!Number.isInteger(amount) || amount < 1) return invalid('Invalid amount', 'amount');
        if (typeof form.currency !== 'string') return invalid('Missing currency', 'currency');
        const id = newId('pi');
        const intent: FakeIntent = {
          id,
          object: 'payment_intent',
          amount,
          currency: form.currency,
          status: 'requires_payment_method',
          client_secret: `${id}_secret_fake`,
          metadata: (form.metadata ?? {}) as Record<string, string>,
          last_payment_error: null,
          created: seconds(),
        };
        intents.set(id, intent);
        return { status: 200, body: intent };
      }
      const intent = intents.get(parts[2] ?? '');
      if (intent === undefined) return missing('payment_intent', parts[2] ?? '');
      if (request.method === 'GET' && parts.length === 3) return { status: 200, body: intent };
      if (request.method === 'POST' && parts[3] === 'cancel') {
        if (intent.status === 'succeeded' || intent.status === 'processing') {
          return invalid(
            `You cannot cancel this PaymentIntent because it has a status of ${intent.status}.`,
          );
        }
        intent.status = 'canceled';
        return { status: 200, body: intent };
      }
      return missing('route', request.path);
    }
    if (parts[1] === 'payouts') {
      if (!account.startsWith('acct_')) return invalid('Stripe-Account header is required');
      if (request.method === 'POST' && parts.length === 2) {
        const form = parseForm(request.body);
        const amount = Number(form.amount);
        if (!Number.isInteger(amount) || amount < 1) return invalid('Invalid amount', 'amount');
        const payout: FakePayout = {
          id: newId('po'),
          object: 'payout',
          amount,
          currency: String(form.currency),
          status: 'pending',
          metadata: (form.metadata ?? {}) as Record<string, string>,
          failure_code: null,
          failure_message: null,
          created: seconds(),
          account,
        };
        payouts.set(payout.id, payout);
        payoutList.push(payout);
        return { status: 200, body: payout };
      }
      const payout = payouts.get(parts[2] ?? '');
      if (payout === undefined || payout.account !== account) {
        return missing('payout', parts[2] ?? '');
      }
      if (request.method === 'GET') return { status: 200, body: payout };
    }
    return missing('route', request.path);
  }

  const server = await startFakeServer(options.port ?? 0, handle, 'idempotency-key');
  const stripe = new Stripe('sk_test_unused');

  const event = (type: string, object: object, account?: string): SignedDelivery => {
    const body = JSON.stringify({
      id: newId('evt'),
      object: 'event',
      api_version: '2026-11-18.endive',
      created: seconds(),
      type,
      livemode: false,
      ...(account === undefined ? {} : { account }),
      data: { object },
    });
    const signature = stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret: options.webhookSecret,
      timestamp: seconds(),
    });
    return { body, headers: { 'content-type': 'application/json', 'stripe-signature': signature } };
  };

  return {
    server,
    url: server.url,
    intentOf: (paymentId) =>
      [...intents.values()].find((intent) => intent.metadata.payment_id === paymentId),
    intent: (id) => intents.get(id),
    intentsOf: (paymentId) =>
      [...intents.values()].filter((intent) => intent.metadata.payment_id === paymentId),
    payoutOf: (paymentId) => payoutList.find((payout) => payout.metadata.payment_id === paymentId),
    payouts: payoutList,
    settleIntent(id, outcome) {
      const intent = intents.get(id);
      if (intent === undefined) throw new Error(`no PaymentIntent ${id}`);
      if (outcome === 'succeed') {
        intent.status = 'succeeded';
        intent.last_payment_error = null;
        return event('payment_intent.succeeded', intent);
      }
      if (outcome === 'decline') {
        intent.status = 'requires_payment_method';
        intent.last_payment_error = {
          type: 'card_error',
          code: 'card_declined',
          message: 'Your card was declined.',
        };
        return event('payment_intent.payment_failed', intent);
      }
      intent.status = 'canceled';
      return event('payment_intent.canceled', intent);
    },
    settlePayout(id, outcome) {
      const payout = payouts.get(id);
      if (payout === undefined) throw new Error(`no payout ${id}`);
      payout.status = outcome;
      if (outcome === 'failed') {
        payout.failure_code = 'account_closed';
        payout.failure_message = 'The bank account has been closed.';
      }
      return event(`payout.${outcome}`, payout, payout.account);
    },
    event,
    close: () => server.close(),
  };
}
