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
};

/** How long each kind of token works. */
export const emailTokenTtlMs: Readonly<Record<EmailTokenPurpose, number>> = {
  verify_email: 48 * 3_600_000,
  reset_password: 30 * 60_000,
};

/** A new token for `purpose`. */
export function newEmailToken(purpose: EmailTokenPurpose): string {
  return `${prefixes[purpose]}${randomBytes(32).toString('base64url')}`;
}

/** True when `token` has the shape {@link newEmailToken} gives tokens of `purpose`. */
export function isWellFormedEmailToken(token: string, purpose: EmailTokenPurpose): boolean {
  return token.startsWith(prefixes[purpose]) && /^sb(ev|pr)_[A-Za-z0-9_-]{43}$/.test(token);
}

/** What is stored of an emailed token. */
export function hashEmailToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The link of a token on the web app (`base` is MAIL_LINK_BASE_URL). */
function link(base: string, path: string, token: string): string {
  return `${base.replace(/\/+$/, '')}/${path}?token=${encodeURIComponent(token)}`;
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
