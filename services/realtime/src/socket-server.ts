/**
 * The socket.io side of the realtime service (protocol in realtime.proto): handshake auth with a
 * user access token (anonymous sockets watch, signed-in ones also chat and get their user room),
 * `room:join` / `room:leave` / `chat:send` / `auth:refresh` with acknowledgements, and defences
 * against bad input: every payload is validated, an event without acknowledgement or of an
 * unknown name is refused, frames over the size limit close the connection (engine.io
 * maxHttpBufferSize), and a per-socket token bucket refuses floods. Connections are capped per
 * client address and in total per process (a refused handshake gets a `connect_error` whose data
 * says why); `room:join` has a per-address token bucket, and the linked channels and markets it
 * checks and the chat history it sends (chat.ts) are cached, so a crowd joining one room costs the
 * database almost nothing. Every refusal
 * is logged; nothing a client sends can take the process down.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { decodeJwt } from 'jose';
import type { Redis } from 'ioredis';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Caller } from '@streambet/platform/auth/caller';
import type { TokenVerifier } from '@streambet/platform/auth/tokens';
import {
  bucketTtlMs,
  takeFromBucket,
  type BucketState,
} from '@streambet/platform/cache/token-bucket';
import {
  DomainError,
  NotFoundError,
  ResourceExhaustedError,
  UnauthenticatedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Chat } from './chat.js';
import { defaultSocketLimits, type ConnectionLimits, type SocketLimits } from './config.js';
import type { ChatActor } from './domain/chat.js';
import { isRecord, parseJoinableRoom, roomName } from './domain/rooms.js';
import type { RoomEmitter } from './fanout.js';
import type { RealtimeStore } from './store.js';

/** Acknowledgement of a client event (realtime.proto). */
export type AckResponse =
  | ({ ok: true } & Record<string, unknown>)
  | { ok: false; code: string; message: string; retryAfterMs?: number };

/** Options of {@link createSocketServer}. */
export interface SocketServerOptions {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly verifyUserToken: TokenVerifier<Extract<Caller, { kind: 'user' }>>;
  readonly chat: Chat;
  readonly store: Pick<RealtimeStore, 'channelOwner' | 'marketExists'>;
  readonly limits?: SocketLimits;
  /** Connection caps and whose X-Forwarded-For to trust; absent = no caps, the TCP peer. */
  readonly connections?: ConnectionLimits;
  /** Redis clients for the socket.io Redis adapter (cluster mode); absent = in-process rooms. */
  readonly redis?: { readonly pub: Redis; readonly sub: Redis; readonly key: string };
  /** Called when a client input is refused (metrics). */
  readonly onRefused?: (code: string) => void;
}

/** The running socket.io server. */
export interface SocketServer {
  readonly io: Server;
  /** Serves `/socket.io/` on the service's HTTP/1.1 server (polling and the websocket upgrade). */
  attach(server: HttpServer): void;
  /** Emits to a room on every node (through the adapter). */
  readonly emit: RoomEmitter;
  /** Sockets connected to this node. */
  connectedCount(): number;
  /** Disconnects every socket and closes the adapter. */
  close(): Promise<void>;
}

interface SocketState {
  /** The client address the connection counts against (see {@link socketAddress}). */
  address: string;
  user: (ChatActor & { expiresAtMs: number }) | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
  bucket: BucketState | undefined;
  refusals: number;
}

const codeOf: Record<DomainError['kind'], string> = {
  validation: 'INVALID_ARGUMENT',
  'not-found': 'NOT_FOUND',
  'illegal-state': 'FAILED_PRECONDITION',
  'already-exists': 'ALREADY_EXISTS',
  concurrency: 'ABORTED',
  'permission-denied': 'PERMISSION_DENIED',
  unauthenticated: 'UNAUTHENTICATED',
  'resource-exhausted': 'RESOURCE_EXHAUSTED',
  unavailable: 'UNAVAILABLE',
};

/** Client events the server handles; anything else is refused. */
const clientEvents = new Set(['room:join', 'room:leave', 'chat:send', 'auth:refresh']);

/** Longest a timer may wait in node (about 24.8 days). */
const maxTimerMs = 2 ** 31 - 1;

/** Entries kept by each per-address or per-room map before stale ones are dropped. */
const maxTracked = 10_000;

/**
 * The client address of a handshake: the TCP peer, or with `trustedProxyHops` = n > 0 the entry n
 * places from the right of X-Forwarded-For (the gateway replaces that header by the one address it
 * trusts, so with n = 1 this is the address the gateway limits by). IPv4-mapped IPv6 peers are
 * written as IPv4.
 */
