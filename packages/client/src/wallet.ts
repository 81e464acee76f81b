/**
 * Which wallet balances a viewer sees. GetWallet answers one entry per deployment currency
 * (real currency first, then PTS), so a play-money-only viewer would read "R$ 0.00" next to
 * their points: a real currency is shown only when the viewer has money in it.
 */
import type { WalletBalance } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { formatMinor } from './money.js';

export * from './money.js';
export * from './wallet-push.js';

/** The play-money currency, always shown. */
export const playMoneyCurrency = 'PTS';

/** The balance fields the choice depends on. */
export type BalanceInput = Pick<WalletBalance, 'currency' | 'postedMinor' | 'pendingMinor'>;

/**
 * Balances to show: PTS first (always), then each real currency the viewer holds money in
 * (posted or held in bets).
 */
export function visibleBalances<B extends BalanceInput>(balances: readonly B[]): B[] {
  const points = balances.filter((b) => b.currency === playMoneyCurrency);
  const real = balances.filter(
    (b) => b.currency !== playMoneyCurrency && (b.postedMinor > 0n || b.pendingMinor > 0n),
  );
  return [...points, ...real];
}

/** One wallet balance as shown, with the ledger sequence it is as of (0 = loaded by RPC, unknown). */
export interface ShownBalance {
  readonly currency: string;
  readonly postedMinor: bigint;
  /** Held by open holds (bets, orders, withdrawals in progress). */
  readonly pendingMinor: bigint;
  readonly availableMinor: bigint;
  /** Ledger commit sequence of the snapshot shown; 0 when it came from GetWallet. */
  readonly sequence: bigint;
  /** {@link WalletBook.pushes} when a push last set it (a load started before that is older). */
  readonly pushedAt: number;
}

/**
 * The balances a screen shows, kept by the realtime rule (realtime.proto): a pushed snapshot is
 * applied only when its ledger sequence is higher than the one shown, so a late or repeated push
 * never moves a balance back; a GetWallet answer replaces a balance unless a push was applied
 * after that load started (the push is then at least as new).
 */
export interface WalletBook {
  readonly balances: ReadonlyMap<string, ShownBalance>;
  /** Pushes applied so far. */
  readonly pushes: number;
}

/** The empty book. */
export const emptyWalletBook: WalletBook = { balances: new Map(), pushes: 0 };

/** A user's wallet balance carried by a wallet.* push, as of `sequence`. */
export interface WalletSnapshot {
  readonly currency: string;
  readonly postedMinor: bigint;
  readonly pendingMinor: bigint;
  readonly availableMinor: bigint;
  readonly sequence: bigint;
}

/** Applies the GetWallet answer of a load that started when the book had `pushesAtStart` pushes. */
export function applyLoadedWallet(
  book: WalletBook,
  balances: readonly Pick<
    WalletBalance,
    'currency' | 'postedMinor' | 'pendingMinor' | 'availableMinor'
  >[],
  pushesAtStart: number,
): WalletBook {
  const next = new Map(book.balances);
  for (const b of balances) {
    const shown = next.get(b.currency);
    if (shown !== undefined && shown.pushedAt > pushesAtStart) continue;
    next.set(b.currency, {
      currency: b.currency,
      postedMinor: b.postedMinor,
      pendingMinor: b.pendingMinor,
      availableMinor: b.availableMinor,
      sequence: shown?.sequence ?? 0n,
      pushedAt: shown?.pushedAt ?? 0,
    });
  }
  return { balances: next, pushes: book.pushes };
}

/** Applies pushed snapshots that are newer (higher sequence) than what is shown; others are dropped. */
export function applyWalletPush(
  book: WalletBook,
  snapshots: readonly WalletSnapshot[],
): WalletBook {
  let changed = false;
  const pushes = book.pushes + 1;
  const next = new Map(book.balances);
  for (const s of snapshots) {
    const shown = next.get(s.currency);
    if (shown !== undefined && s.sequence <= shown.sequence) continue;
    next.set(s.currency, { ...s, pushedAt: pushes });
    changed = true;
  }
  return changed ? { balances: next, pushes } : book;
}

/** The book's balances in {@link visibleBalances} order (PTS first, real money held). */
export function shownBalances(book: WalletBook): ShownBalance[] {
  return visibleBalances([...book.balances.values()]);
}

/** Words for a payment's status (payment.proto's PaymentStatus), by the enum's number. */
export function paymentStatusLabel(status: number, withdrawal: boolean): string {
  switch (status) {
    case 1:
      return 'Waiting for payment';
    case 2:
      return withdrawal ? 'Processing' : 'Confirming';
    case 3:
      return withdrawal ? 'Paid' : 'Credited';
    case 4:
      return 'Failed';
    case 5:
      return 'Canceled';
    case 6:
      return 'Expired';
    default:
      return 'Requested';
  }
}

/** `mm:ss` (or `h:mm:ss`) left until `untilMs`; `0:00` once past. */
export function expiryCountdownText(untilMs: number, nowMs: number): string {
  const totalSeconds = Math.max(0, Math.ceil((untilMs - nowMs) / 1000));
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = String(totalSeconds % 60).padStart(2, '0');
  return hours > 0
    ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}`
    : `${minutes}:${seconds}`;
}

/**
 * A payment refusal as a sentence the user can act on. The payment service's messages name the
 * rule in minor units (`amount.amount_minor must be at least 500 (the smallest deposit)`); those
 * amounts are rewritten in the currency's formatting. Codes follow Connect's numbering.
 */
export function paymentErrorSentence(code: number, rawMessage: string, currency: string): string {
  const money = (minor: string): string => formatMinor(BigInt(minor), currency);
  const least = /amount_minor:? must be at least (\d+) \(the smallest (deposit|withdrawal)\)/.exec(
    rawMessage,
  );
  if (least !== null) return `The smallest ${least[2]} is ${money(least[1]!)}.`;
  const most =
    /amount_minor:? must be at most (\d+) \(the largest (?:single )?(deposit|withdrawal)\)/.exec(
      rawMessage,
    );
  if (most !== null) return `The largest ${most[2]} is ${money(most[1]!)}.`;
  const secondFactor = /second_factor_code: (.+)$/.exec(rawMessage);
  if (secondFactor !== null) {
    return `Two-step code: ${secondFactor[1]!} (enter the current code from your authenticator app).`;
  }
  switch (code) {
    case 14: // UNAVAILABLE
      return 'The payment provider is not answering right now; nothing was charged. Try again in a minute.';
    case 8: // RESOURCE_EXHAUSTED
      return `You have reached today's withdrawal limit. ${rawMessage}`;
    case 16: // UNAUTHENTICATED
      return 'Your session ended; log in again.';
    default: {
      const text = rawMessage.replace(/^(deposit|withdrawal) refused: /, '');
      return text.length > 0
        ? text.charAt(0).toUpperCase() + text.slice(1)
        : 'Something went wrong.';
    }
  }
}
