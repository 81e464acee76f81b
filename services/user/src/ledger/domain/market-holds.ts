/**
 * Bulk settlement's rule: the transfer that posts or voids a market's hold, with its derived id.
 */
import { TransferCode, TransferKind, type Transfer, type TransferCommand } from './types.js';

/** What bulk settlement does with every open hold of a market. */
export type HoldAction = 'post-in-full' | 'void';

/** Longest hold id whose derived resolving id (`<hold id>:post` / `:void`) fits in 128 chars. */
export const MAX_DERIVED_HOLD_ID_LENGTH = 123;

/** Default and largest page of a bulk hold resolution (one SQL transaction each). */
export const DEFAULT_HOLD_PAGE = 5000;
export const MAX_HOLD_PAGE = 10_000;

/**
 * The transfer id that resolves `holdId` in bulk: derived, so a retried page (or a later
 * SubmitTransfers of the same command) meets the committed transfer instead of a second one.
 */
function resolvingTransferId(holdId: string, action: HoldAction): string {
  return `${holdId}:${action === 'void' ? 'void' : 'post'}`;
}

/**
 * The POST_PENDING (whole held amount) or VOID_PENDING command that resolves one hold, with the
 * hold's own correlation ids: exactly the command a caller of SubmitTransfers would send, so bulk
 * and per-command settlement cannot disagree.
 */
export function holdResolutionCommand(
  hold: Transfer,
  action: HoldAction,
  settlementId: string,
  code: TransferCode = TransferCode.BET_STAKE,
): TransferCommand {
  const post = action === 'post-in-full';
  return {
    transferId: resolvingTransferId(hold.transferId, action),
    kind: post ? TransferKind.POST_PENDING : TransferKind.VOID_PENDING,
    debitAccountId: '',
    creditAccountId: '',
    amountMinor: post ? hold.amountMinor : 0n,
    currency: hold.currency,
    pendingId: hold.transferId,
    timeoutSeconds: 0n,
    linked: false,
    code,
    marketId: hold.marketId,
    betId: hold.betId,
    paymentId: '',
    settlementId,
    memo: '',
  };
}
