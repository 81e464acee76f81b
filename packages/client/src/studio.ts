/**
 * `@streambet/client/studio`: the pure logic of the streamer's console and the stream overlay,
 * shared by the web app and a future mobile console. The market form checked with the contract's
 * CreateMarket rules before anything is sent (the server checks again and has the last word), the
 * requests it becomes (CreateMarket, SaveMarketTemplate), the retroactive lock instant, the
 * overlay's look as URL parameters (so a broadcaster needs nothing but the URL), and the channel's
 * revenue from its streamer revenue-share payouts. No DOM, no network.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  MarketKind,
  MarketState,
  type CreateMarketRequestSchema,
  type Market,
  type MarketTemplate,
  type SaveMarketTemplateRequestSchema,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  PayoutKind,
  type Payout,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { currencyExponent, parseStake } from './view-logic.js';

/** Contract bounds of a market (pool.proto CreateMarketRequest). */
export const marketLimits = Object.freeze({
  titleMax: 140,
  outcomeMax: 40,
  outcomesMin: 2,
  outcomesMax: 10,
  windowMinSeconds: 30,
  windowMaxSeconds: 1800,
  templateNameMax: 60,
  /** How far back a lock may reach (LockMarket.event_at_ms ≥ now − 60 s). */
  retroactiveMaxSeconds: 60,
});

/** What the console's market form holds: the raw inputs, as typed. */
export interface MarketForm {
  readonly title: string;
  readonly outcomes: readonly string[];
  readonly currency: string;
  /** Seconds; empty = the channel's default window. */
  readonly windowSeconds: string;
  /** Major units as typed ("5", "2.50"); all three empty = the channel's default limits. */
  readonly minStake: string;
  readonly maxStakePerBet: string;
  readonly maxStakePerUser: string;
  /** 'default' = the channel's auto_lock_on_offline. */
  readonly autoLock: 'default' | 'on' | 'off';
}

/** A blank form in `currency`. */
export function emptyMarketForm(currency: string): MarketForm {
  return {
    title: '',
    outcomes: ['', ''],
    currency,
    windowSeconds: '',
    minStake: '',
    maxStakePerBet: '',
    maxStakePerUser: '',
    autoLock: 'default',
  };
}

/** A checked form: what CreateMarket and SaveMarketTemplate carry. */
export interface MarketDefinition {
  readonly title: string;
  readonly outcomeTitles: readonly string[];
  readonly currency: string;
  readonly bettingWindowSeconds: number | undefined;
  readonly stakeLimits:
    | {
        readonly minStakeMinor: bigint;
        readonly maxStakePerBetMinor: bigint;
        readonly maxStakePerUserMinor: bigint;
      }
    | undefined;
  readonly autoLockOnOffline: boolean | undefined;
}

/**
 * Problems of a form by field: `title`, `outcomes` (the list as a whole), `outcomes.<i>`,
 * `currency`, `windowSeconds`, `stakes`, `minStake`, `maxStakePerBet`, `maxStakePerUser`.
 */
export type FormErrors = Readonly<Record<string, string>>;

/** The result of {@link checkMarketForm}. */
export type FormCheck =
  | { readonly ok: true; readonly definition: MarketDefinition }
  | { readonly ok: false; readonly errors: FormErrors };

function length(text: string): number {
  return [...text.trim()].length;
}

/**
 * Checks a form against CreateMarket's rules: title 1–140, 2–10 distinct outcomes of 1–40
 * characters (case-insensitive, trimmed), a currency of the deployment, a window of 30–1800 s,
 * stake limits all given or none with 1 ≤ min ≤ max per bet ≤ max per user. Blank outcome rows
 * beyond the second are ignored (the form keeps spare rows).
 */
