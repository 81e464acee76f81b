/**
 * Decoding of the realtime service's socket events (realtime.proto): a domain event's name is the
 * protobuf message's full name, chat events are `chat:*`; payloads are JSON mappings. Pure, so
 * unit tests cover it; a malformed payload decodes to undefined and is ignored rather than
 * breaking the screen.
 */
import { fromJson, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import type { MarketOdds } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  MarketCanceledSchema,
  MarketCreatedSchema,
  MarketLockedSchema,
  MarketOpenedSchema,
  MarketResolvedSchema,
  MarketVoidedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { NotificationCreatedSchema } from '@streambet/contracts/gen/streambet/events/v1/notification_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import type { Notification } from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';
import { MarketState } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  ChatBanSchema,
  ChatMessageSchema,
  ChatSettingsSchema,
  type ChatMessage,
  type ChatSettings,
} from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import { domainEventPrefix, serverEvents } from './socket-protocol.js';
import type { MarketTransition } from './view-logic.js';

/** What a pushed event means for the screen. */
export type RealtimeUpdate =
  | { readonly kind: 'odds'; readonly odds: MarketOdds }
  | { readonly kind: 'market'; readonly change: MarketTransition }
  | { readonly kind: 'market-created'; readonly marketId: string; readonly channelId: string }
  /**
   * Something of the user's own changed (bet, settlement, payment, wallet): reload those views.
   * `payload` is the event's JSON mapping as pushed (wallet.* snapshots carry balances and their
   * ledger sequence: see walletSnapshotsOf).
   */
  | { readonly kind: 'user'; readonly eventName: string; readonly payload?: unknown }
  /** The channel's last chat messages, oldest first (sent once after joining its room). */
  | {
      readonly kind: 'chat-history';
      readonly channelId: string;
      readonly messages: readonly ChatMessage[];
    }
  | { readonly kind: 'chat-message'; readonly message: ChatMessage }
  /** A user was banned from the channel's chat: hide their messages. */
  | { readonly kind: 'chat-ban'; readonly channelId: string; readonly userId: string }
  /** The channel's chat settings changed (on/off, slow mode, rate limit). */
  | { readonly kind: 'chat-settings'; readonly settings: ChatSettings }
  /** A notification for the signed-in user (the bell), with their unread count after it. */
  | {
      readonly kind: 'notification';
      readonly notification: Notification;
      readonly unreadCount: bigint;
    };

function decode<D extends DescMessage>(schema: D, payload: unknown): MessageShape<D> | undefined {
  if (typeof payload === 'string') {
    try {
      payload = JSON.parse(payload) as unknown;
    } catch {
      return undefined;
    }
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  try {
    return fromJson(schema, payload as JsonValue, { ignoreUnknownFields: true });
  } catch {
    return undefined;
  }
}

/** Decodes a `chat:history` payload (`{ channelId, messages }`); undefined when malformed. */
export function decodeChatHistory(
  payload: unknown,
): { readonly channelId: string; readonly messages: readonly ChatMessage[] } | undefined {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const { channelId, messages } = payload as Record<string, unknown>;
  if (typeof channelId !== 'string' || !Array.isArray(messages)) return undefined;
  const decoded: ChatMessage[] = [];
  for (const message of messages) {
    const one = decode(ChatMessageSchema, message);
    if (one === undefined) return undefined;
    decoded.push(one);
  }
  return { channelId, messages: decoded };
}

/** Turns one socket event into a screen update, or undefined when it is not for this app. */
export function decodeRealtimeEvent(
  eventName: string,
  payload: unknown,
): RealtimeUpdate | undefined {
  if (eventName === serverEvents.chatHistory) {
    const history = decodeChatHistory(payload);
    return history && { kind: 'chat-history', ...history };
  }
  if (eventName === serverEvents.chatMessage) {
    const message = decode(ChatMessageSchema, payload);
    return message && { kind: 'chat-message', message };
  }
  if (eventName === serverEvents.chatUserBanned) {
    const ban = decode(ChatBanSchema, payload);
    return ban === undefined || ban.userId === ''
      ? undefined
      : { kind: 'chat-ban', channelId: ban.channelId, userId: ban.userId };
  }
  if (eventName === serverEvents.chatSettings) {
    const settings = decode(ChatSettingsSchema, payload);
    return settings && { kind: 'chat-settings', settings };
  }
  if (!eventName.startsWith(domainEventPrefix)) return undefined;
  const name = eventName.slice(domainEventPrefix.length);
  switch (name) {
    case 'NotificationCreated': {
      const e = decode(NotificationCreatedSchema, payload);
      return e?.notification === undefined
        ? undefined
        : { kind: 'notification', notification: e.notification, unreadCount: e.unreadCount };
    }
    case 'OddsChanged': {
      const odds = decode(OddsChangedSchema, payload)?.odds;
      return odds === undefined || odds.marketId === '' ? undefined : { kind: 'odds', odds };
    }
    case 'MarketCreated': {
      const event = decode(MarketCreatedSchema, payload);
      return event === undefined
        ? undefined
        : { kind: 'market-created', marketId: event.marketId, channelId: event.channelId };
    }
    case 'MarketOpened': {
      const e = decode(MarketOpenedSchema, payload);
      return (
        e && {
          kind: 'market',
          change: {
            marketId: e.marketId,
            state: MarketState.OPEN,
            version: e.version,
            atMs: e.openedAtMs,
          },
        }
      );
    }
    case 'MarketLocked': {
      const e = decode(MarketLockedSchema, payload);
      return (
        e && {
          kind: 'market',
          change: {
            marketId: e.marketId,
            state: MarketState.LOCKED,
            version: e.version,
            atMs: e.lockedAtMs,
          },
        }
      );
    }
    case 'MarketResolved': {
      const e = decode(MarketResolvedSchema, payload);
      return (
        e && {
          kind: 'market',
          change: {
            marketId: e.marketId,
            state: MarketState.RESOLVED,
            version: e.version,
            winningOutcomeId: e.winningOutcomeId,
            atMs: e.resolvedAtMs,
          },
        }
      );
    }
    case 'MarketCanceled': {
      const e = decode(MarketCanceledSchema, payload);
      return (
        e && {
          kind: 'market',
          change: {
            marketId: e.marketId,
            state: MarketState.CANCELED,
            version: e.version,
            atMs: e.canceledAtMs,
          },
        }
      );
    }
    case 'MarketVoided': {
      const e = decode(MarketVoidedSchema, payload);
      return (
        e && {
          kind: 'market',
          change: {
            marketId: e.marketId,
            state: MarketState.CANCELED,
            version: e.version,
            atMs: e.voidedAtMs,
          },
        }
      );
    }
    default:
      // Everything else reaching this socket is the user's own (bet, settlement, payment, wallet
      // events go to the user's room only): reload the views they change.
      return { kind: 'user', eventName, payload };
  }
}
