/**
 * Pure view logic of the viewer apps: money and odds formatting, merging live snapshots that
 * arrive out of order, and turning contract values (states, statuses, rejections) into words. No
 * DOM, no network: the unit tests run it in Node, and the components only call it.
 */
import { Code } from '@connectrpc/connect';
import { create } from '@bufbuild/protobuf';
import {
  BetRejectionReason,
  MarketOddsSchema,
  BetStatus,
  BetVoidReason,
  type BetRejection,
  type MarketOdds,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketState, type Market } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';

/** Shown wherever odds are undefined (nobody staked on the outcome yet), as the contract says. */
export const emptyOdds = '—';

/** "1 bettor", "3 bettors": a count with its noun. */
export function countText(
  count: bigint | number,
  singular: string,
  plural = `${singular}s`,
): string {
  return `${String(count)} ${BigInt(count) === 1n ? singular : plural}`;
}

/** Decimal places of a currency's minor unit; PTS are whole points. Unknown codes: ISO's usual 2. */
export function currencyExponent(currency: string): number {
  switch (currency) {
    case 'PTS':
    case 'JPY':
    case 'CLP':
      return 0;
    default:
      return 2;
  }
}

const currencySymbols: Readonly<Record<string, string>> = { BRL: 'R$', USD: 'US$', EUR: '€' };

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Formats an amount in minor units for people: `R$ 1,234.56` for BRL cents, `1,234 PTS` for
 * points. Works on bigint digits only, so no amount is ever rounded through a float.
 */
export function formatMoney(amountMinor: bigint, currency: string): string {
  const negative = amountMinor < 0n;
  const digits = (negative ? -amountMinor : amountMinor).toString();
  const exponent = currencyExponent(currency);
  let text: string;
  if (exponent === 0) {
    text = groupThousands(digits);
  } else {
    const padded = digits.padStart(exponent + 1, '0');
    const major = padded.slice(0, padded.length - exponent);
    text = `${groupThousands(major)}.${padded.slice(padded.length - exponent)}`;
  }
  const sign = negative ? '-' : '';
  if (currency === 'PTS') return `${sign}${text} PTS`;
  const symbol = currencySymbols[currency];
  return symbol === undefined ? `${sign}${text} ${currency}` : `${sign}${symbol} ${text}`;
}

/** Why a stake typed into the bet slip cannot be used. */
export type StakeParseResult =
  | { readonly ok: true; readonly stakeMinor: bigint }
  | { readonly ok: false; readonly message: string };

/**
 * Reads a stake typed by a person ("12.5" BRL → 1250 cents, "100" PTS → 100) into minor units,
 * exactly (string arithmetic, never a float). Refuses more decimals than the currency has.
 */
export function parseStake(input: string, currency: string): StakeParseResult {
  const text = input.trim().replace(',', '.');
  const exponent = currencyExponent(currency);
  const pattern = exponent === 0 ? /^\d{1,15}$/ : new RegExp(`^\\d{1,15}(\\.\\d{1,${exponent}})?$`);
  if (!pattern.test(text)) {
    return {
      ok: false,
      message:
        exponent === 0
          ? `Enter a whole number of ${currency}.`
          : `Enter an amount like 10 or 10.50 (at most ${exponent} decimals).`,
    };
  }
  const [whole = '0', fraction = ''] = text.split('.');
  const stakeMinor = BigInt(whole + fraction.padEnd(exponent, '0'));
  if (stakeMinor <= 0n) return { ok: false, message: 'The stake must be more than zero.' };
  return { ok: true, stakeMinor };
}

/**
 * Decimal odds for display: the server's two-decimal string, normalized to exactly two decimals,
 * or "—" when empty (undefined odds).
 */
export function formatOdds(decimalOdds: string | undefined): string {
  const text = (decimalOdds ?? '').trim();
  if (text === '') return emptyOdds;
  const match = /^(\d+)(?:\.(\d*))?$/.exec(text);
  if (match === null) return emptyOdds;
  const fraction = (match[2] ?? '').padEnd(2, '0').slice(0, 2);
  return `${match[1]}.${fraction}`;
}

/**
 * Keeps the newer of two odds snapshots of one market. Snapshots arrive from GetOdds polls and
 * from the socket in any order; one whose version is not newer than what is shown is dropped
 * (the contract's rule), so the screen never goes back in time.
 */
export function mergeOdds(current: MarketOdds | undefined, incoming: MarketOdds): MarketOdds {
  if (current === undefined) return incoming;
  if (current.marketId !== incoming.marketId) return current;
  return incoming.version > current.version ? incoming : current;
}

