/**
 * Live odds: the cache (what GetOdds serves, rebuilt from SQL totals on a miss) and the conflated
 * OddsChanged publication (at most one per market per `minIntervalMs`, default 100 ms = 10/s).
 *
 * Conflation keeps one pending flush per market: a change inside the interval arms a timer for
 * the end of the interval (if none is armed); the flush then publishes the LATEST snapshot from
 * SQL, so intermediate snapshots are dropped, never reordered. A change after a quiet interval
 * publishes at once (no added latency when idle).
 */
import type { Cache } from '@streambet/platform/cache/types';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import { oddsSnapshot, type MarketTotals, type OddsSnapshot } from './domain/odds.js';
import type { BetEngineStore } from './store/index.js';

/** Arms one-shot timers; injectable so tests drive conflation with a manual clock. */
export interface Scheduler {
  setTimer(fn: () => void, delayMs: number): { cancel(): void };
}

/** The platform's timers (unref'd: a pending flush never keeps the process alive). */
const realScheduler: Scheduler = {
  setTimer(fn, delayMs) {
    const timer = setTimeout(fn, delayMs);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

/** Dependencies of {@link createOddsService}. */
export interface OddsServiceDeps {
  readonly store: BetEngineStore;
  readonly cache: Cache;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly scheduler?: Scheduler;
  /** Least time between two OddsChanged of one market; default 100 ms. */
  readonly minIntervalMs?: number;
  /** Lifetime of a cached snapshot; default 1 hour (rebuilt from SQL on a miss anyway). */
  readonly cacheTtlMs?: number;
}

/** Cache key of a market's odds snapshot. */
export function oddsCacheKey(marketId: string): string {
  return `bet-engine:odds:${marketId}`;
}

interface SnapshotJson {
  marketId: string;
  kind: OddsSnapshot['kind'];
  currency: string;
  totalStakedMinor: string;
  bettorCount: string;
  outcomes: Array<{
    outcomeId: string;
    stakedMinor: string;
    betCount: string;
    decimalOdds: string;
  }>;
  version: string;
  computedAtMs: number;
}

function toJson(snapshot: OddsSnapshot): string {
  const json: SnapshotJson = {
    marketId: snapshot.marketId,
    kind: snapshot.kind,
    currency: snapshot.currency,
    totalStakedMinor: snapshot.totalStakedMinor.toString(),
    bettorCount: snapshot.bettorCount.toString(),
    outcomes: snapshot.outcomes.map((o) => ({
      outcomeId: o.outcomeId,
      stakedMinor: o.stakedMinor.toString(),
      betCount: o.betCount.toString(),
      decimalOdds: o.decimalOdds,
    })),
    version: snapshot.version.toString(),
    computedAtMs: snapshot.computedAtMs,
  };
  return JSON.stringify(json);
}

function fromJson(text: string): OddsSnapshot {
  const json = JSON.parse(text) as SnapshotJson;
  return {
    marketId: json.marketId,
    kind: json.kind,
    currency: json.currency,
    totalStakedMinor: BigInt(json.totalStakedMinor),
    bettorCount: BigInt(json.bettorCount),
    outcomes: json.outcomes.map((o) => ({
      outcomeId: o.outcomeId,
      stakedMinor: BigInt(o.stakedMinor),
      betCount: BigInt(o.betCount),
      decimalOdds: o.decimalOdds,
    })),
    version: BigInt(json.version),
    computedAtMs: json.computedAtMs,
  };
}

/** Creates the odds service. */
export function createOddsService(deps: OddsServiceDeps) {
  const { store, cache, clock, logger } = deps;
  const scheduler = deps.scheduler ?? realScheduler;
  const minIntervalMs = deps.minIntervalMs ?? 100;
  const cacheTtlMs = deps.cacheTtlMs ?? 3_600_000;
  const lastPublishedAtMs = new Map<string, number>();
  const armed = new Map<string, { cancel(): void }>();
  const inFlight = new Set<Promise<void>>();
  let published = 0;

  /** Recomputes the snapshot from SQL and writes it to the cache unless a newer one is there. */
  async function refresh(marketId: string): Promise<OddsSnapshot | undefined> {
    const totals = await store.marketTotals(marketId);
    if (totals === undefined) return undefined;
    return accept(totals);
  }

  /** Writes the snapshot of totals just read in a transaction to the cache (unless newer is there). */
  async function accept(totals: MarketTotals): Promise<OddsSnapshot> {
    const { marketId } = totals;
    const snapshot = oddsSnapshot(totals, clock.now());
    try {
      await cache.setIfNewer(
        oddsCacheKey(marketId),
        snapshot.version + 1n,
        toJson(snapshot),
        cacheTtlMs,
      );
    } catch (error) {
      logger.warn(
        { err: error, marketId },
        'writing odds to the cache failed; SQL stays the truth',
      );
    }
    return snapshot;
  }

  function publishNow(marketId: string): void {
    lastPublishedAtMs.set(marketId, clock.now());
    const run = store
      .publishOdds(marketId, clock.now())
      .then(() => {
        published += 1;
      })
      .catch((error: unknown) => {
        logger.error({ err: error, marketId }, 'publishing OddsChanged failed');
      })
      .finally(() => inFlight.delete(run));
    inFlight.add(run);
  }

  return {
    refresh,
    accept,

    /**
     * Claims the market's publication slot for an OddsChanged written by the caller's own
     * transaction: true when nothing is pending and the last publication is at least the interval
     * old (recorded as published now); false means call {@link changed} after the commit instead.
     */
    claimPublication(marketId: string): boolean {
      if (armed.has(marketId)) return false;
      const last = lastPublishedAtMs.get(marketId);
      const nowMs = clock.now();
      if (last !== undefined && nowMs - last < minIntervalMs) return false;
      lastPublishedAtMs.set(marketId, nowMs);
      return true;
    },

    /** Counts OddsChanged events the caller's transactions committed after claiming. */
    countPublished(count: number): void {
      published += count;
    },

    /** The cached snapshot, or undefined on a miss (or when the cache cannot be read). */
    async cached(marketId: string): Promise<OddsSnapshot | undefined> {
      try {
        const cached = await cache.getVersioned(oddsCacheKey(marketId));
        if (cached !== null) return fromJson(cached.value);
      } catch (error) {
        logger.warn({ err: error, marketId }, 'reading odds from the cache failed; using SQL');
      }
      return undefined;
    },

    /** Notes that a market's totals changed: publishes now, or arms the market's pending flush. */
    changed(marketId: string): void {
      if (armed.has(marketId)) return;
      const last = lastPublishedAtMs.get(marketId);
      const waitMs = last === undefined ? 0 : last + minIntervalMs - clock.now();
      if (waitMs <= 0) {
        publishNow(marketId);
        return;
      }
      armed.set(
        marketId,
        scheduler.setTimer(() => {
          armed.delete(marketId);
          publishNow(marketId);
        }, waitMs),
      );
    },

    /** OddsChanged events appended so far by this process (metrics, tests). */
    publishedCount: () => published,

    /** Resolves when every publication started so far has committed. */
    async idle(): Promise<void> {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },

    /** Publishes every pending flush now (shutdown), then waits for them. */
    async flush(): Promise<void> {
      for (const [marketId, timer] of [...armed]) {
        timer.cancel();
        armed.delete(marketId);
        publishNow(marketId);
      }
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}

/** The odds service. */
export type OddsService = ReturnType<typeof createOddsService>;
