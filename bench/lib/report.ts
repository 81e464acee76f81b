/** The one-line JSON result every bench prints last (read by CI and the closing notes). */

/** One measured figure next to its baseline. */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What `value` is compared with, measured in the same run. */
  readonly baseline: number;
  /** value / baseline, 2 decimals. */
  readonly ratio: number;
  /** Human-readable target, e.g. `≥ 0.5×`. */
  readonly target: string;
  readonly met: boolean;
}

/** Builds a result: ratio = value / baseline, met when ratio ≥ `minRatio`. */
export function compare(
  name: string,
  value: number,
  unit: string,
  baseline: number,
  minRatio: number,
  targetText = `≥ ${minRatio}×`,
): BenchResult {
  const ratio = baseline > 0 ? Math.round((value / baseline) * 100) / 100 : 0;
  return {
    name,
    value: Math.round(value),
    unit,
    baseline: Math.round(baseline),
    ratio,
    target: targetText,
    met: baseline > 0 && value / baseline >= minRatio,
  };
}

/** Prints the bench's single JSON line. */
export function printResults(bench: string, results: readonly BenchResult[]): void {
  process.stdout.write(`${JSON.stringify({ bench, results })}\n`);
}