/**
 * The odds snapshot a market already carries from ListMarkets (version = its odds_version), so a
 * card shows figures before the first GetOdds answer or socket push, and older pushes are dropped.
 */
export function oddsFromMarket(market: Market): MarketOdds {
  return create(MarketOddsSchema, {
    marketId: market.marketId,
    kind: market.kind,
    currency: market.currency,
    totalStakedMinor: market.totalStakedMinor,
    bettorCount: market.bettorCount,
    version: market.oddsVersion,
    outcomes: market.outcomes.map((o) => ({
      outcomeId: o.outcomeId,
      stakedMinor: o.stakedMinor,
      betCount: o.betCount,
      decimalOdds: o.decimalOdds,
      layDecimalOdds: o.layDecimalOdds,
    })),
  });
}

/** Applies {@link mergeOdds} inside a per-market map; returns the same map when nothing changed. */
export function mergeOddsInto(
  byMarket: ReadonlyMap<string, MarketOdds>,
  incoming: MarketOdds,
): ReadonlyMap<string, MarketOdds> {
  const current = byMarket.get(incoming.marketId);
  const merged = mergeOdds(current, incoming);
  if (merged === current) return byMarket;
  const next = new Map(byMarket);
  next.set(incoming.marketId, merged);
  return next;
}

/** A lifecycle change pushed on the socket (MarketOpened/Locked/Resolved/Canceled/Voided). */
export interface MarketTransition {
  readonly marketId: string;
  readonly state: MarketState;
  /** Market version after the change; older or equal versions are ignored. */
  readonly version: bigint;
  readonly winningOutcomeId?: string;
  readonly atMs?: bigint;
}

/**
 * Applies a pushed lifecycle change to the market as loaded by ListMarkets, only when it is newer
 * (market events carry the market's version); returns the same object otherwise.
 */
export function applyMarketTransition(market: Market, change: MarketTransition): Market {
  if (change.marketId !== market.marketId || change.version <= market.version) return market;
  const next: Market = { ...market, state: change.state, version: change.version };
  if (change.state === MarketState.RESOLVED) {
    next.winningOutcomeId = change.winningOutcomeId ?? market.winningOutcomeId;
    if (change.atMs !== undefined) next.resolvedAtMs = change.atMs;
  }
  if (change.state === MarketState.LOCKED && change.atMs !== undefined)
    next.lockedAtMs = change.atMs;
  return next;
}

/** Words for a market's state, as the badge on its card shows them. */
export function marketStateLabel(state: MarketState): string {
  switch (state) {
    case MarketState.DRAFT:
      return 'Draft';
    case MarketState.OPEN:
      return 'Open';
    case MarketState.LOCKED:
      return 'Locked';
    case MarketState.RESOLVED:
      return 'Resolved';
    case MarketState.CANCELED:
      return 'Canceled';
    default:
      return 'Unknown';
  }
}

/** Words for a bet's status in "my bets". */
export function betStatusLabel(status: BetStatus): string {
  switch (status) {
    case BetStatus.PENDING:
      return 'Pending';
    case BetStatus.ACCEPTED:
      return 'Confirmed';
    case BetStatus.MATCHED:
      return 'Matched';
    case BetStatus.PARTIALLY_MATCHED:
      return 'Partly matched';
    case BetStatus.VOIDED:
      return 'Voided';
    case BetStatus.WON:
      return 'Won';
    case BetStatus.LOST:
      return 'Lost';
    case BetStatus.REFUNDED:
      return 'Refunded';
    default:
      return 'Unknown';
  }
}

/** Why a bet was voided, in words (shown next to voided bets). */
export function voidReasonLabel(reason: BetVoidReason): string {
  switch (reason) {
    case BetVoidReason.RETROACTIVE_LOCK:
      return 'placed after the event happened on stream';
    case BetVoidReason.MARKET_CANCELED:
      return 'market canceled';
    case BetVoidReason.MARKET_VOIDED:
      return 'market voided by an admin';
    case BetVoidReason.LAPSED:
      return 'unmatched at lock';
    case BetVoidReason.CANCELED:
      return 'canceled';
    case BetVoidReason.HOLD_FAILED:
      return 'funds could not be held';
    default:
      return '';
  }
}

