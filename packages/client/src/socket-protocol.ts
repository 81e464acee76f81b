/**
 * The realtime service's socket.io protocol (realtime.proto's header) as names and types: the
 * events a client sends (each with an acknowledgement), the events it receives, and their
 * payloads. Server payloads use the protobuf JSON mapping: camelCase names, int64 as strings.
 */

/** Events a client emits; each takes one payload object and an acknowledgement callback. */
export const clientEvents = Object.freeze({
  /** {@link RoomRequest}: start receiving a room's events (`channel:<id>`, `market:<id>`). */
  roomJoin: 'room:join',
  /** {@link RoomRequest}: stop receiving a room's events. */
  roomLeave: 'room:leave',
  /** {@link ChatSendRequest}: post a chat message (signed-in sockets only). */
  chatSend: 'chat:send',
  /** {@link AuthRefreshRequest}: replace the socket's access token before it expires. */
  authRefresh: 'auth:refresh',
} as const);

/** Events the server emits besides the forwarded domain events. */
export const serverEvents = Object.freeze({
  /** {@link ChatMessageJson}, to the channel room. */
  chatMessage: 'chat:message',
  /** {@link ChatHistoryPayload}, to a socket that just joined a channel room. */
  chatHistory: 'chat:history',
  /** {@link ChatBanJson}, to the channel room: hide the user's messages. */
  chatUserBanned: 'chat:user_banned',
  /** {@link ChatSettingsJson}, to the channel room after a change. */
  chatSettings: 'chat:settings',
  /** `{}`: the token expired; the socket continues anonymously until `auth:refresh`. */
  authExpired: 'auth:expired',
} as const);

/**
 * Forwarded domain events are named by their protobuf message's full name (e.g.
 * `streambet.events.v1.MarketLocked`), with its JSON mapping as the payload.
 */
export const domainEventPrefix = 'streambet.events.v1.';

/** The socket.io path behind the gateway. */
export const socketPath = '/socket.io/';

/** Payload of `room:join` and `room:leave`. */
export interface RoomRequest {
  /** `channel:<channel id>` or `market:<market id>`. */
  readonly room: string;
}

/** Payload of `chat:send`. */
export interface ChatSendRequest {
  readonly channelId: string;
  /** 1–500 characters after trimming. */
  readonly text: string;
  /** 1–64 characters; a resend with the same id is delivered once. */
  readonly clientMessageId: string;
}

/** Payload of `auth:refresh`. */
export interface AuthRefreshRequest {
  readonly token: string;
}

/** The acknowledgement of every client event. */
export type Ack<T extends object = object> =
  | ({ readonly ok: true } & T)
  | {
      readonly ok: false;
      /** A gRPC code name, e.g. `RESOURCE_EXHAUSTED`. */
      readonly code: string;
      readonly message: string;
      readonly retryAfterMs?: number;
    };

/** `room:join` / `room:leave` acknowledgement when accepted. */
export type RoomAck = Ack<{ readonly room: string }>;
/** `chat:send` acknowledgement when accepted. */
export type ChatSendAck = Ack<{ readonly messageId: string }>;

/** streambet.realtime.v1.ChatMessage in its JSON mapping. */
export interface ChatMessageJson {
  readonly messageId: string;
  readonly channelId: string;
  readonly userId: string;
  readonly displayName?: string;
  /** Role enum names, e.g. `ROLE_VIEWER`. */
  readonly roles?: readonly string[];
  readonly isChannelOwner?: boolean;
  readonly text: string;
  /** int64 ms since the Unix epoch, as a string. */
  readonly sentAtMs: string;
}

/** Payload of `chat:history`: the channel's last 50 messages, oldest first. */
export interface ChatHistoryPayload {
  readonly channelId: string;
  readonly messages: readonly ChatMessageJson[];
}

/** streambet.realtime.v1.ChatBan in its JSON mapping (as `chat:user_banned` sends it). */
export interface ChatBanJson {
  readonly channelId: string;
  readonly userId: string;
  /** 0 = permanent. */
  readonly untilMs?: string;
  readonly bannedAtMs?: string;
}

/** streambet.realtime.v1.ChatSettings in its JSON mapping. */
export interface ChatSettingsJson {
  readonly chatEnabled?: boolean;
  readonly slowModeSeconds?: number;
  readonly userRateLimitMessages?: number;
  readonly userRateLimitWindowSeconds?: number;
}
