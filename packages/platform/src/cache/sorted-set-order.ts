/**
 * Member order of Redis sorted sets, reproduced for the memory cache. Redis orders equal scores
 * by member compared as raw bytes (memcmp, shorter prefix first); ZRANGE is ascending and
 * ZREVRANGE / ZREVRANK are its exact reverse, so ties come out in DESCENDING byte order.
 * Members reach Redis as UTF-8, and UTF-8 byte order equals Unicode code point order, which is
 * not JavaScript's UTF-16 code unit order (`'\uFFFF' < '😀'` in UTF-8 but not in UTF-16).
 */

/** Sort key of a UTF-16 code unit such that unit order equals code point order. */
function codePointOrderUnit(unit: number): number {
  // Surrogates (U+D800–DFFF, only in pairs for code points >= U+10000) must sort after U+E000–FFFF.
  if (unit >= 0xd800) return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
  return unit;
}

/** Compares like Redis (memcmp of UTF-8): negative when `a` sorts before `b` ascending. */
export function compareMembersAscending(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index += 1) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x !== y) return codePointOrderUnit(x) - codePointOrderUnit(y);
  }
  return a.length - b.length;
}

/** ZREVRANGE tie order: negative when `a` comes before `b` (i.e. `a` is the larger member). */
export function compareMembersDescending(a: string, b: string): number {
  return compareMembersAscending(b, a);
}
