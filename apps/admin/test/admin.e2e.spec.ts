/**
 * The admin console in Chromium against the whole embedded platform:
 * - the operator's `npm run admin -- grant <email>` makes the first admin; a viewer does not get
 *   past the console's login, the admin does;
 * - a scripted alt account (registered on the streamer's device) bets on the streamer's market,
 *   the fraud rule raises STREAMER_ALT_BETTING, and the admin confirms it from the Fraud page;
 * - the admin locks the market (Markets) and freezes the alt (Users), each with a reason;
 * - the Audit page finds those actions, and its export of the `user` partition passes
 *   `npm run audit -- verify`.
 * Every page: screenshot (WEB_TEST_SCREENSHOTS=<dir>), axe clean at desktop and phone widths.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from '@connectrpc/connect';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnalyticsService,
  FraudFlagStatus,
  FraudRule,
} from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { BetEngineService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketKind, MarketState } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { AccountStatus } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@streambet/gateway/embedded-platform';
import { createSeedKit, newChannelId, seedPassword, type SeedKit } from '@streambet/gateway/seed';
import { generateServiceKeys } from '@streambet/platform/auth/tokens';
import { servicePorts } from '@streambet/platform/runtime/platform-config';
import {
  buildApp,
  chromiumPath,
  codeOf,
  eventually,
  expectAccessible,
  hasFocus,
  launchBrowser,
  screenshot,
  startAppServer,
  tabTo,
  waitMs,
  type AppServer,
  type BrowserSession,
} from '@streambet/testkit/browser';
import { pgliteTemplate } from '@streambet/testkit/sql';

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(appDir, '../..');
const run = promisify(execFile);

describe.skipIf(!existsSync(chromiumPath))('admin console', () => {
  let platform: EmbeddedPlatform;
  let kit: SeedKit;
  let server: AppServer;
  let browser: BrowserSession;
  let distDir: string;
  let userServiceKey: string;
  let page: Page;
  const adminEmail = 'chief.admin@example.com';
  let admin: { headers: Record<string, string> };

  beforeAll(async () => {
    const keys = await generateServiceKeys(Object.keys(servicePorts));
    userServiceKey = JSON.stringify(keys.privateJwks.user);
    const [dist, template] = await Promise.all([buildApp(appDir), pgliteTemplate()]);
    distDir = dist;
    platform = await startEmbeddedPlatform({
      ports: 'free',
      env: { LOG_LEVEL: 'silent' },
      template,
      keys: { servicePrivateJwks: keys.privateJwks, servicePublicJwks: keys.publicJwks },
    });
    kit = createSeedKit({
      gatewayUrl: platform.gatewayUrl,
      userServiceUrl: platform.serviceUrls.get('user')!,
      serviceToken: (service: string) => platform.serviceToken(service),
      bus: platform.bus,
    });
    server = await startAppServer(distDir, platform.gatewayUrl);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await platform?.shutdown();
    if (distDir !== undefined) await fs.rm(distDir, { recursive: true, force: true });
  });

  async function signIn(email: string): Promise<void> {
    await page.getByTestId('login-email').fill(email);
    await page.getByTestId('login-password').fill(seedPassword);
    await page.getByTestId('login-submit').click();
  }

  /** Opens an action's form, gives the reason, confirms when destructive, and submits. */
  async function act(testId: string, reason: string, destructive: boolean): Promise<string> {
    await page.getByTestId(`${testId}-open`).first().click();
    await page.getByTestId(`${testId}-reason`).fill(reason);
    if (destructive) {
      await expect(page.getByTestId(`${testId}-submit`).isDisabled()).resolves.toBe(true);
      await page.getByTestId(`${testId}-confirm`).check();
    }
    await page.getByTestId(`${testId}-submit`).click();
    return eventually(`the result of ${testId}`, async () => {
      const text = await page.getByTestId('action-result').innerText();
      return text === '' ? undefined : text;
    });
  }

  it('given the operator granted the first admin, then only that admin gets past the login', async () => {
    await kit.register(adminEmail, 'Chief_admin');
    const viewer = await kit.register('plain.viewer@example.com', 'Plain_viewer');
    const granted = await run('npm', ['run', '-s', 'admin', '--', 'grant', adminEmail], {
      cwd: repoRoot,
      env: {
        ...process.env,
        SERVICE_TOKEN_PRIVATE_JWK: userServiceKey,
        USER_SERVICE_URL: platform.serviceUrls.get('user')!,
      },
    });
    expect(granted.stdout).toMatch(
      /^granted: chief\.admin@example\.com \(\w{26}\) now has roles viewer, admin/,
    );
    const login = await kit.users.login({ email: adminEmail, password: seedPassword });
    admin = { headers: { authorization: `Bearer ${login.tokens!.accessToken}` } };

    page = await browser.newPage(`${server.url}/`);
    await page.getByTestId('login-form').waitFor({ timeout: waitMs });
    await expectAccessible(page, 'the console login');
    await screenshot(page, 'admin-login');
    await signIn(viewer.email);
    await expect(page.getByTestId('login-error').innerText()).resolves.toContain('is not an admin');
    // Server side too: the viewer's token is refused by an admin RPC.
    expect((await codeOf(kit.users.listUsers({}, { headers: viewer.headers })))?.code).toBe(7);

    await signIn(adminEmail);
    await page.getByTestId('page-overview').waitFor({ timeout: waitMs });
    await page.getByTestId('chart-money').locator('canvas').first().waitFor({ timeout: waitMs });
    await eventually('the metrics and the open-market count', async () =>
      /\d/.test(await page.getByTestId('tile-open-markets').innerText()) &&
      /\d/.test(await page.getByTestId('tile-handle').innerText())
        ? true
        : undefined,
    );
    expect(await page.getByRole('alert').count()).toBe(0);
    await expectAccessible(page, 'the overview');
    await screenshot(page, 'admin-overview');
    // Keyboard: the pages are reachable with Tab and Enter.
    await tabTo(page, '[data-testid="nav-users"]');
    expect(await hasFocus(page, '[data-testid="nav-users"]')).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByTestId('page-users').waitFor({ timeout: waitMs });
  });

  it("given an alt account on the streamer's device bets on the streamer's market, then the flag is confirmed, the market locked and the alt frozen from the console", async () => {
    // --- The scripted scenario: the streamer and the alt register from one device.
    const device = 'shared-phone-7f3a';
    const register = async (email: string, displayName: string) => {
      const res = await kit.users.register({
        email,
        password: seedPassword,
        dateOfBirth: { year: 1991, month: 5, day: 6 },
        displayName,
        deviceId: device,
      });
      const accessToken = res.tokens!.accessToken;
      return {
        userId: res.user!.userId,
        email,
        accessToken,
        headers: { authorization: `Bearer ${accessToken}` },
      };
    };
    const channelId = newChannelId();
    const streamer = await kit.makeStreamer(
      await register('sly.streamer@example.com', 'Sly_streamer'),
      seedPassword,
      channelId,
      'slystreamer',
    );
    const alt = await register('totally.unrelated@example.com', 'Totally_unrelated');
    const market = (
      await kit.pool.createMarket(
        {
          idempotencyKey: 'admin-e2e-market',
          channelId,
          title: 'Will the streamer throw this match?',
          outcomes: [{ title: 'Yes' }, { title: 'No' }],
          currency: 'PTS',
          kind: MarketKind.POOL,
          bettingWindowSeconds: 600,
          openNow: true,
        },
        { headers: streamer.headers },
      )
    ).market!;
    const bets = createClient(BetEngineService, kit.connect);
    await eventually('the bet engine to know the market', async () =>
      (await codeOf(bets.getOdds({ marketId: market.marketId }))) === undefined ? true : undefined,
    );
    await kit.grantPoints(alt.userId, 5_000n, `admin-e2e-${alt.userId}`);
    await bets.placeBet(
      {
        idempotencyKey: 'alt-bet-1',
        marketId: market.marketId,
        outcomeId: market.outcomes[0]!.outcomeId,
        currency: 'PTS',
        stakeMinor: 2_000n,
      },
      { headers: alt.headers },
    );
    const analytics = createClient(AnalyticsService, kit.connect);
    const flag = await eventually('the alt-betting flag', async () =>
      (
        await analytics.listFraudFlags(
          { rules: [FraudRule.STREAMER_ALT_BETTING], userId: alt.userId },
          admin,
        )
      ).flags.find((f) => f.marketId === market.marketId),
    );
    expect(flag.userIds).toEqual(expect.arrayContaining([alt.userId, streamer.userId]));

    // --- Fraud: the open flag with its evidence and links; confirmed with a note.
    await page.getByTestId('nav-fraud').click();
    const card = page.getByTestId('flag-streamer-alt-betting');
    await card.waitFor({ timeout: waitMs });
    expect(await card.innerText()).toContain(alt.userId);
    await card.locator('summary').click();
    expect(await card.locator('pre').innerText()).toContain('sharedLinks');
    await expectAccessible(page, 'the fraud flags');
    await screenshot(page, 'admin-fraud');
    await page.getByTestId('flag-confirm-open').click();
    await page.getByTestId('flag-confirm-reason').fill('alt account of the streamer: same phone');
    expect(await page.getByTestId('flag-confirm-submit').isDisabled()).toBe(true);
    await page.getByTestId('flag-confirm-confirm').check();
    await page.getByTestId('flag-confirm-submit').click();
    await page.getByTestId('flag-resolution').waitFor({ timeout: waitMs });
    expect(await page.getByTestId('flag-resolution').innerText()).toContain('confirmed by');
    await screenshot(page, 'admin-fraud-confirmed');
    const resolved = (await analytics.listFraudFlags({ userId: alt.userId }, admin)).flags[0]!;
    expect([resolved.status, resolved.resolutionNote]).toEqual([
      FraudFlagStatus.CONFIRMED,
      'alt account of the streamer: same phone',
    ]);

    // --- Markets: the market's pool, locked now.
    await page.goto(`${server.url}/#/markets?id=${market.marketId}`);
    await page.getByTestId('market-detail').waitFor({ timeout: waitMs });
    expect(await page.getByTestId('market-detail').innerText()).toContain('2,000 PTS');
    await expectAccessible(page, 'a market');
    await page.getByTestId('lock-open').click();
    await page.getByTestId('lock-submit').click();
    expect(
      await eventually('the lock result', async () => {
        const text = await page.getByTestId('action-result').innerText();
        return text === '' ? undefined : text;
      }),
    ).toMatch(/^Locked; effective .*, 0 bets voided$/);
    await eventually('the market to show locked', async () =>
      (await page.getByTestId('market-state-value').innerText()) === 'locked' ? true : undefined,
    );
    expect((await kit.pool.getMarket({ marketId: market.marketId })).market?.state).toBe(
      MarketState.LOCKED,
    );
    await screenshot(page, 'admin-markets');

    // --- Users: the alt's profile, wallet and bets; frozen with a reason.
    await page.goto(`${server.url}/#/users?id=${alt.userId}`);
    await page.getByTestId('user-detail').waitFor({ timeout: waitMs });
    expect(await page.getByTestId('user-detail').innerText()).toContain(
      'Will the streamer throw this match?',
    );
    await expectAccessible(page, 'a user');
    expect(await act('freeze', 'confirmed alt-account fraud flag', true)).toContain('Frozen');
    await expect(page.getByTestId('user-status').innerText()).resolves.toContain('frozen');
    const profile = await kit.users.getProfile({ userId: alt.userId }, admin);
    expect([profile.user?.status, profile.user?.frozenReason]).toEqual([
      AccountStatus.FROZEN,
      'confirmed alt-account fraud flag',
    ]);
    await screenshot(page, 'admin-users');
  });

  it('given those actions, then the Audit page finds them and its export passes npm run audit -- verify', async () => {
    await page.goto(`${server.url}/#/audit`);
    await page.getByTestId('page-audit').waitFor({ timeout: waitMs });
    await page.getByTestId('audit-type').selectOption('user');
    const entries = page.getByTestId('audit-entries');
    await eventually('the freeze in the audit log', async () => {
      await page.getByTestId('audit-search').click();
      const text = await entries.innerText();
      return text.includes('UserFrozen') ? text : undefined;
    });
    const text = await entries.innerText();
    expect(text).toContain('confirmed alt-account fraud flag');
    expect(text).toMatch(/UserRoleGranted[^\n]*first admin, by operator/);
    await expectAccessible(page, 'the audit log');

    await page.getByTestId('export-partition').selectOption('user');
    await page.getByTestId('export-run').click();
    await page.getByTestId('export-result').waitFor({ timeout: waitMs });
    await page.locator('[data-testid="export-result"] summary').click();
    const exported = await page.getByTestId('export-text').inputValue();
    const head = await page.getByTestId('export-head').innerText();
    await screenshot(page, 'admin-audit');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sbtest-admin-export-'));
    try {
      const file = path.join(dir, 'user.jsonl');
      await fs.writeFile(file, exported);
      const verified = await run('npm', ['run', '-s', 'audit', '--', 'verify', file], {
        cwd: repoRoot,
      });
      expect(verified.stdout).toMatch(/^verified: partition user, seq 1–\d+ \(\d+ entries\)/);
      expect(verified.stdout.trim().endsWith(`head hash ${head}`)).toBe(true);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
    expect(browser.pageErrors).toEqual([]);
  });
});
