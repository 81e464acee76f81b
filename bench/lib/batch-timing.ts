/**
 * Where a bench round's placement time went, from the bet engine's own `/metrics` (the histograms
 * placement.ts reports per group-commit batch: size, queue wait, time per step), read before and
 * after the round: the difference of each histogram's `_sum` and `_count` is the round's mean.
 */

/** The steps of a placement batch, in order (services/bet-engine/src/placement.ts BatchStep). */
const STEPS = ['intents', 'holds', 'finalize', 'odds'] as const;

/** The bet engine's histogram sums and counts at one instant, by series name with labels. */
export type MetricsSnapshot = ReadonlyMap<string, number>;

/** Reads the `_sum` and `_count` series of the bet engine's batch histograms from `/metrics`. */
export async function scrapeBatchMetrics(betEngineUrl: string): Promise<MetricsSnapshot> {
  const response = await fetch(`${betEngineUrl}/metrics`);
  if (!response.ok) throw new Error(`${betEngineUrl}/metrics answered ${response.status}`);
  const series = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (!line.startsWith('bet_engine_batch_')) continue;
    const space = line.lastIndexOf(' ');
    const name = line.slice(0, space);
    if (!/_(sum|count)(\{|$)/.test(name)) continue;
    const withoutService = name.replace(/service="[^"]*",?/, '').replace('{}', '');
    series.set(withoutService, Number(line.slice(space + 1)));
  }
  return series;
}

/**
 * One line: batches in the round, mean bets per batch, mean queue wait of a batch's oldest bet and
 * mean time of each step, in ms (`n/a` when the round committed no batch).
 */
export function describeBatches(before: MetricsSnapshot, after: MetricsSnapshot): string {
  const delta = (name: string): number => (after.get(name) ?? 0) - (before.get(name) ?? 0);
  const batches = delta('bet_engine_batch_size_count');
  if (batches <= 0) return 'no placement batch';
  const meanMs = (sum: string, count: string): string => {
    const n = delta(count);
    return n > 0 ? ((delta(sum) / n) * 1000).toFixed(1) : 'n/a';
  };
  const steps = STEPS.map(
    (step) =>
      `${step} ${meanMs(
        `bet_engine_batch_step_seconds_sum{step="${step}"}`,
        `bet_engine_batch_step_seconds_count{step="${step}"}`,
      )}`,
  ).join(', ');
  return (
    `${batches} batches of ${(delta('bet_engine_batch_size_sum') / batches).toFixed(1)} bets; ` +
    `mean ms: queue wait ${meanMs('bet_engine_batch_queue_wait_seconds_sum', 'bet_engine_batch_queue_wait_seconds_count')}, ${steps}`
  );
}
