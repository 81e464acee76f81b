/**
 * Proto ↔ domain translation of the ledger's messages (ledger_types.proto): accounts, balances,
 * transfers and transfer commands. Enum values are the same numbers on both sides.
 */
import { create } from '@bufbuild/protobuf';
import type { TransferCommand as ProtoTransferCommand } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  AccountBalanceSchema,
  AccountSchema,
  TransferSchema,
  type AccountBalance,
  type Account as ProtoAccount,
  type AccountKind as ProtoAccountKind,
  type PendingStatus as ProtoPendingStatus,
  type Transfer as ProtoTransfer,
  type TransferCode as ProtoTransferCode,
  type TransferKind as ProtoTransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import {
  availableOf,
  postedOf,
  type Account,
  type Transfer,
  type TransferCommand,
} from './domain/index.js';

/** The AccountBalance message of an account's totals, with its posted and available balances. */
export function balanceToProto(
  account: Pick<Account, 'accountId' | 'currency' | 'balance'>,
): AccountBalance {
  return create(AccountBalanceSchema, {
    accountId: account.accountId,
    currency: account.currency,
    debitsPendingMinor: account.balance.debitsPending,
    debitsPostedMinor: account.balance.debitsPosted,
    creditsPendingMinor: account.balance.creditsPending,
    creditsPostedMinor: account.balance.creditsPosted,
    postedMinor: postedOf(account.balance),
    availableMinor: availableOf(account.balance),
  });
}

/** The Account message. */
export function accountToProto(account: Account): ProtoAccount {
  return create(AccountSchema, {
    accountId: account.accountId,
    kind: account.kind as number as ProtoAccountKind,
    currency: account.currency,
    ownerId: account.ownerId,
    createdAtMs: BigInt(account.createdAtMs),
    balance: balanceToProto(account),
  });
}

/** The Transfer message, with its hold status as stored. */
export function transferToProto(transfer: Transfer): ProtoTransfer {
  return create(TransferSchema, {
    transferId: transfer.transferId,
    kind: transfer.kind as number as ProtoTransferKind,
    debitAccountId: transfer.debitAccountId,
    creditAccountId: transfer.creditAccountId,
    amountMinor: transfer.amountMinor,
    currency: transfer.currency,
    pendingId: transfer.pendingId,
    timeoutSeconds: transfer.timeoutSeconds,
    expiresAtMs: BigInt(transfer.expiresAtMs),
    code: transfer.code as number as ProtoTransferCode,
    marketId: transfer.marketId,
    betId: transfer.betId,
    paymentId: transfer.paymentId,
    settlementId: transfer.settlementId,
    memo: transfer.memo,
    committedAtMs: BigInt(transfer.committedAtMs),
    pendingStatus: transfer.pendingStatus as number as ProtoPendingStatus,
    resolvedAtMs: BigInt(transfer.resolvedAtMs),
    sequence: transfer.sequence,
  });
}

/** The domain command of a proto TransferCommand (checked later by the domain). */
export function commandFromProto(command: ProtoTransferCommand): TransferCommand {
  return {
    transferId: command.transferId,
    kind: command.kind,
    debitAccountId: command.debitAccountId,
    creditAccountId: command.creditAccountId,
    amountMinor: command.amountMinor,
    currency: command.currency,
    pendingId: command.pendingId,
    timeoutSeconds: command.timeoutSeconds,
    linked: command.linked,
    code: command.code,
    marketId: command.marketId,
    betId: command.betId,
    paymentId: command.paymentId,
    settlementId: command.settlementId,
    memo: command.memo,
  };
}
