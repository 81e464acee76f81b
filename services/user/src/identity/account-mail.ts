/**
 * The emails of account recovery (issue 17): address verification, password reset and the notices
 * that a password changed. Plain text, in the account's language (English or Portuguese, the
 * MercadoPago market; chosen from the browser's languages at registration, changeable in the
 * notification preferences). The tokens are opaque random strings (256 bits, prefixed by purpose); only
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

/** Languages of account emails (the notifications centre's). */
export type MailLanguage = 'en' | 'pt';

interface Recipient {
  readonly messageId: string;
  readonly userId: string;
  readonly to: string;
  readonly displayName: string;
  /** Default English. */
  readonly language?: MailLanguage;
}

/** The English or the Portuguese text, by the recipient's language. */
function say(r: Recipient, en: string, pt: string): string {
  return r.language === 'pt' ? pt : en;
}

function hello(r: Recipient): string {
  return say(r, `Hello ${r.displayName},`, `Olá ${r.displayName},`);
}

export function verificationMail(r: Recipient, token: string, baseUrl: string): OutgoingMail {
  return {
    messageId: r.messageId,
    userId: r.userId,
    kind: 'verify_email',
    to: r.to,
    subject: say(r, 'Confirm your StreamBet email address', 'Confirme seu email na StreamBet'),
    text: [
      hello(r),
      '',
      say(
        r,
        'Confirm this address to use real money on StreamBet:',
        'Confirme este endereço para usar dinheiro real na StreamBet:',
      ),
      link(baseUrl, 'verify-email', token),
      '',
      say(r, `Or enter this code: ${token}`, `Ou digite este código: ${token}`),
      '',
      say(
        r,
        'The link works once and expires in 48 hours. If you did not sign up, ignore this email.',
        'O link funciona uma vez e expira em 48 horas. Se você não se cadastrou, ignore este email.',
      ),
    ].join('\n'),
  };
}

export function resetMail(r: Recipient, token: string, baseUrl: string): OutgoingMail {
  return {
    messageId: r.messageId,
    userId: r.userId,
    kind: 'reset_password',
    to: r.to,
    subject: say(r, 'Reset your StreamBet password', 'Redefina sua senha da StreamBet'),
    text: [
      hello(r),
      '',
      say(
        r,
        'Someone asked to reset the password of your StreamBet account. To choose a new one:',
        'Alguém pediu para redefinir a senha da sua conta StreamBet. Para escolher uma nova:',
      ),
      link(baseUrl, 'reset-password', token),
      '',
      say(r, `Or enter this code: ${token}`, `Ou digite este código: ${token}`),
      '',
      say(
        r,
        'The link works once and expires in 30 minutes. If it was not you, ignore this email:\nyour password stays as it is.',
        'O link funciona uma vez e expira em 30 minutos. Se não foi você, ignore este email:\nsua senha continua a mesma.',
      ),
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
    subject: say(r, 'Your StreamBet password was changed', 'Sua senha da StreamBet foi alterada'),
    text: [
      hello(r),
      '',
      how === 'reset'
        ? say(
            r,
            'The password of your StreamBet account was reset with a link sent to this address.',
            'A senha da sua conta StreamBet foi redefinida com um link enviado para este endereço.',
          )
        : say(
            r,
            'The password of your StreamBet account was changed from a signed-in device.',
            'A senha da sua conta StreamBet foi alterada a partir de um dispositivo conectado.',
          ),
      say(
        r,
        `${revokedSessions} other signed-in session(s) were signed out.`,
        `${revokedSessions} outra(s) sessão(ões) conectada(s) foram encerradas.`,
      ),
      '',
      say(
        r,
        'If this was not you, reset your password at once and contact support.',
        'Se não foi você, redefina sua senha imediatamente e fale com o suporte.',
      ),
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
    subject: say(
      r,
      'Confirm your new StreamBet email address',
      'Confirme seu novo email na StreamBet',
    ),
    text: [
      hello(r),
      '',
      say(
        r,
        'You asked to use this address for your StreamBet account. To confirm it:',
        'Você pediu para usar este endereço na sua conta StreamBet. Para confirmar:',
      ),
      link(baseUrl, 'confirm-email', token),
      '',
      say(r, `Or enter this code: ${token}`, `Ou digite este código: ${token}`),
      '',
      say(
        r,
        'The link works once and expires in 1 hour. Until then the account keeps its old address.\nIf it was not you, ignore this email.',
        'O link funciona uma vez e expira em 1 hora. Até lá a conta mantém o endereço antigo.\nSe não foi você, ignore este email.',
      ),
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
    subject: say(
      r,
      'Your StreamBet email address was changed',
      'Seu email na StreamBet foi alterado',
    ),
    text: [
      hello(r),
      '',
      say(
        r,
        `The email address of your StreamBet account is now ${newEmail}.\nMessages about the account go there from now on.`,
        `O email da sua conta StreamBet agora é ${newEmail}.\nAs mensagens sobre a conta vão para lá a partir de agora.`,
      ),
      '',
      say(
        r,
        'If this was not you, contact support at once.',
        'Se não foi você, fale com o suporte imediatamente.',
      ),
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
      ? say(
          r,
          'Two-step verification is on for your StreamBet account',
          'A verificação em duas etapas está ativa na sua conta StreamBet',
        )
      : say(
          r,
          'Two-step verification was turned off for your StreamBet account',
          'A verificação em duas etapas foi desativada na sua conta StreamBet',
        ),
    text: [
      hello(r),
      '',
      on
        ? say(
            r,
            'Signing in, withdrawing and changing your email or password now ask for a code from your authenticator app. Keep your recovery codes somewhere safe.',
            'Entrar, sacar e alterar seu email ou senha agora pedem um código do seu aplicativo autenticador. Guarde seus códigos de recuperação em um lugar seguro.',
          )
        : say(
            r,
            'Signing in and sensitive changes no longer ask for a code from your authenticator app.',
            'Entrar e alterações sensíveis não pedem mais um código do seu aplicativo autenticador.',
          ),
      '',
      say(
        r,
        'If this was not you, reset your password at once and contact support.',
        'Se não foi você, redefina sua senha imediatamente e fale com o suporte.',
      ),
    ].join('\n'),
  };
}
