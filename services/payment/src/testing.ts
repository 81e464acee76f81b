/**
 * The payment service for tests and benches: its real store, operations, webhooks and tasks on a
 * given database, PaymentService behind the production interceptor stack on an in-memory Connect
 * transport, the two provider fakes (local HTTP servers the real provider adapters talk to, each
 * behind its circuit breaker), and the user service's ledger and eligibility over a transport the
 * caller supplies (e.g. `@streambet/user/testing`'s routes). Nothing here reads the environment.
 */
import { randomBytes } from 'node:crypto';
import {
  createClient,
  createRouterTransport,
  type Client,
  type Transport,
} from '@connectrpc/connect';
import { PaymentService } from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import type { Logger } from '@streambet/platform/log/logger';
import { platformMigrations } from '@streambet/platform/outbox/index';
import type { Clock } from '@streambet/platform/rpc/clock';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { testLogger, testServerInterceptors } from '@streambet/testkit/rpc';
import type { TestTokens } from '@streambet/testkit/tokens';
import { fakeSecrets } from './config.js';
import type { PaymentLimits } from './domain/limits.js';
import { eligibilityFromClient, ledgerFromClient, ledgerReaderFromClient } from './downstreams.js';
import { startProviderFakes, type ProviderFakes } from './fakes/index.js';
import { paymentMigrations } from './migrations/index.js';
import { createPayments, type Payments, type PaymentsDeps } from './payments.js';
import { paymentPolicy } from './policy.js';
import { guardProvider, type GuardedProvider } from './providers/guarded.js';
import { createMercadoPagoProvider } from './providers/mercadopago.js';
import { createStripeProvider } from './providers/stripe.js';
import { createPaymentServiceImpl } from './routes.js';
import { createPaymentStore, type PaymentStore } from './store.js';
import { createReconciliationTask, createSagaTask, type PollingTask } from './tasks.js';
import { createDailyReport, type DailyReport } from './report.js';
import { createReportStore, type ReportStore } from './report-store.js';
import { createWebhookHandlers } from './webhooks.js';

export { fakeSecrets } from './config.js';
export { signMercadoPago } from './fakes/mercadopago-fake.js';
export type { ProviderFakes } from './fakes/index.js';
export { simulate, startProviderFakes } from './fakes/index.js';
export { transferIds } from './domain/payment.js';

/** Limits of tests unless told otherwise (BRL). */
export const testPaymentLimits: PaymentLimits = {
  realCurrency: 'BRL',
  depositMinMinor: 100n,
  depositMaxMinor: 1_000_000n,
  withdrawalMinMinor: 100n,
  withdrawalMaxMinor: 500_000n,
  withdrawalsPerDay: 5,
  withdrawalMaxPerDayMinor: 1_000_000n,
};

/** Applies the platform's and the payment service's migrations to `sql`. */
export async function migratePayment(sql: Sql): Promise<void> {
  await migrate(sql, 'payment', [...platformMigrations, ...paymentMigrations]);
}

/** Inputs of {@link createPaymentCore}. */
export interface PaymentCoreOptions {
  /** The service's database, already migrated ({@link migratePayment}). */
  readonly sql: Sql;
  readonly clock: Clock;
  /** The user service's LedgerInternalService and UserInternalService. */
  readonly user: Transport;
  /** Base URLs of the Stripe and MercadoPago fakes (maybe in another process). */
  readonly stripeUrl: string;
  readonly mercadoPagoUrl: string;
  readonly limits?: Partial<PaymentLimits>;
  /** Deadline of provider calls; default 2000 ms. */
  readonly providerTimeoutMs?: number;
  readonly onStep?: PaymentsDeps['onStep'];
  /** Which providers have keys; default both. */
  readonly configured?: PaymentsDeps['configured'];
  /** Most credits per batch (PAYMENT_CREDIT_BATCH_MAX); default 200. */
  readonly creditBatchMax?: number;
  /** Credit queue depth above which webhooks answer 503 (PAYMENT_WEBHOOK_QUEUE_MAX); default 1000. */
  readonly creditQueueMax?: number;
  readonly logger?: Logger;
}

/** The payment service's operations, webhooks, tasks and provider breakers, without RPCs. */
export interface PaymentCore {
  readonly store: PaymentStore;
  readonly payments: Payments;
  readonly webhooks: ReturnType<typeof createWebhookHandlers>;
  readonly breakers: { readonly stripe: GuardedProvider; readonly mercadoPago: GuardedProvider };
  readonly saga: PollingTask;
  readonly reconciliation: PollingTask;
  /** The daily provider-vs-ledger report (its `runDay` computes one day now). */
  readonly dailyReport: DailyReport;
  readonly reports: ReportStore;
}

