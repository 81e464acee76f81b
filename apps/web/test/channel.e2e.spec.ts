/**
 * The viewer's channel page in a real browser: the stream itself (each linked platform's embedded
 * player, switchable when the channel is linked on several) beside the markets, and the channel's
 * chat — a viewer writes, the streamer sees it live and moderates (slow mode, a ban that hides
 * the viewer's messages on every screen and refuses their next one). The real players cannot
 * load here (no network), so the test checks the embed's URL and parameters.
 *
 * The streamer links Twitch and Kick through the integration service's real OAuth round trip
 * against its local platform fakes (the authorize URL consents at once).
 */
import { existsSync } from 'node:fs';
import { createClient } from '@connectrpc/connect';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { IntegrationService } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import {
  chromiumPath,
  eventually,
  expectAccessible,
  screenshot,
  tabTo,
  waitMs,
} from '@streambet/testkit/browser';
import { registerInBrowser, startWebTest, testPassword, type WebTest } from './web-harness.js';

let web: WebTest;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) return;
  web = await startWebTest();
});

afterAll(async () => {
  await web?.close();
});

/** Links `platform` to the user behind `headers` through the fake's OAuth consent. */
async function linkPlatform(
  headers: Readonly<Record<string, string>>,
  platform: Platform,
  accountId: string,
  login: string,
): Promise<string> {
  const integration = createClient(IntegrationService, web.kit.connect);
  const begun = await integration.beginChannelLink(
    { platform, redirectUri: 'http://localhost:5173/streamer/link' },
    { headers },
  );
  const consent = await fetch(
    `${begun.authorizeUrl}&fake_user_id=${accountId}&fake_login=${login}`,
    { redirect: 'manual' },
  );
  const back = new URL(consent.headers.get('location') ?? '');
  const linked = await integration.linkChannel(
    {
      platform,
      credential: {
        case: 'oauth',
        value: { code: back.searchParams.get('code') ?? '', state: begun.state },
      },
    },
    { headers },
  );
  return linked.channel!.channelId;
}

/**
 * Logs in from the auth form of a freshly loaded page (the session lives in memory only, so a
 * reload signs out); the new token carries roles granted since registering.
 */
async function logIn(page: Page, email: string): Promise<void> {
  await page.getByTestId('auth-mode-login').click();
  await page.getByTestId('auth-email').fill(email);
  await page.getByTestId('auth-password').fill(testPassword);
  await page.getByTestId('auth-submit').click();
  await page.getByTestId('logout').waitFor({ timeout: waitMs });
}

async function chatTexts(page: Page): Promise<string[]> {
  return page.locator('[data-testid="chat-message"] .chat-text').allInnerTexts();
}

describe.skipIf(!existsSync(chromiumPath))('the channel page: stream and chat', () => {
  it('given a channel linked on Twitch and Kick, then viewers watch either player beside the markets and chat with the streamer, who moderates', async () => {
    const streamerPage = await web.newPage('/');
    const streamer = await registerInBrowser(streamerPage, web.kit, 'Chat_Streamer');
    const channelId = await linkPlatform(streamer.headers, Platform.TWITCH, '7001', 'ChatStreamer');
    const kickChannelId = await linkPlatform(
      streamer.headers,
      Platform.KICK,
      '8001',
      'chat-streamer',
    );
    // One StreamBet channel across platforms: the second link joins the first one's channel.
    expect(kickChannelId).toBe(channelId);
    await streamerPage.goto(`${web.appUrl}/?channel=${channelId}`);
    await logIn(streamerPage, streamer.email);

    const viewerPage = await web.newPage(`/?channel=${channelId}`);
    const viewer = await registerInBrowser(viewerPage, web.kit, 'Chat_Viewer');

    // The stream: Twitch first (the earliest link), with this page's host as Twitch's parent.
    const player = viewerPage.getByTestId('stream-player');
    await player.waitFor({ timeout: waitMs });
    const twitchSrc = new URL((await player.getAttribute('src')) ?? '');
    expect(twitchSrc.origin + twitchSrc.pathname).toBe('https://player.twitch.tv/');
    expect(twitchSrc.searchParams.get('channel')).toBe('chatstreamer');
    expect(twitchSrc.searchParams.get('parent')).toBe(new URL(web.appUrl).hostname);
    expect(twitchSrc.searchParams.get('muted')).toBe('true');
    expect(await player.getAttribute('title')).toMatch(/on Twitch$/);
    await expect
      .poll(() => viewerPage.getByTestId('channel-title').innerText(), { timeout: waitMs })
      .toMatch(/markets$/);

    // Switch to Kick by keyboard.
    await tabTo(viewerPage, '[data-testid="stream-switch-kick"]');
    await viewerPage.keyboard.press('Enter');
    await eventually('the Kick player', async () => {
      const src = await viewerPage.getByTestId('stream-player').getAttribute('src');
      return src?.startsWith('https://player.kick.com/chat-streamer') === true ? src : undefined;
    });
    expect(await viewerPage.getByTestId('stream-switch-kick').getAttribute('aria-pressed')).toBe(
      'true',
    );

    // Chat: the viewer writes; the streamer's page shows it live.
    await viewerPage.getByTestId('chat-input').fill('good luck today!');
    await viewerPage.getByTestId('chat-send').click();
    await eventually('the message on the streamer page', async () =>
      (await chatTexts(streamerPage)).includes('good luck today!') ? true : undefined,
    );
    expect(await viewerPage.getByTestId('chat-input').inputValue()).toBe('');
    await expectAccessible(viewerPage, 'the channel page with stream and chat');
    await screenshot(viewerPage, 'channel-stream-and-chat');

    // The streamer turns slow mode on: the viewer sees it.
    // Moderation by keyboard (focus, Enter), as a moderator without a mouse would.
    await streamerPage.getByTestId('chat-slow-30').focus();
    await streamerPage.keyboard.press('Enter');
    await viewerPage.getByTestId('chat-slow-mode').waitFor({ timeout: waitMs });

    // The streamer bans the viewer from their message: it disappears on both screens, and the
    // viewer's next message is refused with the server's sentence.
    streamerPage.once('dialog', (dialog) => void dialog.accept());
    await streamerPage
      .locator(
        `[data-testid="chat-message"][data-user-id="${viewer.userId}"] [data-testid="chat-ban"]`,
      )
      .focus();
    await streamerPage.keyboard.press('Enter');
    await streamerPage.getByTestId('chat-mod-note').waitFor({ timeout: waitMs });
    await eventually('the banned viewer messages gone from the viewer page', async () =>
      (await chatTexts(viewerPage)).includes('good luck today!') ? undefined : true,
    );
    expect(await chatTexts(streamerPage)).not.toContain('good luck today!');
    await viewerPage.getByTestId('chat-input').fill('why?');
    await viewerPage.getByTestId('chat-send').click();
    await viewerPage.getByTestId('chat-refusal').waitFor({ timeout: waitMs });
    expect(await viewerPage.getByTestId('chat-input').inputValue()).toBe('why?');
    await expectAccessible(streamerPage, 'the channel page as its moderator');
    await screenshot(streamerPage, 'channel-moderation');
    expect(web.browser.pageErrors).toEqual([]);
  });
});
