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

/** Most entries in one CreditMarketPayouts page. */
export const MAX_PAYOUT_PAGE = 20_000;

/** Codes a market payout may carry (what settlement pays out of an escrow). */
export const MARKET_PAYOUT_CODES: ReadonlySet<TransferCode> = new Set([
  TransferCode.PAYOUT,
  TransferCode.COMMISSION,
  TransferCode.STREAMER_SHARE,
  TransferCode.BREAKAGE,
  TransferCode.REFUND,
]);

/** The derived id of a market payout: one transfer per (settlement, account). */
export function marketPayoutTransferId(settlementId: string, accountId: string): string {
  return `payout:${settlementId}:${accountId}`;
}

/**
 * The SINGLE_PHASE command a market payout commits (escrow → account): exactly the command a
 * caller of SubmitTransfers would send, so its fingerprint matches and either path answers
 * ALREADY_EXISTS_SAME for the other's transfer.
 */
export function marketPayoutCommand(
  payout: {
    readonly marketId: string;
    readonly settlementId: string;
    readonly currency: string;
    readonly escrowAccountId: string;
  },
  entry: { readonly accountId: string; readonly amountMinor: bigint; readonly code: TransferCode },
): TransferCommand {
  return {
    transferId: marketPayoutTransferId(payout.settlementId, entry.accountId),
    kind: TransferKind.SINGLE_PHASE,
    debitAccountId: payout.escrowAccountId,
    creditAccountId: entry.accountId,
    amountMinor: entry.amountMinor,
    currency: payout.currency,
    pendingId: '',
    timeoutSeconds: 0n,
    linked: false,
    code: entry.code,
    marketId: payout.marketId,
    betId: '',
    paymentId: '',
    settlementId: payout.settlementId,
    memo: '',
  };
}
