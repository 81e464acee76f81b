/** Who may call the ledger's RPCs (LedgerInternalService, ledger.proto). */
import { definePolicy } from '@streambet/platform/auth/auth-interceptor';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';

/**
 * Who may call the ledger: internal services only. User tokens are refused on every method
 * (PERMISSION_DENIED "internal: only services may call it"), calls without a credential get
 * UNAUTHENTICATED.
 */
export const ledgerPolicy = definePolicy(LedgerInternalService, {
  createAccounts: ['service'],
  lookupAccounts: ['service'],
  submitTransfers: ['service'],
  lookupTransfers: ['service'],
  getAccountBalances: ['service'],
  listAccountTransfers: ['service'],
  getLedgerTotals: ['service'],
  resolveMarketHolds: ['service'],
});
