/**
 * Access to the market projection: the bet engine's own table, filled from `market` events and,
 * on a miss (cold start, event not yet arrived), from the pool's GetMarketForBetting. Also keeps
 * the market escrow accounts created (on MarketOpened, or lazily before the first hold).
 */
import { createCoalescingReader } from './read-coalescer.js';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { LedgerPort, MarketSource } from './downstreams.js';
import type { BetEngineStore, MarketRecord } from './store.js';

/** Dependencies of {@link createMarkets}. */
export interface MarketsDeps {
  readonly store: BetEngineStore;
  readonly ledger: LedgerPort;
  /** Absent: a miss is simply unknown (tests without a pool). */
  readonly source?: MarketSource;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Creates the market access. */
export function createMarkets(deps: MarketsDeps) {
  const { store, ledger, clock } = deps;
  /** Markets whose escrow is known to exist (saves a read per batch). */
  const escrows = new Set<string>();
  /** Concurrent look-ups of markets share one query (see read-coalescer.ts). */
  const projected = createCoalescingReader(
    (marketIds: readonly string[]) => store.getMarkets(marketIds),
    (marketId: string) => marketId,
  );

  return {
    /** The projected market, fetched from the pool and stored on a miss; undefined if unknown. */
    async get(marketId: string): Promise<MarketRecord | undefined> {
      const known = await projected.load(marketId);
      if (known !== undefined || deps.source === undefined) return known;
      const fetched = await deps.source.fetch(marketId);
      if (fetched === undefined) return undefined;
      await store.sql.transaction((tx) => store.upsertMarketDefinition(tx, fetched, clock.now()));
      return store.getMarket(marketId);
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
