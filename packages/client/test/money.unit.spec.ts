/** Money in each currency's own formatting, from bigint minor units, and typed amounts parsed exactly. */
import { describe, expect, it } from 'vitest';
import { formatMinor, minorDigits, minorToDecimal, parseMinor } from '../src/money.js';

describe('money formatting', () => {
  it('formats a real currency in its home locale and points apart', () => {
    expect(formatMinor(123_456n, 'BRL')).toBe('R$ 1.234,56');
    expect(formatMinor(5n, 'BRL')).toBe('R$ 0,05');
    expect(formatMinor(123_456n, 'USD')).toBe('$1,234.56');
    expect(formatMinor(123_456n, 'EUR')).toBe('1.234,56 €');
    expect(formatMinor(1500n, 'JPY')).toBe('￥1,500');
    expect(formatMinor(1_234_567n, 'PTS')).toBe('1,234,567 PTS');
    expect(formatMinor(-250n, 'BRL')).toBe('-R$ 2,50');
  });

  it('never rounds through a float, even past 2^53 minor units', () => {
    const huge = 9_007_199_254_740_993n; // 2^53 + 1: not a double
    expect(minorToDecimal(huge, 2)).toBe('90071992547409.93');
    expect(formatMinor(huge, 'USD')).toBe('$90,071,992,547,409.93');
    expect(minorDigits('BRL')).toBe(2);
    expect(minorDigits('PTS')).toBe(0);
  });

  it('parses typed amounts exactly, with either decimal mark', () => {
    expect(parseMinor('12,50', 'BRL')).toEqual({ ok: true, amountMinor: 1250n });
    expect(parseMinor('12.5', 'BRL')).toEqual({ ok: true, amountMinor: 1250n });
    expect(parseMinor('1.234,56', 'BRL')).toEqual({ ok: true, amountMinor: 123_456n });
    expect(parseMinor('1,234.56', 'USD')).toEqual({ ok: true, amountMinor: 123_456n });
    expect(parseMinor(' 100 ', 'PTS')).toEqual({ ok: true, amountMinor: 100n });
    expect(parseMinor('0.001', 'BRL').ok).toBe(false);
    expect(parseMinor('-5', 'BRL').ok).toBe(false);
    expect(parseMinor('0', 'BRL').ok).toBe(false);
    expect(parseMinor('abc', 'BRL').ok).toBe(false);
    expect(parseMinor('', 'BRL')).toEqual({ ok: false, message: 'Enter an amount.' });
  });
});
