/**
 * Age rules. Real-money play requires age ≥ 18 on the current UTC date (product.md, "Limits");
 * the age is always computed at read time from the date of birth, never stored.
 */

/** A calendar date without time zone (the contract's `Date`). */
export interface CalendarDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** Age of majority for real-money play. */
export const adultAgeYears = 18;

/** True when the date exists in the proleptic Gregorian calendar (2001-02-29 does not). */
export function isRealDate(date: CalendarDate): boolean {
  const { year, month, day } = date;
  if (![year, month, day].every(Number.isInteger)) return false;
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= daysInMonth(year, month);
}

/** Number of days in a month of a year (1-based month). */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 00:00 UTC of the day the user turns `years` old (Feb 29 births count from Mar 1 in common years). */
function birthdayMs(dateOfBirth: CalendarDate, years: number): number {
  const year = dateOfBirth.year + years;
  if (dateOfBirth.month === 2 && dateOfBirth.day === 29 && daysInMonth(year, 2) === 28) {
    return Date.UTC(year, 2, 1);
  }
  return Date.UTC(year, dateOfBirth.month - 1, dateOfBirth.day);
}

/** When the user becomes eligible for real money: 00:00 UTC of their 18th birthday. */
export function adulthoodStartsAtMs(dateOfBirth: CalendarDate): number {
  return birthdayMs(dateOfBirth, adultAgeYears);
}

/** True when the user is 18 or older at `nowMs` (UTC date). */
export function isAdultAt(dateOfBirth: CalendarDate, nowMs: number): boolean {
  return nowMs >= adulthoodStartsAtMs(dateOfBirth);
}

/** ISO `YYYY-MM-DD` text of a calendar date (how it is stored). */
export function formatCalendarDate(date: CalendarDate): string {
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  return `${pad(date.year, 4)}-${pad(date.month, 2)}-${pad(date.day, 2)}`;
}

/** Parses `YYYY-MM-DD` as stored by {@link formatCalendarDate}. */
export function parseCalendarDate(text: string): CalendarDate {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match === null) throw new RangeError(`not a YYYY-MM-DD date: ${text}`);
  return { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) };
}
