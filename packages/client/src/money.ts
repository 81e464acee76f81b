/**
 * Money for people, in each currency's own formatting: a real currency through
 * Intl.NumberFormat in its home locale (BRL `R$ 1.234,56`, USD `$1,234.56`, EUR `1.234,56 €`),
 * play money as grouped points (`1,234 PTS`). Amounts stay integer minor units (bigint) end to
 * end: Intl formats an exact decimal string built from the bigint's digits, and typed amounts are
 * parsed by string arithmetic, so nothing is ever rounded through a float. Pure (web and React
 * Native).
 */

/** The play-money currency code. */
export const pointsCurrency = 'PTS';

/** The locale whose conventions a real currency is shown in (its home market). */
const homeLocales: Readonly<Record<string, string>> = {
  BRL: 'pt-BR',
  USD: 'en-US',
  EUR: 'de-DE',
  GBP: 'en-GB',
  MXN: 'es-MX',
  ARS: 'es-AR',
  CLP: 'es-CL',
  COP: 'es-CO',
  JPY: 'ja-JP',
};

/** The locale `currency` is formatted in; `en-US` for points and unlisted currencies. */
export function moneyLocale(currency: string): string {
  return homeLocales[currency] ?? 'en-US';
}

/** Digits after the decimal point of `currency`'s minor unit (ISO 4217 via Intl; 0 for PTS). */
export function minorDigits(currency: string): number {
  if (currency === pointsCurrency) return 0;
  try {
    return (
      new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions()
        .maximumFractionDigits ?? 2
    );
  } catch {
    return 2;
  }
}

/** `amountMinor` as an exact decimal string in major units: 123456n BRL → "1234.56". */
export function minorToDecimal(amountMinor: bigint, digits: number): string {
  const negative = amountMinor < 0n;
  const text = (negative ? -amountMinor : amountMinor).toString();
  if (digits === 0) return `${negative ? '-' : ''}${text}`;
  const padded = text.padStart(digits + 1, '0');
  const major = padded.slice(0, padded.length - digits);
  return `${negative ? '-' : ''}${major}.${padded.slice(padded.length - digits)}`;
}

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(currency: string): Intl.NumberFormat {
  let found = formatters.get(currency);
  if (found === undefined) {
    const digits = minorDigits(currency);
    found =
      currency === pointsCurrency
        ? new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
        : new Intl.NumberFormat(moneyLocale(currency), {
            style: 'currency',
            currency,
            minimumFractionDigits: digits,
            maximumFractionDigits: digits,
          });
    formatters.set(currency, found);
  }
  return found;
}

/**
 * Formats minor units in the currency's own formatting: 123456n BRL → `R$ 1.234,56`, 1500n PTS
 * → `1,500 PTS`. Intl receives the exact decimal string (Intl.NumberFormat v3), never a float.
 */
export function formatMinor(amountMinor: bigint, currency: string): string {
  const decimal = minorToDecimal(amountMinor, minorDigits(currency));
  // format() takes decimal strings exactly (ES2023); the cast covers older lib typings.
  const text = formatter(currency).format(decimal as unknown as number);
  // Intl puts a no-break space between symbol and digits; a plain one reads the same and
  // matches what people type when searching the page.
  const plain = text.replace(/\u00a0|\u202f/g, ' ');
  return currency === pointsCurrency ? `${plain} PTS` : plain;
}

/** The answer of {@link parseMinor}. */
export type ParsedAmount =
  | { readonly ok: true; readonly amountMinor: bigint }
  | { readonly ok: false; readonly message: string };

/**
 * Reads an amount typed in major units into minor units, exactly: "12,50" or "12.50" BRL → 1250n,
 * "1.234,56" (pt-BR grouping) → 123456n, "100" PTS → 100n. Refuses more decimals than the
 * currency has, signs, and anything that is not a number.
 */
export function parseMinor(input: string, currency: string): ParsedAmount {
  const digits = minorDigits(currency);
  let text = input.trim().replace(/[\s\u00a0]/g, '');
  if (text === '') return { ok: false, message: 'Enter an amount.' };
  // The last '.' or ',' followed by 1..digits digits is the decimal separator; other separators
  // are grouping.
  const decimalMatch = digits > 0 ? new RegExp(`[.,](\\d{1,${digits}})$`).exec(text) : null;
  let fraction = '';
  if (decimalMatch !== null) {
    fraction = decimalMatch[1]!;
    text = text.slice(0, decimalMatch.index);
  }
  if (!/^[1-9]\d{0,2}([.,]\d{3})+$|^\d+$/.test(text)) {
    return {
      ok: false,
      message:
        digits === 0
          ? 'Enter a whole number, like 100.'
          : `Enter an amount like 25 or 25.50 (at most ${digits} decimals).`,
    };
  }
  const whole = text.replace(/[.,]/g, '');
  if (whole.length > 15) return { ok: false, message: 'That amount is too large.' };
  const amountMinor = BigInt(whole + fraction.padEnd(digits, '0'));
  if (amountMinor <= 0n) return { ok: false, message: 'Enter an amount above zero.' };
  return { ok: true, amountMinor };
}
