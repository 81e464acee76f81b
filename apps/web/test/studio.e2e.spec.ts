/**
 * The streamer's console and the stream overlay in a real browser. A viewer links Twitch from the
 * console through the integration service's real OAuth round trip (the popup goes to the local
 * Twitch fake, which consents at once and redirects back; the popup hands code and state to the
 * console), logs in again to carry the streamer role, opens a market from the form (after its
 * validation messages), and the anonymous overlay page shows it; viewers bet (seed kit) and the
 * overlay's odds and pool move live; the streamer locks retroactively (a bet placed after the lock
 * instant is voided) and resolves, and the overlay shows the result with the winners. A template
 * is saved and opens a new market in one click. axe runs on both screens at desktop and phone
 * widths.
 */
import { existsSync } from 'node:fs';
import { createClient } from '@connectrpc/connect';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BetEngineService,
  BetStatus,
  BetVoidReason,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  chromiumPath,
  codeOf,
  eventually,
  expectAccessible,
  screenshot,
  tabTo,
  waitMs,
} from '@streambet/testkit/browser';
import { registerInBrowser, startWebTest, type WebTest } from './web-harness.js';

let web: WebTest;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) return;
  // The app is served on a free port: allow OAuth redirects back to any local port.
  web = await startWebTest({
    env: { INTEGRATION_REDIRECT_URIS: 'http://127.0.0.1:,http://localhost:' },
  });
});

afterAll(async () => {
  await web?.close();
});

/** Goes to a view inside the app (a reload would end the in-memory session). */
async function goTo(page: Page, search: string): Promise<void> {
  await page.evaluate(
    `window.history.pushState({}, '', '/${search}'); window.dispatchEvent(new PopStateEvent('popstate'));`,
  );
}

async function overlayOdds(overlay: Page): Promise<string[]> {
  return overlay.getByTestId('overlay-odds').allInnerTexts();
}