/** Builds the payment service's real pieces over `sql` and the providers at the given URLs. */
export function createPaymentCore(options: PaymentCoreOptions): PaymentCore {
  const { sql, clock } = options;
  const logger = options.logger ?? testLogger('payment');
  const timeoutMs = options.providerTimeoutMs ?? 2000;
  const stripe = guardProvider(
    createStripeProvider({
      apiUrl: options.stripeUrl,
      secretKey: fakeSecrets.stripeSecretKey,
      publishableKey: fakeSecrets.stripePublishableKey,
      timeoutMs,
    }),
    { clock, logger, failureThreshold: 3, resetTimeoutMs: 5000 },
  );
  const mercadoPago = guardProvider(
    createMercadoPagoProvider({
      apiUrl: options.mercadoPagoUrl,
      accessToken: fakeSecrets.mercadoPagoAccessToken,
      timeoutMs,
      notificationUrl: '',
    }),
    { clock, logger, failureThreshold: 3, resetTimeoutMs: 5000 },
  );
  const store = createPaymentStore({ sql, clock });
  const payments = createPayments({
    store,
    ledger: ledgerFromClient(createClient(LedgerInternalService, options.user)),
    eligibility: eligibilityFromClient(createClient(UserInternalService, options.user)),
    providers: { STRIPE: stripe.port, MERCADOPAGO_PIX: mercadoPago.port },
    clock,
    limits: { ...testPaymentLimits, ...options.limits },
    newPaymentId: () => encodeUlid(clock.now(), new Uint8Array(randomBytes(10))),
    pixExpiryMs: 30 * 60_000,
    cardTimeoutMs: 24 * 3_600_000,
    logger,
    ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
    ...(options.configured === undefined ? {} : { configured: options.configured }),
    creditBatchMax: options.creditBatchMax ?? 200,
  });
  const webhooks = createWebhookHandlers({
    payments,
    store,
    clock,
    logger,
    stripeWebhookSecret: fakeSecrets.stripeWebhookSecret,
    mercadoPagoWebhookSecret: fakeSecrets.mercadoPagoWebhookSecret,
    mercadoPago: mercadoPago.port,
    creditQueueMax: options.creditQueueMax ?? 1000,
  });
  const taskDeps = {
    store,
    payments,
    clock,
    logger,
    sagaPollMs: 1000,
    reconcileIntervalMs: 60_000,
    reconcileAfterMs: 300_000,
  };
  const reports = createReportStore(sql);
  return {
    store,
    payments,
    webhooks,
    breakers: { stripe, mercadoPago },
    saga: createSagaTask(taskDeps),
    reconciliation: createReconciliationTask(taskDeps),
    reports,
    dailyReport: createDailyReport({
      reports,
      ledger: ledgerReaderFromClient(createClient(LedgerInternalService, options.user)),
      clock,
      logger,
      currencies: [options.limits?.realCurrency ?? testPaymentLimits.realCurrency],
      intervalMs: 3_600_000,
    }),
  };
}

/** Inputs of {@link createPaymentTestService}. */
export interface PaymentTestServiceOptions extends Omit<
  PaymentCoreOptions,
  'stripeUrl' | 'mercadoPagoUrl'
> {
  /** Keys the interceptors' auth verifies callers' tokens with. */
  readonly tokens: TestTokens;
  /** Provider fakes to use; default: started here (and closed by `close`). */
  readonly fakes?: ProviderFakes;
}

/** The payment service's real pieces on one database, and PaymentService in memory. */
export interface PaymentTestService extends PaymentCore {
  readonly fakes: ProviderFakes;
  readonly transport: Transport;
  readonly payment: Client<typeof PaymentService>;
  close(): Promise<void>;
}

/** Migrates `sql` and serves the payment service's real handlers on an in-memory transport. */
export async function createPaymentTestService(
  options: PaymentTestServiceOptions,
): Promise<PaymentTestService> {
  await migratePayment(options.sql);
  const logger = options.logger ?? testLogger('payment');
  const ownFakes = options.fakes === undefined;
  const fakes = options.fakes ?? (await startProviderFakes(() => options.clock.now()));
  const core = createPaymentCore({
    ...options,
    logger,
    stripeUrl: fakes.stripe.url,
    mercadoPagoUrl: fakes.mercadoPago.url,
  });
  const transport = createRouterTransport(
    (router) =>
      router.service(
        PaymentService,
        createPaymentServiceImpl({
          payments: core.payments,
          store: core.store,
          reports: core.reports,
          clock: options.clock,
        }),
      ),
    {
      router: {
        interceptors: testServerInterceptors(options.tokens, paymentPolicy, 'payment', logger),
      },
    },
  );
  return {
    ...core,
    fakes,
    transport,
    payment: createClient(PaymentService, transport),
    async close() {
      if (ownFakes) await fakes.close();
    },
  };
}
