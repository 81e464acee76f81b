/**
 * The rules of the notifications centre, pure: which kinds exist, which cannot be turned off
 * (responsible gambling and security: a regulator expects the user to be told), the defaults, and
 * the words of each notification and its email in English and Portuguese (the MercadoPago market).
 * Amounts are integer minor units rendered without floating point.
 */
import { NotificationKind } from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';

/** Languages of notification texts and emails. */
export type NotificationLanguage = 'en' | 'pt';

/** Every language supported, the default first. */
export const notificationLanguages: readonly NotificationLanguage[] = ['en', 'pt'];

/** True when `value` names a supported language. */
export function isNotificationLanguage(value: string): value is NotificationLanguage {
  return (notificationLanguages as readonly string[]).includes(value);
}

/**
 * The supported language a reader prefers, from an Accept-Language header (`pt-BR,pt;q=0.9,en;q=0.8`):
 * the highest-weighted tag whose primary subtag is supported; English when none is.
 */
export function languageFromAcceptLanguage(
  header: string | null | undefined,
): NotificationLanguage {
  if (header === null || header === undefined || header === '') return 'en';
  const ranked = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return {
        primary: tag.trim().toLowerCase().split('-')[0] ?? '',
        weight: q === undefined ? 1 : Number(q),
        index,
      };
    })
    .filter((t) => t.weight > 0 && isNotificationLanguage(t.primary))
    .sort((a, b) => b.weight - a.weight || a.index - b.index);
  const best = ranked[0]?.primary;
  return best !== undefined && isNotificationLanguage(best) ? best : 'en';
}

/** Every kind, in enum order (UNSPECIFIED excluded). */
export const notificationKinds: readonly NotificationKind[] = [
  NotificationKind.BET_SETTLED,
  NotificationKind.MARKET_REFUNDED,
  NotificationKind.DEPOSIT_CREDITED,
  NotificationKind.WITHDRAWAL_PAID,
  NotificationKind.WITHDRAWAL_FAILED,
  NotificationKind.KYC_DECIDED,
  NotificationKind.LIMIT_CHANGED,
  NotificationKind.NEW_DEVICE_LOGIN,
  NotificationKind.MARKET_VOIDED,
];

/**
 * Kinds that stay on in both channels whatever the user chooses: money that did not arrive,
 * identity decisions, responsible-gambling limits and logins from new devices.
 */
export const mandatoryKinds: ReadonlySet<NotificationKind> = new Set([
  NotificationKind.MARKET_VOIDED,
  NotificationKind.WITHDRAWAL_FAILED,
  NotificationKind.KYC_DECIDED,
  NotificationKind.LIMIT_CHANGED,
  NotificationKind.NEW_DEVICE_LOGIN,
]);

/** Where a notification is delivered. */
export interface ChannelChoice {
  readonly inApp: boolean;
  readonly email: boolean;
}

/**
 * The default of a kind for a user who never chose: everything in the app; email for money
 * movements and mandatory kinds, not for every settled bet (a busy bettor would get dozens).
 */
export function defaultChoice(kind: NotificationKind): ChannelChoice {
  return { inApp: true, email: kind !== NotificationKind.BET_SETTLED };
}

/** The choice in force: a mandatory kind is on in both channels whatever is stored. */
export function effectiveChoice(
  kind: NotificationKind,
  stored: ChannelChoice | undefined,
): ChannelChoice {
  if (mandatoryKinds.has(kind)) return { inApp: true, email: true };
  return stored ?? defaultChoice(kind);
}

/** Why a preference change is refused, or undefined when it is allowed. */
export function preferenceRefusal(
  kind: NotificationKind,
  choice: ChannelChoice,
): string | undefined {
  if (!notificationKinds.includes(kind)) return `unknown notification kind ${kind}`;
  if (mandatoryKinds.has(kind) && (!choice.inApp || !choice.email)) {
    return `${NotificationKind[kind]} notifications cannot be turned off: they concern your money, your identity, your limits or your account's security`;
  }
  return undefined;
}

