import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Per-request (or per-event) data every log line should carry. Set once at the edge of a unit of
 * work (an RPC, an event delivery) and read by the logger's mixin, so handlers never pass it by hand.
 */
export interface LogContext {
  /** Correlates all lines of one request across services (the `x-request-id` header). */
  readonly requestId?: string;
  /** Extra fields for every line in this unit of work (e.g. `{ eventId }` in a consumer). */
  readonly fields?: Readonly<Record<string, unknown>>;
}

const storage = new AsyncLocalStorage<LogContext>();

/**
 * Runs `fn` with `context` as the active log context; nested calls see the innermost context.
 * Continuations (awaits, timers, promises) started inside `fn` keep the context.
 */
export function runWithLogContext<T>(context: LogContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The active log context, or undefined outside any request or event handling. */
export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}
