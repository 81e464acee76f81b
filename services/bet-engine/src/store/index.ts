/**
 * The bet engine's storage in SQL, one file per purpose: markets.ts (the market projection),
 * placement.ts (intents, finishing holds, the reconciliation's pending bets), bets.ts (reads),
 * odds.ts (live totals and OddsChanged), voids.ts (late and market voids), settlement.ts (a
 * market's resolution record and per-user aggregates) and events.ts (the outbox). Functions taking `tx` run inside a caller's
 * transaction.
 */
import type { Sql } from '@streambet/platform/sql/types';
import { createBetQueries } from './bets.js';
import { createMarketProjection } from './markets.js';
import { createOddsStore } from './odds.js';
import { createPlacementStore } from './placement.js';
import { createSettlementStore } from './settlement.js';
import { createVoids } from './voids.js';

export { betTopic, oddsTopic } from './events.js';
export type { MyBetsQuery } from './bets.js';
export { marketFacts, type MarketDefinition, type MarketRecord } from './markets.js';
export {
  samePlacement,
  type FinalizeResult,
  type HoldOutcome,
  type IntentOutcome,
  type IntentRequest,
} from './placement.js';

/** Dependencies of {@link createBetEngineStore}. */
export interface BetEngineStoreDeps {
  readonly sql: Sql;
  /** Called after a commit that appended outbox rows (the relay publishes at once). */
  readonly onCommitted?: () => void;
}

/** Creates the store from its parts, all over the same Sql port. */
export function createBetEngineStore(deps: BetEngineStoreDeps) {
  const bets = createBetQueries(deps);
  const odds = createOddsStore(deps);
  return {
    sql: deps.sql,
    ...createMarketProjection(deps),
    ...bets,
    ...odds,
    ...createPlacementStore(deps, { bets, odds }),
    ...createVoids(deps),
    ...createSettlementStore(deps),
  };
}

/** The bet engine's store. */
export type BetEngineStore = ReturnType<typeof createBetEngineStore>;
