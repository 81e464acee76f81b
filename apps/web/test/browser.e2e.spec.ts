/**
 * The viewer web app in a real browser (Debian's chromium driven by playwright-core) against the
 * whole embedded platform on free ports: a viewer registers, receives play money and sees the
 * wallet change live; then — when the bet engine and settlement answer — sees a channel's open
 * market, bets from the bet slip, sees the confirmation, the odds and the balance change live,
 * another bettor move the odds, and the market lock and resolve and the winnings arrive. People,
 * the streamer's channel (ChannelLinked on the bus, as integration would publish it) and play
 * money come from the gateway's seed kit, the same one `npm start`'s demo uses.
 *
 * The app is served by the gateway when it serves apps/web/dist; otherwise by a small static
 * server in this file that passes the API and `/socket.io/` on to the gateway (same origin
 * either way, as in production).
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConnectError, createClient } from '@connectrpc/connect';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BetEngineService,
  BetStatus,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketKind, type Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@streambet/gateway/embedded-platform';
import {
  createSeedKit,
  newChannelId,
  seedPassword,
  type SeedKit,
} from '@streambet/gateway/seed/actors';
import { pgliteTemplate } from '@streambet/testkit/sql';

const chromiumPath = '/usr/bin/chromium';
const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const distDir = path.join(appDir, 'dist');
const waitMs = 20_000;

/** Launch flags for Debian's chromium in a sandboxless CI container, quiet and offline. */
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let platform: EmbeddedPlatform;
let appUrl: string;
let appServedBy: 'gateway' | 'test static server';
let closeAppServer: (() => Promise<void>) | undefined;
let context: BrowserContext;
let userDataDir: string;
let kit: SeedKit;
const browserErrors: string[] = [];
/** Set WEB_TEST_SCREENSHOTS=<dir> to keep PNGs of the screens the test reaches. */
const screenshotDir = process.env.WEB_TEST_SCREENSHOTS;

