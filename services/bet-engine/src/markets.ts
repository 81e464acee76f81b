/**
 * Access to the market projection: the bet engine's own table, filled from `market` events and,
 * on a miss (cold start, event not yet arrived), from the pool's GetMarketForBetting. Also keeps
 * the market escrow accounts created (on MarketOpened, or lazily before the first hold).
 */
import { createCoalescingReader } from './read-coalescer.js';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { LedgerPort, MarketSource } from './downstreams.js';
import type { BetEngineStore, MarketRecord } from './store/index.js';

/** Dependencies of {@link createMarkets}. */
export interface MarketsDeps {
  readonly store: BetEngineStore;
  readonly ledger: LedgerPort;
  /** Absent: a miss is simply unknown (tests without a pool). */
  readonly source?: MarketSource;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * How long {@link Markets.getForPlacement} serves a market from memory after reading it, in ms;
   * default 1000 (0 disables); only OPEN markets are kept. A stale record can only
   * let a PlaceBet reach its batch or turn it away early: the batch re-reads the market under its
   * row lock and re-checks every rule there, and this process forgets a market whenever it changes
   * its state ({@link Markets.forget}). Saves an SQL transaction per request under load.
   */
  readonly cacheMs?: number;
  /**
   * How long {@link Markets.get} remembers that the pool does not know a market id, in ms;
   * default 5000 (0 disables). Repeated look-ups of a random id (PlaceBet, GetOdds) then cost no
   * SQL and no pool call. Safe because market ids are made by the pool and reach clients only
   * after the market is committed there, so an id the pool did not know is not about to become a
   * market a client could name; and a MarketCreated event received here drops the entry at once
   * ({@link Markets.forget}). Only the pool's own "unknown" answer is remembered, never a failure.
   */
  readonly unknownCacheMs?: number;
}

/** Most ids remembered as unknown; beyond it expired entries go, then all (memory stays bounded). */
const maxUnknownIds = 10_000;

/** Creates the market access. */
export function createMarkets(deps: MarketsDeps) {
  const { store, ledger, clock } = deps;
  /** Markets whose escrow is known to exist (saves a read per batch). */
  const escrows = new Set<string>();
  const cacheMs = deps.cacheMs ?? 1000;
  /** Recently read markets with the instant they were read. */
  const recent = new Map<string, { readonly market: MarketRecord; readonly readAtMs: number }>();
  const unknownCacheMs = deps.unknownCacheMs ?? 5000;
  /** Ids the pool said it does not know, with the instant it said so. */
  const unknownIds = new Map<string, number>();
  /** Concurrent look-ups of markets share one query (see read-coalescer.ts). */
  const projected = createCoalescingReader(
    (marketIds: readonly string[]) => store.getMarkets(marketIds),
    (marketId: string) => marketId,
  );

  const remember = (market: MarketRecord, nowMs: number): void => {
    if (cacheMs <= 0) return;
    // Bounded: expired entries go when the map grows (markets open at once are few).
    if (recent.size >= 10_000) {
      for (const [id, entry] of recent) if (nowMs - entry.readAtMs >= cacheMs) recent.delete(id);
      if (recent.size >= 10_000) recent.clear();
    }
    recent.set(market.marketId, { market, readAtMs: nowMs });
  };

  const rememberUnknown = (marketId: string, nowMs: number): void => {
    if (unknownCacheMs <= 0) return;
    if (unknownIds.size >= maxUnknownIds) {
      for (const [id, atMs] of unknownIds)
        if (nowMs - atMs >= unknownCacheMs) unknownIds.delete(id);
      if (unknownIds.size >= maxUnknownIds) unknownIds.clear();
    }
    unknownIds.set(marketId, nowMs);
  };

  /**
   * The projected market; undefined if unknown (the pool's "unknown" is remembered for
   * `unknownCacheMs`). Fetched from the pool and stored when the
   * projection has no record, and also when it last saw the market as DRAFT: a draft is treated
   * as absent by every caller, and it may have opened since (its MarketOpened event not yet
   * here), so the first bet after opening would otherwise be told the market does not exist.
   */
  async function get(marketId: string): Promise<MarketRecord | undefined> {
    const askedAtMs = clock.now();
    const saidUnknownAtMs = unknownIds.get(marketId);
    if (saidUnknownAtMs !== undefined) {
      if (askedAtMs - saidUnknownAtMs < unknownCacheMs) return undefined;
      unknownIds.delete(marketId);
    }
    const known = await projected.load(marketId);
    if (deps.source === undefined || (known !== undefined && known.state !== 'DRAFT')) return known;
    const fetched = await deps.source.fetch(marketId);
    if (fetched === undefined) {
      if (known === undefined) rememberUnknown(marketId, askedAtMs);
      return known;
    }
    await store.sql.transaction((tx) => store.upsertMarketDefinition(tx, fetched, clock.now()));
    recent.delete(marketId);
    return store.getMarket(marketId);
  }

  return {
    /** See {@link get}. */
    get,

    /**
     * For PlaceBet's early checks only: {@link get}, served from memory for up to `cacheMs` after
     * a read. Whatever it lets through is re-checked by the batch under the market's row lock.
     */
    async getForPlacement(marketId: string): Promise<MarketRecord | undefined> {
      const nowMs = clock.now();
      const hit = recent.get(marketId);
      if (hit !== undefined && nowMs - hit.readAtMs < cacheMs) return hit.market;
      const market = await get(marketId);
      // Only open markets: a state change away from OPEN is re-checked by the batch, but a market
      // that opens must be seen at once (another replica may have applied the event).
      if (market?.state === 'OPEN') remember(market, nowMs);
      return market;
    },

    /**
     * Drops what this process remembers of a market it just changed or heard of (its record, or
     * that the pool did not know it).
     */
    forget(marketId: string): void {
      recent.delete(marketId);
      unknownIds.delete(marketId);
    },

    /**
     * Re-reads the market from the pool and applies it when newer (e.g. settlement asks before the
     * MarketLocked event arrived here). Undefined when there is no pool, or it cannot answer.
     */
    async refresh(marketId: string): Promise<MarketRecord | undefined> {
      if (deps.source === undefined) return undefined;
      try {
        const fetched = await deps.source.fetch(marketId);
        if (fetched === undefined) return undefined;
        await store.sql.transaction((tx) => store.upsertMarketDefinition(tx, fetched, clock.now()));
        recent.delete(marketId);
        return await store.getMarket(marketId);
      } catch (error) {
        deps.logger.warn({ err: error, marketId }, 'refreshing the market from the pool failed');
        return undefined;
      }
    },

    /**
     * Makes sure the escrow accounts of these markets exist in the ledger (one CreateAccounts
     * call for all that are not known to exist; idempotent on the ledger's side).
     */
    async ensureEscrows(markets: readonly MarketRecord[]): Promise<void> {
      const missing = new Map<string, MarketRecord>();
      for (const market of markets) {
        if (market.escrowCreated) escrows.add(market.marketId);
        if (!escrows.has(market.marketId)) missing.set(market.marketId, market);
      }
      if (missing.size === 0) return;
      await ledger.createEscrows(
        [...missing.values()].map((m) => ({ marketId: m.marketId, currency: m.currency })),
      );
      await store.markEscrowCreated([...missing.keys()]);
      for (const marketId of missing.keys()) escrows.add(marketId);
    },
  };
}

/** The market access. */
export type Markets = ReturnType<typeof createMarkets>;
