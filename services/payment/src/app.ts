import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Counter, Gauge } from 'prom-client';
import { PaymentService } from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import type { Logger } from '@streambet/platform/log/logger';
import { writeHead } from '@streambet/platform/rpc/http-response';
import { serviceUrl } from '@streambet/platform/runtime/platform-config';
import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import {
  configuredProviders,
  fakeSecrets,
  paymentLimits,
  providerMode,
  type PaymentConfig,
} from './config.js';
import { eligibilityFromClient, ledgerFromClient, ledgerReaderFromClient } from './downstreams.js';
import { simulate, startProviderFakes, type ProviderFakes } from './fakes/index.js';
import { paymentMigrations } from './migrations/index.js';
import { createPayments } from './payments.js';
import { paymentPolicy } from './policy.js';
import { guardProvider } from './providers/guarded.js';
import { createMercadoPagoProvider } from './providers/mercadopago.js';
import { createStripeProvider } from './providers/stripe.js';
import { createPaymentServiceImpl } from './routes.js';
import { createDailyReport } from './report.js';
import { createReportStore } from './report-store.js';
import { createPaymentStore } from './store.js';
import { createReconciliationTask, createSagaTask } from './tasks.js';
import { createWebhookHandlers, type WebhookAnswer } from './webhooks.js';

/** Largest webhook body read (the gateway caps it too). */
const maxWebhookBytes = 256 * 1024;

/**
 * The payment service: deposits (Stripe PaymentIntents, MercadoPago Pix) credited by the
 * providers' signed webhooks, withdrawals as a persisted saga (hold → payout → post or void),
 * reconciliation of stuck payments, a circuit breaker per provider. With fake providers
 * (PAYMENT_PROVIDERS=fake, or auto in embedded mode) both providers run as local fakes in this
 * process and `POST /fake/simulate` moves their objects (`npm run simulate`).
 */
