/**
 * The provider webhooks (`POST /webhooks/stripe`, `POST /webhooks/mercadopago`, passed on raw by
 * the gateway), as payment.proto describes them: verified on the raw body before parsing —
 * Stripe's scheme by the `stripe` package's own `webhooks.constructEvent` (5-minute tolerance, on
 * our clock), MercadoPago's x-signature manifest `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`
 * (HMAC-SHA256, constant-time compare, 5-minute tolerance) — deduplicated by the provider's event
 * id, and acknowledged 2xx only after the effect (status, ledger movement, outbox row, the event
 * id) is committed. Refused deliveries (400: unsigned, bad signature, stale, malformed) change
 * nothing, are logged and counted in `payment_webhooks_rejected_total{provider, reason}`. A
 * dependency that is down answers 503, so the provider delivers again later.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Counter } from 'prom-client';
import Stripe from 'stripe';
import { DomainError } from '@streambet/platform/errors/domain-errors';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Provider } from './domain/payment.js';
import type { ApplyOutcome, Payments } from './payments.js';
import { observePaymentIntent, observePayout } from './providers/stripe.js';
import { ProviderUnavailableError, type PaymentProviderPort } from './providers/types.js';
import type { PaymentRow, PaymentStore } from './store.js';

/** A JSON scalar as text ('' for anything else). */
function text(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint'
    ? String(value)
    : '';
}

/** Stripe's and our tolerance for a webhook's signed timestamp, seconds. */
export const webhookToleranceSeconds = 300;

