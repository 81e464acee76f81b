/**
 * The wallet screen in a real browser against the whole embedded platform with its fake payment
 * providers: a newcomer deposits by card (the fake Stripe; the success webhook sent exactly as
 * `npm run simulate -- stripe succeed <id>` sends it, signed, through the app's origin) and sees
 * the wallet credited live over the socket; starts a Pix deposit and sees the QR code, the
 * copy-paste code and the countdown move; passes KYC (StartKyc, an admin's ReviewKyc) and
 * withdraws to a Pix key, watching the status move from processing to paid live; the history
 * lists every payment. Keyboard use, phone width and axe-core are checked on each step.
 */
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumPath,
  eventually,
  expectAccessible,
  screenshot,
  tabTo,
  waitMs,
} from '@streambet/testkit/browser';
import {
  passKyc,
  registerInBrowser,
  simulatePayment,
  startWebTest,
  type WebTest,
} from './web-harness.js';

let web: WebTest;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) return;
  web = await startWebTest();
});

afterAll(async () => {
  await web?.close();
});

async function balanceShows(page: Page, currency: string, availableMinor: bigint): Promise<void> {
  await page
    .locator(`[data-testid="balance-${currency}"][data-available-minor="${availableMinor}"]`)
    .waitFor({ timeout: waitMs });
}

describe.skipIf(!existsSync(chromiumPath))('the wallet: deposits, withdrawals, history', () => {
  it('deposits by card and Pix, withdraws after KYC, all live, keyboard and axe clean', async () => {
    const page = await web.newPage('/');
    const user = await registerInBrowser(page, web.kit, 'WalletUser');
    await tabTo(page, '[data-testid="nav-wallet"]');
    await page.keyboard.press('Enter');
    await page.getByTestId('deposit').waitFor({ timeout: waitMs });
    await balanceShows(page, 'BRL', 0n);
    await page.locator('[data-testid="wallet-live"]', { hasText: 'live' }).waitFor({
      timeout: waitMs,
    });
    await expectAccessible(page, 'wallet, empty');
    await screenshot(page, 'wallet-1-empty');

    // A card deposit by keyboard: amount, method, submit.
    await tabTo(page, '[data-testid="deposit-amount"]');
    await page.keyboard.type('50,00');
    await tabTo(page, '[data-testid="deposit-submit"]');
    await page.keyboard.press('Enter');
    const pending = page.getByTestId('pending-deposit');
    await pending.waitFor({ timeout: waitMs });
    await page.getByTestId('test-money').waitFor({ timeout: waitMs });
    const cardPaymentId = (await pending.getAttribute('data-payment-id'))!;
    expect(await page.getByTestId('card-step').innerText()).toContain(
      `npm run simulate -- stripe succeed ${cardPaymentId}`,
    );
    expect(await page.getByTestId('deposit-status').innerText()).toBe('Waiting for payment');
    await expectAccessible(page, 'wallet, card deposit waiting (test money)');
    await screenshot(page, 'wallet-2-card-test-money');

    // The provider confirms: the wallet is credited live (a push, no reload) and formatted as BRL.
    await simulatePayment(web, 'stripe', 'succeed', cardPaymentId);
    await balanceShows(page, 'BRL', 5000n);
    expect(await page.getByTestId('balance-BRL-available').innerText()).toBe('R$ 50,00');
    await page
      .getByTestId('deposit-status')
      .filter({ hasText: 'Credited' })
      .waitFor({ timeout: waitMs });
    expect(
      Number(await page.getByTestId('balance-BRL').getAttribute('data-sequence')),
    ).toBeGreaterThan(0);
    await screenshot(page, 'wallet-3-card-credited');

    // A Pix deposit: QR code, copy-paste code and a countdown that moves.
    await page.getByTestId('method-pix').check();
    await page.getByTestId('deposit-amount').fill('20');
    await page.getByTestId('deposit-submit').click();
    await page.getByTestId('pix-qr').waitFor({ timeout: waitMs });
    expect(await page.getByTestId('pix-code').inputValue()).toMatch(/^000201/);
    const countdown = page.getByTestId('pix-countdown');
    const first = await countdown.innerText();
    expect(first).toMatch(/^Expires in \d+:\d\d$/);
    await eventually('the Pix countdown to move', async () =>
      (await countdown.innerText()) !== first ? true : undefined,
    );
    await expectAccessible(page, 'wallet, Pix deposit');
    await screenshot(page, 'wallet-4-pix');

    // KYC passed, a withdrawal to a Pix key; its status moves live to paid.
    await passKyc(web, user.headers, 'Wallet Tester');
    await page.getByTestId('withdraw-destination').fill('52998224725');
    await page.getByTestId('withdraw-amount').fill('30');
    await tabTo(page, '[data-testid="withdraw-submit"]');
    await page.keyboard.press('Enter');
    const progress = page.getByTestId('withdrawal-progress');
    await progress.waitFor({ timeout: waitMs });
    expect(await page.getByTestId('withdrawal-status').innerText()).toBe('Processing');
    await balanceShows(page, 'BRL', 2000n);
    await screenshot(page, 'wallet-5-withdrawal-processing');
    const withdrawalId = (await progress.getAttribute('data-payment-id'))!;
    await simulatePayment(web, 'mercadopago', 'paid', withdrawalId);
    await page
      .getByTestId('withdrawal-status')
      .filter({ hasText: 'Paid' })
      .waitFor({ timeout: waitMs });
    await balanceShows(page, 'BRL', 2000n);
    await expectAccessible(page, 'wallet, withdrawal paid');
    await screenshot(page, 'wallet-6-withdrawal-paid');

    // The history lists all three, newest first.
    await eventually('the history to list the three payments', async () => {
      const rows = await Promise.all(
        (await page.getByTestId('history-row').all()).map(async (row) => [
          await row.getAttribute('data-payment-id'),
          await row.getAttribute('data-status'),
        ]),
      );
      return rows.length === 3 ? rows : undefined;
    }).then((rows) => {
      expect(rows[0]).toEqual([withdrawalId, 'succeeded']);
      expect(rows[2]).toEqual([cardPaymentId, 'succeeded']);
    });
    await screenshot(page, 'wallet-7-history');

    // A refusal reads as a sentence in the currency's formatting (above the per-deposit maximum).
    await page.getByTestId('method-card').check();
    await page.getByTestId('deposit-amount').fill('99999999');
    await page.getByTestId('deposit-submit').click();
    expect(await page.getByTestId('deposit-error').innerText()).toMatch(
      /^The largest deposit is R\$ /,
    );
    expect(web.browser.pageErrors).toEqual([]);
  }, 120_000);
});