export const paymentService: ServiceDefinition<PaymentConfig> = {
  name: 'payment',
  migrations: paymentMigrations,
  async create(ctx) {
    const { config, clock, logger } = ctx;
    const fake = providerMode(config) === 'fake';
    const fakes: ProviderFakes | undefined = fake
      ? await startProviderFakes(() => clock.now())
      : undefined;
    if (fakes !== undefined) {
      logger.warn(
        { stripe: fakes.stripe.url, mercadopago: fakes.mercadoPago.url },
        'payment providers are FAKES: test money only (npm run simulate moves their payments)',
      );
    }
    const configured = configuredProviders(config);
    for (const [provider, ok] of Object.entries(configured)) {
      if (!ok) {
        logger.warn(
          { provider },
          'payment provider has no keys: its deposits and withdrawals answer FAILED_PRECONDITION',
        );
      }
    }
    const secrets = {
      stripeSecretKey: fake ? fakeSecrets.stripeSecretKey : config.PAYMENT_STRIPE_SECRET_KEY,
      stripePublishableKey: fake
        ? fakeSecrets.stripePublishableKey
        : config.PAYMENT_STRIPE_PUBLISHABLE_KEY,
      stripeWebhookSecret: fake
        ? fakeSecrets.stripeWebhookSecret
        : config.PAYMENT_STRIPE_WEBHOOK_SECRET,
      mercadoPagoAccessToken: fake
        ? fakeSecrets.mercadoPagoAccessToken
        : config.PAYMENT_MERCADOPAGO_ACCESS_TOKEN,
      mercadoPagoWebhookSecret: fake
        ? fakeSecrets.mercadoPagoWebhookSecret
        : config.PAYMENT_MERCADOPAGO_WEBHOOK_SECRET,
    };
    const calls = new Counter({
      name: 'payment_provider_calls_total',
      help: 'Calls to payment providers by outcome: ok, refused (4xx), unavailable (no answer), circuit_open',
      labelNames: ['provider', 'outcome'] as const,
      registers: [ctx.registry],
    });
    const guard = { clock, logger, calls };
    const stripe = guardProvider(
      createStripeProvider({
        apiUrl: fakes?.stripe.url ?? config.PAYMENT_STRIPE_API_URL,
        // Never called without keys (requests are refused first); the client needs some key.
        secretKey: secrets.stripeSecretKey || 'sk_not_configured',
        publishableKey: secrets.stripePublishableKey,
        timeoutMs: config.PAYMENT_PROVIDER_TIMEOUT_MS,
      }),
      guard,
    );
    const mercadoPago = guardProvider(
      createMercadoPagoProvider({
        apiUrl: fakes?.mercadoPago.url ?? config.PAYMENT_MERCADOPAGO_API_URL,
        accessToken: secrets.mercadoPagoAccessToken,
        timeoutMs: config.PAYMENT_PROVIDER_TIMEOUT_MS,
        notificationUrl: config.PAYMENT_MERCADOPAGO_NOTIFICATION_URL,
      }),
      guard,
    );
    const store = createPaymentStore({
      sql: ctx.sql,
      clock,
      onCommitted: () => ctx.outboxCommitted(),
    });
    const userUrl = serviceUrl(config, 'user');
    const payments = createPayments({
      store,
      ledger: ledgerFromClient(ctx.client(LedgerInternalService, userUrl)),
      eligibility: eligibilityFromClient(ctx.client(UserInternalService, userUrl)),
      providers: { STRIPE: stripe.port, MERCADOPAGO_PIX: mercadoPago.port },
      clock,
      limits: paymentLimits(config),
      newPaymentId: () => encodeUlid(clock.now(), new Uint8Array(randomBytes(10))),
      configured,
      pixExpiryMs: config.PAYMENT_PIX_EXPIRY_SECONDS * 1000,
      cardTimeoutMs: config.PAYMENT_CARD_DEPOSIT_TIMEOUT_SECONDS * 1000,
      creditBatchMax: config.PAYMENT_CREDIT_BATCH_MAX,
      logger,
    });
    const webhooks = createWebhookHandlers({
      payments,
      store,
      clock,
      logger,
      stripeWebhookSecret: secrets.stripeWebhookSecret,
      mercadoPagoWebhookSecret: secrets.mercadoPagoWebhookSecret,
      mercadoPago: mercadoPago.port,
      creditQueueMax: config.PAYMENT_WEBHOOK_QUEUE_MAX,
      rejected: new Counter({
        name: 'payment_webhooks_rejected_total',
        help: 'Webhook deliveries refused (nothing changed), by provider and reason: unsigned, bad_signature, stale, malformed',
        labelNames: ['provider', 'reason'] as const,
        registers: [ctx.registry],
      }),
      handled: new Counter({
        name: 'payment_webhooks_total',
        help: 'Verified webhook deliveries by provider and outcome: applied, unchanged, duplicate, ignored, deferred (503: the credit queue was full)',
        labelNames: ['provider', 'outcome'] as const,
        registers: [ctx.registry],
      }),
    });
    const taskDeps = {
      store,
      payments,
      clock,
      logger,
      sagaPollMs: config.PAYMENT_SAGA_POLL_MS,
      reconcileIntervalMs: config.PAYMENT_RECONCILE_INTERVAL_MS,
      reconcileAfterMs: config.PAYMENT_RECONCILE_AFTER_MS,
      reconciled: new Counter({
        name: 'payment_reconciled_total',
        help: 'Stuck payments reconciliation asked their provider about, by outcome: changed, unchanged, failed',
        labelNames: ['outcome'] as const,
        registers: [ctx.registry],
      }),
    };
    const reports = createReportStore(ctx.sql);
    const dailyReport = createDailyReport({
      reports,
      ledger: ledgerReaderFromClient(ctx.client(LedgerInternalService, userUrl)),
      clock,
      logger,
      currencies: [config.REAL_CURRENCY],
      intervalMs: config.PAYMENT_REPORT_INTERVAL_MS,
      difference: new Gauge({
        name: 'payment_reconciliation_difference_minor',
        help: "Provider-confirmed minus ledger-moved money of the last complete UTC day, minor units, by currency and kind; non-zero = that day's report is flagged",
        labelNames: ['currency', 'kind'] as const,
        registers: [ctx.registry],
      }),
      flaggedDays: new Counter({
        name: 'payment_reconciliation_flagged_days_total',
        help: 'Complete UTC days whose provider-vs-ledger report was flagged, by currency and kind',
        labelNames: ['currency', 'kind'] as const,
        registers: [ctx.registry],
      }),
    });
    return {
      routes(router) {
        router.service(
          PaymentService,
          createPaymentServiceImpl({ payments, store, reports, clock }),
        );
      },
      policy: paymentPolicy,
      http: (req, res) => {
        const url = new URL(req.url ?? '/', 'http://payment');
        if (req.method !== 'POST') return false;
        if (url.pathname === '/webhooks/stripe') {
          void serve(req, res, (body) => webhooks.stripe(body, req.headers), logger);
          return true;
        }
        if (url.pathname === '/webhooks/mercadopago') {
          void serve(
            req,
            res,
            (body) => webhooks.mercadoPago(body, req.headers, url.searchParams),
            logger,
          );
          return true;
        }
        if (url.pathname === '/fake/simulate' && fakes !== undefined) {
          void serve(
            req,
            res,
            async (body) => {
              try {
                const ask = JSON.parse(new TextDecoder().decode(body)) as Record<string, string>;
                const delivery = await simulate(
                  fakes,
                  store,
                  String(ask.provider ?? ''),
                  String(ask.outcome ?? ''),
                  String(ask.payment_id ?? ''),
                );
                return { status: 200, body: { ...delivery } };
              } catch (error) {
                return { status: 400, body: { error: (error as Error).message } };
              }
            },
            logger,
          );
          return true;
        }
        return false;
      },
      tasks: [createSagaTask(taskDeps), createReconciliationTask(taskDeps), dailyReport.task],
      async stop() {
        await fakes?.close();
      },
    };
  },
};

async function serve(
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  handle: (body: Uint8Array) => Promise<WebhookAnswer>,
  logger: Logger,
): Promise<void> {
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxWebhookBytes) {
        writeHead(res, 413, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `body larger than ${maxWebhookBytes} bytes` }));
        return;
      }
      chunks.push(chunk);
    }
    const answer = await handle(new Uint8Array(Buffer.concat(chunks)));
    writeHead(res, answer.status, { ...answer.headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  } catch (error) {
    logger.error({ err: error }, 'payment HTTP route failed');
    if (!res.headersSent) writeHead(res, 500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'internal error' }));
  }
}
