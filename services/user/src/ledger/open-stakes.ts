/** What the ledger tells identity's loss limits: each user's open real-money stakes. */
import { canonicalAccountId } from './domain/account-rules.js';
import { AccountKind, TransferCode } from './domain/types.js';
import type { LedgerStore } from './store/index.js';

/** Open real-money stakes per user: open BET_STAKE holds on `wallet:<user>:<real currency>`. */
export async function openStakesOf(
  ledger: Pick<LedgerStore, 'openHoldTotals'>,
  realCurrency: string,
  userIds: readonly string[],
): Promise<Map<string, bigint>> {
  const walletOf = (userId: string) =>
    canonicalAccountId(AccountKind.USER_WALLET, realCurrency, userId);
  const totals = await ledger.openHoldTotals(userIds.map(walletOf), TransferCode.BET_STAKE);
  return new Map(userIds.map((userId) => [userId, totals.get(walletOf(userId)) ?? 0n]));
}