describe.skipIf(!existsSync(chromiumPath))('the streamer console and the stream overlay', () => {
  it('links Twitch by OAuth, runs a market the overlay follows live, and reopens it from a template', async () => {
    const { kit } = web;
    const page = await web.newPage('/');
    const streamer = await registerInBrowser(page, kit, 'StudioStar');

    // --- Link Twitch from the console: the popup's OAuth round trip ends in the console.
    await goTo(page, '?view=studio');
    await page.getByTestId('studio-no-channel').waitFor({ timeout: waitMs });
    const popup = page.context().waitForEvent('page');
    await page.getByTestId('studio-link-twitch').click();
    const consent = await popup;
    await eventually('the consent popup to hand back and close', () =>
      Promise.resolve(consent.isClosed() ? true : undefined),
    );
    await page.getByTestId('studio-link-status').filter({ hasText: 'Linked Twitch' }).waitFor();
    const link = page.getByTestId('studio-link');
    expect(await link.getAttribute('data-platform')).toBe('Twitch');
    expect(await page.getByTestId('studio-link-health').innerText()).toBe(
      'Subscribed to stream events',
    );
    // The first link granted the streamer role: the console renews the session at once (the
    // new tokens and user carry the role), so the market form appears without signing in again.
    const form = page.getByTestId('market-form');
    await form.waitFor({ timeout: waitMs });
    expect(await page.getByTestId('studio-relogin').count()).toBe(0);
    expect(await page.getByTestId('nav-studio').count()).toBe(1);
    await expectAccessible(page, 'the studio');
    await screenshot(page, 'studio-empty');

    // --- The form explains what is wrong before anything is sent (submitted from the keyboard).
    await page.getByTestId('form-outcome').nth(0).fill('Blue');
    await page.getByTestId('form-outcome').nth(1).fill('blue');
    await page.getByTestId('form-window').fill('10');
    await tabTo(page, '[data-testid="form-open"]');
    await page.keyboard.press('Enter');
    await page.getByTestId('error-field-title').waitFor();
    expect(await page.getByTestId('error-field-title').innerText()).toBe(
      'Write the question viewers bet on.',
    );
    expect(await page.getByTestId('error-field-outcomes.1').innerText()).toBe('Same as outcome 1.');
    expect(await page.getByTestId('error-field-windowSeconds').innerText()).toContain('30 to 1800');
    expect(await page.getByTestId('studio-market').count()).toBe(0);

    // --- Open a market, and keep it as a template.
    await page.getByTestId('form-title').fill('Who takes the next round?');
    await page.getByTestId('form-outcome').nth(1).fill('Red');
    await page.getByTestId('form-window').fill('300');
    await page.getByTestId('template-name').fill('Next round');
    await page.getByTestId('template-save').click();
    await page.getByTestId('template').filter({ hasText: 'Next round' }).waitFor();
    await page.getByTestId('form-open').click();
    const market = page.getByTestId('studio-market').first();
    await market.waitFor({ timeout: waitMs });
    await eventually('the market to be open in the console', async () =>
      (await market.getAttribute('data-market-state')) === 'open' ? true : undefined,
    );
    const marketId = (await market.getAttribute('data-market-id'))!;
    const channel = await kit.pool.getMarket({ marketId }, { headers: streamer.headers });
    const channelId = channel.market!.channelId;
    const [blue, red] = channel.market!.outcomes;

    // --- The overlay (no login) shows the market; odds are undefined until someone bets.
    const overlay = await web.newPage(`/?view=overlay&channel=${channelId}&pos=top-right&w=480`);
    await overlay.getByTestId('overlay-question').waitFor({ timeout: waitMs });
    expect(await overlay.getByTestId('overlay-question').innerText()).toBe(
      'Who takes the next round?',
    );
    expect(await overlayOdds(overlay)).toEqual(['—', '—']);
    expect(await overlay.evaluate('getComputedStyle(document.body).backgroundColor')).toBe(
      'rgba(0, 0, 0, 0)',
    );
    expect(await overlay.getByTestId('overlay-status').innerText()).toMatch(/^Locks in \d+:\d\d$/);

    // --- Viewers bet through the API; the overlay's odds and pool move over the socket.
    const bets = createClient(BetEngineService, kit.connect);
    await eventually('the bet engine to know the market', async () =>
      (await codeOf(bets.getOdds({ marketId }))) === undefined ? true : undefined,
    );
    const alice = await kit.register('alice.studio@example.com', 'Alice_studio');
    const bob = await kit.register('bob.studio@example.com', 'Bob_studio');
    const late = await kit.register('late.studio@example.com', 'Late_studio');
    for (const viewer of [alice, bob, late]) {
      await kit.grantPoints(viewer.userId, 5_000n, `studio-test-${viewer.userId}`);
    }
    const bet = (viewer: typeof alice, outcomeId: string, stakeMinor: bigint, key: string) =>
      bets.placeBet(
        { idempotencyKey: key, marketId, outcomeId, currency: 'PTS', stakeMinor },
        { headers: viewer.headers },
      );
    await bet(alice, blue!.outcomeId, 300n, 'alice-1');
    await eventually('the overlay to show odds on Blue', async () =>
      (await overlayOdds(overlay))[0] === '1.00' ? true : undefined,
    );
    await bet(bob, red!.outcomeId, 100n, 'bob-1');
    await eventually('the overlay odds to move with the second bet', async () => {
      const odds = await overlayOdds(overlay);
      return odds[0] !== '1.00' && odds[1] !== '—' ? odds : undefined;
    });
    expect(await overlay.getByTestId('overlay-pool').innerText()).toBe('400 PTS');
    await expectAccessible(overlay, 'the overlay with a live market');
    await screenshot(overlay, 'overlay-live');

    // --- A bet placed just before a lock reaching 2 s back is voided; the earlier ones stand.
    const earlierBetAtMs = Date.now();
    await eventually('3 s to pass since the last bet', () =>
      Promise.resolve(Date.now() - earlierBetAtMs >= 3_000 ? true : undefined),
    );
    const lateBet = await bet(late, red!.outcomeId, 200n, 'late-1');
    await market.getByTestId('lock-seconds').fill('2');
    await market.getByTestId('lock').click();
    await eventually('the console to show the lock', async () =>
      (await market.getAttribute('data-market-state')) === 'locked' ? true : undefined,
    );
    expect(await market.getByTestId('studio-market-note').innerText()).toMatch(/^Locked 2 s back/);
    await eventually('the late bet to be voided', async () => {
      const mine = (await bets.listMyBets({}, { headers: late.headers })).bets;
      const voided = mine.find((b) => b.betId === lateBet.bet?.betId);
      return voided?.status === BetStatus.VOIDED &&
        voided.voidReason === BetVoidReason.RETROACTIVE_LOCK
        ? true
        : undefined;
    });
    await overlay.getByTestId('overlay-status').filter({ hasText: 'Betting closed' }).waitFor();

    // --- Resolve (pick, then confirm): the overlay shows the result and its winner.
    await market.getByTestId('resolve-winner').selectOption({ label: 'Blue' });
    await market.getByTestId('resolve').click();
    await market.getByTestId('resolve-confirm').click();
    await eventually('the console to show the result', async () =>
      (await market.getAttribute('data-market-state')) === 'resolved' ? true : undefined,
    );
    await overlay.getByTestId('overlay-result').waitFor({ timeout: waitMs });
    await overlay
      .getByTestId('overlay-winners')
      .filter({ hasText: '1 winner shared' })
      .waitFor({ timeout: waitMs });
    await overlay.getByTestId('overlay-top-entry').first().waitFor({ timeout: waitMs });
    expect(await overlay.getByTestId('overlay-top-entry').first().innerText()).toContain(
      'Alice_studio',
    );
    const won = overlay.locator('[data-testid="overlay-outcome"].won');
    expect(await won.getAttribute('data-outcome-title')).toBe('Blue');
    await expectAccessible(overlay, 'the overlay with a result');
    await screenshot(overlay, 'overlay-result');

    // --- The template opens the same market again in one click; the overlay moves to it.
    await page.getByTestId('template-open').click();
    await page.getByTestId('templates-status').filter({ hasText: 'Opened' }).waitFor();
    await eventually('a second market to be open in the console', async () =>
      (await page.locator('[data-testid="studio-market"][data-market-state="open"]').count()) === 1
        ? true
        : undefined,
    );
    const reopened = page.locator('[data-testid="studio-market"][data-market-state="open"]');
    const reopenedId = await reopened.getAttribute('data-market-id');
    expect(reopenedId).not.toBe(marketId);
    expect(await reopened.getByTestId('studio-market-title').innerText()).toBe(
      'Who takes the next round?',
    );
    await eventually('the overlay to feature the reopened market', async () =>
      (await overlay.getByTestId('overlay-market').getAttribute('data-market-id')) === reopenedId
        ? true
        : undefined,
    );
    await expectAccessible(page, 'the studio running markets');
    await screenshot(page, 'studio-markets');
  });
});
