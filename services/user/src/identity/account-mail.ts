/**
 * The emails of account recovery (issue 17): address verification, password reset and the notices
 * that a password changed. Plain text, English only for now (templates in pt/en come with the
 * notifications centre). The tokens are opaque random strings (256 bits, prefixed by purpose); only
 * their SHA-256 is stored, so a database leak cannot use them and a forged one is simply unknown.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { OutgoingMail } from '../mail/mail-outbox.js';
import type { EmailTokenPurpose } from './store/index.js';

const prefixes: Readonly<Record<EmailTokenPurpose, string>> = {
  verify_email: 'sbev_',
  reset_password: 'sbpr_',
  change_email: 'sbec_',
};

/** How long each kind of token works. */
export const emailTokenTtlMs: Readonly<Record<EmailTokenPurpose, number>> = {
  verify_email: 48 * 3_600_000,
  reset_password: 30 * 60_000,
  change_email: 3_600_000,
};

/** A new token for `purpose`. */
export function newEmailToken(purpose: EmailTokenPurpose): string {
  return `${prefixes[purpose]}${randomBytes(32).toString('base64url')}`;
}

/** True when `token` has the shape {@link newEmailToken} gives tokens of `purpose`. */
export function isWellFormedEmailToken(token: string, purpose: EmailTokenPurpose): boolean {
  return token.startsWith(prefixes[purpose]) && /^sb(ev|pr|ec)_[A-Za-z0-9_-]{43}$/.test(token);
}

/** What is stored of an emailed token. */
export function hashEmailToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The link of a token on the web app (`base` is MAIL_LINK_BASE_URL): the app's landing view for it
 * (`?view=verify-email|reset-password|confirm-email&token=…`, apps/web/src/account/).
 */
function link(base: string, view: string, token: string): string {
  return `${base.replace(/\/+$/, '')}/?view=${view}&token=${encodeURIComponent(token)}`;
}

interface Recipient {
  readonly messageId: string;
  readonly userId: string;
  readonly to: string;
  readonly displayName: string;
}

export function verificationMail(r: Recipient, token: string, baseUrl: string): OutgoingMail {
  return {
    messageId: r.messageId,
    userId: r.userId,
    kind: 'verify_email',
    to: r.to,
    subject: 'Confirm your StreamBet email address',
    text: [
      `Hello ${r.displayName},`,
      '',
      'Confirm this address to use real money on StreamBet:',
      link(baseUrl, 'verify-email', token),
      '',
      `Or enter this code: ${token}`,
      '',
      'The link works once and expires in 48 hours. If you did not sign up, ignore this email.',
    ].join('\n'),
  };
}

export function resetMail(r: Recipient, token: string, baseUrl: string): OutgoingMail {
  return {
    messageId: r.messageId,
    userId: r.userId,
    kind: 'reset_password',
    to: r.to,
    subject: 'Reset your StreamBet password',
    text: [
      `Hello ${r.displayName},`,
      '',
      'Someone asked to reset the password of your StreamBet account. To choose a new one:',
      link(baseUrl, 'reset-password', token),
      '',
      `Or enter this code: ${token}`,
      '',
      'The link works once and expires in 30 minutes. If it was not you, ignore this email:',
      'your password stays as it is.',
    ].join('\n'),
  };
}

export function passwordChangedMail(
  r: Recipient,
  how: 'reset' | 'change',
  revokedSessions: number,
): OutgoingMail {
  return {
    messageId: r.messageId,
    userId: r.userId,
    kind: how === 'reset' ? 'password_reset_done' : 'password_changed',
    to: r.to,
    subject: 'Your StreamBet password was changed',
    text: [
      `Hello ${r.displayName},`,
      '',
      how === 'reset'
        ? 'The password of your StreamBet account was reset with a link sent to this address.'
        : 'The password of your StreamBet account was changed from a signed-in device.',
      `${revokedSessions} other signed-in session(s) were signed out.`,
      '',
      'If this was not you, reset your password at once and contact support.',
    ].join('\n'),
  };
}

/** To the new address of an email change: the link that makes the change. */
export function emailChangeMail(r: Recipient, token: string, baseUrl: string): OutgoingMail {
  return {
    messageId: r.messageId,
    userId: r.userId,
    kind: 'change_email',
    to: r.to,
    subject: 'Confirm your new StreamBet email address',
    text: [
      `Hello ${r.displayName},`,
      '',
      'You asked to use this address for your StreamBet account. To confirm it:',
      link(baseUrl, 'confirm-email', token),
      '',
      `Or enter this code: ${token}`,
      '',
      'The link works once and expires in 1 hour. Until then the account keeps its old address.',
      'If it was not you, ignore this email.',
    ].join('\n'),
  };
}

/** To the old address once an email change took effect. */
export function emailChangedMail(r: Recipient, newEmail: string): OutgoingMail {
  return {
    messageId: r.messageId,
    userId: r.userId,
    kind: 'email_changed',
    to: r.to,
    subject: 'Your StreamBet email address was changed',
    text: [
      `Hello ${r.displayName},`,
      '',
      `The email address of your StreamBet account is now ${newEmail}.`,
      'Messages about the account go there from now on.',
      '',
      'If this was not you, contact support at once.',
    ].join('\n'),
  };
}

/** Two-step verification turned on or off. */
export function twoStepChangedMail(r: Recipient, on: boolean): OutgoingMail {
  return {
    messageId: r.messageId,
    userId: r.userId,
    kind: 'two_step_changed',
    to: r.to,
    subject: on
      ? 'Two-step verification is on for your StreamBet account'
      : 'Two-step verification was turned off for your StreamBet account',
    text: [
      `Hello ${r.displayName},`,
      '',
      on
        ? 'Signing in, withdrawing and changing your email or password now ask for a code from your authenticator app. Keep your recovery codes somewhere safe.'
        : 'Signing in and sensitive changes no longer ask for a code from your authenticator app.',
      '',
      'If this was not you, reset your password at once and contact support.',
    ].join('\n'),
  };
}
