/**
 * Test mode end to end on the embedded platform (what `npm start` runs): the payment service comes
 * up with its fake providers, a registered viewer starts a card deposit and a Pix deposit through
 * the gateway, and `npm run simulate -- <provider> succeed <payment id>` (the real script, as a
 * child process) makes the fake provider send its signed webhook through the gateway's
 * `/webhooks/<provider>` to the payment service, which credits the wallet once. A forged delivery
 * through the gateway is refused with 400 and counted on the payment service's /metrics.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient, type Client } from '@connectrpc/connect';
import {
  PaymentProvider,
  PaymentService,
  PaymentStatus,
} from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@streambet/gateway/embedded-platform';
import { createSeedKit, serviceTokensFrom, type Actor } from '@streambet/gateway/seed';
import { generateServiceKeys } from '@streambet/platform/auth/tokens';
import { servicePorts } from '@streambet/platform/runtime/platform-config';
import { tsxBin } from '@streambet/testkit/process';
import { pgliteTemplate } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let platform: EmbeddedPlatform;
let viewer: Actor;
let payments: Client<typeof PaymentService>;
let users: Client<typeof UserService>;

beforeAll(async () => {
  const pair = await generateServiceKeys(Object.keys(servicePorts));
  platform = await startEmbeddedPlatform({
    ports: 'free',
    env: { LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent', USER_SCRYPT_LOG_N: '10' },
    template: await pgliteTemplate(),
    keys: { servicePrivateJwks: pair.privateJwks, servicePublicJwks: pair.publicJwks },
  });
  const kit = createSeedKit({
    gatewayUrl: platform.gatewayUrl,
    userServiceUrl: platform.serviceUrls.get('user')!,
    serviceToken: serviceTokensFrom(pair.privateJwks),
    bus: platform.bus,
  });
  viewer = await kit.register('payer@example.com', 'Payer');
  payments = createClient(PaymentService, kit.connect);
  users = createClient(UserService, kit.connect);
}, 120_000);

afterAll(async () => {
  await platform?.shutdown();
});

async function simulate(provider: string, outcome: string, paymentId: string) {
  return run(tsxBin, ['scripts/simulate.ts', provider, outcome, paymentId], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PAYMENT_SERVICE_URL: platform.serviceUrls.get('payment')!,
      GATEWAY_URL: platform.gatewayUrl,
    },
  });
}

async function realBalance(): Promise<bigint> {
  const wallet = await users.getWallet({}, { headers: viewer.headers });
  return wallet.balances.find((b) => b.currency === 'BRL')?.availableMinor ?? 0n;
}

describe('test mode: fake providers and npm run simulate', () => {
  it('a card deposit is credited once by the simulated, signed Stripe webhook', async () => {
    const { payment, nextAction } = await payments.createDeposit(
      {
        idempotencyKey: 'e2e-card',
        provider: PaymentProvider.STRIPE,
        amount: { currency: 'BRL', amountMinor: 2500n },
      },
      { headers: viewer.headers },
    );
    expect(payment?.status).toBe(PaymentStatus.REQUIRES_ACTION);
    expect(nextAction?.action.case).toBe('stripe');
    const { stdout } = await simulate('stripe', 'succeed', payment!.paymentId);
    expect(stdout).toContain('200 {"status":"applied"}');
    const got = await payments.getPayment(
      { paymentId: payment!.paymentId },
      { headers: viewer.headers },
    );
    expect(got.payment?.status).toBe(PaymentStatus.SUCCEEDED);
    expect(await realBalance()).toBe(2500n);
  }, 60_000);

  it('a Pix deposit is credited by the simulated MercadoPago notification', async () => {
    const { payment } = await payments.createDeposit(
      {
        idempotencyKey: 'e2e-pix',
        provider: PaymentProvider.MERCADOPAGO_PIX,
        amount: { currency: 'BRL', amountMinor: 1000n },
      },
      { headers: viewer.headers },
    );
    const { stdout } = await simulate('mercadopago', 'succeed', payment!.paymentId);
    expect(stdout).toContain('200 {"status":"applied"}');
    expect(await realBalance()).toBe(3500n);
  }, 60_000);

  it('a forged webhook through the gateway is refused and counted', async () => {
    const answer = await fetch(`${platform.gatewayUrl}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
      body: '{"id":"evt_forged","type":"payment_intent.succeeded"}',
    });
    expect(answer.status).toBe(400);
    const metrics = await (await fetch(`${platform.serviceUrls.get('payment')!}/metrics`)).text();
    expect(metrics).toMatch(/payment_webhooks_rejected_total\{[^}]*provider="stripe"[^}]*\} 1/);
    expect(await realBalance()).toBe(3500n);
  });
});