export function checkMarketForm(form: MarketForm, currencies: readonly string[]): FormCheck {
  const errors: Record<string, string> = {};
  if (length(form.title) < 1) errors.title = 'Write the question viewers bet on.';
  else if (length(form.title) > marketLimits.titleMax)
    errors.title = `At most ${marketLimits.titleMax} characters.`;
  const rows = form.outcomes.map((o, index) => ({ title: o.trim(), index }));
  const used = rows.filter((row, i) => row.title !== '' || i < marketLimits.outcomesMin);
  const seen = new Map<string, number>();
  for (const row of used) {
    const key = `outcomes.${row.index}`;
    if (row.title === '') errors[key] = 'Name this outcome.';
    else if (length(row.title) > marketLimits.outcomeMax)
      errors[key] = `At most ${marketLimits.outcomeMax} characters.`;
    else if (seen.has(row.title.toLowerCase()))
      errors[key] = `Same as outcome ${seen.get(row.title.toLowerCase())! + 1}.`;
    else seen.set(row.title.toLowerCase(), row.index);
  }
  if (used.length > marketLimits.outcomesMax)
    errors.outcomes = `At most ${marketLimits.outcomesMax} outcomes.`;
  if (!currencies.includes(form.currency)) errors.currency = `Choose ${currencies.join(' or ')}.`;
  let windowSeconds: number | undefined;
  if (form.windowSeconds.trim() !== '') {
    const value = Number(form.windowSeconds.trim());
    if (
      !Number.isInteger(value) ||
      value < marketLimits.windowMinSeconds ||
      value > marketLimits.windowMaxSeconds
    ) {
      errors.windowSeconds = `A whole number of seconds from ${marketLimits.windowMinSeconds} to ${marketLimits.windowMaxSeconds}.`;
    } else windowSeconds = value;
  }
  const stakeInputs = [form.minStake, form.maxStakePerBet, form.maxStakePerUser].map((s) =>
    s.trim(),
  );
  let stakeLimits: MarketDefinition['stakeLimits'];
  if (stakeInputs.some((s) => s !== '')) {
    const names = ['minStake', 'maxStakePerBet', 'maxStakePerUser'] as const;
    const parsed = stakeInputs.map((input, i) => {
      if (input === '') {
        errors[names[i]!] = 'Give all three limits, or none for the channel’s defaults.';
        return undefined;
      }
      const result = parseStake(input, form.currency);
      if (!result.ok) {
        errors[names[i]!] = result.message;
        return undefined;
      }
      return result.stakeMinor;
    });
    const [min, perBet, perUser] = parsed;
    if (min !== undefined && perBet !== undefined && perUser !== undefined) {
      if (!(min <= perBet && perBet <= perUser))
        errors.stakes = 'Limits must grow: minimum ≤ most per bet ≤ most per viewer.';
      else
        stakeLimits = {
          minStakeMinor: min,
          maxStakePerBetMinor: perBet,
          maxStakePerUserMinor: perUser,
        };
    }
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    definition: {
      title: form.title.trim(),
      outcomeTitles: used.map((row) => row.title),
      currency: form.currency,
      bettingWindowSeconds: windowSeconds,
      stakeLimits,
      autoLockOnOffline: form.autoLock === 'default' ? undefined : form.autoLock === 'on',
    },
  };
}

/** CreateMarket for a checked definition, opened at once (the console's "Open market"). */
export function createMarketRequest(
  channelId: string,
  definition: MarketDefinition,
  idempotencyKey: string,
): MessageInitShape<typeof CreateMarketRequestSchema> {
  return {
    idempotencyKey,
    channelId,
    title: definition.title,
    outcomes: definition.outcomeTitles.map((title) => ({ title })),
    currency: definition.currency,
    kind: MarketKind.POOL,
    ...(definition.stakeLimits === undefined ? {} : { stakeLimits: definition.stakeLimits }),
    ...(definition.bettingWindowSeconds === undefined
      ? {}
      : { bettingWindowSeconds: definition.bettingWindowSeconds }),
    ...(definition.autoLockOnOffline === undefined
      ? {}
      : { autoLockOnOffline: definition.autoLockOnOffline }),
    openNow: true,
  };
}

/** Why a template name cannot be used, or undefined. */
export function templateNameError(name: string): string | undefined {
  if (length(name) < 1) return 'Name the template.';
  if (length(name) > marketLimits.templateNameMax)
    return `At most ${marketLimits.templateNameMax} characters.`;
  return undefined;
}

/** SaveMarketTemplate for a checked definition (a save under an existing name replaces it). */
export function saveTemplateRequest(
  channelId: string,
  name: string,
  definition: MarketDefinition,
  openOnStreamOnline: boolean,
): MessageInitShape<typeof SaveMarketTemplateRequestSchema> {
  return {
    channelId,
    name: name.trim(),
    title: definition.title,
    outcomeTitles: [...definition.outcomeTitles],
    currency: definition.currency,
    kind: MarketKind.POOL,
    ...(definition.stakeLimits === undefined ? {} : { stakeLimits: definition.stakeLimits }),
    ...(definition.bettingWindowSeconds === undefined
      ? {}
      : { bettingWindowSeconds: definition.bettingWindowSeconds }),
    ...(definition.autoLockOnOffline === undefined
      ? {}
      : { autoLockOnOffline: definition.autoLockOnOffline }),
    openOnStreamOnline,
  };
}

