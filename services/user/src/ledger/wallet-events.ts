/**
 * The wallet.* events of committed ledger changes (transfers, expiries, bulk-settlement pages),
 * appended to the outbox in the transaction that moves the money.
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import {
  HoldExpiredSchema,
  HoldPlacedSchema,
  HoldPostedSchema,
  HoldVoidedSchema,
  MarketHoldsAction,
  MarketHoldsResolvedSchema,
  MarketPayoutsCreditedSchema,
  TransferCommittedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import {
  AccountKind as ProtoAccountKind,
  AccountSchema,
  type Account as ProtoAccount,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import type { OutboxEvent } from '@streambet/platform/outbox/outbox';
import { TransferKind } from './domain/types.js';
import type {
  BalanceSnapshot,
  LedgerEffect,
  MarketHoldsEffect,
  MarketPayoutsEffect,
  MarketResolutionEffect,
} from './store/index.js';
import { balanceToProto, transferToProto } from './proto-codec.js';

/** The event family of ledger movements (proto/streambet/events/v1/wallet.proto). */
const walletEventTopic = 'wallet';

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

/** Most accounts in one MarketHoldsResolved event (≈ 140 bytes each: far below 1 MB). */
export const MARKET_HOLDS_ACCOUNTS_PER_EVENT = 2000;

/**
 * MarketHoldsResolved of one bulk-settlement page, keyed by the market: one event, or one per
 * {@link MARKET_HOLDS_ACCOUNTS_PER_EVENT} accounts when the page changed more.
 */
function marketHoldsEvents(effect: MarketHoldsEffect, ids: () => string): OutboxEvent[] {
  const partCount = Math.max(
    1,
    Math.ceil(effect.accounts.length / MARKET_HOLDS_ACCOUNTS_PER_EVENT),
  );
  return Array.from({ length: partCount }, (_, index) =>
    event(MarketHoldsResolvedSchema, effect.marketId, ids(), effect.committedAtMs, {
      marketId: effect.marketId,
      action: effect.action === 'void' ? MarketHoldsAction.VOID : MarketHoldsAction.POST_IN_FULL,
      settlementId: effect.settlementId,
      code: effect.code,
      resolvedCount: effect.resolvedCount,
      resolvedAmountMinor: effect.resolvedAmountMinor,
      expiredCount: effect.expiredCount,
      expiredAmountMinor: effect.expiredAmountMinor,
      firstHoldId: effect.firstHoldId,
      lastHoldId: effect.lastHoldId,
      sequence: effect.sequence,
      accounts: effect.accounts
        .slice(
          index * MARKET_HOLDS_ACCOUNTS_PER_EVENT,
          (index + 1) * MARKET_HOLDS_ACCOUNTS_PER_EVENT,
        )
        .map(accountProto),
      part: index + 1,
      partCount,
    }),
  );
}

/** Splits a list of accounts into the parts of {@link MARKET_HOLDS_ACCOUNTS_PER_EVENT}. */
function partsOf(accounts: readonly BalanceSnapshot[]): BalanceSnapshot[][] {
  const partCount = Math.max(1, Math.ceil(accounts.length / MARKET_HOLDS_ACCOUNTS_PER_EVENT));
  return Array.from({ length: partCount }, (_, index) =>
    accounts.slice(
      index * MARKET_HOLDS_ACCOUNTS_PER_EVENT,
      (index + 1) * MARKET_HOLDS_ACCOUNTS_PER_EVENT,
    ),
  );
}

/** MarketHoldsResolved (whole_market) of a market resolution, keyed by the market. */
function marketResolutionEvents(effect: MarketResolutionEffect, ids: () => string): OutboxEvent[] {
  const { resolution } = effect;
  const parts = partsOf(effect.accounts);
  return parts.map((accounts, index) =>
    event(MarketHoldsResolvedSchema, resolution.marketId, ids(), resolution.resolvedAtMs, {
      marketId: resolution.marketId,
      action:
        resolution.action === 'void' ? MarketHoldsAction.VOID : MarketHoldsAction.POST_IN_FULL,
      settlementId: resolution.settlementId,
      code: resolution.code,
      resolvedCount: resolution.resolvedCount,
      resolvedAmountMinor: resolution.resolvedAmountMinor,
      expiredCount: resolution.expiredCount,
      expiredAmountMinor: resolution.expiredAmountMinor,
      firstHoldId: '',
      lastHoldId: '',
      sequence: resolution.sequence,
      accounts: accounts.map(accountProto),
      part: index + 1,
      partCount: parts.length,
      wholeMarket: true,
    }),
  );
}

/** MarketPayoutsCredited of one payout page, keyed by the market. */
function marketPayoutsEvents(effect: MarketPayoutsEffect, ids: () => string): OutboxEvent[] {
  const parts = partsOf(effect.accounts);
  const creditOf = new Map(effect.credits.map((c) => [c.accountId, c]));
  return parts.map((accounts, index) =>
    event(MarketPayoutsCreditedSchema, effect.marketId, ids(), effect.committedAtMs, {
      marketId: effect.marketId,
      settlementId: effect.settlementId,
      currency: effect.currency,
      creditedCount: effect.creditedCount,
      creditedAmountMinor: effect.creditedAmountMinor,
      sequence: effect.sequence,
      accounts: accounts.map(accountProto),
      part: index + 1,
      partCount: parts.length,
      // The amounts of this part's accounts, in their order.
      credits: accounts.flatMap((a) => {
        const credit = creditOf.get(a.accountId);
        return credit === undefined ? [] : [credit];
      }),
    }),
  );
}

/**
 * One wallet event per committed ledger change, exactly as wallet.proto specifies: keyed by the
 * hold's id for hold events (placement and resolution of one hold stay in order), by the transfer
 * id for single-phase transfers, by the market for a bulk-settlement page, a market resolution or
 * a payout page (one event each, or one per 2000 of its accounts).
 * `ids` gives each event its id (the outbox row's id).
 */
export function walletEvents(
  effects: readonly LedgerEffect[],
  ids: () => string,
): { readonly ids: string[]; readonly events: OutboxEvent[] } {
  const used: string[] = [];
  const nextId = (): string => {
    const id = ids();
    used.push(id);
    return id;
  };
  const events = effects.flatMap((effect): OutboxEvent | OutboxEvent[] => {
    if (effect.type === 'market-holds') return marketHoldsEvents(effect, nextId);
    if (effect.type === 'market-resolution') return marketResolutionEvents(effect, nextId);
    if (effect.type === 'market-payouts') return marketPayoutsEvents(effect, nextId);
    const id = nextId();
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
