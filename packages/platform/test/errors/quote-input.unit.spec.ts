import { describe, expect, it } from 'vitest';
import { quoteInput } from '../../src/errors/quote-input.js';

describe('quoteInput', () => {
  it('given a short plain id, shows it as is; anything else short, quoted whole', () => {
    expect(quoteInput('01JX0Q3R5V2W8E1M6T4K9N7B')).toBe('01JX0Q3R5V2W8E1M6T4K9N7B');
    expect(quoteInput('wallet:nobody:BRL')).toBe('wallet:nobody:BRL');
    expect(quoteInput('')).toBe('""');
    expect(quoteInput('a b')).toBe('"a b"');
  });

  it('given a long value, quotes a prefix with its length, bounded whatever the value', () => {
    const quoted = quoteInput('m'.repeat(10_000));
    expect(quoted).toBe(`"${'m'.repeat(40)}…" (10000 characters)`);
    expect(quoteInput('m'.repeat(1_000_000)).length).toBeLessThan(80);
  });

  it('escapes control characters and never cuts a surrogate pair', () => {
    expect(quoteInput('a\nb')).toBe('"a\\nb"');
    const quoted = quoteInput(`${'x'.repeat(39)}😀${'y'.repeat(10)}`);
    expect(quoted).toBe(`"${'x'.repeat(39)}…" (51 characters)`);
  });
});
