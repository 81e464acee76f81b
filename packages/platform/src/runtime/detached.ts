import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The async context this module was loaded in: the process's start-up, where no request, trace or
 * transaction is active (the platform's modules are imported statically, before any work).
 */
const startupContext = AsyncLocalStorage.snapshot();

/**
 * Runs `fn`, and everything it starts, in an empty async context: no caller's log context
 * (request id), no active span, no open transaction frame.
 *
 * Why: a worker shared by many callers — a group-commit lane, a batcher — is started by whichever
 * caller happens to arrive first, and every continuation it schedules would otherwise inherit that
 * caller's context for as long as the worker runs. Its log lines would carry one request's id, its
 * downstream calls would become spans of one request's trace (thousands of them), and its SQL would
 * count as inside that caller's transaction. A worker detaches when it starts and gives each unit
 * of work its own context (for a batch: {@link withBatchSpan} in obs/tracing).
 */
export function runDetached<T>(fn: () => T): T {
  return startupContext(fn);
}