async function screenshot(page: Page, name: string): Promise<void> {
  if (screenshotDir === undefined || screenshotDir === '') return;
  await fs.mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * Serves dist with SPA fallback and passes Connect calls (`/streambet.*`) and `/socket.io/`
 * (long-polling and the WebSocket upgrade) on to the gateway: the app sees one origin.
 */
async function startAppServer(
  gatewayUrl: string,
): Promise<{ url: string; close: () => Promise<void> }> {
  const gateway = new URL(gatewayUrl);
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://app').pathname;
    if (pathname.startsWith('/streambet.') || pathname.startsWith('/socket.io/')) {
      const upstream = http.request(
        {
          host: gateway.hostname,
          port: gateway.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: gateway.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
      return;
    }
    const file = path.join(distDir, path.normalize(pathname).replace(/^(\.\.[/\\])+/, ''));
    void fs
      .stat(file)
      .then((s) => (s.isFile() ? file : path.join(distDir, 'index.html')))
      .catch(() => path.join(distDir, 'index.html'))
      .then(async (chosen) => {
        const body = await fs.readFile(chosen);
        res.writeHead(200, {
          'content-type': contentTypes[path.extname(chosen)] ?? 'application/octet-stream',
        });
        res.end(body);
      })
      .catch(() => {
        res.writeHead(500);
        res.end();
      });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const upstream = net.connect(Number(gateway.port), gateway.hostname, () => {
      const headers = Object.entries(req.headers)
        .map(
          ([k, v]) =>
            `${k}: ${k === 'host' ? gateway.host : Array.isArray(v) ? v.join(', ') : (v ?? '')}`,
        )
        .join('\r\n');
      upstream.write(`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\n${headers}\r\n\r\n`);
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

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

async function codeOf(call: Promise<unknown>): Promise<ConnectError | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    return ConnectError.from(error);
  }
}

/** Polls `probe` until it returns a value (not undefined), or fails with `what`. */
async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = waitMs,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `timed out waiting for ${what}${last === undefined ? '' : `: ${last instanceof Error ? last.message : JSON.stringify(last)}`}`,
  );
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

async function registerInBrowser(page: Page, name: string) {
  await page.getByTestId('auth-mode-register').click();
  await page.getByTestId('auth-email').fill(`${name.toLowerCase()}@example.com`);
  await page.getByTestId('auth-password').fill('a long enough password');
  await page.getByTestId('auth-display-name').fill(name);
  await page.getByTestId('auth-dob').fill('1992-03-04');
  await page.getByTestId('auth-submit').click();
  await page
    .getByTestId('user-display-name')
    .filter({ hasText: name })
    .waitFor({ timeout: waitMs });
  const login = await kit.users.login({
    email: `${name.toLowerCase()}@example.com`,
    password: 'a long enough password',
  });
  return {
    userId: login.user!.userId,
    headers: { authorization: `Bearer ${login.tokens!.accessToken}` },
  };
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
    if (
      process.env.WEB_TEST_STATIC_SERVER !== '1' &&
      (await gatewayServesApp(platform.gatewayUrl))
    ) {
      appUrl = platform.gatewayUrl;
      appServedBy = 'gateway';
    } else {
      const server = await startAppServer(platform.gatewayUrl);
      appUrl = server.url;
      closeAppServer = server.close;
      appServedBy = 'test static server';
    }
    userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'streambet-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
      viewport: { width: 1280, height: 900 },
    });
  });

  afterAll(async () => {
    await context?.close();
    await closeAppServer?.();
    await platform?.shutdown();
    if (userDataDir !== undefined) await fs.rm(userDataDir, { recursive: true, force: true });
  });

  async function newPage(url: string): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => browserErrors.push(error.message));
    await page.goto(url);
    return page;
  }

  it('given the app, when a viewer registers, then they are signed in and their wallet changes live when the house grants points', async () => {
    const page = await newPage(`${appUrl}/`);
    expect(await page.title()).toBe('StreamBet');
    await page.getByTestId('auth-form').waitFor({ timeout: waitMs });
    const viewer = await registerInBrowser(page, 'Bia');
    // New users may start with a signup grant of play money: whatever the server says is the start.
    const startMinor = await walletInStep(page, viewer.headers);

    await kit.grantPoints(viewer.userId, 1_000n, `browser-test-${viewer.userId}`);
    await walletShows(page, startMinor + 1_000n);
    expect(await serverAvailable(viewer.headers)).toBe(startMinor + 1_000n);
    await screenshot(page, '1-registered-home');
    await page.goto(`${appUrl}/?channel=01JBR0WSERTESTN0CHANNE10000`);
    await page.getByTestId('channel-title').waitFor({ timeout: waitMs });
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

    // --- The viewer opens the channel, registers, receives points.
    const page = await newPage(`${appUrl}/?channel=${channelId}`);
    const card = page.locator(`[data-testid="market-card"][data-market-id="${market.marketId}"]`);
    await card.waitFor({ timeout: waitMs });
    expect(await card.getByTestId('market-state').innerText()).toBe('Open');
    await waitForOdds(page, market.marketId, 'Yes', (t) => t === '—', 'no odds on Yes yet');
    await waitForOdds(page, market.marketId, 'No', (t) => t === '1.00', 'No at 1.00');
    const viewer = await registerInBrowser(page, 'Viewer_one');
    const startMinor = await walletInStep(page, viewer.headers);
    await kit.grantPoints(viewer.userId, 1_000n, `browser-test-${viewer.userId}`);
    await walletShows(page, startMinor + 1_000n);

    // --- Bet 100 on "Yes" from the slip.
    await card.locator('[data-testid="outcome"][data-outcome-title="Yes"]').click();
    await page.getByTestId('bet-stake').fill('100');
    await page.getByTestId('bet-submit').click();
    const confirmation = page.getByTestId('bet-confirmation');
    await confirmation.waitFor({ timeout: waitMs });
    expect(await confirmation.innerText()).toMatch(
      /^Bet (confirmed|pending confirmation): 100 PTS on Yes/,
    );
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
});