/** What happened, as the consumers read it from events; words come from {@link renderNotification}. */
export type NotificationDraft =
  | {
      readonly kind: NotificationKind.BET_SETTLED;
      readonly marketId: string;
      readonly currency: string;
      readonly stakeMinor: bigint;
      readonly payoutMinor: bigint;
    }
  | {
      readonly kind: NotificationKind.MARKET_REFUNDED;
      readonly marketId: string;
      readonly currency: string;
      readonly refundMinor: bigint;
    }
  | {
      readonly kind: NotificationKind.DEPOSIT_CREDITED | NotificationKind.WITHDRAWAL_PAID;
      readonly currency: string;
      readonly amountMinor: bigint;
    }
  | {
      readonly kind: NotificationKind.WITHDRAWAL_FAILED;
      readonly currency: string;
      readonly amountMinor: bigint;
      readonly reason: string;
    }
  | {
      readonly kind: NotificationKind.KYC_DECIDED;
      readonly verified: boolean;
      readonly reason: string;
    }
  | {
      readonly kind: NotificationKind.LIMIT_CHANGED;
      readonly limitName: string;
      readonly effectiveAtMs: number;
      readonly scheduled: boolean;
    }
  | { readonly kind: NotificationKind.NEW_DEVICE_LOGIN; readonly atMs: number }
  | {
      readonly kind: NotificationKind.MARKET_VOIDED;
      readonly marketId: string;
      readonly currency: string;
      /** Signed change to the wallet: negative = winnings taken back, positive = stake returned. */
      readonly adjustmentMinor: bigint;
    };

/** The words of one notification. */
export interface RenderedNotification {
  readonly title: string;
  readonly body: string;
  /** A path of the web app the notification leads to. */
  readonly link: string;
  readonly emailSubject: string;
  /** Plain-text email body (greeting, body, link, footer). */
  readonly emailText: string;
}

/** Currencies shown without decimals (play points). */
const wholeUnitCurrencies = new Set(['PTS']);

/** `amountMinor` of `currency` as text, e.g. "12.34 BRL" / "12,34 BRL", "1,500 PTS". */
export function formatAmount(
  amountMinor: bigint,
  currency: string,
  language: NotificationLanguage,
): string {
  const negative = amountMinor < 0n;
  const abs = negative ? -amountMinor : amountMinor;
  const group = language === 'pt' ? '.' : ',';
  const decimal = language === 'pt' ? ',' : '.';
  const grouped = (n: bigint) => n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, group);
  const text = wholeUnitCurrencies.has(currency)
    ? grouped(abs / 100n)
    : `${grouped(abs / 100n)}${decimal}${(abs % 100n).toString().padStart(2, '0')}`;
  return `${negative ? '-' : ''}${text} ${currency}`;
}

