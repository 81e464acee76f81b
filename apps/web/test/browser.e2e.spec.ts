/**
 * The viewer web app in a real browser (Debian's chromium driven by playwright-core) against the
 * whole embedded platform on free ports: a newcomer lands on the lobby of live markets, registers
 * by keyboard, receives play money and sees the wallet (points only) change live; then — when the
 * bet engine and settlement answer — opens a live market from the lobby, bets from the bet slip
 * by keyboard, sees the confirmation, the odds and the balance change live, another bettor move
 * the odds, the market lock (the slip lets go of it) and resolve, and the winnings arrive; and a
 * market whose betting window ends reads "Betting closed" at once, by the page's clock. People,
 * the streamer's channel (ChannelLinked on the bus, as integration would publish it) and play
 * money come from the gateway's seed kit, the same one `npm start`'s demo uses.
 *
 * Every screen is checked with axe-core, at a desktop and a phone width: a serious or critical
 * violation (or a skipped heading level) fails the test.
 *
 * The app is served by the gateway when it serves apps/web/dist; otherwise by a small static
 * server in this file that passes the API and `/socket.io/` on to the gateway (same origin
 * either way, as in production).
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@connectrpc/connect';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BetEngineService,
  BetStatus,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketKind, type Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@streambet/gateway/embedded-platform';
import { createSeedKit, newChannelId, seedPassword, type SeedKit } from '@streambet/gateway/seed';
import {
  chromiumArgs,
  chromiumPath,
  codeOf,
  desktop,
  eventually,
  expectAccessible,
  hasFocus,
  screenshot,
  startAppServer,
  tabTo,
  waitMs,
} from '@streambet/testkit/browser';
import { pgliteTemplate } from '@streambet/testkit/sql';
import {
  registerByKeyboard as registerByKeyboardAs,
  registerInBrowser as registerInBrowserAs,
} from './web-harness.js';

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const distDir = path.join(appDir, 'dist');

let platform: EmbeddedPlatform;
let appUrl: string;
let appServedBy: 'gateway' | 'test static server';
let gatewayServes: boolean;
let closeAppServer: (() => Promise<void>) | undefined;
let context: BrowserContext;
let userDataDir: string;
let kit: SeedKit;
const browserErrors: string[] = [];

const registerByKeyboard = (page: Page, name: string) => registerByKeyboardAs(page, kit, name);
const registerInBrowser = (page: Page, name: string) => registerInBrowserAs(page, kit, name);

/** True when the gateway already serves this app (static files with SPA fallback). */
async function gatewayServesApp(gatewayUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${gatewayUrl}/channel-page-probe?channel=x`, {
      headers: { accept: 'text/html' },
    });
    return res.ok && (await res.text()).includes('name="streambet-app"');
  } catch {
    return false;
  }
}

async function walletShows(page: Page, availableMinor: bigint): Promise<void> {
  try {
    await page
      .locator(`[data-testid="wallet-PTS"][data-available-minor="${availableMinor}"]`)
      .waitFor({ timeout: waitMs });
  } catch (error) {
    const shown = await page
      .getByTestId('wallet')
      .innerText()
      .catch(() => '(no wallet panel)');
    throw new Error(`wallet never showed ${availableMinor} PTS available; it shows: ${shown}`, {
      cause: error,
    });
  }
}

async function oddsText(page: Page, marketId: string, outcomeTitle: string): Promise<string> {
  return page
    .locator(
      `[data-testid="market-card"][data-market-id="${marketId}"] [data-testid="outcome"][data-outcome-title="${outcomeTitle}"] [data-testid="outcome-odds"]`,
    )
    .innerText();
}

async function waitForOdds(
  page: Page,
  marketId: string,
  outcomeTitle: string,
  expected: (text: string) => boolean,
  what: string,
) {
  return eventually(what, async () => {
    const text = await oddsText(page, marketId, outcomeTitle);
    return expected(text) ? text : undefined;
  });
}

/** The viewer's available PTS as the user service reports it (the figure the screen must show). */
async function serverAvailable(headers: Readonly<Record<string, string>>): Promise<bigint> {
  const wallet = await kit.users.getWallet({}, { headers });
  return wallet.balances.find((b) => b.currency === 'PTS')?.availableMinor ?? 0n;
}

/** Waits until the server balance is steady and the screen shows it; returns it. */
async function walletInStep(
  page: Page,
  headers: Readonly<Record<string, string>>,
): Promise<bigint> {
  return eventually('the wallet on screen to match the server', async () => {
    const expected = await serverAvailable(headers);
    const shown = await page
      .locator('[data-testid="wallet-PTS"]')
      .getAttribute('data-available-minor', { timeout: 500 })
      .catch(() => null);
    return shown === expected.toString() ? expected : undefined;
  });
}

describe.skipIf(!existsSync(chromiumPath))('the viewer web app in headless Chromium', () => {
  beforeAll(async () => {
    // The app under test is the one built from the sources now.
    const { build } = await import('vite');
    await build({
      root: appDir,
      configFile: path.join(appDir, 'vite.config.ts'),
      logLevel: 'warn',
    });

    platform = await startEmbeddedPlatform({
      ports: 'free',
      env: { LOG_LEVEL: 'silent' },
      template: await pgliteTemplate(),
    });
    kit = createSeedKit({
      gatewayUrl: platform.gatewayUrl,
      userServiceUrl: platform.serviceUrls.get('user')!,
      serviceToken: (service: string) => platform.serviceToken(service),
      bus: platform.bus,
    });
    // WEB_TEST_STATIC_SERVER=1 forces the test's own static server even when the gateway serves dist.
    gatewayServes = await gatewayServesApp(platform.gatewayUrl);
    if (process.env.WEB_TEST_STATIC_SERVER !== '1' && gatewayServes) {
      appUrl = platform.gatewayUrl;
      appServedBy = 'gateway';
    } else {
      const server = await startAppServer(distDir, platform.gatewayUrl);
      appUrl = server.url;
      closeAppServer = server.close;
      appServedBy = 'test static server';
    }
    userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'streambet-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: [...chromiumArgs],
      viewport: desktop,
    });
  });

  afterAll(async () => {
    await context?.close();
    await closeAppServer?.();
    await platform?.shutdown();
    if (userDataDir !== undefined) await fs.rm(userDataDir, { recursive: true, force: true });
  });

  /** Opens `url` in a new tab; `fakeClock` lets the test move the page's wall clock. */
  async function newPage(url: string, options: { fakeClock?: boolean } = {}): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => browserErrors.push(error.message));
    if (options.fakeClock === true) await page.clock.install();
    await page.goto(url);
    return page;
  }

  it('given the app, when a newcomer opens it, then the lobby says what is live, the icon loads, and they register by keyboard and see their points change live', async () => {
    const page = await newPage(`${appUrl}/`);
    expect(await page.title()).toBe('StreamBet');
    // The first screen is the lobby of live markets (none yet on a fresh platform), not a bare
    // "Channel id" box.
    await page
      .getByRole('heading', { level: 1, name: 'Live markets' })
      .waitFor({ timeout: waitMs });
    await page.getByTestId('lobby-empty').waitFor({ timeout: waitMs });
    expect(await page.getByTestId('channel-id-input').isVisible()).toBe(false);
    await page.getByTestId('auth-form').waitFor({ timeout: waitMs });
    await expectAccessible(page, 'the lobby (guest)');

    // The icon is part of the build and served with the app (by the gateway when it serves it).
    expect(await page.locator('link[rel="icon"]').count()).toBeGreaterThan(0);
    const iconOrigins = new Set([appUrl, ...(gatewayServes ? [platform.gatewayUrl] : [])]);
    for (const origin of iconOrigins) {
      const icon = await fetch(`${origin}/favicon.ico`);
      expect(icon.status, `${origin}/favicon.ico`).toBe(200);
      expect(icon.headers.get('content-type')).toBe('image/x-icon');
      expect((await icon.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }

    const viewer = await registerByKeyboard(page, 'Bia');
    // New users may start with a signup grant of play money: whatever the server says is the start.
    const startMinor = await walletInStep(page, viewer.headers);
    // A play-money viewer sees points only: no real-currency line such as "R$ 0.00".
    const wallet = page.getByTestId('wallet');
    expect(await wallet.locator('[data-available-minor]').count()).toBe(1);
    expect(await wallet.innerText()).not.toMatch(/R\$|US\$|€/);

    await kit.grantPoints(viewer.userId, 1_000n, `browser-test-${viewer.userId}`);
    await walletShows(page, startMinor + 1_000n);
    expect(await serverAvailable(viewer.headers)).toBe(startMinor + 1_000n);
    await expectAccessible(page, 'the lobby (signed in)');
    await screenshot(page, '1-registered-home');
    await page.goto(`${appUrl}/?channel=01JBR0WSERTESTN0CHANNE10000`);
    await page.getByTestId('channel-title').waitFor({ timeout: waitMs });
    await page.getByTestId('no-open-markets').waitFor({ timeout: waitMs });
    await expectAccessible(page, 'a channel without markets');
    await screenshot(page, '2-unknown-channel');
    // The session is in memory only: nothing was written to storage.
    const stored = await page.evaluate(() => {
      const storage = globalThis as unknown as Record<
        'localStorage' | 'sessionStorage',
        { length: number }
      >;
      return storage.localStorage.length + storage.sessionStorage.length;
    });
    expect(stored).toBe(0);
    expect(browserErrors).toEqual([]);
    await page.close();
    console.info(`browser test: app served by the ${appServedBy}`);
  });

  it('given an open market, when the viewer bets from the slip, then the bet is confirmed, and odds, balance and market state change live', async () => {
    // --- A streamer with a linked channel and an open market (pool), bet on through the bet engine.
    const channelId = newChannelId();
    const streamer = await kit.makeStreamer(
      await kit.register('streamer.one@example.com', 'Streamer_one'),
      seedPassword,
      channelId,
      'streamerone',
    );
    const pool = kit.pool;
    const created = await pool.createMarket(
      {
        idempotencyKey: 'browser-test-market',
        channelId,
        title: 'Will she clutch this round?',
        outcomes: [{ title: 'Yes' }, { title: 'No' }],
        currency: 'PTS',
        kind: MarketKind.POOL,
        bettingWindowSeconds: 600,
        openNow: true,
      },
      { headers: streamer.headers },
    );
    const market: Market = created.market!;
    const [yes, no] = market.outcomes;
    const bets = createClient(BetEngineService, kit.connect);
    await eventually('the bet engine to know the market', async () =>
      (await codeOf(bets.getOdds({ marketId: market.marketId }))) === undefined ? true : undefined,
    );

    // --- Another bettor backs "No" first, so "Yes" has no odds yet (—) and "No" has 1.00.
    const other = await kit.register('other.bettor@example.com', 'Other_bettor');
    await kit.grantPoints(other.userId, 5_000n, `browser-test-${other.userId}`);
    await bets.placeBet(
      {
        idempotencyKey: 'other-1',
        marketId: market.marketId,
        outcomeId: no!.outcomeId,
        currency: 'PTS',
        stakeMinor: 300n,
      },
      { headers: other.headers },
    );

    // --- The viewer finds the market in the lobby and opens its channel with the keyboard.
    const page = await newPage(`${appUrl}/`);
    const listed = `[data-testid="lobby-market"][data-market-id="${market.marketId}"]`;
    await page.locator(`${listed}[data-market-state="open"]`).waitFor({ timeout: waitMs });
    expect(await page.locator(listed).innerText()).toContain('Will she clutch this round?');
    await expectAccessible(page, 'the lobby with a live market');
    await screenshot(page, '2b-lobby-live-market');
    await tabTo(page, `${listed} [data-testid="channel-link"]`);
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.searchParams.get('channel') === channelId);

    // --- The channel page: registers, receives points.
    const card = page.locator(`[data-testid="market-card"][data-market-id="${market.marketId}"]`);
    await card.waitFor({ timeout: waitMs });
    expect(await card.getByTestId('market-state').innerText()).toBe('Open');
    await waitForOdds(page, market.marketId, 'Yes', (t) => t === '—', 'no odds on Yes yet');
    await waitForOdds(page, market.marketId, 'No', (t) => t === '1.00', 'No at 1.00');
    await expectAccessible(page, 'the channel page (guest)');
    const viewer = await registerInBrowser(page, 'Viewer_one');
    const startMinor = await walletInStep(page, viewer.headers);
    await kit.grantPoints(viewer.userId, 1_000n, `browser-test-${viewer.userId}`);
    await walletShows(page, startMinor + 1_000n);

    // --- Bet 100 on "Yes" from the slip, by keyboard: the pick moves the focus to the stake.
    await tabTo(page, `[data-market-id="${market.marketId}"] [data-outcome-title="Yes"]`);
    await page.keyboard.press('Enter');
    await page.getByTestId('bet-slip-selection').waitFor({ timeout: waitMs });
    expect(await hasFocus(page, '[data-testid="bet-stake"]')).toBe(true);
    await page.keyboard.type('100');
    await page.keyboard.press('Enter');
    const confirmation = page.getByTestId('bet-confirmation');
    await confirmation.waitFor({ timeout: waitMs });
    expect(await confirmation.innerText()).toMatch(
      /^Bet (confirmed|pending confirmation): 100 PTS on Yes/,
    );
    await expectAccessible(page, 'the channel page with a placed bet');
    // T = 400, commission r from the channel: Yes = 1 + 300 × (1 − r) / 100, No = 1 + 100 × (1 − r) / 300.
    const yesOdds = await waitForOdds(
      page,
      market.marketId,
      'Yes',
      (t) => /^\d+\.\d\d$/.test(t),
      'odds on Yes',
    );
    expect(Number(yesOdds)).toBeGreaterThan(3);
    expect(Number(yesOdds)).toBeLessThanOrEqual(4);
    await walletShows(page, startMinor + 900n);
    await page.locator('[data-testid="my-bet"]').first().waitFor({ timeout: waitMs });
    await screenshot(page, '3-bet-placed');

    // --- Someone else bets: the viewer's screen moves without a reload.
    await bets.placeBet(
      {
        idempotencyKey: 'other-2',
        marketId: market.marketId,
        outcomeId: no!.outcomeId,
        currency: 'PTS',
        stakeMinor: 600n,
      },
      { headers: other.headers },
    );
    await waitForOdds(
      page,
      market.marketId,
      'Yes',
      (t) => t !== yesOdds && /^\d+\.\d\d$/.test(t) && Number(t) > Number(yesOdds),
      'Yes odds to lengthen live',
    );
    expect(await card.getByTestId('market-total').innerText()).toContain('1,000 PTS');

    // --- A refused bet reads as words (more than the balance).
    await page.getByTestId('bet-stake').fill(String(startMinor + 901n));
    await page.getByTestId('bet-submit').click();
    const refusal = page.getByTestId('bet-error');
    await refusal.waitFor({ timeout: waitMs });
    expect((await refusal.innerText()).length).toBeGreaterThan(10);

    // --- The streamer's side locks and resolves ("Yes" wins): the card follows, the balance grows.
    // Locked at "now" (no broadcast-delay backdating), so the viewer's bet stands.
    const locked = await pool.lockMarket(
      { marketId: market.marketId, eventAtMs: BigInt(Date.now()) },
      { headers: streamer.headers },
    );
    await card
      .locator('[data-testid="market-state"]', { hasText: 'Locked' })
      .waitFor({ timeout: waitMs });
    // The slip lets go of a market that takes no more bets.
    await page.getByTestId('bet-slip-closed').waitFor({ timeout: waitMs });
    expect(await page.getByTestId('bet-slip-selection').count()).toBe(0);
    expect(await page.getByTestId('bet-submit').count()).toBe(0);
    await pool.resolveMarket(
      {
        marketId: market.marketId,
        winningOutcomeId: yes!.outcomeId,
        expectedVersion: locked.market!.version,
      },
      { headers: streamer.headers },
    );
    await card
      .locator('[data-testid="market-state"]', { hasText: 'Resolved' })
      .waitFor({ timeout: waitMs });
    await card.getByTestId('outcome-winner').waitFor({ timeout: waitMs });
    await expectAccessible(page, 'the channel page with a resolved market');
    await screenshot(page, '4-resolved');

    // Winner paid 100 + floor(100 × D / 100) with D = 900 less commission (r from the channel).
    const paidMinor = await eventually('the payout to reach the wallet on screen', async () => {
      const minor = await page.getByTestId('wallet-PTS').getAttribute('data-available-minor');
      return minor !== null && BigInt(minor) > startMinor + 1_000n ? BigInt(minor) : undefined;
    });
    expect(paidMinor).toBe(await serverAvailable(viewer.headers));
    expect(paidMinor - (startMinor + 900n)).toBeGreaterThanOrEqual(100n + 810n);
    await screenshot(page, '5-paid-wallet');
    // The bet engine marks the bet WON from SettlementCompleted; the list follows.
    await eventually('the bet engine to mark the bet won', async () =>
      (await bets.listMyBets({}, { headers: viewer.headers })).bets[0]?.status === BetStatus.WON
        ? true
        : undefined,
    );
    await page
      .locator('[data-testid="my-bet"][data-bet-status="won"]')
      .waitFor({ timeout: waitMs });
    await screenshot(page, '5-paid');
    expect(browserErrors).toEqual([]);
  });

  it('given an open market whose betting window ends, then the lobby and the channel page show it closed at once and the slip lets go of it', async () => {
    const channelId = newChannelId();
    const streamer = await kit.makeStreamer(
      await kit.register('streamer.two@example.com', 'Streamer_two'),
      seedPassword,
      channelId,
      'streamertwo',
    );
    // A long window, so the pool does not lock it during the test: the pages' clocks are moved
    // past its end instead, as if the viewer watched until then.
    const created = await kit.pool.createMarket(
      {
        idempotencyKey: 'browser-test-window',
        channelId,
        title: 'First blood before the window ends?',
        outcomes: [{ title: 'Yes' }, { title: 'No' }],
        currency: 'PTS',
        kind: MarketKind.POOL,
        bettingWindowSeconds: 600,
        openNow: true,
      },
      { headers: streamer.headers },
    );
    const market = created.market!;
    const afterWindowMs = Number(market.bettingClosesAtMs) + 1_000;

    // --- The lobby: Open with a countdown, then "Betting closed" the moment the window ends.
    const lobby = await newPage(`${appUrl}/`, { fakeClock: true });
    const listed = `[data-testid="lobby-market"][data-market-id="${market.marketId}"]`;
    await lobby.locator(`${listed}[data-market-state="open"]`).waitFor({ timeout: waitMs });
    expect(
      await lobby.locator(`${listed} [data-testid="lobby-market-countdown"]`).innerText(),
    ).toMatch(/^closes in \d+:\d\d$/);
    await lobby.clock.setSystemTime(afterWindowMs);
    await lobby.locator(`${listed}[data-market-state="closed"]`).waitFor({ timeout: waitMs });
    expect(await lobby.locator(`${listed} [data-testid="lobby-market-state"]`).innerText()).toBe(
      'Betting closed',
    );
    await expectAccessible(lobby, 'the lobby with a closed betting window');
    await lobby.close();

    // --- The channel page: the pick on the slip is let go and the outcomes are disabled.
    const page = await newPage(`${appUrl}/?channel=${channelId}`, { fakeClock: true });
    const card = page.locator(`[data-testid="market-card"][data-market-id="${market.marketId}"]`);
    await card.and(page.locator('[data-market-state="open"]')).waitFor({ timeout: waitMs });
    await card.locator('[data-testid="outcome"][data-outcome-title="No"]').click();
    await page.getByTestId('bet-slip-selection').waitFor({ timeout: waitMs });
    await page.clock.setSystemTime(afterWindowMs);
    await card.and(page.locator('[data-market-state="closed"]')).waitFor({ timeout: waitMs });
    expect(await card.getByTestId('market-state').innerText()).toBe('Betting closed');
    expect(await card.locator('[data-testid="outcome"]:enabled').count()).toBe(0);
    await page.getByTestId('bet-slip-closed').waitFor({ timeout: waitMs });
    expect(await page.getByTestId('bet-slip-selection').count()).toBe(0);
    await page.getByTestId('no-open-markets').waitFor({ timeout: waitMs });
    await expectAccessible(page, 'the channel page with a closed betting window');
    await screenshot(page, '6-window-closed');

    // --- Back to the lobby by keyboard.
    await tabTo(page, '[data-testid="back-to-lobby"]');
    await page.keyboard.press('Enter');
    await page
      .getByRole('heading', { level: 1, name: 'Live markets' })
      .waitFor({ timeout: waitMs });
    await page.close();
    expect(browserErrors).toEqual([]);
  });
});
