/**
 * Display helpers of the console: money in minor units, instants, enum names, errors, and the
 * hash route (`#/users?id=…`) the pages navigate with.
 */
import { ConnectError } from '@connectrpc/connect';

/** `12345n, 'BRL'` → `123.45 BRL`; PTS are whole points. */
export function money(minor: bigint, currency: string): string {
  if (currency === 'PTS') return `${minor.toLocaleString('en-US')} PTS`;
  const negative = minor < 0n;
  const abs = negative ? -minor : minor;
  const text = `${(abs / 100n).toLocaleString('en-US')}.${(abs % 100n).toString().padStart(2, '0')}`;
  return `${negative ? '−' : ''}${text} ${currency}`;
}

/** An instant (ms since the epoch, bigint or number) as UTC text; `—` for 0. */
export function when(ms: bigint | number): string {
  const n = Number(ms);
  return n === 0 ? '—' : new Date(n).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

/** A duration in ms as `1.2 s` / `350 ms`. */
export function duration(ms: bigint | number): string {
  const n = Number(ms);
  return n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${n} ms`;
}

/** `MARKET_STATE_OPEN`-style enum value name of a generated enum, readable: `open`. */
export function enumName(enumObject: Record<number, string>, value: number): string {
  return (enumObject[value] ?? String(value)).toLowerCase().replaceAll('_', ' ');
}

/** The message of a failed call, as the console shows it. */
export function errorText(error: unknown): string {
  const e = ConnectError.from(error);
  return `${e.rawMessage} (${enumCode(e.code)})`;
}

function enumCode(code: number): string {
  return (
    [
      'ok',
      'canceled',
      'unknown',
      'invalid argument',
      'deadline exceeded',
      'not found',
      'already exists',
      'permission denied',
      'resource exhausted',
      'failed precondition',
      'aborted',
      'out of range',
      'unimplemented',
      'internal',
      'unavailable',
      'data loss',
      'unauthenticated',
    ][code] ?? String(code)
  );
}

/** A datetime-local input's value (local time) → ms since the epoch; undefined when empty. */
export function fromLocalInput(value: string): number | undefined {
  if (value === '') return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** ms since the epoch → a datetime-local input's value (local time, seconds). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

/** The console's pages. */
export const pages = ['overview', 'markets', 'users', 'fraud', 'audit'] as const;
export type PageName = (typeof pages)[number];

/** A parsed hash route. */
export interface Route {
  readonly page: PageName;
  readonly params: URLSearchParams;
}

/** `#/users?id=01…` → { page: 'users', params: id=01… }; unknown pages → overview. */
export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const page = (pages as readonly string[]).includes(path) ? (path as PageName) : 'overview';
  return { page, params: new URLSearchParams(query) };
}

/** The hash of a page with parameters. */
export function routeHref(page: PageName, params: Record<string, string> = {}): string {
  const query = new URLSearchParams(params).toString();
  return `#/${page}${query === '' ? '' : `?${query}`}`;
}
