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
import { createSeedKit, type SeedKit } from '@streambet/gateway/seed';
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
