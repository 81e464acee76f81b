/**
 * The stake reservation module of the user service (ReserveStakes, internal.proto): identity's
 * eligibility and the ledger's holds in one transaction. Wired by app.ts (and testing.ts).
 */
import type { Sql } from '@streambet/platform/sql/types';
import type { Clock } from '@streambet/platform/rpc/clock';
import { createEligibilityChecker } from '../identity/eligibility.js';
import type { IdentityStore } from '../identity/store/index.js';
import { openStakesOf } from '../ledger/open-stakes.js';
import { createLedgerStore, type LedgerStoreOptions } from '../ledger/store/index.js';
import { joinedSql } from './joined-sql.js';
import { createStakeReserver } from './reserve-stakes.js';
import { createReservationRoutes } from './routes.js';

export { createReservationRoutes, type ReservationRoutesDeps } from './routes.js';
export { createStakeReserver, type StakeReserver } from './reserve-stakes.js';

/** Inputs of {@link createStakeReservation}. */
export interface StakeReservationDeps {
  readonly sql: Sql;
  readonly identity: IdentityStore;
  readonly clock: Clock;
  readonly settings: { readonly realCurrency: string; readonly kycThresholdMinor: bigint };
  /** The options of the service's ledger store (the same wallet events in the outbox). */
  readonly ledgerOptions: LedgerStoreOptions;
  /** After a reservation that took holds committed (wake the outbox relay). */
  readonly onCommitted?: () => void;
}

/** The ReserveStakes handler, built over its own ledger store joined to its transactions. */
export function createStakeReservation(deps: StakeReservationDeps) {
  const joined = joinedSql(deps.sql);
  const ledger = createLedgerStore(joined.sql, deps.ledgerOptions);
  const checker = createEligibilityChecker({
    sql: joined.sql,
    store: deps.identity,
    clock: deps.clock,
    settings: deps.settings,
    openStakes: (userIds) => openStakesOf(ledger, deps.settings.realCurrency, userIds),
  });
  const reserver = createStakeReserver({
    sql: deps.sql,
    joined,
    ledger,
    checker,
    ...(deps.onCommitted === undefined ? {} : { onCommitted: deps.onCommitted }),
  });
  return createReservationRoutes({ reserver, realCurrency: deps.settings.realCurrency });
}
