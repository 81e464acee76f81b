import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareMembersAscending,
  compareMembersDescending,
} from '@streambet/platform/cache/sorted-set-order';

describe('sorted-set member order (Redis memcmp of UTF-8)', () => {
  it('equals byte order of the UTF-8 encoding for any strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(Math.sign(compareMembersAscending(a, b))).toBe(
          Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))),
        );
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it('puts a shorter prefix first ascending and last descending', () => {
    expect(compareMembersAscending('a', 'ab')).toBeLessThan(0);
    expect(['a', 'ab', 'b', 'B'].sort(compareMembersDescending)).toEqual(['b', 'ab', 'a', 'B']);
  });

  it('sorts astral characters after U+E000–U+FFFF, unlike UTF-16 comparison', () => {
    expect('\uffff' > '😀').toBe(true);
    expect(compareMembersAscending('\uffff', '😀')).toBeLessThan(0);
  });
});
