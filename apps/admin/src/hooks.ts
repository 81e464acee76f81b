/** Small React hooks the pages share. */
import { useEffect, useRef } from 'react';

/** Calls `run` every `periodMs` while mounted (the latest `run`, without restarting the timer). */
export function useInterval(run: () => void, periodMs: number): void {
  const latest = useRef(run);
  useEffect(() => {
    latest.current = run;
  });
  useEffect(() => {
    const timer = setInterval(() => latest.current(), periodMs);
    return () => clearInterval(timer);
  }, [periodMs]);
}

/**
 * Runs `load` now, again whenever it changes (its inputs changed), and every `periodMs` when
 * given: the pages' data loading.
 */
export function useLoad(load: () => Promise<void>, periodMs?: number): void {
  useEffect(() => {
    void load();
  }, [load]);
  useInterval(() => {
    if (periodMs !== undefined) void load();
  }, periodMs ?? 3_600_000);
}