function majorText(amountMinor: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  if (exponent === 0) return amountMinor.toString();
  const digits = amountMinor.toString().padStart(exponent + 1, '0');
  const major = digits.slice(0, digits.length - exponent);
  const minor = digits.slice(digits.length - exponent).replace(/0+$/, '');
  return minor === '' ? major : `${major}.${minor}`;
}

/** The form a template fills in (to adjust it, or to save it under another name). */
export function templateToForm(template: MarketTemplate): MarketForm {
  const limits = template.stakeLimits;
  const outcomes = [...template.outcomeTitles];
  while (outcomes.length < marketLimits.outcomesMin) outcomes.push('');
  return {
    title: template.title,
    outcomes,
    currency: template.currency,
    windowSeconds:
      template.bettingWindowSeconds === undefined ? '' : String(template.bettingWindowSeconds),
    minStake: limits === undefined ? '' : majorText(limits.minStakeMinor, template.currency),
    maxStakePerBet:
      limits === undefined ? '' : majorText(limits.maxStakePerBetMinor, template.currency),
    maxStakePerUser:
      limits === undefined ? '' : majorText(limits.maxStakePerUserMinor, template.currency),
    autoLock:
      template.autoLockOnOffline === undefined
        ? 'default'
        : template.autoLockOnOffline
          ? 'on'
          : 'off',
  };
}

/** The result of {@link lockInstant}. */
export type LockInstant =
  | { readonly ok: true; readonly eventAtMs: bigint | undefined }
  | { readonly ok: false; readonly error: string };

/**
 * The lock instant to send for "it happened N seconds ago": empty = the server's default (now −
 * the channel's broadcast delay); 0–60 whole seconds = now − N s. The server clamps to its own
 * clock; a client clock running ahead may make exactly 60 s too far back, so the console offers
 * 0–60 and shows the server's refusal if it comes.
 */
export function lockInstant(secondsAgo: string, nowMs: number): LockInstant {
  const text = secondsAgo.trim();
  if (text === '') return { ok: true, eventAtMs: undefined };
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > marketLimits.retroactiveMaxSeconds) {
    return {
      ok: false,
      error: `A whole number of seconds from 0 to ${marketLimits.retroactiveMaxSeconds}.`,
    };
  }
  return { ok: true, eventAtMs: BigInt(nowMs - seconds * 1000) };
}

/**
 * The channel's revenue so far per currency: the sum of its streamer revenue-share payouts (each
 * is one credit of the streamer's `streamer:<id>:revenue` ledger account for one market), less
 * those reversed by a void. `payouts` are the streamer's own rows (settlement ListPayouts).
 */
export function channelRevenue(
  payouts: readonly Payout[],
  channelId: string,
): ReadonlyMap<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const payout of payouts) {
    if (payout.kind !== PayoutKind.STREAMER_REVENUE_SHARE) continue;
    if (payout.channelId !== channelId || payout.reversedAtMs !== 0n) continue;
    totals.set(payout.currency, (totals.get(payout.currency) ?? 0n) + payout.payoutMinor);
  }
  return totals;
}

/** Where the overlay sits in the broadcaster's canvas. */
export const overlayPositions = [
  'top-left',
  'top-right',
  'bottom-left',
  'bottom-right',
  'top',
  'bottom',
] as const;
export type OverlayPosition = (typeof overlayPositions)[number];

/** The overlay's look, carried in its URL. Colours are `#rrggbb` only (nothing else reaches CSS). */
export interface OverlayLook {
  readonly position: OverlayPosition;
  /** Width of the card in CSS pixels, 240–960. */
  readonly widthPx: number;
  readonly accent: string;
  readonly text: string;
  readonly background: string;
  /** Opacity of the card's background, 0–100 %. */
  readonly backgroundOpacityPct: number;
}

/** The default look: bottom-left, 420 px, StreamBet's purple on a dark, slightly clear card. */
export const defaultOverlayLook: OverlayLook = Object.freeze({
  position: 'bottom-left',
  widthPx: 420,
  accent: '#9146ff',
  text: '#ffffff',
  background: '#0e0e10',
  backgroundOpacityPct: 85,
});

export const overlayWidthBounds = Object.freeze({ min: 240, max: 960 });

const hexColour = /^#[0-9a-f]{6}$/i;

