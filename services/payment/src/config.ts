import {
  ConfigError,
  configSchemas,
  defineConfig,
  loadConfig,
  type Config,
  type ConfigProblem,
  type Environment,
} from '@streambet/platform/config/load-config';
import {
  checkPlatformConfig,
  platformConfigSpec,
} from '@streambet/platform/runtime/platform-config';
import { z } from 'zod';
import type { PaymentLimits } from './domain/limits.js';

const optionalSecret = z.string();
const money = (min = 1) => configSchemas.int(min, Number.MAX_SAFE_INTEGER);

/**
 * Every environment variable the payment service reads; this file is the only reader of the
 * environment in the service (style.md). The README's variable table is generated from it.
 */
export const paymentConfigSpec = defineConfig({
  ...platformConfigSpec('payment', ['user']),
  REAL_CURRENCY: {
    schema: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as BRL or USD'),
    description:
      "The deployment's one real-money currency (ISO 4217); PTS is always the play currency",
    default: 'BRL',
  },
  PAYMENT_PROVIDERS: {
    schema: configSchemas.oneOf(['auto', 'fake', 'live']),
    description:
      "Which payment providers the service talks to: fake (local Stripe and MercadoPago fakes in this process, test money; STREAMBET_MODE=embedded only), live (the providers' APIs with the PAYMENT_STRIPE_* and PAYMENT_MERCADOPAGO_* keys) or auto (fake when embedded, live in cluster mode)",
    default: 'auto',
  },
  PAYMENT_DEPOSIT_MIN_MINOR: {
    schema: money(),
    description: 'Smallest deposit, minor units of REAL_CURRENCY',
    default: '500',
  },
  PAYMENT_DEPOSIT_MAX_MINOR: {
    schema: money(),
    description: 'Largest single deposit, minor units of REAL_CURRENCY',
    default: '1000000',
  },
  PAYMENT_WITHDRAWAL_MIN_MINOR: {
    schema: money(),
    description: 'Smallest withdrawal, minor units of REAL_CURRENCY',
    default: '1000',
  },
  PAYMENT_WITHDRAWAL_MAX_MINOR: {
    schema: money(),
    description: 'Largest single withdrawal, minor units of REAL_CURRENCY',
    default: '500000',
  },
  PAYMENT_WITHDRAWALS_PER_DAY: {
    schema: configSchemas.int(1, 1000),
    description:
      'Withdrawals (not failed) one user may request per 24 hours; more get RESOURCE_EXHAUSTED',
    default: '5',
  },
  PAYMENT_WITHDRAWAL_MAX_PER_DAY_MINOR: {
    schema: money(),
    description:
      'Money (not failed withdrawals) one user may withdraw per 24 hours, minor units of REAL_CURRENCY',
    default: '1000000',
  },
  PAYMENT_PIX_EXPIRY_SECONDS: {
    schema: configSchemas.int(60, 7 * 86_400),
    description: 'How long a Pix QR code stays payable; the deposit then becomes EXPIRED',
    default: '1800',
  },
  PAYMENT_CARD_DEPOSIT_TIMEOUT_SECONDS: {
    schema: configSchemas.int(60, 7 * 86_400),
    description:
      'How long an unpaid card deposit waits for its payer before it is canceled at Stripe and becomes CANCELED',
    default: '86400',
  },
  PAYMENT_PROVIDER_TIMEOUT_MS: {
    schema: configSchemas.int(100, 120_000),
    description:
      "Deadline of each call to a payment provider's API, in ms; an unanswered payout is then resolved by asking the provider",
    default: '10000',
  },
  PAYMENT_SAGA_POLL_MS: {
    schema: configSchemas.int(50, 60_000),
    description:
      'How often the service resumes unfinished withdrawals (hold, payout, provider outcome) that are due, in ms',
    default: '1000',
  },
  PAYMENT_RECONCILE_INTERVAL_MS: {
    schema: configSchemas.int(1000, 86_400_000),
    description:
      'How often the reconciliation job asks the providers about payments stuck in a non-final state, in ms',
    default: '60000',
  },
  PAYMENT_CREDIT_BATCH_MAX: {
    schema: configSchemas.int(1, 1000),
    description:
      'Most deposit credits applied together: one ledger call and one payment transaction for the webhooks that arrived while the previous batch was committing',
    default: '200',
  },
  PAYMENT_WEBHOOK_QUEUE_MAX: {
    schema: configSchemas.int(1, 100_000),
    description:
      'Deposit credits waiting or in flight above which a webhook is answered 503 with Retry-After at once (the provider delivers again later) instead of waiting past the gateway timeout',
    default: '1000',
  },
  PAYMENT_RECONCILE_AFTER_MS: {
    schema: configSchemas.int(0, 86_400_000),
    description:
      'A payment unchanged for this long in a non-final state is stuck: reconciliation asks its provider, in ms',
    default: '300000',
  },
  PAYMENT_REPORT_INTERVAL_MS: {
    schema: configSchemas.int(1000, 86_400_000),
    description:
      "How often the daily provider-vs-ledger report recomputes yesterday's and today's totals (UTC days), in ms",
    default: '3600000',
  },
  PAYMENT_STRIPE_API_URL: {
    schema: configSchemas.url(['https:', 'http:']),
    description: "Stripe's API (live providers)",
    default: 'https://api.stripe.com',
  },
  PAYMENT_STRIPE_SECRET_KEY: {
    schema: optionalSecret,
    description:
      'Stripe secret API key (sk_…) with live providers; unset = card payments refused (FAILED_PRECONDITION)',
    default: '',
    secret: true,
  },
  PAYMENT_STRIPE_PUBLISHABLE_KEY: {
    schema: z.string(),
    description:
      'Stripe publishable key (pk_…) handed to clients to confirm card deposits (live providers)',
    default: '',
  },
  PAYMENT_STRIPE_WEBHOOK_SECRET: {
    schema: optionalSecret,
    description:
      'Signing secret (whsec_…) of the Stripe webhook endpoint /webhooks/stripe (live providers)',
    default: '',
    secret: true,
  },
  PAYMENT_MERCADOPAGO_API_URL: {
    schema: configSchemas.url(['https:', 'http:']),
    description: "MercadoPago's API (live providers)",
    default: 'https://api.mercadopago.com',
  },
  PAYMENT_MERCADOPAGO_ACCESS_TOKEN: {
    schema: optionalSecret,
    description:
      'MercadoPago access token (Bearer) with live providers; unset = Pix payments refused (FAILED_PRECONDITION)',
    default: '',
    secret: true,
  },
  PAYMENT_MERCADOPAGO_WEBHOOK_SECRET: {
    schema: optionalSecret,
    description: "MercadoPago application's webhook secret (x-signature HMAC) (live providers)",
    default: '',
    secret: true,
  },
  PAYMENT_MERCADOPAGO_NOTIFICATION_URL: {
    schema: z.string(),
    description:
      'Public URL of /webhooks/mercadopago sent with each Pix charge and payout (notification_url); empty = the one set in the MercadoPago application',
    default: '',
  },
});