/** Request headers as Node gives them. */
export type WebhookHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** What to answer the provider. */
export interface WebhookAnswer {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
  /** Extra response headers (Retry-After on a 503). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Why a delivery was refused (the metric's `reason` label). */
export type RejectReason = 'unsigned' | 'bad_signature' | 'stale' | 'malformed' | 'not_configured';

/** Dependencies of {@link createWebhookHandlers}. */
export interface WebhookDeps {
  readonly payments: Payments;
  readonly store: PaymentStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly stripeWebhookSecret: string;
  readonly mercadoPagoWebhookSecret: string;
  readonly mercadoPago: PaymentProviderPort;
  /** payment_webhooks_rejected_total{provider, reason}. */
  readonly rejected?: Counter<'provider' | 'reason'>;
  /**
   * Deposit credits waiting or in flight above which a verified delivery is answered 503 with
   * Retry-After at once (default unbounded): a provider retries a 503 later, while a delivery left
   * waiting past the gateway's timeout is retried too but its work still loads the queue.
   */
  readonly creditQueueMax?: number;
  /** payment_webhooks_total{provider, outcome}: applied, unchanged, duplicate, ignored, deferred. */
  readonly handled?: Counter<'provider' | 'outcome'>;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const providerLabel = (provider: Provider): string =>
  provider === 'STRIPE' ? 'stripe' : 'mercadopago';

/** The two webhook handlers: `(rawBody, headers, query) → answer`; they never throw. */
export function createWebhookHandlers(deps: WebhookDeps) {
  const { payments, store, logger } = deps;
  const stripe = new Stripe('sk_unused_for_verification');

  const refuse = (provider: Provider, reason: RejectReason, message: string): WebhookAnswer => {
    deps.rejected?.inc({ provider: providerLabel(provider), reason });
    logger.warn({ provider: providerLabel(provider), reason, message }, 'webhook refused');
    return { status: 400, body: { error: message } };
  };

  const done = (provider: Provider, outcome: ApplyOutcome | 'ignored'): WebhookAnswer => {
    deps.handled?.inc({ provider: providerLabel(provider), outcome });
    return { status: 200, body: { status: outcome } };
  };

  async function guarded(
    provider: Provider,
    work: () => Promise<WebhookAnswer>,
  ): Promise<WebhookAnswer> {
    try {
      return await work();
    } catch (error) {
      if (
        error instanceof ProviderUnavailableError ||
        (error instanceof DomainError && error.kind === 'unavailable')
      ) {
        logger.warn(
          { provider: providerLabel(provider), err: error },
          'webhook not applied yet: a dependency is down',
        );
        return {
          status: 503,
          body: { error: 'temporarily unavailable; deliver again later' },
          headers: { 'retry-after': '2' },
        };
      }
      logger.error({ provider: providerLabel(provider), err: error }, 'webhook failed');
      return { status: 500, body: { error: 'internal error' } };
    }
  }

  /** The quick 503 while the credit queue is deeper than its bound; undefined otherwise. */
  const overloaded = (provider: Provider): WebhookAnswer | undefined => {
    if (payments.creditQueueDepth() <= (deps.creditQueueMax ?? Number.POSITIVE_INFINITY)) {
      return undefined;
    }
    deps.handled?.inc({ provider: providerLabel(provider), outcome: 'deferred' });
    return {
      status: 503,
      body: { error: 'too many deposits being credited; deliver again later' },
      headers: { 'retry-after': '1' },
    };
  };

  async function paymentFor(
    provider: Provider,
    paymentId: string,
    reference: string,
  ): Promise<PaymentRow | undefined> {
    const byId = /^[0-9A-HJKMNP-TV-Z]{26}$/.test(paymentId)
      ? await store.get(paymentId)
      : undefined;
    if (byId !== undefined && byId.provider === provider) return byId;
    return reference === '' ? undefined : store.byReference(provider, reference);
  }

  return {
    /** POST /webhooks/stripe. */
    stripe(rawBody: Uint8Array, headers: WebhookHeaders): Promise<WebhookAnswer> {
      return guarded('STRIPE', async () => {
        if (deps.stripeWebhookSecret === '') {
          return refuse('STRIPE', 'not_configured', 'Stripe is not configured on this deployment');
        }
        const signature = header(headers, 'stripe-signature');
        if (signature === undefined || signature === '') {
          return refuse('STRIPE', 'unsigned', 'missing Stripe-Signature header');
        }
        // Stripe's verifier refuses old timestamps; one from the future is refused here (|now − t|).
        const signedAt = Number(/(?:^|,)t=(\d{1,12})(?:,|$)/.exec(signature)?.[1] ?? 'NaN');
        if (signedAt * 1000 - deps.clock.now() > webhookToleranceSeconds * 1000) {
          return refuse(
            'STRIPE',
            'stale',
            'timestamp outside the tolerance zone (from the future)',
          );
        }
        let event: Stripe.Event;
        try {
          event = stripe.webhooks.constructEvent(
            Buffer.from(rawBody),
            signature,
            deps.stripeWebhookSecret,
            webhookToleranceSeconds,
            undefined,
            deps.clock.now(),
          );
        } catch (error) {
          const message = (error as Error).message;
          if (/tolerance/i.test(message)) {
            return refuse(
              'STRIPE',
              'stale',
              'timestamp outside the tolerance zone (stale or replayed)',
            );
          }
          if (/Unexpected|JSON/i.test(message) && !/signature/i.test(message)) {
            return refuse('STRIPE', 'malformed', 'body is not a Stripe event');
          }
          return refuse('STRIPE', 'bad_signature', 'no signature matches the payload');
        }
        const object = (event.data as unknown as { object?: Record<string, unknown> } | undefined)
          ?.object;
        if (
          typeof event.id !== 'string' ||
          typeof event.type !== 'string' ||
          object === undefined
        ) {
          return refuse('STRIPE', 'malformed', 'event without id, type or data.object');
        }
        const busy = overloaded('STRIPE');
        if (busy !== undefined) return busy;
        const webhook = { provider: 'STRIPE' as const, eventId: event.id };
        const metadata = (object.metadata ?? {}) as Record<string, string>;
        const objectId = typeof object.id === 'string' ? object.id : '';
        if (event.type.startsWith('payment_intent.')) {
          const row = await paymentFor('STRIPE', metadata.payment_id ?? '', objectId);
          if (row?.kind !== 'DEPOSIT') return done('STRIPE', 'ignored');
          const intent = object as {
            status: string;
            last_payment_error?: { code?: string; message?: string } | null;
          };
          const observation =
            event.type === 'payment_intent.payment_failed' && intent.status !== 'succeeded'
              ? {
                  kind: 'declined' as const,
                  code: intent.last_payment_error?.code ?? 'payment_failed',
                  message: intent.last_payment_error?.message ?? 'The payment failed.',
                }
              : observePaymentIntent(intent);
          const reference = row.providerReference === '' ? objectId : row.providerReference;
          const target =
            reference === row.providerReference ? row : { ...row, providerReference: reference };
          return done(
            'STRIPE',
            (await payments.applyDeposit(target, observation, webhook)).outcome,
          );
        }
        if (event.type.startsWith('payout.')) {
          const row = await paymentFor('STRIPE', metadata.payment_id ?? '', objectId);
          if (row?.kind !== 'WITHDRAWAL') return done('STRIPE', 'ignored');
          const payout = object as {
            id: string;
            status: string;
            failure_code?: string | null;
            failure_message?: string | null;
          };
          return done(
            'STRIPE',
            (await payments.resolvePayout(row, observePayout(payout), webhook)).outcome,
          );
        }
        return done('STRIPE', 'ignored');
      });
    },

    /** POST /webhooks/mercadopago (`query` is the URL's search string, where data.id travels). */
    mercadoPago(
      rawBody: Uint8Array,
      headers: WebhookHeaders,
      query: URLSearchParams,
    ): Promise<WebhookAnswer> {
      return guarded('MERCADOPAGO_PIX', async () => {
        if (deps.mercadoPagoWebhookSecret === '') {
          return refuse(
            'MERCADOPAGO_PIX',
            'not_configured',
            'MercadoPago is not configured on this deployment',
          );
        }
        const signature = header(headers, 'x-signature');
        const requestId = header(headers, 'x-request-id');
        if (signature === undefined || requestId === undefined) {
          return refuse(
            'MERCADOPAGO_PIX',
            'unsigned',
            'missing x-signature or x-request-id header',
          );
        }
        let body: Record<string, unknown>;
        try {
          const parsed: unknown = JSON.parse(
            new TextDecoder('utf-8', { fatal: true }).decode(rawBody),
          );
          if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
          body = parsed as Record<string, unknown>;
        } catch {
          return refuse('MERCADOPAGO_PIX', 'malformed', 'body must be a JSON object');
        }
        const bodyData = body.data as { id?: unknown } | undefined;
        const rawId = query.get('data.id') ?? text(bodyData?.id);
        const dataId = /^[a-z0-9]+$/i.test(rawId) ? rawId.toLowerCase() : rawId;
        const parts = Object.fromEntries(
          signature.split(',').map((part) => {
            const [key, ...rest] = part.trim().split('=');
            return [key ?? '', rest.join('=')];
          }),
        );
        const ts = parts.ts ?? '';
        const given = parts.v1 ?? '';
        if (dataId === '' || !/^\d{1,13}$/.test(ts) || !/^[0-9a-f]{64}$/i.test(given)) {
          return refuse(
            'MERCADOPAGO_PIX',
            'unsigned',
            'x-signature must be ts=<unix>,v1=<hex> and data.id given',
          );
        }
        const manifest = `id:${dataId};request-id:${requestId};ts:${ts};`;
        const expected = createHmac('sha256', deps.mercadoPagoWebhookSecret)
          .update(manifest)
          .digest();
        const actual = Buffer.from(given, 'hex');
        if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
          return refuse('MERCADOPAGO_PIX', 'bad_signature', 'x-signature does not match');
        }
        const tsMs = ts.length > 11 ? Number(ts) : Number(ts) * 1000;
        if (Math.abs(deps.clock.now() - tsMs) > webhookToleranceSeconds * 1000) {
          return refuse(
            'MERCADOPAGO_PIX',
            'stale',
            'timestamp outside the tolerance zone (stale or replayed)',
          );
        }
        const busy = overloaded('MERCADOPAGO_PIX');
        if (busy !== undefined) return busy;
        const eventId = text(body.id) || `request:${requestId}`;
        const webhook = { provider: 'MERCADOPAGO_PIX' as const, eventId };
        if (await store.seenWebhook(webhook)) return done('MERCADOPAGO_PIX', 'duplicate');
        const type = text(body.type) || (query.get('type') ?? '');
        // The notification only names the object: its state comes from MercadoPago's API.
        if (type === 'payment') {
          const view = await deps.mercadoPago.getDeposit(rawId);
          const row = await paymentFor('MERCADOPAGO_PIX', view.paymentId, rawId);
          if (row?.kind !== 'DEPOSIT') return done('MERCADOPAGO_PIX', 'ignored');
          const target = row.providerReference === '' ? { ...row, providerReference: rawId } : row;
          return done(
            'MERCADOPAGO_PIX',
            (await payments.applyDeposit(target, view.observation, webhook)).outcome,
          );
        }
        if (type === 'transaction_intent') {
          const view = await deps.mercadoPago.getPayout(rawId);
          const row = await paymentFor('MERCADOPAGO_PIX', view.paymentId, rawId);
          if (row?.kind !== 'WITHDRAWAL') return done('MERCADOPAGO_PIX', 'ignored');
          return done(
            'MERCADOPAGO_PIX',
            (await payments.resolvePayout(row, view.observation, webhook)).outcome,
          );
        }
        return done('MERCADOPAGO_PIX', 'ignored');
      });
    },
  };
}
