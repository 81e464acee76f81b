import { ValidationError } from '@streambet/platform/errors/domain-errors';
import { describe, expect, it } from 'vitest';
import {
  TICK_COUNT,
  formatOdds,
  isTick,
  oddsHundredthsToTick,
  tickToOddsHundredths,
} from '../src/ladder.js';

describe('the price ladder', () => {
  it('has the 350 ticks of product.md, 1.01 at tick 0 and 1000 at tick 349, like the reference', () => {
    expect(TICK_COUNT).toBe(350);
    expect(tickToOddsHundredths(0)).toBe(101);
    expect(tickToOddsHundredths(349)).toBe(100_000);
  });

  it('steps by each band of product.md', () => {
    const steps = new Map<string, number>();
    for (let tick = 1; tick < TICK_COUNT; tick++) {
      const price = tickToOddsHundredths(tick);
      const step = price - tickToOddsHundredths(tick - 1);
      steps.set(formatOdds(price), step);
    }
    expect(steps.get('2.00')).toBe(1);
    expect(steps.get('2.02')).toBe(2);
    expect(steps.get('3.00')).toBe(2);
    expect(steps.get('3.05')).toBe(5);
    expect(steps.get('4.10')).toBe(10);
    expect(steps.get('6.20')).toBe(20);
    expect(steps.get('10.50')).toBe(50);
    expect(steps.get('21.00')).toBe(100);
    expect(steps.get('32.00')).toBe(200);
    expect(steps.get('55.00')).toBe(500);
    expect(steps.get('110.00')).toBe(1000);
    expect(steps.get('1000.00')).toBe(1000);
  });

  it('maps every ladder price back to its tick', () => {
    for (let tick = 0; tick < TICK_COUNT; tick++) {
      expect(oddsHundredthsToTick(tickToOddsHundredths(tick))).toBe(tick);
    }
  });

  it('refuses an off-ladder price and names the nearest ladder prices', () => {
    expect(() => oddsHundredthsToTick(201)).toThrow(ValidationError);
    expect(() => oddsHundredthsToTick(201)).toThrow(
      /2\.01 is not a ladder price; use 2\.00 or 2\.02/,
    );
    expect(() => oddsHundredthsToTick(100)).toThrow(/use 1\.01/);
    expect(() => oddsHundredthsToTick(100_010)).toThrow(/use 1000\.00/);
  });

  it('refuses ticks outside 0..349 or not whole', () => {
    expect(isTick(350)).toBe(false);
    expect(isTick(-1)).toBe(false);
    expect(isTick(1.5)).toBe(false);
    expect(() => tickToOddsHundredths(350)).toThrow(ValidationError);
  });
});
