/**
 * The exchange price ladder (product.md, "Exchange (EXCHANGE) math"): 350 decimal prices from
 * 1.01 to 1000, each addressed by an integer tick 0..349. Prices are carried as integer
 * hundredths of decimal odds (`oddsHundredths`: 1.01 → 101, 1000 → 100000) so no float ever
 * decides whether a price is on the ladder. The same ladder, tick for tick, as the Rust
 * reference in `shared/bench/orderbook-ref` (0 = 1.01 … 349 = 1000).
 */
import { ValidationError } from '@streambet/platform/errors/domain-errors';

/** One band of the ladder: prices above `fromHundredths` up to `toHundredths`, every `step`. */
interface LadderBand {
  readonly fromHundredths: number;
  readonly toHundredths: number;
  readonly stepHundredths: number;
}

const BANDS: readonly LadderBand[] = [
  { fromHundredths: 100, toHundredths: 200, stepHundredths: 1 },
  { fromHundredths: 200, toHundredths: 300, stepHundredths: 2 },
  { fromHundredths: 300, toHundredths: 400, stepHundredths: 5 },
  { fromHundredths: 400, toHundredths: 600, stepHundredths: 10 },
  { fromHundredths: 600, toHundredths: 1_000, stepHundredths: 20 },
  { fromHundredths: 1_000, toHundredths: 2_000, stepHundredths: 50 },
  { fromHundredths: 2_000, toHundredths: 3_000, stepHundredths: 100 },
  { fromHundredths: 3_000, toHundredths: 5_000, stepHundredths: 200 },
  { fromHundredths: 5_000, toHundredths: 10_000, stepHundredths: 500 },
  { fromHundredths: 10_000, toHundredths: 100_000, stepHundredths: 1_000 },
];

function buildLadder(): Int32Array {
  const prices: number[] = [];
  for (const band of BANDS) {
    for (
      let price = band.fromHundredths + band.stepHundredths;
      price <= band.toHundredths;
      price += band.stepHundredths
    ) {
      prices.push(price);
    }
  }
  return Int32Array.from(prices);
}

const LADDER = buildLadder();

/** Number of ticks on the ladder (350); valid ticks are 0..TICK_COUNT − 1. */
export const TICK_COUNT = LADDER.length;

/** Whether `tick` is an integer tick index on the ladder. */
export function isTick(tick: number): boolean {
  return Number.isInteger(tick) && tick >= 0 && tick < TICK_COUNT;
}

/** The price of a tick in hundredths of decimal odds; throws a ValidationError off the ladder. */
export function tickToOddsHundredths(tick: number): number {
  if (!isTick(tick)) {
    throw new ValidationError('price is off the ladder', [
      { field: 'tick', description: `must be an integer in 0..${TICK_COUNT - 1}, got ${tick}` },
    ]);
  }
  return LADDER[tick]!;
}

/**
 * The tick of a price given in hundredths of decimal odds, or a ValidationError naming the
 * nearest ladder prices when the price is not on the ladder (e.g. 2.01 → "use 2.00 or 2.02").
 */
export function oddsHundredthsToTick(oddsHundredths: number): number {
  let low = 0;
  let high = TICK_COUNT - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const price = LADDER[mid]!;
    if (price === oddsHundredths) return mid;
    if (price < oddsHundredths) low = mid + 1;
    else high = mid - 1;
  }
  const below = high >= 0 ? formatOdds(LADDER[high]!) : undefined;
  const above = low < TICK_COUNT ? formatOdds(LADDER[low]!) : undefined;
  const hint = [below, above].filter((price) => price !== undefined).join(' or ');
  throw new ValidationError('price is off the ladder', [
    {
      field: 'odds',
      description: `${Number.isInteger(oddsHundredths) ? formatOdds(oddsHundredths) : String(oddsHundredths / 100)} is not a ladder price; use ${hint}`,
    },
  ]);
}

/** Decimal odds as text with two decimals, from hundredths (e.g. 250 → "2.50"). */
export function formatOdds(oddsHundredths: number): string {
  const whole = Math.trunc(oddsHundredths / 100);
  const cents = Math.abs(oddsHundredths % 100);
  return `${whole}.${cents.toString().padStart(2, '0')}`;
}
