/**
 * The notifications bell in a real browser: a viewer bets, the market settles while they look at
 * the lobby, and the bell shows the payout live (no reload); opened by keyboard it lists "You won
 * …", and following it marks it read and opens the wallet. The same notification is in the
 * NotificationService list, and a bettor who lost is told too.
 */
import { existsSync } from 'node:fs';
import { createClient } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BetEngineService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  NotificationKind,
  NotificationService,
} from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';
import { newChannelId, seedPassword } from '@streambet/gateway/seed';
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
  web = await startWebTest();
});

afterAll(async () => {
  await web?.close();
});

describe.skipIf(!existsSync(chromiumPath))('the notifications bell', () => {
  it('given a settled bet, then the bell shows the payout live, and following it marks it read and opens the wallet', async () => {
    const { kit } = web;
    const channelId = newChannelId();
    const streamer = await kit.makeStreamer(
      await kit.register('bell.streamer@example.com', 'Bell_streamer'),
      seedPassword,
      channelId,
      'bellstreamer',
    );
    const created = await kit.pool.createMarket(
      {
        idempotencyKey: 'bell-market',
        channelId,
        title: 'Does the boss fall first try?',
        outcomes: [{ title: 'Yes' }, { title: 'No' }],
        currency: 'PTS',
        kind: MarketKind.POOL,
        bettingWindowSeconds: 600,
        openNow: true,
      },
      { headers: streamer.headers },
    );
    const market = created.market!;
    const [yes, no] = market.outcomes;
    const bets = createClient(BetEngineService, kit.connect);
    await eventually('the bet engine to know the market', async () =>
      (await codeOf(bets.getOdds({ marketId: market.marketId }))) === undefined ? true : undefined,
    );

    const page = await web.newPage('/');
    const viewer = await registerInBrowser(page, kit, 'Bell_viewer');
    const loser = await kit.register('bell.loser@example.com', 'Bell_loser');
    await kit.grantPoints(viewer.userId, 1_000n, `bell-${viewer.userId}`);
    await kit.grantPoints(loser.userId, 1_000n, `bell-${loser.userId}`);
    for (const [who, outcomeId, key] of [
      [viewer.headers, yes!.outcomeId, 'bell-viewer'],
      [loser.headers, no!.outcomeId, 'bell-loser'],
    ] as const) {
      await bets.placeBet(
        {
          idempotencyKey: key,
          marketId: market.marketId,
          outcomeId,
          currency: 'PTS',
          stakeMinor: 500n,
        },
        { headers: who },
      );
    }
    expect(await page.getByTestId('bell').getAttribute('data-unread')).toBe('0');

    const locked = await kit.pool.lockMarket(
      { marketId: market.marketId, eventAtMs: BigInt(Date.now()) },
      { headers: streamer.headers },
    );
    await kit.pool.resolveMarket(
      {
        marketId: market.marketId,
        winningOutcomeId: yes!.outcomeId,
        expectedVersion: locked.market!.version,
      },
      { headers: streamer.headers },
    );

    // Live: the count changes on the open page (the lobby), no reload.
    await page.locator('[data-testid="bell"][data-unread="1"]').waitFor({ timeout: waitMs });
    expect(await page.getByTestId('bell').getAttribute('aria-label')).toBe(
      'Notifications, 1 unread',
    );
    await tabTo(page, '[data-testid="bell"]');
    await page.keyboard.press('Enter');
    const item = page.getByTestId('bell-item').first();
    await item.waitFor({ timeout: waitMs });
    expect(await item.innerText()).toMatch(/You won/);
    await expectAccessible(page, 'the notifications panel');
    await screenshot(page, 'notifications-bell-open');

    // Following it marks it read and opens where it is about (the wallet).
    await item.click();
    await page.locator('[data-testid="bell"][data-unread="0"]').waitFor({ timeout: waitMs });
    expect(new URL(page.url()).searchParams.get('view')).toBe('wallet');

    const notifications = createClient(NotificationService, kit.connect);
    const mine = await notifications.listNotifications({}, { headers: viewer.headers });
    expect(mine.notifications.map((n) => n.kind)).toEqual([NotificationKind.BET_SETTLED]);
    expect(mine.unreadCount).toBe(0n);
    const theirs = await eventually('the losing bettor to be told', async () => {
      const list = await notifications.listNotifications({}, { headers: loser.headers });
      return list.notifications.length > 0 ? list : undefined;
    });
    expect(theirs.notifications[0]?.title).toBe('Your bet was settled');

    // The notifications page: the list, and preferences (a mandatory kind cannot be unticked).
    await page.getByTestId('bell').click();
    await page.getByTestId('bell-all').click();
    await page.getByTestId('notifications-list').waitFor({ timeout: waitMs });
    expect(await page.getByTestId('notifications-list').innerText()).toMatch(/You won/);
    expect(
      await page.getByTestId(`pref-${NotificationKind.WITHDRAWAL_FAILED}-email`).isDisabled(),
    ).toBe(true);
    await page.getByTestId(`pref-${NotificationKind.BET_SETTLED}-in-app`).uncheck();
    await page.getByTestId('notification-language').selectOption('pt');
    await page.getByTestId('notification-save').click();
    await page.getByTestId('notification-saved').waitFor({ timeout: waitMs });
    await expectAccessible(page, 'the notifications page');
    await screenshot(page, 'notifications-preferences');
    const prefs = await notifications.getNotificationPreferences({}, { headers: viewer.headers });
    expect(prefs.language).toBe('pt');
    expect(prefs.preferences.find((p) => p.kind === NotificationKind.BET_SETTLED)?.inApp).toBe(
      false,
    );
    expect(web.browser.pageErrors).toEqual([]);
  });
});