function intIn(text: string | null, min: number, max: number): number | undefined {
  if (text === null || !/^\d{1,4}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}

function colour(text: string | null): string | undefined {
  if (text === null) return undefined;
  const value = text.startsWith('#') ? text : `#${text}`;
  return hexColour.test(value) ? value.toLowerCase() : undefined;
}

/** The look named by an overlay URL's parameters; missing or invalid ones take the default. */
export function overlayLookFromParams(params: URLSearchParams): OverlayLook {
  const position = params.get('pos');
  return {
    position: overlayPositions.includes(position as OverlayPosition)
      ? (position as OverlayPosition)
      : defaultOverlayLook.position,
    widthPx:
      intIn(params.get('w'), overlayWidthBounds.min, overlayWidthBounds.max) ??
      defaultOverlayLook.widthPx,
    accent: colour(params.get('accent')) ?? defaultOverlayLook.accent,
    text: colour(params.get('fg')) ?? defaultOverlayLook.text,
    background: colour(params.get('bg')) ?? defaultOverlayLook.background,
    backgroundOpacityPct:
      intIn(params.get('alpha'), 0, 100) ?? defaultOverlayLook.backgroundOpacityPct,
  };
}

/** The overlay URL of a channel with `look` (only what differs from the default is written). */
export function overlayUrl(origin: string, channelId: string, look: OverlayLook): string {
  const url = new URL('/', origin);
  url.searchParams.set('view', 'overlay');
  url.searchParams.set('channel', channelId);
  const d = defaultOverlayLook;
  if (look.position !== d.position) url.searchParams.set('pos', look.position);
  if (look.widthPx !== d.widthPx) url.searchParams.set('w', String(look.widthPx));
  if (look.accent !== d.accent) url.searchParams.set('accent', look.accent.slice(1));
  if (look.text !== d.text) url.searchParams.set('fg', look.text.slice(1));
  if (look.background !== d.background) url.searchParams.set('bg', look.background.slice(1));
  if (look.backgroundOpacityPct !== d.backgroundOpacityPct)
    url.searchParams.set('alpha', String(look.backgroundOpacityPct));
  return url.toString();
}

/** `#rrggbb` at `opacityPct` as an `rgba()` colour (the overlay card's background). */
export function rgba(hex: string, opacityPct: number): string {
  const value = hexColour.test(hex) ? hex : '#000000';
  const channel = (i: number) => parseInt(value.slice(i, i + 2), 16);
  return `rgba(${channel(1)}, ${channel(3)}, ${channel(5)}, ${Math.max(0, Math.min(100, opacityPct)) / 100})`;
}

/**
 * Share of the pool on each outcome in whole percent (for the overlay's bars), largest remainder
 * so the shown figures add up to 100 when anything is staked; all 0 otherwise.
 */
export function poolShares(stakedMinor: readonly bigint[]): number[] {
  const total = stakedMinor.reduce((sum, s) => sum + s, 0n);
  if (total === 0n) return stakedMinor.map(() => 0);
  const exact = stakedMinor.map((s) => (s * 10_000n) / total); // hundredths of a percent
  const floors = exact.map((e) => Number(e / 100n));
  let left = 100 - floors.reduce((a, b) => a + b, 0);
  const order = exact
    .map((e, i) => ({ i, rest: Number(e % 100n) }))
    .sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    floors[i]! += 1;
    left -= 1;
  }
  return floors;
}

/** How long the overlay keeps a result on screen after the market resolved or was canceled. */
export const overlayResultShownMs = 3 * 60_000;

/**
 * The market the overlay features: the newest OPEN one, else the newest LOCKED one (waiting for
 * its result), else one resolved or canceled within the last {@link overlayResultShownMs}; none
 * otherwise (the overlay then shows nothing over the stream).
 */
export function featuredMarket<
  M extends Pick<Market, 'state' | 'createdAtMs' | 'resolvedAtMs' | 'canceledAtMs'>,
>(markets: readonly M[], nowMs: number): M | undefined {
  const newest = [...markets].sort((a, b) => Number(b.createdAtMs - a.createdAtMs));
  const recent = (atMs: bigint) => atMs > 0n && Number(atMs) + overlayResultShownMs > nowMs;
  return (
    newest.find((m) => m.state === MarketState.OPEN) ??
    newest.find((m) => m.state === MarketState.LOCKED) ??
    newest.find(
      (m) =>
        (m.state === MarketState.RESOLVED && recent(m.resolvedAtMs)) ||
        (m.state === MarketState.CANCELED && recent(m.canceledAtMs)),
    )
  );
}