export function socketAddress(
  peer: string,
  forwardedFor: string | string[] | undefined,
  trustedProxyHops: number,
): string {
  let address = peer;
  if (trustedProxyHops > 0 && forwardedFor !== undefined) {
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    address = hops[hops.length - trustedProxyHops] ?? peer;
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return (mapped?.[1] ?? address).slice(0, 64);
}

/** Creates the socket.io server (not yet attached). */
export function createSocketServer(options: SocketServerOptions): SocketServer {
  const { logger, clock, chat, store } = options;
  const limits = options.limits ?? defaultSocketLimits;
  const serverOptions = {
    path: '/socket.io/',
    serveClient: false,
    maxHttpBufferSize: limits.maxMessageBytes,
    // Browsers of the web app come through the gateway (same origin); no CORS here.
    cors: undefined,
  };
  const io = new Server(serverOptions);
  if (options.redis !== undefined) {
    io.adapter(createAdapter(options.redis.pub, options.redis.sub, { key: options.redis.key }));
  }
  const states = new WeakMap<Socket, SocketState>();
  const caps = options.connections;
  // Connections held per client address, and in total; a handshake reserves its slot before its
  // token is checked and gives it back when refused or when its engine.io connection closes.
  const perAddress = new Map<string, number>();
  let connections = 0;
  const joinSpec = {
    capacity: limits.joinBurstPerAddress,
    refillPerSecond: limits.joinsPerSecondPerAddress,
  };
  const joinBuckets = new Map<string, BucketState>();
  const takeJoin = (address: string) => {
    const nowMs = clock.now();
    if (joinBuckets.size >= maxTracked && !joinBuckets.has(address)) {
      // Buckets untouched for their TTL are full again: dropping them changes no decision.
      const staleBefore = nowMs - bucketTtlMs(joinSpec);
      for (const [key, bucket] of joinBuckets) {
        if (bucket.updatedAtMs < staleBefore) joinBuckets.delete(key);
      }
      if (joinBuckets.size >= maxTracked) joinBuckets.clear();
    }
    const taken = takeFromBucket(joinBuckets.get(address), joinSpec, nowMs, 1);
    joinBuckets.set(address, taken.state);
    return taken.decision;
  };
  // Linked channels seen recently: a channel can be unlinked, so a hit is trusted for
  // `channelCacheMs` only. Unknown rooms are not cached (the join budget bounds their cost).
  const linkedChannels = new Map<string, number>();
  const channelLinked = async (channelId: string): Promise<boolean> => {
    const nowMs = clock.now();
    const seenAtMs = linkedChannels.get(channelId);
    if (seenAtMs !== undefined && nowMs - seenAtMs < limits.channelCacheMs) return true;
    const linked = (await store.channelOwner(channelId)) !== undefined;
    if (!linked) {
      linkedChannels.delete(channelId);
      return false;
    }
    if (linkedChannels.size >= maxTracked) linkedChannels.clear();
    linkedChannels.set(channelId, nowMs);
    return true;
  };
  // Markets never stop existing, so a market once found is not looked up again: a crowd joining a
  // popular market costs one query, not one per viewer. Bounded; cleared when full.
  const knownMarkets = new Set<string>();
  const remember = (marketId: string): void => {
    if (knownMarkets.size >= 10_000) knownMarkets.clear();
    knownMarkets.add(marketId);
  };

  const toAck = (error: unknown, context: Record<string, unknown>): AckResponse => {
    if (error instanceof DomainError) {
      const code = codeOf[error.kind];
      return {
        ok: false,
        code,
        message: error.message,
        ...(error instanceof ResourceExhaustedError && error.retryAfterMs !== undefined
          ? { retryAfterMs: error.retryAfterMs }
          : {}),
      };
    }
    logger.error({ err: error, ...context }, 'socket event failed');
    return { ok: false, code: 'INTERNAL', message: 'internal error; retry later' };
  };

  const refused = (socket: Socket, event: string, ack: AckResponse): void => {
    if (ack.ok) return;
    options.onRefused?.(ack.code);
    const state = states.get(socket);
    const count = state === undefined ? 1 : (state.refusals += 1);
    // A flood must not become a log flood: the first refusals and then every hundredth.
    if (count <= 10 || count % 100 === 0) {
      logger.warn(
        { socketId: socket.id, event, code: ack.code, reason: ack.message, refusals: count },
        'socket input refused',
      );
    }
  };

  const verify = async (token: unknown): Promise<SocketState['user']> => {
    if (typeof token !== 'string' || token === '') {
      throw new UnauthenticatedError('auth.token must be an access token string');
    }
    const caller = await options.verifyUserToken(token);
    const exp = decodeJwt(token).exp;
    return {
      userId: caller.userId,
      role: caller.role,
      expiresAtMs: typeof exp === 'number' ? exp * 1000 : Number.MAX_SAFE_INTEGER,
    };
  };

  const signIn = (socket: Socket, state: SocketState, user: SocketState['user']): void => {
    if (state.user !== undefined && state.user.userId !== user?.userId) {
      void socket.leave(roomName('user', state.user.userId));
    }
    clearTimeout(state.expiryTimer);
    state.expiryTimer = undefined;
    state.user = user;
    if (user === undefined) return;
    void socket.join(roomName('user', user.userId));
    const inMs = Math.min(maxTimerMs, Math.max(0, user.expiresAtMs - clock.now()));
    state.expiryTimer = setTimeout(() => {
      logger.debug({ socketId: socket.id, userId: user.userId }, 'socket token expired');
      signIn(socket, state, undefined);
      socket.emit('auth:expired', {});
    }, inMs);
    state.expiryTimer.unref();
  };

  const refuseHandshake = (code: string, message: string): Error => {
    options.onRefused?.(code);
    return Object.assign(new Error(code), { data: { code, message } });
  };

  const releases = new WeakMap<Socket, () => void>();
  /** Reserves a connection slot for `address`; the refusal when a cap is reached. */
  const reserve = (socket: Socket, address: string): Error | undefined => {
    if (caps === undefined) return undefined;
    const held = perAddress.get(address) ?? 0;
    if (held >= caps.maxConnectionsPerAddress) {
      logger.info({ address, held }, 'socket handshake refused: per-address connection cap');
      return refuseHandshake(
        'RESOURCE_EXHAUSTED',
        `too many connections from this address (at most ${caps.maxConnectionsPerAddress}); close one first`,
      );
    }
    if (connections >= caps.maxConnections) {
      logger.warn({ connections }, 'socket handshake refused: connection cap of this node');
      return refuseHandshake(
        'RESOURCE_EXHAUSTED',
        'this server is at its connection limit; reconnect later',
      );
    }
    perAddress.set(address, held + 1);
    connections += 1;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      connections -= 1;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    };
    releases.set(socket, release);
    // A namespace can disconnect while its engine.io connection stays open (and reconnect on it);
    // a socket can also lose its connection before its handshake finished: release on either.
    socket.once('disconnect', release);
    socket.conn.once('close', release);
    return undefined;
  };
  io.use((socket, next) => {
    const address = socketAddress(
      socket.handshake.address,
      socket.handshake.headers['x-forwarded-for'],
      caps?.trustedProxyHops ?? 0,
    );
    const state: SocketState = {
      address,
      user: undefined,
      expiryTimer: undefined,
      bucket: undefined,
      refusals: 0,
    };
    states.set(socket, state);
    const capped = reserve(socket, address);
    if (capped !== undefined) {
      next(capped);
      return;
    }
    const auth: unknown = socket.handshake.auth;
    const token = isRecord(auth) ? auth.token : undefined;
    if (token === undefined || token === null || token === '') {
      next();
      return;
    }
    verify(token).then(
      (user) => {
        state.user = user;
        next();
      },
      (error: unknown) => {
        releases.get(socket)?.();
        const message = error instanceof DomainError ? error.message : 'token could not be checked';
        if (!(error instanceof DomainError))
          logger.error({ err: error }, 'socket token check failed');
        logger.info({ reason: message }, 'socket handshake refused');
        next(refuseHandshake('UNAUTHENTICATED', message));
      },
    );
  });

  const handlers: Record<
    string,
    (socket: Socket, state: SocketState, payload: unknown) => Promise<Record<string, unknown>>
  > = {
    async 'room:join'(socket, state, payload) {
      const room = parseJoinableRoom(payload);
      const name = roomName(room.kind, room.id);
      if (!socket.rooms.has(name) && socket.rooms.size >= limits.maxRoomsPerSocket + 2) {
        throw new ResourceExhaustedError(
          `a socket may watch at most ${limits.maxRoomsPerSocket} rooms; leave one first`,
        );
      }
      const budget = takeJoin(state.address);
      if (!budget.allowed) {
        throw new ResourceExhaustedError('too many room joins from this address; slow down', {
          retryAfterMs: budget.retryAfterMs,
        });
      }
      const exists =
        room.kind === 'channel'
          ? await channelLinked(room.id)
          : knownMarkets.has(room.id) || (await store.marketExists(room.id));
      if (!exists) throw new NotFoundError(`no ${room.kind} ${room.id}`);
      if (room.kind === 'market') remember(room.id);
      await socket.join(name);
      if (room.kind === 'channel') socket.emit('chat:history', await chat.history(room.id));
      return { room: name };
    },
    async 'room:leave'(socket, _state, payload) {
      const room = parseJoinableRoom(payload);
      const name = roomName(room.kind, room.id);
      await socket.leave(name);
      return { room: name };
    },
    async 'chat:send'(_socket, state, payload) {
      const user = state.user;
      const result = await chat.send(
        user === undefined ? undefined : { userId: user.userId, role: user.role },
        payload,
      );
      return { messageId: result.messageId };
    },
    async 'auth:refresh'(socket, state, payload) {
      const token = isRecord(payload) ? payload.token : undefined;
      try {
        signIn(socket, state, await verify(token));
      } catch (error) {
        signIn(socket, state, undefined);
        throw error;
      }
      return {};
    },
  };

  io.on('connection', (socket) => {
    const state = states.get(socket) ?? {
      address: socket.handshake.address,
      user: undefined,
      expiryTimer: undefined,
      bucket: undefined,
      refusals: 0,
    };
    states.set(socket, state);
    if (state.user !== undefined) signIn(socket, state, state.user);

    socket.onAny((event: unknown, ...args: unknown[]) => {
      if (typeof event === 'string' && clientEvents.has(event)) return;
      const ack = args.at(-1);
      const response: AckResponse = {
        ok: false,
        code: 'INVALID_ARGUMENT',
        message: `unknown event ${JSON.stringify(String(event).slice(0, 64))}; see realtime.proto for the protocol`,
      };
      refused(socket, String(event).slice(0, 64), response);
      if (typeof ack === 'function') (ack as (r: AckResponse) => void)(response);
    });

    for (const [event, handler] of Object.entries(handlers)) {
      socket.on(event, (...args: unknown[]) => {
        const ack = args.at(-1);
        if (typeof ack !== 'function') {
          refused(socket, event, {
            ok: false,
            code: 'INVALID_ARGUMENT',
            message: 'event sent without an acknowledgement callback',
          });
          return;
        }
        const reply = ack as (response: AckResponse) => void;
        const fail = (error: unknown): void => {
          const response = toAck(error, { socketId: socket.id, event });
          refused(socket, event, response);
          reply(response);
        };
        const taken = takeFromBucket(
          state.bucket,
          { capacity: limits.eventBurst, refillPerSecond: limits.eventsPerSecond },
          clock.now(),
          1,
        );
        state.bucket = taken.state;
        if (!taken.decision.allowed) {
          fail(
            new ResourceExhaustedError('too many events on this socket; slow down', {
              retryAfterMs: taken.decision.retryAfterMs,
            }),
          );
          return;
        }
        if (args.length !== 2) {
          fail(
            new ValidationError(`${event} takes exactly one payload object and an acknowledgement`),
          );
          return;
        }
        handler(socket, state, args[0]).then((result) => reply({ ok: true, ...result }), fail);
      });
    }

    // socket.io emits 'error' for an undecodable packet, then closes the connection.
    socket.on('error', (error: Error) => {
      options.onRefused?.('INVALID_ARGUMENT');
      logger.warn({ socketId: socket.id, reason: error.message }, 'socket closed on bad input');
    });
    socket.on('disconnect', (reason) => {
      clearTimeout(state.expiryTimer);
      if (reason === 'parse error' || reason === 'transport error') {
        options.onRefused?.('INVALID_ARGUMENT');
        logger.warn({ socketId: socket.id, reason }, 'socket closed on bad input');
      }
    });
  });

  return {
    io,
    attach(server) {
      io.attach(server, serverOptions);
      io.engine.on(
        'connection_error',
        (error: { code: number; message: string; context?: unknown }) => {
          options.onRefused?.('INVALID_ARGUMENT');
          logger.warn({ code: error.code, reason: error.message }, 'socket.io connection refused');
        },
      );
    },
    emit: (room, event, payload) => {
      io.to(room).emit(event, payload);
    },
    connectedCount: () => io.of('/').sockets.size,
    async close() {
      await io.close(() => undefined);
    },
  };
}