function isoMinute(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

interface Words {
  readonly title: string;
  readonly body: string;
  readonly link: string;
}

function words(draft: NotificationDraft, lang: NotificationLanguage): Words {
  const pt = lang === 'pt';
  switch (draft.kind) {
    case NotificationKind.BET_SETTLED: {
      const won = draft.payoutMinor > 0n;
      const paid = formatAmount(draft.payoutMinor, draft.currency, lang);
      const staked = formatAmount(draft.stakeMinor, draft.currency, lang);
      return {
        title: won
          ? pt
            ? `Você ganhou ${paid}`
            : `You won ${paid}`
          : pt
            ? 'Sua aposta foi liquidada'
            : 'Your bet was settled',
        body: won
          ? pt
            ? `O mercado foi resolvido e ${paid} (aposta de ${staked}) já estão na sua carteira.`
            : `The market was resolved and ${paid} (on a stake of ${staked}) is in your wallet.`
          : pt
            ? `O mercado foi resolvido; sua aposta de ${staked} não venceu desta vez.`
            : `The market was resolved; your stake of ${staked} did not win this time.`,
        link: '/?view=wallet',
      };
    }
    case NotificationKind.MARKET_REFUNDED: {
      const refund = formatAmount(draft.refundMinor, draft.currency, lang);
      return {
        title: pt ? `Reembolso de ${refund}` : `${refund} refunded`,
        body: pt
          ? `Um mercado em que você apostou foi cancelado ou anulado; ${refund} voltaram para sua carteira.`
          : `A market you bet on was canceled or voided; ${refund} is back in your wallet.`,
        link: '/?view=wallet',
      };
    }
    case NotificationKind.DEPOSIT_CREDITED: {
      const amount = formatAmount(draft.amountMinor, draft.currency, lang);
      return {
        title: pt ? `Depósito de ${amount} creditado` : `Deposit of ${amount} credited`,
        body: pt
          ? `Seu depósito de ${amount} chegou e já está disponível na sua carteira.`
          : `Your deposit of ${amount} arrived and is available in your wallet.`,
        link: '/?view=wallet',
      };
    }
    case NotificationKind.WITHDRAWAL_PAID: {
      const amount = formatAmount(draft.amountMinor, draft.currency, lang);
      return {
        title: pt ? `Saque de ${amount} pago` : `Withdrawal of ${amount} paid`,
        body: pt
          ? `Enviamos ${amount} para o seu destino de saque.`
          : `We sent ${amount} to your payout destination.`,
        link: '/?view=wallet',
      };
    }
    case NotificationKind.WITHDRAWAL_FAILED: {
      const amount = formatAmount(draft.amountMinor, draft.currency, lang);
      const reason = draft.reason === '' ? '' : ` (${draft.reason})`;
      return {
        title: pt ? `Saque de ${amount} falhou` : `Withdrawal of ${amount} failed`,
        body: pt
          ? `O provedor recusou o saque${reason}; ${amount} voltaram para sua carteira.`
          : `The provider refused the payout${reason}; ${amount} is back in your wallet.`,
        link: '/?view=wallet',
      };
    }
    case NotificationKind.KYC_DECIDED: {
      const reason =
        draft.reason === '' ? '' : pt ? ` Motivo: ${draft.reason}.` : ` Reason: ${draft.reason}.`;
      return {
        title: draft.verified
          ? pt
            ? 'Identidade verificada'
            : 'Identity verified'
          : pt
            ? 'Verificação de identidade recusada'
            : 'Identity verification rejected',
        body: draft.verified
          ? pt
            ? 'Sua identidade foi verificada: saques e depósitos acima do limite estão liberados.'
            : 'Your identity is verified: withdrawals and deposits above the threshold are open to you.'
          : pt
            ? `Não pudemos verificar sua identidade.${reason} Você pode enviar novamente.`
            : `We could not verify your identity.${reason} You may submit again.`,
        link: '/?view=account',
      };
    }
    case NotificationKind.LIMIT_CHANGED:
      return {
        title: pt ? 'Seu limite mudou' : 'Your limit changed',
        body: draft.scheduled
          ? pt
            ? `O aumento do seu ${draft.limitName} entra em vigor em ${isoMinute(draft.effectiveAtMs)}.`
            : `The raise of your ${draft.limitName} takes effect at ${isoMinute(draft.effectiveAtMs)}.`
          : pt
            ? `Seu ${draft.limitName} mudou e já está em vigor.`
            : `Your ${draft.limitName} changed and is in force now.`,
        link: '/?view=account',
      };
    case NotificationKind.MARKET_VOIDED: {
      const amount = formatAmount(
        draft.adjustmentMinor < 0n ? -draft.adjustmentMinor : draft.adjustmentMinor,
        draft.currency,
        lang,
      );
      const back = draft.adjustmentMinor >= 0n;
      return {
        title: pt ? 'Um mercado foi anulado' : 'A market was voided',
        body: back
          ? pt
            ? `Um mercado em que você apostou foi anulado depois de liquidado; sua aposta de ${amount} voltou para sua carteira.`
            : `A market you bet on was voided after it was settled; your stake of ${amount} is back in your wallet.`
          : pt
            ? `Um mercado em que você apostou foi anulado depois de liquidado; os ${amount} ganhos foram estornados da sua carteira.`
            : `A market you bet on was voided after it was settled; the ${amount} you won was taken back from your wallet.`,
        link: '/?view=wallet',
      };
    }
    case NotificationKind.NEW_DEVICE_LOGIN:
      return {
        title: pt ? 'Novo acesso à sua conta' : 'New login to your account',
        body: pt
          ? `Alguém entrou na sua conta de um dispositivo novo em ${isoMinute(draft.atMs)}. Se não foi você, troque sua senha e encerre as sessões.`
          : `Someone logged in to your account from a new device at ${isoMinute(draft.atMs)}. If it was not you, change your password and end your sessions.`,
        link: '/?view=account',
      };
  }
}

/** The notification's words and email in `language`; `linkBase` is the web app's origin. */
export function renderNotification(
  draft: NotificationDraft,
  language: NotificationLanguage,
  displayName: string,
  linkBase: string,
): RenderedNotification {
  const w = words(draft, language);
  const pt = language === 'pt';
  const url = `${linkBase.replace(/\/+$/, '')}${w.link}`;
  const greeting = pt ? `Olá ${displayName},` : `Hi ${displayName},`;
  const footer = pt
    ? 'Você recebe este email por causa das suas preferências de notificação na StreamBet.'
    : 'You get this email because of your notification preferences on StreamBet.';
  return {
    title: w.title,
    body: w.body,
    link: w.link,
    emailSubject: `StreamBet: ${w.title}`,
    emailText: `${greeting}\n\n${w.body}\n\n${url}\n\n— StreamBet\n${footer}\n`,
  };
}
