/** The console's display helpers: money in minor units, UTC instants, hash routes. */
import { describe, expect, it } from 'vitest';
import { money, parseRoute, routeHref, when } from '../src/format.js';

describe('admin console format', () => {
  it('shows minor units as money, PTS as whole points', () => {
    expect(money(123_456n, 'BRL')).toBe('1,234.56 BRL');
    expect(money(-5n, 'BRL')).toBe('−0.05 BRL');
    expect(money(2_000n, 'PTS')).toBe('2,000 PTS');
  });

  it('shows instants in UTC and 0 as a dash', () => {
    expect(when(Date.UTC(2026, 11, 8, 1, 2, 3))).toBe('2026-12-08 01:02:03Z');
    expect(when(0n)).toBe('—');
  });

  it('round-trips hash routes; unknown pages fall back to the overview', () => {
    const href = routeHref('users', { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' });
    expect(href).toBe('#/users?id=01ARZ3NDEKTSV4RRFFQ69G5FAV');
    const route = parseRoute(href);
    expect([route.page, route.params.get('id')]).toEqual(['users', '01ARZ3NDEKTSV4RRFFQ69G5FAV']);
    expect(parseRoute('#/nope').page).toBe('overview');
    expect(parseRoute('').page).toBe('overview');
  });
});
