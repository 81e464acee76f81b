/**
 * Decoding of the ledger's wallet.* pushes (wallet.proto) into the signed-in user's own wallet
 * snapshots: every event carries the accounts it touched with their balances right after it, and
 * the ledger sequence they are as of (the transfer's, or the event's for expiries and market
 * pages). Pure; a malformed payload decodes to nothing.
 */
import { fromJson, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import {
  HoldExpiredSchema,
  HoldPlacedSchema,
  HoldPostedSchema,
  HoldVoidedSchema,
  MarketHoldsResolvedSchema,
  MarketPayoutsCreditedSchema,
  TransferCommittedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import {
  AccountKind,
  type Account,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { domainEventPrefix } from './socket-protocol.js';
import type { WalletSnapshot } from './wallet.js';

function decode<D extends DescMessage>(schema: D, payload: unknown): MessageShape<D> | undefined {
  let value = payload;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  try {
    return fromJson(schema, value as JsonValue, { ignoreUnknownFields: true });
  } catch {
    return undefined;
  }
}

function snapshots(
  accounts: readonly (Account | undefined)[],
  userId: string,
  sequence: bigint,
): WalletSnapshot[] {
  if (sequence <= 0n) return [];
  return accounts.flatMap((a) =>
    a?.kind === AccountKind.USER_WALLET && a.ownerId === userId && a.balance !== undefined
      ? [
          {
            currency: a.currency,
            postedMinor: a.balance.postedMinor,
            pendingMinor: a.balance.debitsPendingMinor,
            availableMinor: a.balance.availableMinor,
            sequence,
          },
        ]
      : [],
  );
}

/**
 * The wallet snapshots of `userId` in a pushed event (`eventName` = the protobuf full name, with
 * or without the socket's domain prefix); empty for other events.
 */
export function walletSnapshotsOf(
  eventName: string,
  payload: unknown,
  userId: string,
): WalletSnapshot[] {
  const name = eventName.startsWith(domainEventPrefix) ? eventName : domainEventPrefix + eventName;
  const pair = (
    schema:
      | typeof TransferCommittedSchema
      | typeof HoldPlacedSchema
      | typeof HoldPostedSchema
      | typeof HoldVoidedSchema,
  ): WalletSnapshot[] => {
    const e = decode(schema, payload);
    return e === undefined
      ? []
      : snapshots([e.debitAccount, e.creditAccount], userId, e.transfer?.sequence ?? 0n);
  };
  switch (name) {
    case TransferCommittedSchema.typeName:
      return pair(TransferCommittedSchema);
    case HoldPlacedSchema.typeName:
      return pair(HoldPlacedSchema);
    case HoldPostedSchema.typeName:
      return pair(HoldPostedSchema);
    case HoldVoidedSchema.typeName:
      return pair(HoldVoidedSchema);
    case HoldExpiredSchema.typeName: {
      const e = decode(HoldExpiredSchema, payload);
      return e === undefined
        ? []
        : snapshots([e.debitAccount, e.creditAccount], userId, e.sequence);
    }
    case MarketHoldsResolvedSchema.typeName: {
      const e = decode(MarketHoldsResolvedSchema, payload);
      return e === undefined ? [] : snapshots(e.accounts, userId, e.sequence);
    }
    case MarketPayoutsCreditedSchema.typeName: {
      const e = decode(MarketPayoutsCreditedSchema, payload);
      return e === undefined ? [] : snapshots(e.accounts, userId, e.sequence);
    }
    default:
      return [];
  }
}
