/**
 * Accounts people can keep (issue 17) in a real browser against the embedded platform: a newcomer
 * registers, opens the verification link from the dev mailbox (the gateway's `/dev/mailbox`), asks
 * for a password reset from "Forgot password?" and sets a new password from the emailed link,
 * turns two-step verification on (the QR's secret read from the page, codes computed here with
 * otpauth, as an authenticator app would), changes the password with a code, changes the email
 * with a recovery code and the link mailed to the new address, and signs in again through the
 * second step with another recovery code, then withdraws (KYC passed and a card deposit credited at
 * the start, as the wallet spec does) and is asked for the authenticator code, which the payment
 * service checks through VerifySecondFactor. The devices list shows each session's network.
 * Every screen: axe at desktop and phone widths; the forms are driven by keyboard where a person
 * would.
 */
import { existsSync } from 'node:fs';
import * as OTPAuth from 'otpauth';
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
  testPassword,
  type WebTest,
} from './web-harness.js';

let web: WebTest;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) return;
  web = await startWebTest();
}, 240_000);

afterAll(async () => {
  await web?.close();
});

interface Mail {
  readonly kind: string;
  readonly to: string;
  readonly text: string;
}

/** The newest mail of `kind` to `to`, from the dev mailbox, once it is there. */
async function mailOf(to: string, kind: string, after = 0): Promise<Mail> {
  return eventually(`a ${kind} mail to ${to}`, async () => {
    const res = await fetch(`${web.appUrl}/dev/mailbox?format=json&to=${encodeURIComponent(to)}`);
    const body = (await res.json()) as { mails: Array<Mail & { createdAtMs: number }> };
    return body.mails.find((m) => m.kind === kind && m.createdAtMs >= after);
  });
}

/** The app URL of the link in `mail` (its query, on the test's app origin). */
function linkIn(mail: Mail): string {
  const link = /https?:\/\/\S+\?view=[a-z-]+&token=\S+/.exec(mail.text)?.[0];
  if (link === undefined) throw new Error(`no link in ${mail.text}`);
  return `/${new URL(link).search}`;
}

function totp(secret: string, atMs: number): string {
  return OTPAuth.TOTP.generate({ secret: OTPAuth.Secret.fromBase32(secret), timestamp: atMs });
}

const totpPeriodMs = 30_000;

/** The TOTP time step of `atMs`. */
function stepOf(atMs: number): number {
  return Math.floor(atMs / totpPeriodMs);
}

/**
 * A code of the step after `usedStep` (a step is accepted once, and only within ±1 of now): waits
 * for the clock to reach `usedStep` when needed (at most one period).
 */
async function codeAfter(
  secret: string,
  usedStep: number,
): Promise<{ code: string; step: number }> {
  const step = usedStep + 1;
  await eventually(
    `the clock within a step of ${step}`,
    () => Promise.resolve(stepOf(Date.now()) >= step - 1 ? true : undefined),
    totpPeriodMs + waitMs,
  );
  return { code: totp(secret, step * totpPeriodMs), step };
}

async function logIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByTestId('auth-mode-login').click();
  await page.getByTestId('auth-email').fill(email);
  await page.getByTestId('auth-password').fill(password);
  await page.getByTestId('auth-submit').click();
}

