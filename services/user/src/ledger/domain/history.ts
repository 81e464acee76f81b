/**
 * How a transfer changes an account's available balance, as a wallet history shows it.
 */
import { TransferKind, type Transfer } from './types.js';

/**
 * Change of `accountId`'s available balance caused by one transfer, as a user's history shows it
 * (user.proto WalletTransaction.signed_amount_minor): single-phase −amount debited / +amount
 * credited; a hold from the wallet −amount (a hold towards it counts 0 until posted); a post
 * gives back the released remainder (held − posted) to the debited wallet and +posted to the
 * credited one; a void gives +held back to the debited wallet.
 */
export function availableChangeOf(
  transfer: Transfer,
  heldAmountMinor: bigint,
  accountId: string,
): bigint {
  const debited = transfer.debitAccountId === accountId;
  const credited = transfer.creditAccountId === accountId;
  switch (transfer.kind) {
    case TransferKind.SINGLE_PHASE:
      return (credited ? transfer.amountMinor : 0n) - (debited ? transfer.amountMinor : 0n);
    case TransferKind.PENDING:
      return debited ? -transfer.amountMinor : 0n;
    case TransferKind.POST_PENDING:
      return (
        (debited ? heldAmountMinor - transfer.amountMinor : 0n) +
        (credited ? transfer.amountMinor : 0n)
      );
    case TransferKind.VOID_PENDING:
      return debited ? heldAmountMinor : 0n;
    default:
      return 0n;
  }
}
