/**
 * The ledger's storage, assembled from its parts: the commit path (commit.ts), account opening
 * (accounts.ts), reads (queries.ts), per-hold bulk settlement (market-holds.ts) and market-level
 * resolution and payouts (market-resolution.ts), over one shared state
 * (context.ts); group commit (group-commit.ts) wraps the result. The SQL functions they call are
 * defined by the ledger's migrations.
 */
import type { Sql } from '@streambet/platform/sql/types';
import { createAccountOpening } from './accounts.js';
import { createCommitPath } from './commit.js';
import { createLedgerStoreContext } from './context.js';
import { createMarketHoldResolution } from './market-holds.js';
import { createMarketResolution } from './market-resolution.js';
import { createLedgerQueries } from './queries.js';
import type { LedgerStore, LedgerStoreOptions } from './types.js';

export { withGroupCommit, type GroupCommitOptions } from './group-commit.js';
export type * from './types.js';

/**
 * The ledger over the platform's SQL port (PostgreSQL or PGlite): every operation of
 * LedgerInternalService, each in one SQL transaction (see commit.ts for how a batch commits).
 */
export function createLedgerStore(sql: Sql, options: LedgerStoreOptions): LedgerStore {
  const ctx = createLedgerStoreContext(sql, options);
  const { submitTransfers, expirePendingTransfers } = createCommitPath(ctx);
  return {
    ...createLedgerQueries(ctx),
    ...createAccountOpening(ctx),
    ...createMarketHoldResolution(ctx, submitTransfers),
    ...createMarketResolution(ctx),
    submitTransfers,
    expirePendingTransfers,
  };
}
