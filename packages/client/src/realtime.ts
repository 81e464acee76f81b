/**
 * The socket.io connection to the realtime service (through the gateway at `/socket.io/`).
 * Delivery is best-effort: an app loads state by RPC, applies pushed updates that are newer, and
 * polls while the socket is down. Rooms are re-joined after every (re)connect, because a
 * reconnected socket is a new socket on the server.
 */
import { io, type Socket } from 'socket.io-client';
import { decodeRealtimeEvent, type RealtimeUpdate } from './realtime-events.js';
import {
  clientEvents,
  serverEvents,
  socketPath,
  type ChatSendAck,
  type ChatSendRequest,
} from './socket-protocol.js';

export * from './realtime-events.js';
export * from './socket-protocol.js';

/** What the connection reports to the app. */
export interface RealtimeHandlers {
  onUpdate(update: RealtimeUpdate): void;
  onConnectedChange(connected: boolean): void;
}

/** A live connection; every method is safe to call at any time. */
export interface RealtimeConnection {
  /** Rooms to be in (`channel:<id>`, `market:<id>`); joins new ones and leaves the rest. */
  setRooms(rooms: readonly string[]): void;
  /**
   * Changes identity. A different user (or none) reconnects, so the server joins the right user
   * room at the handshake; a refreshed token of the same user is sent with `auth:refresh`.
   */
  setToken(token: string | undefined, userId: string | undefined): void;
  /**
   * Posts a chat message; resolves with the server's acknowledgement (`ok: false` with a code and
   * a sentence when refused: rate limit, slow mode, ban, not signed in) — or UNAVAILABLE when the
   * socket is down or the server does not answer within 5 s. A resend with the same
   * `clientMessageId` is delivered once.
   */
  sendChat(request: ChatSendRequest): Promise<ChatSendAck>;
  close(): void;
}

/** Options of {@link connectRealtime}. */
export interface RealtimeOptions {
  /**
   * socket.io transports; default polling upgraded to WebSocket (browsers). React Native passes
   * `['websocket']`: it has a WebSocket but no XHR streaming worth polling with.
   */
  readonly transports?: ReadonlyArray<'polling' | 'websocket'>;
}

/** Connects to `origin` (same origin in production) and keeps the rooms joined. */
export function connectRealtime(
  origin: string,
  initial: { token: string | undefined; userId: string | undefined },
  handlers: RealtimeHandlers,
  options: RealtimeOptions = {},
): RealtimeConnection {
  let userId = initial.userId;
  let token = initial.token;
  const socket: Socket = io(origin, {
    path: socketPath,
    auth: token === undefined ? {} : { token },
    reconnectionDelayMax: 5_000,
    timeout: 5_000,
    ...(options.transports === undefined ? {} : { transports: [...options.transports] }),
  });
  let wanted = new Set<string>();
  const emitJoin = (room: string): void => {
    if (socket.connected) socket.emit(clientEvents.roomJoin, { room }, () => undefined);
  };

  socket.on('connect', () => {
    handlers.onConnectedChange(true);
    for (const room of wanted) emitJoin(room);
  });
  socket.on('disconnect', () => handlers.onConnectedChange(false));
  socket.on('connect_error', (error: Error) => {
    handlers.onConnectedChange(false);
    // An invalid or expired token fails the handshake, and socket.io does not retry a refusal by
    // the server (socket.active is false): keep watching anonymously. Network errors retry alone.
    if (!socket.active && error.message === 'UNAUTHENTICATED' && token !== undefined) {
      token = undefined;
      socket.auth = {};
      socket.connect();
    }
  });
  socket.on(serverEvents.authExpired, () => {
    // The server keeps the socket anonymously; the next refresh sends a new token.
  });
  socket.onAny((eventName: string, payload: unknown) => {
    const update = decodeRealtimeEvent(eventName, payload);
    if (update !== undefined) handlers.onUpdate(update);
  });

  return {
    setRooms(rooms) {
      const next = new Set(rooms);
      for (const room of wanted) {
        if (!next.has(room) && socket.connected)
          socket.emit(clientEvents.roomLeave, { room }, () => undefined);
      }
      for (const room of next) if (!wanted.has(room)) emitJoin(room);
      wanted = next;
    },
    setToken(nextToken, nextUserId) {
      if (nextToken === token && nextUserId === userId) return;
      const sameUser = nextUserId !== undefined && nextUserId === userId;
      token = nextToken;
      userId = nextUserId;
      socket.auth = token === undefined ? {} : { token };
      if (sameUser && token !== undefined && socket.connected) {
        socket.emit(clientEvents.authRefresh, { token }, () => undefined);
      } else {
        socket.disconnect();
        socket.connect();
      }
    },
    sendChat(request) {
      const unavailable = (message: string): ChatSendAck => ({
        ok: false,
        code: 'UNAVAILABLE',
        message,
      });
      if (!socket.connected) {
        return Promise.resolve(unavailable('Not connected to chat right now; try again shortly.'));
      }
      return socket
        .timeout(5_000)
        .emitWithAck(clientEvents.chatSend, request)
        .then(
          (ack: ChatSendAck) => ack,
          () => unavailable('Chat did not answer in time; try again.'),
        );
    },
    close() {
      socket.removeAllListeners();
      socket.disconnect();
    },
  };
}
