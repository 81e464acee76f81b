/**
 * One browser test's world: the whole embedded platform on free ports, the seed kit (people,
 * channels, play money — the same one `npm start`'s demo uses), the web app built from its
 * sources into a folder of its own and served on one origin with the gateway, and a Chromium
 * context. Each `*.e2e.spec.ts` of this app starts one in `beforeAll` and closes it in `afterAll`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@streambet/gateway/embedded-platform';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { KycDocumentType } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { KycDecision } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { createApi, createApiTransport } from '@streambet/client';
import { createSeedKit, seedPassword, type SeedKit } from '@streambet/gateway/seed';
import {
  buildApp,
  hasFocus,
  launchBrowser,
  startAppServer,
  tabTo,
  waitMs,
  type BrowserSession,
} from '@streambet/testkit/browser';
import { pgliteTemplate } from '@streambet/testkit/sql';
import { expect } from 'vitest';

/** The web app's folder (apps/web). */
export const webAppDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What {@link startWebTest} started. */
export interface WebTest {
  readonly platform: EmbeddedPlatform;
  readonly kit: SeedKit;
  /** The app's origin (API and socket on the same origin). */
  readonly appUrl: string;
  readonly browser: BrowserSession;
  /** Opens `pathAndQuery` (e.g. `/?view=wallet`) of the app in a new tab. */
  newPage(pathAndQuery?: string, options?: { fakeClock?: boolean }): Promise<Page>;
  close(): Promise<void>;
}

/** Options of {@link startWebTest}. */
export interface WebTestOptions {
  /** Extra environment for the platform (e.g. lowered limits); LOG_LEVEL is silent by default. */
  readonly env?: Readonly<Record<string, string>>;
  /** Gateway paths the app's origin passes on besides the APIs, e.g. `/dev/` (dev mailbox). */
  readonly passPrefixes?: readonly string[];
}

/** Builds the app, starts the platform and the browser; call `close()` in `afterAll`. */
export async function startWebTest(options: WebTestOptions = {}): Promise<WebTest> {
  const [distDir, template] = await Promise.all([buildApp(webAppDir), pgliteTemplate()]);
  const platform = await startEmbeddedPlatform({
    ports: 'free',
    env: { LOG_LEVEL: 'silent', ...options.env },
    template,
  });
  const kit = createSeedKit({
    gatewayUrl: platform.gatewayUrl,
    userServiceUrl: platform.serviceUrls.get('user')!,
    serviceToken: (service: string) => platform.serviceToken(service),
    bus: platform.bus,
  });
  const server = await startAppServer(distDir, platform.gatewayUrl, {
    passPrefixes: ['/dev/', '/webhooks/', ...(options.passPrefixes ?? [])],
  });
  const browser = await launchBrowser();
  return {
    platform,
    kit,
    appUrl: server.url,
    browser,
    newPage: (pathAndQuery = '/', pageOptions) =>
      browser.newPage(new URL(pathAndQuery, server.url).toString(), pageOptions),
    async close() {
      await browser.close();
      await server.close();
      await platform.shutdown();
      await fs.rm(distDir, { recursive: true, force: true });
    },
  };
}

