import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import {
  HoldExpiredSchema,
  HoldPlacedSchema,
  HoldPostedSchema,
  HoldVoidedSchema,
  TransferCommittedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import {
  AccountKind as ProtoAccountKind,
  AccountSchema,
  type Account as ProtoAccount,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import type { OutboxEvent } from '@streambet/platform/outbox/outbox';
import { TransferKind } from './domain/ledger/types.js';
import type { BalanceSnapshot, LedgerEffect } from './ledger-store.js';
import { balanceToProto, transferToProto } from './ledger-service.js';

/** The event family of ledger movements (proto/streambet/events/v1/wallet.proto). */
export const walletEventTopic = 'wallet';

/**
 * The account as events show it: id, currency and balance right after the change. The kind and
 * owner are known from the id for user wallets (`wallet:<user>:<currency>`), the accounts whose
 * owners the events are for; other accounts carry only their id.
 */
function accountProto(snapshot: BalanceSnapshot): ProtoAccount {
  const wallet = /^wallet:([^:]+):/.exec(snapshot.accountId);
  return create(AccountSchema, {
    accountId: snapshot.accountId,
    currency: snapshot.currency,
    ...(wallet?.[1] === undefined
      ? {}
      : { kind: ProtoAccountKind.USER_WALLET, ownerId: wallet[1] }),
    balance: balanceToProto(snapshot),
  });
}

function event<D extends DescMessage>(
  schema: D,
  key: string,
  eventId: string,
  occurredAtMs: number,
  init: MessageInitShape<D>,
): OutboxEvent {
  const message = create(schema, {
    ...init,
    metadata: { eventId, occurredAtMs: BigInt(occurredAtMs), producer: 'user', aggregateId: key },
  });
  return {
    topic: walletEventTopic,
    key,
    type: schema.typeName,
    payload: toBinary(schema, message),
  };
}

/**
 * One wallet event per committed ledger change, exactly as wallet.proto specifies: keyed by the
 * hold's id for hold events (placement and resolution of one hold stay in order), by the transfer
 * id for single-phase transfers. `ids` gives each event its id (the outbox row's id).
 */
export function walletEvents(
  effects: readonly LedgerEffect[],
  ids: () => string,
): { readonly ids: string[]; readonly events: OutboxEvent[] } {
  const used: string[] = [];
  const events = effects.map((effect): OutboxEvent => {
    const id = ids();
    used.push(id);
    const debitAccount = accountProto(effect.debit);
    const creditAccount = accountProto(effect.credit);
    if (effect.type === 'expiry') {
      return event(HoldExpiredSchema, effect.hold.transferId, id, effect.hold.resolvedAtMs, {
        pendingTransfer: transferToProto(effect.hold),
        releasedAmountMinor: effect.hold.amountMinor,
        sequence: effect.sequence,
        debitAccount,
        creditAccount,
      });
    }
    const { transfer } = effect;
    const at = transfer.committedAtMs;
    const proto = transferToProto(transfer);
    switch (transfer.kind) {
      case TransferKind.PENDING:
        return event(HoldPlacedSchema, transfer.transferId, id, at, {
          transfer: proto,
          debitAccount,
          creditAccount,
        });
      case TransferKind.POST_PENDING:
        return event(HoldPostedSchema, transfer.pendingId, id, at, {
          transfer: proto,
          heldAmountMinor: effect.heldAmountMinor,
          releasedAmountMinor: effect.heldAmountMinor - transfer.amountMinor,
          debitAccount,
          creditAccount,
        });
      case TransferKind.VOID_PENDING:
        return event(HoldVoidedSchema, transfer.pendingId, id, at, {
          transfer: proto,
          debitAccount,
          creditAccount,
        });
      default:
        return event(TransferCommittedSchema, transfer.transferId, id, at, {
          transfer: proto,
          debitAccount,
          creditAccount,
        });
    }
  });
  return { ids: used, events };
}