function untilText(untilMs: bigint): string {
  if (untilMs === 0n) return 'permanently';
  return `until ${new Date(Number(untilMs)).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * The sentence a bettor reads when PlaceBet is refused: from the BetRejection detail when there is
 * one (with the limit or available amount in money), otherwise from the Connect code and message.
 */
export function rejectionMessage(
  code: Code,
  rejection: BetRejection | undefined,
  serverMessage: string,
): string {
  const currency = rejection?.currency ?? '';
  const money = (minor: bigint): string => formatMoney(minor, currency === '' ? 'PTS' : currency);
  switch (rejection?.reason) {
    case BetRejectionReason.INVALID_REQUEST:
      return 'The bet is incomplete or malformed; check the outcome and the stake.';
    case BetRejectionReason.UNKNOWN_OUTCOME:
      return 'That outcome is not part of this market any more; reload the page.';
    case BetRejectionReason.CURRENCY_MISMATCH:
      return 'This market is in another currency; reload the page.';
    case BetRejectionReason.STAKE_BELOW_MIN:
      return `The stake is below the minimum of ${money(rejection.limitMinor)}.`;
    case BetRejectionReason.STAKE_ABOVE_MAX:
      return `The stake is above the maximum of ${money(rejection.limitMinor)} per bet.`;
    case BetRejectionReason.ODDS_NOT_ON_LADDER:
      return 'Those odds are not on the price ladder.';
    case BetRejectionReason.MARKET_NOT_OPEN:
      return 'Betting on this market is closed: it is not open.';
    case BetRejectionReason.BETTING_CLOSED:
      return 'Betting on this market has closed.';
    case BetRejectionReason.USER_MARKET_LIMIT:
      return `You would pass your limit of ${money(rejection.limitMinor)} on this market; you can still stake ${money(rejection.availableMinor)}.`;
    case BetRejectionReason.INSUFFICIENT_FUNDS:
      // 0 also stands for "not given" in proto3: only quote the amount when there is one.
      return rejection.availableMinor > 0n
        ? `Not enough funds: you have ${money(rejection.availableMinor)} available.`
        : 'Not enough funds available for this stake.';
    case BetRejectionReason.KYC_REQUIRED:
      return 'Verify your identity (KYC) before betting real money.';
    case BetRejectionReason.LOSS_LIMIT:
      return `This bet would pass your loss limit of ${money(rejection.limitMinor)}${rejection.untilMs > 0n ? ` (resets ${untilText(rejection.untilMs)})` : ''}.`;
    case BetRejectionReason.OWN_CHANNEL:
      return 'You cannot bet on markets of your own channel.';
    case BetRejectionReason.SELF_EXCLUDED:
      return `You are self-excluded ${untilText(rejection.untilMs)}.`;
    case BetRejectionReason.COOL_OFF:
      return `You are in a cool-off period ${untilText(rejection.untilMs)}.`;
    case BetRejectionReason.ACCOUNT_FROZEN:
      return 'Your account is frozen; contact support.';
    case BetRejectionReason.UNDER_AGE:
      return 'Real-money betting is for people 18 or older.';
    default:
      break;
  }
  switch (code) {
    case Code.Unauthenticated:
      return 'Your session has ended; log in again.';
    case Code.ResourceExhausted:
      return `Too many requests; wait a moment and try again. ${serverMessage}`.trim();
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return 'The service is busy or unreachable; try again.';
    case Code.Unimplemented:
      return 'Betting is not available on this server yet.';
    default:
      return serverMessage === '' ? 'The bet was refused.' : serverMessage;
  }
}

/**
 * A random UUID (v4) from the platform's crypto: `randomUUID` where there is one (browsers, Node),
 * else built from `getRandomValues` (React Native with react-native-get-random-values).
 */
export function randomUuid(): string {
  const webCrypto = (
    globalThis as {
      crypto?: { randomUUID?: () => string; getRandomValues?: (array: Uint8Array) => Uint8Array };
    }
  ).crypto;
  if (typeof webCrypto?.randomUUID === 'function') return webCrypto.randomUUID();
  if (typeof webCrypto?.getRandomValues !== 'function') {
    throw new Error('no crypto.getRandomValues: install a polyfill (see @streambet/client README)');
  }
  const bytes = webCrypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A fresh idempotency key per bet-slip click: a retry of the same click reuses it, a new click does not. */
export function newIdempotencyKey(random: () => string = randomUuid): string {
  return random();
}

/** "1:05" until a deadline, or "closed" once passed; for the betting-window countdown. */
export function countdownText(deadlineMs: bigint, nowMs: number): string {
  const leftMs = Number(deadlineMs) - nowMs;
  if (deadlineMs === 0n) return '';
  if (leftMs <= 0) return 'closed';
  const totalSeconds = Math.ceil(leftMs / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  return `${minutes}:${seconds.toString().padStart(2, '0')}`;
}

/** Milliseconds before expiry at which an access token is refreshed; never negative. */
export function refreshDelayMs(expiresAtMs: bigint, nowMs: number, marginMs = 30_000): number {
  return Math.max(0, Number(expiresAtMs) - nowMs - marginMs);
}
