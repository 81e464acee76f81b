/**
 * Delivery of pushed messages to socket.io rooms, with conflation for snapshot streams (odds at
 * most 10 per second per market, latest wins). Deliveries go through the socket.io adapter, so
 * with the Redis adapter every realtime node's sockets in the room receive them.
 */
import {
  activeTraceContext,
  inSpan,
  SpanKind,
  type TraceContext,
} from '@streambet/platform/obs/tracing';
import type { Clock } from '@streambet/platform/rpc/clock';
import { createConflator } from './domain/conflation.js';

/** Sends one event to one room (socket.io: `io.to(room).emit(event, payload)`). */
export type RoomEmitter = (room: string, event: string, payload: unknown) => void;

/** Timers, injectable so conflation is tested with a manual clock. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The host's timers. */
const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Options of {@link createFanout}. */
export interface FanoutOptions {
  readonly emit: RoomEmitter;
  readonly clock: Clock;
  readonly timers?: Timers;
  /** Minimum ms between two deliveries of one conflation key to one room; 100 = 10/s. */
  readonly conflationIntervalMs: number;
  /** Called after each delivery (metrics); `conflated` says it went out from the pending slot. */
  readonly onDelivered?: (event: string) => void;
  /** Called for each snapshot dropped as not newer than one delivered or pending. */
  readonly onDropped?: (event: string) => void;
}

/** Pushes messages to rooms. */
export interface Fanout {
  /** Delivers now. */
  send(room: string, event: string, payload: unknown): void;
  /**
   * Delivers through the conflator of (room, key): at most one per interval, the latest wins, and
   * a `version` not newer than one delivered or pending is dropped.
   */
  sendConflated(room: string, event: string, payload: unknown, key: string, version?: bigint): void;
  /** Cancels the timer; pending conflated messages are dropped (best-effort delivery). */
  close(): void;
}

interface Pending {
  readonly room: string;
  readonly event: string;
  readonly payload: unknown;
  /** The trace of the bus event that produced it: a deferred delivery still joins that trace. */
  readonly trace: TraceContext;
}

/** Creates the fan-out over `emit`. */
export function createFanout(options: FanoutOptions): Fanout {
  const timers = options.timers ?? systemTimers;
  const conflator = createConflator<Pending>({ intervalMs: options.conflationIntervalMs });
  let timer: unknown;
  let timerDueAtMs: number | undefined;
  let closed = false;

  /**
   * One push to one room, in a PRODUCER span `realtime push` that continues the trace of the event
   * it carries (messaging.destination.name = the room).
   */
  const deliver = (message: Pending, conflated: boolean): void =>
    inSpan(
      'realtime push',
      () => {
        options.emit(message.room, message.event, message.payload);
        options.onDelivered?.(message.event);
      },
      {
        parent: message.trace,
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'socket.io',
          'messaging.operation.type': 'send',
          'messaging.destination.name': message.room,
          'streambet.push.event': message.event,
          'streambet.push.conflated': conflated,
        },
      },
    );

  const flush = (): void => {
    timer = undefined;
    timerDueAtMs = undefined;
    if (closed) return;
    for (const due of conflator.takeDue(options.clock.now())) deliver(due.value, true);
    schedule();
  };

  const schedule = (): void => {
    const next = conflator.nextDueAtMs();
    if (next === undefined || closed) return;
    if (timerDueAtMs !== undefined && timerDueAtMs <= next) return;
    if (timer !== undefined) timers.clearTimeout(timer);
    timerDueAtMs = next;
    timer = timers.setTimeout(flush, Math.max(0, next - options.clock.now()));
  };

  return {
    send(room, event, payload) {
      if (!closed) deliver({ room, event, payload, trace: activeTraceContext() }, false);
    },
    sendConflated(room, event, payload, key, version) {
      if (closed) return;
      const message = { room, event, payload, trace: activeTraceContext() };
      const decision = conflator.offer(`${room}|${key}`, message, version, options.clock.now());
      if (decision.action === 'emit') deliver(message, false);
      else if (decision.action === 'defer') schedule();
      else options.onDropped?.(event);
    },
    close() {
      closed = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
    },
  };
}