/** The payment service's configuration, validated and frozen. */
export type PaymentConfig = Config<typeof paymentConfigSpec>;

/**
 * The webhook secrets of the fake providers: fixed and public, since fake providers move test
 * money only (and exist only with STREAMBET_MODE=embedded). `npm run simulate` signs with them.
 */
export const fakeSecrets = Object.freeze({
  stripeSecretKey: 'sk_test_streambet_fake',
  stripePublishableKey: 'pk_test_streambet_fake',
  stripeWebhookSecret: 'whsec_streambet_fake_provider',
  mercadoPagoAccessToken: 'TEST-streambet-fake',
  mercadoPagoWebhookSecret: 'streambet-fake-mercadopago-secret',
});

/** The keys of each live provider: all set (configured) or none. */
export const providerKeys = {
  Stripe: [
    'PAYMENT_STRIPE_SECRET_KEY',
    'PAYMENT_STRIPE_PUBLISHABLE_KEY',
    'PAYMENT_STRIPE_WEBHOOK_SECRET',
  ],
  MercadoPago: ['PAYMENT_MERCADOPAGO_ACCESS_TOKEN', 'PAYMENT_MERCADOPAGO_WEBHOOK_SECRET'],
} as const;

/** Which live providers have their keys (fake providers are always configured). */
export function configuredProviders(config: PaymentConfig): {
  readonly STRIPE: boolean;
  readonly MERCADOPAGO_PIX: boolean;
} {
  const fake = providerMode(config) === 'fake';
  return {
    STRIPE: fake || providerKeys.Stripe.every((name) => config[name] !== ''),
    MERCADOPAGO_PIX: fake || providerKeys.MercadoPago.every((name) => config[name] !== ''),
  };
}

