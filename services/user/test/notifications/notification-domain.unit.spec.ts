import { describe, expect, it } from 'vitest';
import { NotificationKind } from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';
import {
  effectiveChoice,
  formatAmount,
  languageFromAcceptLanguage,
  mandatoryKinds,
  notificationKinds,
  preferenceRefusal,
  renderNotification,
} from '../../src/notifications/domain.js';

describe('notification rules', () => {
  it('given minor units, then amounts read in each language without floating point', () => {
    expect(formatAmount(123_456_789n, 'BRL', 'en')).toBe('1,234,567.89 BRL');
    expect(formatAmount(123_456_789n, 'BRL', 'pt')).toBe('1.234.567,89 BRL');
    expect(formatAmount(5n, 'USD', 'en')).toBe('0.05 USD');
    expect(formatAmount(-150_000n, 'PTS', 'en')).toBe('-1,500 PTS');
    // 2^63 − 1 minor units stay exact.
    expect(formatAmount(9_223_372_036_854_775_807n, 'BRL', 'en')).toBe(
      '92,233,720,368,547,758.07 BRL',
    );
  });

  it('given a mandatory kind, then it is on in both channels whatever is stored, and turning it off is refused', () => {
    for (const kind of mandatoryKinds) {
      expect(effectiveChoice(kind, { inApp: false, email: false })).toEqual({
        inApp: true,
        email: true,
      });
      expect(preferenceRefusal(kind, { inApp: true, email: false })).toMatch(
        /cannot be turned off/,
      );
    }
    expect(preferenceRefusal(NotificationKind.BET_SETTLED, { inApp: false, email: false })).toBe(
      undefined,
    );
    expect(preferenceRefusal(NotificationKind.UNSPECIFIED, { inApp: true, email: true })).toMatch(
      /unknown/,
    );
  });

  it('given no stored choice, then settled bets are in the app only and money movements are emailed', () => {
    expect(effectiveChoice(NotificationKind.BET_SETTLED, undefined)).toEqual({
      inApp: true,
      email: false,
    });
    expect(effectiveChoice(NotificationKind.DEPOSIT_CREDITED, undefined)).toEqual({
      inApp: true,
      email: true,
    });
  });

  it('given every kind, then the email has a greeting, the body, the link and the footer, in both languages', () => {
    for (const language of ['en', 'pt'] as const) {
      const mail = renderNotification(
        {
          kind: NotificationKind.WITHDRAWAL_PAID,
          currency: 'BRL',
          amountMinor: 10_000n,
        },
        language,
        'Ana',
        'https://app.example/',
      );
      expect(mail.emailText).toContain(language === 'pt' ? 'Olá Ana,' : 'Hi Ana,');
      expect(mail.emailText).toContain(mail.body);
      expect(mail.emailText).toContain('https://app.example/?view=wallet');
      expect(mail.emailSubject).toBe(`StreamBet: ${mail.title}`);
    }
    expect(notificationKinds).not.toContain(NotificationKind.UNSPECIFIED);
  });

  it('given a browser Accept-Language, then the best supported language is chosen by weight, English otherwise', () => {
    expect(languageFromAcceptLanguage('pt-BR,pt;q=0.9,en;q=0.8')).toBe('pt');
    expect(languageFromAcceptLanguage('en-US,en;q=0.9,pt;q=0.8')).toBe('en');
    expect(languageFromAcceptLanguage('fr-FR,fr;q=0.9,pt;q=0.5')).toBe('pt');
    expect(languageFromAcceptLanguage('de;q=1, pt;q=0')).toBe('en');
    expect(languageFromAcceptLanguage('PT')).toBe('pt');
    expect(languageFromAcceptLanguage(undefined)).toBe('en');
    expect(languageFromAcceptLanguage('')).toBe('en');
  });
});
