/** The payment service's config reader: providers per run mode, required keys, limits. */
import { ConfigError } from '@streambet/platform/config/load-config';
import { describe, expect, it } from 'vitest';
import {
  configuredProviders,
  loadPaymentConfig,
  paymentLimits,
  providerMode,
} from '../src/config.js';

const base = {
  SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify({ kty: 'OKP', kid: 'payment:1' }),
  SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify({ keys: [{ kty: 'OKP', kid: 'payment:1' }] }),
};
const cluster = {
  ...base,
  STREAMBET_MODE: 'cluster',
  DATABASE_URL: 'postgres://postgres@db:5432/streambet_payment',
  EVENT_BUS: 'redis-streams',
  CACHE: 'redis',
};
const liveKeys = {
  PAYMENT_STRIPE_SECRET_KEY: 'sk_live_x',
  PAYMENT_STRIPE_PUBLISHABLE_KEY: 'pk_live_x',
  PAYMENT_STRIPE_WEBHOOK_SECRET: 'whsec_x',
  PAYMENT_MERCADOPAGO_ACCESS_TOKEN: 'APP_USR-x',
  PAYMENT_MERCADOPAGO_WEBHOOK_SECRET: 'mp-secret',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadPaymentConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => `${p.name}: ${p.problem}`);
  }
}

describe('payment config', () => {
  it('embedded mode runs the fake providers with the default limits', () => {
    const config = loadPaymentConfig({ ...base, STREAMBET_MODE: 'embedded' });
    expect(providerMode(config)).toBe('fake');
    expect(paymentLimits(config)).toMatchObject({
      realCurrency: 'BRL',
      depositMinMinor: 500n,
      withdrawalsPerDay: 5,
    });
  });

  it('cluster mode refuses fake providers', () => {
    expect(problems({ ...cluster, ...liveKeys, PAYMENT_PROVIDERS: 'fake' })).toEqual([
      expect.stringMatching(/^PAYMENT_PROVIDERS: is fake but STREAMBET_MODE=cluster/),
    ]);
  });

  it('live providers without keys start with those payments refused; half a set is refused', () => {
    const bare = loadPaymentConfig(cluster);
    expect(providerMode(bare)).toBe('live');
    expect(configuredProviders(bare)).toEqual({ STRIPE: false, MERCADOPAGO_PIX: false });
    const full = loadPaymentConfig({ ...cluster, ...liveKeys });
    expect(configuredProviders(full)).toEqual({ STRIPE: true, MERCADOPAGO_PIX: true });
    expect(problems({ ...cluster, PAYMENT_STRIPE_SECRET_KEY: 'sk_live_x' })).toEqual([
      'PAYMENT_STRIPE_PUBLISHABLE_KEY: is not set but other Stripe keys are',
      'PAYMENT_STRIPE_WEBHOOK_SECRET: is not set but other Stripe keys are',
    ]);
  });

  it('a minimum above its maximum is refused', () => {
    expect(
      problems({
        ...base,
        STREAMBET_MODE: 'embedded',
        PAYMENT_WITHDRAWAL_MIN_MINOR: '9000',
        PAYMENT_WITHDRAWAL_MAX_MINOR: '8000',
      }),
    ).toEqual(['PAYMENT_WITHDRAWAL_MIN_MINOR: is above PAYMENT_WITHDRAWAL_MAX_MINOR']);
  });
});
