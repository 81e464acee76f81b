import { Code, ConnectError } from '@connectrpc/connect';
import { failedDependencyOf } from '../errors/dependency-failure.js';
import type { Logger } from '../log/logger.js';

import { systemClock, type Clock } from './clock.js';

export { systemClock, type Clock } from './clock.js';

/** Tuning of one circuit breaker. */
export interface CircuitBreakerOptions {
  /**
   * Consecutive failures of the downstream itself (UNAVAILABLE, DEADLINE_EXCEEDED without the
   * failed-dependency marker; see {@link classifyOutcome}) that open the circuit.
   */
  readonly failureThreshold: number;
  /** How long the circuit stays open before one probe call is let through (half-open). */
  readonly resetTimeoutMs: number;
  /**
   * Cap of the open time when probes keep failing: each failed probe doubles the open time,
   * from `resetTimeoutMs` up to this. Default `resetTimeoutMs` (no backoff). The cap bounds how
   * long callers keep failing after the downstream is back, so keep it at a second or two.
   */
  readonly maxResetTimeoutMs?: number;
}

/** closed: calls flow; open: calls fail fast; half-open: one probe call decides. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** How a call that went through the breaker ended, from the downstream's health point of view. */
export type CallOutcome = 'success' | 'failure' | 'neutral';

/** Permission for one call; report its outcome exactly once (later reports are ignored). */
export interface CircuitPermit {
  report(outcome: CallOutcome): void;
}

/**
 * A circuit breaker for one downstream. After `failureThreshold` consecutive failures it opens
 * and rejects calls without touching the network, so a dead dependency costs callers nothing and
 * gets time to recover; after `resetTimeoutMs` a single probe call is allowed, and its success
 * closes the circuit again. A failed probe re-opens it for twice as long as before, up to
 * `maxResetTimeoutMs`.
 */
export interface CircuitBreaker {
  /** Downstream name used in messages and logs. */
  readonly name: string;
  readonly state: CircuitState;
  /** Calls rejected without reaching the network since creation. */
  readonly rejectedCalls: number;
  /** Returns a permit, or throws ConnectError UNAVAILABLE "downstream X unavailable (circuit open, …)". */
  acquire(): CircuitPermit;
}

const circuitOpenErrors = new WeakSet<object>();

/** True for the fast-fail error of an open circuit (retrying it immediately is pointless). */
export function isCircuitOpenError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && circuitOpenErrors.has(error);
}

/**
 * Classifies a call's result for the breaker. Only signs that the downstream is unreachable or
 * too slow count as failures; any answer it gave (even INVALID_ARGUMENT or INTERNAL) proves it is
 * up — and so does an UNAVAILABLE or DEADLINE_EXCEEDED marked `x-streambet-failed-dependency`:
 * the downstream answered that one of *its* dependencies failed, which that dependency's own
 * breaker (in the downstream) counts. A caller's own cancellation says nothing about the
 * downstream.
 */
export function classifyOutcome(error: unknown): CallOutcome {
  if (error === undefined) return 'success';
  const connectError = ConnectError.from(error);
  const code = connectError.code;
  if (code === Code.Unavailable || code === Code.DeadlineExceeded)
    return failedDependencyOf(connectError) === undefined ? 'failure' : 'success';
  if (code === Code.Canceled) return 'neutral';
  return 'success';
}

/** Creates a breaker; see {@link CircuitBreaker}. */
export function createCircuitBreaker(
  name: string,
  options: CircuitBreakerOptions,
  deps: { clock?: Clock; logger?: Logger } = {},
): CircuitBreaker {
  const clock = deps.clock ?? systemClock;
  let state: CircuitState = 'closed';
  let consecutiveFailures = 0;
  let openedAtMs = 0;
  let openForMs = options.resetTimeoutMs;
  const maxOpenForMs = Math.max(
    options.resetTimeoutMs,
    options.maxResetTimeoutMs ?? options.resetTimeoutMs,
  );
  let probeInFlight = false;
  let rejectedCalls = 0;

  const open = (): void => {
    openForMs =
      state === 'half-open' ? Math.min(maxOpenForMs, openForMs * 2) : options.resetTimeoutMs;
    state = 'open';
    openedAtMs = clock.now();
    deps.logger?.warn(
      { downstream: name, consecutiveFailures, resetTimeoutMs: openForMs },
      'circuit opened',
    );
  };

  const reject = (): never => {
    rejectedCalls += 1;
    const waitSeconds = Math.max(
      1,
      Math.ceil(Math.max(0, openedAtMs + openForMs - clock.now()) / 1000),
    );
    const error = new ConnectError(
      `downstream ${name} unavailable (circuit open, retry in ${waitSeconds}s)`,
      Code.Unavailable,
      new Headers({ 'retry-after': String(waitSeconds) }),
    );
    circuitOpenErrors.add(error);
    throw error;
  };

  return {
    name,
    get state() {
      return state;
    },
    get rejectedCalls() {
      return rejectedCalls;
    },
    acquire() {
      let isProbe = false;
      if (state === 'open') {
        if (clock.now() - openedAtMs < openForMs) return reject();
        state = 'half-open';
        deps.logger?.info({ downstream: name }, 'circuit half-open; probing');
      }
      if (state === 'half-open') {
        if (probeInFlight) return reject();
        probeInFlight = true;
        isProbe = true;
      }
      let reported = false;
      return {
        report(outcome) {
          if (reported) return;
          reported = true;
          if (isProbe) probeInFlight = false;
          if (outcome === 'neutral') return;
          if (outcome === 'success') {
            if (state !== 'closed') deps.logger?.info({ downstream: name }, 'circuit closed');
            state = 'closed';
            consecutiveFailures = 0;
            openForMs = options.resetTimeoutMs;
            return;
          }
          consecutiveFailures += 1;
          if (
            state === 'half-open' ||
            (state === 'closed' && consecutiveFailures >= options.failureThreshold)
          ) {
            open();
          }
        },
      };
    },
  };
}

/** Breakers shared by all clients of the same downstream (keyed by base URL). */
export interface CircuitBreakerRegistry {
  /** The breaker for `key`, created on first use; later calls get the same breaker, whatever they pass. */
  get(
    key: string,
    init: { name: string; options: CircuitBreakerOptions; clock?: Clock; logger?: Logger },
  ): CircuitBreaker;
}

/** Creates a registry; tests create their own, services share {@link defaultCircuitBreakers}. */
export function createCircuitBreakerRegistry(): CircuitBreakerRegistry {
  const breakers = new Map<string, CircuitBreaker>();
  return {
    get(key, init) {
      let breaker = breakers.get(key);
      if (breaker === undefined) {
        breaker = createCircuitBreaker(init.name, init.options, {
          clock: init.clock,
          logger: init.logger,
        });
        breakers.set(key, breaker);
      }
      return breaker;
    },
  };
}

/**
 * The process-wide registry: one breaker per downstream base URL, however many clients (one per
 * proto service) call it, because they all share the downstream's fate.
 */
export const defaultCircuitBreakers: CircuitBreakerRegistry = createCircuitBreakerRegistry();