/** Which providers run, as the config resolves PAYMENT_PROVIDERS=auto. */
export function providerMode(config: PaymentConfig): 'fake' | 'live' {
  if (config.PAYMENT_PROVIDERS !== 'auto') return config.PAYMENT_PROVIDERS;
  return config.STREAMBET_MODE === 'embedded' ? 'fake' : 'live';
}

/** The deployment's payment limits. */
export function paymentLimits(config: PaymentConfig): PaymentLimits {
  return {
    realCurrency: config.REAL_CURRENCY,
    depositMinMinor: BigInt(config.PAYMENT_DEPOSIT_MIN_MINOR),
    depositMaxMinor: BigInt(config.PAYMENT_DEPOSIT_MAX_MINOR),
    withdrawalMinMinor: BigInt(config.PAYMENT_WITHDRAWAL_MIN_MINOR),
    withdrawalMaxMinor: BigInt(config.PAYMENT_WITHDRAWAL_MAX_MINOR),
    withdrawalsPerDay: config.PAYMENT_WITHDRAWALS_PER_DAY,
    withdrawalMaxPerDayMinor: BigInt(config.PAYMENT_WITHDRAWAL_MAX_PER_DAY_MINOR),
  };
}

function paymentProblems(config: PaymentConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (config.PAYMENT_PROVIDERS === 'fake' && config.STREAMBET_MODE === 'cluster') {
    problems.push({
      name: 'PAYMENT_PROVIDERS',
      problem: 'is fake but STREAMBET_MODE=cluster (fake providers move test money only)',
      expected: 'live (with the PAYMENT_STRIPE_* and PAYMENT_MERCADOPAGO_* keys) or auto',
    });
  }
  // A provider is configured with all of its keys or none (then its payments are refused with
  // FAILED_PRECONDITION and a warning at start); half a configuration is a mistake.
  for (const [provider, names] of Object.entries(providerKeys)) {
    const set = names.filter((name) => config[name] !== '');
    if (set.length > 0 && set.length < names.length) {
      for (const name of names.filter((n) => config[n] === '')) {
        problems.push({
          name,
          problem: `is not set but other ${provider} keys are`,
          expected: `every ${provider} key, or none (${provider} payments then refused)`,
        });
      }
    }
  }
  const pairs = [
    ['PAYMENT_DEPOSIT_MIN_MINOR', 'PAYMENT_DEPOSIT_MAX_MINOR'],
    ['PAYMENT_WITHDRAWAL_MIN_MINOR', 'PAYMENT_WITHDRAWAL_MAX_MINOR'],
  ] as const;
  for (const [min, max] of pairs) {
    if (config[min] > config[max]) {
      problems.push({ name: min, problem: `is above ${max}`, expected: `at most ${config[max]}` });
    }
  }
  return problems;
}

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadPaymentConfig(env: Environment = process.env): PaymentConfig {
  const config = checkPlatformConfig(loadConfig(paymentConfigSpec, env));
  const problems = paymentProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