/** A registered user's id and the headers that call the API as them. */
export interface RegisteredUser {
  readonly userId: string;
  readonly email: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The password every test user registers with. */
export const testPassword = 'a long enough password';

/** Registers `name` from the auth form with the mouse, then logs in through the API as well. */
export async function registerInBrowser(
  page: Page,
  kit: SeedKit,
  name: string,
): Promise<RegisteredUser> {
  const email = `${name.toLowerCase()}@example.com`;
  await page.getByTestId('auth-mode-register').click();
  await page.getByTestId('auth-email').fill(email);
  await page.getByTestId('auth-password').fill(testPassword);
  await page.getByTestId('auth-display-name').fill(name);
  await page.getByTestId('auth-dob').fill('1992-03-04');
  await page.getByTestId('auth-submit').click();
  await page
    .getByTestId('user-display-name')
    .filter({ hasText: name })
    .waitFor({ timeout: waitMs });
  const login = await kit.users.login({ email, password: testPassword });
  return {
    userId: login.user!.userId,
    email,
    headers: { authorization: `Bearer ${login.tokens!.accessToken}` },
  };
}

/** Registers `name` from the auth form with the keyboard only (the date of birth keeps its default). */
export async function registerByKeyboard(
  page: Page,
  kit: SeedKit,
  name: string,
): Promise<RegisteredUser> {
  const email = `${name.toLowerCase()}@example.com`;
  await tabTo(page, '[data-testid="auth-mode-register"]');
  await page.keyboard.press('Enter');
  await tabTo(page, '[data-testid="auth-email"]');
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  expect(await hasFocus(page, '[data-testid="auth-password"]')).toBe(true);
  await page.keyboard.type(testPassword);
  await page.keyboard.press('Tab');
  expect(await hasFocus(page, '[data-testid="auth-display-name"]')).toBe(true);
  await page.keyboard.type(name);
  await tabTo(page, '[data-testid="auth-submit"]');
  await page.keyboard.press('Enter');
  await page
    .getByTestId('user-display-name')
    .filter({ hasText: name })
    .waitFor({ timeout: waitMs });
  const login = await kit.users.login({ email, password: testPassword });
  return {
    userId: login.user!.userId,
    email,
    headers: { authorization: `Bearer ${login.tokens!.accessToken}` },
  };
}

/**
 * What `npm run simulate -- <provider> <outcome> <payment id>` does: the payment service's fake
 * moves its object and hands back the provider's signed webhook, POSTed to the app's origin (the
 * gateway's `/webhooks/…`), which must accept it.
 */
export async function simulatePayment(
  web: WebTest,
  provider: string,
  outcome: string,
  paymentId: string,
): Promise<void> {
  const paymentUrl = web.platform.serviceUrls.get('payment')!;
  const control = await fetch(new URL('/fake/simulate', paymentUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider, outcome, payment_id: paymentId }),
  });
  const delivery = (await control.json()) as {
    path: string;
    headers: Record<string, string>;
    body: string;
  };
  expect(control.status, JSON.stringify(delivery)).toBe(200);
  const answer = await fetch(new URL(delivery.path, web.appUrl), {
    method: 'POST',
    headers: delivery.headers,
    body: delivery.body,
  });
  expect(answer.status, await answer.text()).toBe(200);
}

/**
 * Approves a user's KYC as an admin would: StartKyc as the user, then ReviewKyc by an admin made
 * the way `npm run admin -- grant` makes one (SetUserRole with the user service's credential,
 * sent to the user service itself because the edge refuses service credentials).
 */
export async function passKyc(
  web: WebTest,
  userHeaders: Readonly<Record<string, string>>,
  legalName: string,
): Promise<void> {
  const users = web.kit.users;
  const started = await users.startKyc(
    {
      legalName,
      documentType: KycDocumentType.TAX_ID,
      documentNumber: '52998224725',
      documentCountry: 'BR',
    },
    { headers: userHeaders },
  );
  const admin = await web.kit.registerOrLogin('kyc-reviewer@example.com', 'KycReviewer');
  const serviceToken = await web.platform.serviceToken('user');
  const direct = createApi(
    createApiTransport({
      baseUrl: web.platform.serviceUrls.get('user')!,
      accessToken: () => serviceToken,
    }),
  );
  await direct.users.setUserRole({
    userId: admin.userId,
    role: Role.ADMIN,
    granted: true,
    reason: 'browser test KYC reviewer',
  });
  const login = await users.login({ email: admin.email, password: seedPassword });
  await users.reviewKyc(
    { kycCaseId: started.kycCase!.kycCaseId, decision: KycDecision.APPROVE },
    { headers: { authorization: `Bearer ${login.tokens!.accessToken}` } },
  );
}
