import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import type { LedgerStore } from './ledger-store.js';
import { canonicalAccountId, PLAY_CURRENCY } from './domain/ledger/account-rules.js';
import { AccountKind } from './domain/ledger/types.js';
import { targetUser, userCaller } from './user-service.js';

/** Dependencies of {@link createWalletService}. */
export interface WalletServiceDeps {
  readonly ledger: LedgerStore;
  readonly realCurrency: string;
}

/**
 * The wallet view of UserService, read straight from the ledger: the user's wallet account per
 * currency (real first, then PTS). A wallet that has never moved money has no account yet and
 * reads as zero. ListTransactions is not wired yet (UNIMPLEMENTED).
 */
export function createWalletService(
  deps: WalletServiceDeps,
): Pick<ServiceImpl<typeof UserService>, 'getWallet'> {
  const currencies = [deps.realCurrency, PLAY_CURRENCY];
  return {
    async getWallet(req, ctx: HandlerContext) {
      const userId = targetUser(userCaller(ctx), req.userId, 'wallet');
      const ids = currencies.map((currency) =>
        canonicalAccountId(AccountKind.USER_WALLET, currency, userId),
      );
      const accounts = await deps.ledger.lookupAccounts(ids);
      return {
        balances: currencies.map((currency, i) => {
          const account = accounts.find((a) => a.accountId === ids[i]);
          const postedMinor =
            account === undefined
              ? 0n
              : account.balance.creditsPosted - account.balance.debitsPosted;
          const pendingMinor = account?.balance.debitsPending ?? 0n;
          return {
            currency,
            postedMinor,
            pendingMinor,
            availableMinor: postedMinor - pendingMinor,
          };
        }),
      };
    },
  };
}
