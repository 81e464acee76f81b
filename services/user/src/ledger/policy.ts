/** Who may call the ledger's RPCs (LedgerInternalService, ledger.proto). */
import { definePolicy, services } from '@streambet/platform/auth/auth-interceptor';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';

/**
 * Who may call the ledger: internal services only, and per method only the services that call it.
 * Money moves (SubmitTransfers) only for the bet engine (stake holds), settlement (payouts) and
 * payment (deposits, withdrawals, play-money grants); market holds are resolved (ResolveMarket,
 * ResolveMarketHolds) and market payouts credited (CreditMarketPayouts) only by settlement. Another service's credential gets PERMISSION_DENIED naming the method and the
 * caller, so a compromised realtime or gateway pod cannot move money. User tokens are refused on
 * every method (PERMISSION_DENIED "internal: only services may call it"), calls without a
 * credential get UNAUTHENTICATED.
 */
export const ledgerPolicy = definePolicy(LedgerInternalService, {
  createAccounts: services('bet-engine', 'settlement', 'payment'),
  lookupAccounts: services('settlement'),
  submitTransfers: services('bet-engine', 'settlement', 'payment'),
  lookupTransfers: services('settlement'),
  getAccountBalances: services('bet-engine', 'settlement', 'payment'),
  listAccountTransfers: services('settlement', 'payment'),
  getLedgerTotals: services('settlement'),
  resolveMarketHolds: services('settlement'),
  resolveMarket: services('settlement'),
  creditMarketPayouts: services('settlement'),
});
