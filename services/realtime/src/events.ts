/**
 * Which rooms a bus event is pushed to, under which socket event name and with which payload
 * (realtime.proto, "Forwarded domain events"): the event name is the protobuf message's full name,
 * the payload its protobuf JSON mapping. market.* go to the channel and market rooms; odds.* to
 * the market room, conflated per market by snapshot version; bet.*, settlement.*, wallet.*, user.NotificationCreated and
 * payment.* of one user to that user's room only.
 */
import { create, fromBinary, toJson, type DescMessage, type JsonValue } from '@bufbuild/protobuf';
import {
  BetMatchedSchema,
  BetPlacedSchema,
  BetVoidedSchema,
  OrderCanceledSchema,
  OrderLapsedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import {
  ChannelSettingsChangedSchema,
  MarketCanceledSchema,
  MarketCreatedSchema,
  MarketLockedSchema,
  MarketOpenedSchema,
  MarketResolvedSchema,
  MarketVoidedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { NotificationCreatedSchema } from '@streambet/contracts/gen/streambet/events/v1/notification_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import {
  DepositFailedSchema,
  DepositSucceededSchema,
  WithdrawalFailedSchema,
  WithdrawalPaidSchema,
  WithdrawalRequestedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/payment_pb';
import {
  PayoutMadeSchema,
  PayoutsMadeSchema,
  PayoutReversedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
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
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { roomName } from './domain/rooms.js';

/** Topics the fan-out consumer reads. */
export const fanoutTopics = [
  'odds',
  'market',
  'bet',
  'settlement',
  'wallet',
  'payment',
  // NotificationCreated travels on the user family (other user events are not routed).
  'user',
] as const;

/** One push of a bus event to one room. */
export interface RoomPush {
  readonly room: string;
  readonly event: string;
  readonly payload: JsonValue;
  /** Set for snapshot streams: conflated per (room, key), versions not newer dropped. */
  readonly conflation?: { readonly key: string; readonly version: bigint };
}

interface Route<D extends DescMessage> {
  readonly schema: D;
  readonly rooms: (message: ReturnType<typeof fromBinary<D>>) => string[];
  readonly conflation?: (message: ReturnType<typeof fromBinary<D>>) => RoomPush['conflation'];
}

const userRooms = (...userIds: string[]): string[] =>
  [...new Set(userIds.filter((id) => id !== ''))].map((id) => roomName('user', id));

const marketRooms = (message: { channelId: string; marketId: string }): string[] => [
  ...(message.channelId === '' ? [] : [roomName('channel', message.channelId)]),
  ...(message.marketId === '' ? [] : [roomName('market', message.marketId)]),
];

/**
 * The owner of a user-facing account (a wallet or a streamer's revenue), or undefined for the
 * platform's accounts. Ledger events tag only user wallets with kind and owner; an untagged
 * account is recognised by its canonical id (ledger_types.proto, AccountKind):
 * `wallet:<user_id>:<currency>` and `streamer:<user_id>:revenue:<currency>`.
 */
function userFacingOwner(account: Account): string | undefined {
  if (account.kind === AccountKind.USER_WALLET || account.kind === AccountKind.STREAMER_REVENUE) {
    return account.ownerId;
  }
  if (account.kind !== AccountKind.UNSPECIFIED) return undefined;
  return (
    /^wallet:([^:]+):[^:]+$/.exec(account.accountId)?.[1] ??
    /^streamer:([^:]+):revenue:[^:]+$/.exec(account.accountId)?.[1]
  );
}

/** Owners of the user-facing accounts of a wallet event (wallets and streamer revenue). */
const accountOwners = (...accounts: Array<Account | undefined>): string[] =>
  accounts
    .map((account) => (account === undefined ? undefined : userFacingOwner(account)))
    .filter((owner): owner is string => owner !== undefined && owner !== '');

const route = <D extends DescMessage>(r: Route<D>): [string, Route<DescMessage>] => [
  r.schema.typeName,
  r,
];

const routes = new Map<string, Route<DescMessage>>([
  route({
    schema: OddsChangedSchema,
    rooms: (m) => (m.odds === undefined ? [] : [roomName('market', m.odds.marketId)]),
    conflation: (m) => ({ key: 'odds', version: m.odds?.version ?? 0n }),
  }),
  route({ schema: MarketCreatedSchema, rooms: marketRooms }),
  route({ schema: MarketOpenedSchema, rooms: marketRooms }),
  route({ schema: MarketLockedSchema, rooms: marketRooms }),
  route({ schema: MarketResolvedSchema, rooms: marketRooms }),
  route({ schema: MarketCanceledSchema, rooms: marketRooms }),
  route({ schema: MarketVoidedSchema, rooms: marketRooms }),
  route({
    schema: ChannelSettingsChangedSchema,
    rooms: (m) =>
      m.settings === undefined || m.settings.channelId === ''
        ? []
        : [roomName('channel', m.settings.channelId)],
  }),
  route({ schema: BetPlacedSchema, rooms: (m) => userRooms(m.userId) }),
  route({ schema: BetMatchedSchema, rooms: (m) => userRooms(m.backUserId, m.layUserId) }),
  route({ schema: BetVoidedSchema, rooms: (m) => userRooms(m.userId) }),
  route({ schema: OrderCanceledSchema, rooms: (m) => userRooms(m.userId) }),
  route({ schema: OrderLapsedSchema, rooms: (m) => userRooms(m.userId) }),
  route({ schema: PayoutMadeSchema, rooms: (m) => userRooms(m.payout?.userId ?? '') }),
  route({ schema: NotificationCreatedSchema, rooms: (m) => userRooms(m.userId) }),
  route({ schema: PayoutReversedSchema, rooms: (m) => userRooms(m.payout?.userId ?? '') }),
  route({
    schema: TransferCommittedSchema,
    rooms: (m) => userRooms(...accountOwners(m.debitAccount, m.creditAccount)),
  }),
  route({
    schema: HoldPlacedSchema,
    rooms: (m) => userRooms(...accountOwners(m.debitAccount, m.creditAccount)),
  }),
  route({
    schema: HoldPostedSchema,
    rooms: (m) => userRooms(...accountOwners(m.debitAccount, m.creditAccount)),
  }),
  route({
    schema: HoldVoidedSchema,
    rooms: (m) => userRooms(...accountOwners(m.debitAccount, m.creditAccount)),
  }),
  route({
    schema: HoldExpiredSchema,
    rooms: (m) => userRooms(...accountOwners(m.debitAccount, m.creditAccount)),
  }),
  route({ schema: DepositSucceededSchema, rooms: (m) => userRooms(m.userId) }),
  route({ schema: DepositFailedSchema, rooms: (m) => userRooms(m.userId) }),
  route({ schema: WithdrawalRequestedSchema, rooms: (m) => userRooms(m.userId) }),
  route({ schema: WithdrawalPaidSchema, rooms: (m) => userRooms(m.userId) }),
  route({ schema: WithdrawalFailedSchema, rooms: (m) => userRooms(m.userId) }),
]);

/** Wallet events of a whole market page, listing many bettors' accounts (wallet.proto). */
const marketPageSchemas = new Map<
  string,
  typeof MarketHoldsResolvedSchema | typeof MarketPayoutsCreditedSchema
>([
  [MarketHoldsResolvedSchema.typeName, MarketHoldsResolvedSchema],
  [MarketPayoutsCreditedSchema.typeName, MarketPayoutsCreditedSchema],
]);

/**
 * A market page — a bulk-settlement page or a market-level resolution (MarketHoldsResolved, with
 * `wholeMarket` for ResolveMarket) or a payout page (MarketPayoutsCredited), up to 2000 accounts
 * per event — becomes one push per owner of a user-facing account, to that owner's room, carrying
 * the page's summary and `sequence` and only that owner's accounts (their balances as of
 * `sequence`) — never the other bettors' wallets. The escrow and other unowned accounts go to
 * nobody. Every balance in the event is as of its `sequence`, so a client keeps, per account, the
 * snapshot with the highest sequence (realtime.proto: apply pushed updates newer than held).
 */
function marketPagePushes(
  schema: typeof MarketHoldsResolvedSchema | typeof MarketPayoutsCreditedSchema,
  payload: Uint8Array,
): RoomPush[] {
  const message = fromBinary(schema, payload);
  const byOwner = new Map<string, Account[]>();
  for (const account of message.accounts) {
    const [owner] = accountOwners(account);
    if (owner === undefined || owner === '') continue;
    const list = byOwner.get(owner);
    if (list === undefined) byOwner.set(owner, [account]);
    else list.push(account);
  }
  // A payout page's per-account amounts go with their accounts: each owner sees only theirs.
  const credits = 'credits' in message ? message.credits : [];
  const pushes: RoomPush[] = [];
  for (const [owner, accounts] of byOwner) {
    message.accounts = accounts;
    if ('credits' in message) {
      const own = new Set(accounts.map((a) => a.accountId));
      message.credits = credits.filter((c) => own.has(c.accountId));
    }
    pushes.push({
      room: roomName('user', owner),
      event: schema.typeName,
      payload: toJson(schema, message),
    });
  }
  return pushes;
}

/**
 * A PayoutsMade page (issue 12: a settlement's payout rows, up to 2000 per event) becomes one
 * PayoutMade push per row, to that row's user only — what each user received before pages, never
 * another bettor's row.
 */
function payoutPagePushes(payload: Uint8Array): RoomPush[] {
  const page = fromBinary(PayoutsMadeSchema, payload);
  const pushes: RoomPush[] = [];
  for (const payout of page.payouts) {
    for (const room of userRooms(payout.userId)) {
      pushes.push({
        room,
        event: PayoutMadeSchema.typeName,
        payload: toJson(
          PayoutMadeSchema,
          create(PayoutMadeSchema, { metadata: page.metadata, payout }),
        ),
      });
    }
  }
  return pushes;
}

/**
 * The pushes of one bus event; empty for event types that are not pushed (e.g. SettlementStarted)
 * or that address nobody. Throws when the payload does not decode (the bus retries, then
 * dead-letters it).
 */
export function pushesOf(event: Pick<EventEnvelope, 'type' | 'payload'>): RoomPush[] {
  if (event.type === PayoutsMadeSchema.typeName) return payoutPagePushes(event.payload);
  const page = marketPageSchemas.get(event.type);
  if (page !== undefined) return marketPagePushes(page, event.payload);
  const r = routes.get(event.type);
  if (r === undefined) return [];
  const message = fromBinary(r.schema, event.payload);
  const rooms = r.rooms(message);
  if (rooms.length === 0) return [];
  const payload = toJson(r.schema, message);
  const conflation = r.conflation?.(message);
  return rooms.map((room) => ({
    room,
    event: event.type,
    payload,
    ...(conflation === undefined ? {} : { conflation }),
  }));
}