describe.skipIf(!existsSync(chromiumPath))('account screens', () => {
  it('walks registration, verification, reset, two-step on, password and email changes with a code, a second-step login, and a withdrawal with a code', async () => {
    const page = await web.newPage('/');
    const user = await registerInBrowser(page, web.kit, 'Keeper');

    // Money to withdraw at the end: KYC approved and a card deposit credited by the signed webhook.
    await passKyc(web, user.headers, 'Account Keeper');
    await page.getByTestId('nav-wallet').click();
    await page.getByTestId('deposit-amount').fill('50');
    await page.getByTestId('deposit-submit').click();
    const pending = page.getByTestId('pending-deposit');
    await pending.waitFor({ timeout: waitMs });
    await simulatePayment(
      web,
      'stripe',
      'succeed',
      (await pending.getAttribute('data-payment-id'))!,
    );
    await page
      .locator('[data-testid="balance-BRL"][data-available-minor="5000"]')
      .waitFor({ timeout: waitMs });

    // The verification email's link confirms the address.
    const verify = await mailOf(user.email, 'verify_email');
    await page.goto(`${web.appUrl}${linkIn(verify)}`);
    await expect
      .poll(() => page.getByTestId('verify-outcome').textContent(), { timeout: waitMs })
      .toBe('keeper@example.com is confirmed.');
    await screenshot(page, 'account-01-email-verified');
    await expectAccessible(page, 'verify-email landing');

    // Forgot password, by keyboard, from a signed-out page (the session lives in memory only).
    const resetPage = await web.newPage('/');
    await tabTo(resetPage, '[data-testid="auth-forgot"]');
    await resetPage.keyboard.press('Enter');
    await resetPage.getByTestId('auth-email').fill(user.email);
    await resetPage.keyboard.press('Enter');
    await expect
      .poll(() => resetPage.getByTestId('auth-notice').textContent(), { timeout: waitMs })
      .toContain('a link to reset its password is on its way');
    await expectAccessible(resetPage, 'forgot password');
    const reset = await mailOf(user.email, 'reset_password');
    await resetPage.goto(`${web.appUrl}${linkIn(reset)}`);
    const newPassword = 'a different long password';
    await tabTo(resetPage, '[data-testid="reset-password"]');
    await resetPage.keyboard.type(newPassword);
    await resetPage.keyboard.press('Enter');
    await expect
      .poll(() => resetPage.getByTestId('reset-outcome').textContent(), { timeout: waitMs })
      .toContain('Your password was changed');
    await screenshot(resetPage, 'account-02-password-reset');
    await expectAccessible(resetPage, 'reset-password landing');

    // Sign in with the new password and open the account screen.
    await resetPage.goto(`${web.appUrl}/`);
    await logIn(resetPage, user.email, newPassword);
    await resetPage.getByTestId('logout').waitFor({ timeout: waitMs });
    await resetPage.getByTestId('nav-account').click();
    await expect
      .poll(() => resetPage.getByTestId('email-verified').textContent(), { timeout: waitMs })
      .toBe('confirmed');
    await expect
      .poll(() => resetPage.getByTestId('session-row').count(), { timeout: waitMs })
      .toBeGreaterThan(0);
    // Each device shows its network (the browser reaches the gateway from this machine).
    expect(await resetPage.getByTestId('session-place').first().textContent()).toMatch(
      /network (127\.0\.0\.x|0:0:0:0::\/64)$/,
    );
    await expectAccessible(resetPage, 'account');

    // Two-step verification on: password, QR (secret read from the page), first code.
    await tabTo(resetPage, '[data-testid="two-step-password"]');
    await resetPage.keyboard.type(newPassword);
    await resetPage.keyboard.press('Enter');
    const qr = resetPage.getByTestId('two-step-qr');
    await qr.waitFor({ timeout: waitMs });
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml/);
    const secret = (await resetPage.getByTestId('two-step-secret').getAttribute('data-secret'))!;
    await screenshot(resetPage, 'account-03-two-step-qr');
    await expectAccessible(resetPage, 'two-step set-up');
    const confirmedAtMs = Date.now();
    await resetPage.getByTestId('two-step-code').fill(totp(secret, confirmedAtMs));
    await resetPage.getByTestId('two-step-confirm').click();
    const codes = resetPage.getByTestId('recovery-codes').locator('code');
    await expect.poll(() => codes.count(), { timeout: waitMs }).toBe(10);
    const [recovery, recoveryForEmail] = await codes.allTextContents();
    await expect
      .poll(() => resetPage.getByTestId('two-step-status').textContent(), { timeout: waitMs })
      .toContain('On. 10 recovery code(s) left.');
    await screenshot(resetPage, 'account-04-recovery-codes');
    await expectAccessible(resetPage, 'recovery codes');

    // Changing the password now asks for a code (the next time step: the first one is spent).
    const code = resetPage.getByTestId('password-code');
    await code.waitFor({ timeout: waitMs });
    await resetPage.getByTestId('password-current').fill(newPassword);
    await resetPage.getByTestId('password-new').fill(testPassword);
    await code.fill('000000');
    await resetPage.getByTestId('password-submit').click();
    await expect
      .poll(() => resetPage.getByTestId('password-outcome').textContent(), { timeout: waitMs })
      .toContain('is not the current code');
    const forPassword = await codeAfter(secret, stepOf(confirmedAtMs));
    await code.fill(forPassword.code);
    await resetPage.getByTestId('password-submit').click();
    await expect
      .poll(() => resetPage.getByTestId('password-outcome').textContent(), { timeout: waitMs })
      .toContain('Password changed.');
    await screenshot(resetPage, 'account-05-password-changed-with-code');

    // Changing the email asks for a code too (a recovery code here); the link moves the account.
    const newEmail = 'keeper.new@example.com';
    await resetPage.getByTestId('email-new').fill(newEmail);
    await resetPage.getByTestId('email-password').fill(testPassword);
    await resetPage.getByTestId('email-code').fill(recoveryForEmail!);
    await resetPage.getByTestId('email-submit').click();
    await expect
      .poll(() => resetPage.getByTestId('email-outcome').textContent(), { timeout: waitMs })
      .toContain('a confirmation link is on its way');
    const change = await mailOf(newEmail, 'change_email');
    await resetPage.goto(`${web.appUrl}${linkIn(change)}`);
    await expect
      .poll(() => resetPage.getByTestId('confirm-email-outcome').textContent(), {
        timeout: waitMs,
      })
      .toBe(`Your account now uses ${newEmail}.`);
    await expectAccessible(resetPage, 'confirm-email landing');
    await mailOf(user.email, 'email_changed');

    // Signing in again asks for the second step; a recovery code answers it.
    const again = await web.newPage('/');
    await logIn(again, newEmail, testPassword);
    const codeField = again.getByTestId('auth-code');
    await codeField.waitFor({ timeout: waitMs });
    await expectAccessible(again, 'login second step');
    await screenshot(again, 'account-06-login-second-step');
    await codeField.fill(recovery!);
    await again.keyboard.press('Enter');
    await again.getByTestId('logout').waitFor({ timeout: waitMs });

    // A withdrawal asks for the code too: the payment service checks it (VerifySecondFactor).
    await again.getByTestId('nav-wallet').click();
    await again.getByTestId('withdraw').waitFor({ timeout: waitMs });
    await again.getByTestId('withdraw-destination').fill('52998224725');
    await again.getByTestId('withdraw-amount').fill('30');
    await again.getByTestId('withdraw-submit').click();
    await expect
      .poll(() => again.getByTestId('withdraw-error').textContent(), { timeout: waitMs })
      .toContain('is required: two-step verification is on');
    await screenshot(again, 'account-07-withdrawal-asks-for-code');
    await expectAccessible(again, 'withdrawal asking for the code');
    const forWithdrawal = await codeAfter(secret, forPassword.step);
    await tabTo(again, '[data-testid="withdraw-second-factor"]');
    await again.keyboard.type(forWithdrawal.code);
    await again.keyboard.press('Enter');
    await again.getByTestId('withdrawal-progress').waitFor({ timeout: waitMs });
    expect(await again.getByTestId('withdrawal-status').innerText()).toBe('Processing');
    await screenshot(again, 'account-08-withdrawal-with-code');
    expect(web.browser.pageErrors).toEqual([]);
  }, 120_000);
});
