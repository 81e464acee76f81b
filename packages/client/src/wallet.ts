/**
 * Which wallet balances a viewer sees. GetWallet answers one entry per deployment currency
 * (real currency first, then PTS), so a play-money-only viewer would read "R$ 0.00" next to
 * their points: a real currency is shown only when the viewer has money in it.
 */
import type { WalletBalance } from '@streambet/contracts/gen/streambet/user/v1/user_pb';

/** The play-money currency, always shown. */
export const playMoneyCurrency = 'PTS';

/** The balance fields the choice depends on. */
export type BalanceInput = Pick<WalletBalance, 'currency' | 'postedMinor' | 'pendingMinor'>;

/**
 * Balances to show: PTS first (always), then each real currency the viewer holds money in
 * (posted or held in bets).
 */
export function visibleBalances<B extends BalanceInput>(balances: readonly B[]): B[] {
  const points = balances.filter((b) => b.currency === playMoneyCurrency);
  const real = balances.filter(
    (b) => b.currency !== playMoneyCurrency && (b.postedMinor > 0n || b.pendingMinor > 0n),
  );
  return [...points, ...real];
}
