/**
 * Telling "the service I called is down" from "the service I called is up, but one of *its*
 * dependencies is down". Both arrive as UNAVAILABLE (or DEADLINE_EXCEEDED), and clients retry
 * both the same way, but a circuit breaker must count only the first: counting the second opens
 * the breaker of a healthy service, fails every feature behind it, and names the wrong service
 * (issue 13, item 8: the gateway opened its bet-engine breaker when the user service died).
 *
 * The protocol, end to end:
 * 1. Every error a platform service client throws is remembered (in memory, never on the wire) as
 *    coming from a call to a named dependency: {@link rememberDependencyError}.
 * 2. When a service answers UNAVAILABLE or DEADLINE_EXCEEDED and such an error is in the cause
 *    chain of what it answers, the failure is propagated, not its own: the error interceptor
 *    sends the response header/trailer {@link failedDependencyHeader} naming the service that
 *    really failed (the deepest one known: a dependency's own marker wins over the dependency's
 *    name), and a message naming it. The code stays, so idempotent calls are still retried.
 * 3. A client's breaker reads the marker ({@link failedDependencyOf}): a marked answer proves the
 *    target itself is up and counts as a success for the target's breaker; UNAVAILABLE or
 *    DEADLINE_EXCEEDED without it (connection refused or reset, the target's own overload, a
 *    deadline that ran out on the caller's side) counts as the target's failure.
 *
 * A service's own database is part of the service, not a dependency: its outage is not marked.
 */
import { Code, ConnectError } from '@connectrpc/connect';

/**
 * Response header (Connect unary) or trailer (gRPC) naming the service whose failure made this
 * UNAVAILABLE / DEADLINE_EXCEEDED answer, e.g. `x-streambet-failed-dependency: user`. Present
 * only when the answering service is itself healthy.
 */
export const failedDependencyHeader = 'x-streambet-failed-dependency';

/** A dependency name that may go on the wire and into messages: a service name, never a host. */
const dependencyNamePattern = /^[a-z][a-z0-9_-]{0,62}$/;

/** True when `name` is a plain service name (`user`, `bet-engine`), safe to send and show. */
export function isDependencyName(name: string): boolean {
  return dependencyNamePattern.test(name);
}

/**
 * The owning service of a proto service by the contract layout `streambet.<service>.v<N>.X`
 * (`streambet.user.v1.LedgerInternalService` → `user`), or undefined for other type names.
 */
export function serviceNameOfType(typeName: string): string | undefined {
  const match = /^streambet\.([a-z][a-z0-9_]*)\.v\d+\.[A-Za-z0-9_]+$/.exec(typeName);
  const protoPackage = match?.[1];
  // Proto packages cannot hold a dash: `betengine` is the deployable `bet-engine`.
  return protoPackage === 'betengine' ? 'bet-engine' : protoPackage;
}

const dependencyOfError = new WeakMap<object, string>();

/**
 * Records that `error` was thrown by a call to `dependency` (a name passing
 * {@link isDependencyName}); the same error object keeps the record wherever it is rethrown or
 * kept as a `cause`. Called by the platform's service client for every failed call.
 */
export function rememberDependencyError(error: unknown, dependency: string): void {
  if (typeof error === 'object' && error !== null && !dependencyOfError.has(error))
    dependencyOfError.set(error, dependency);
}

/** The marker of a received error: the failed dependency it names, if well-formed. */
export function failedDependencyOf(error: unknown): string | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  if (error.code !== Code.Unavailable && error.code !== Code.DeadlineExceeded) return undefined;
  const value = error.metadata.get(failedDependencyHeader)?.trim();
  return value !== undefined && isDependencyName(value) ? value : undefined;
}

/**
 * The service to blame when a handler fails with `error`: searches `error` and its causes (five
 * deep) for an error a service client threw, and returns the marker that error carried (the
 * dependency's own dependency failed) or else the name of the dependency it came from. Undefined
 * when no dependency call is in the chain: then the failure is the handler's own.
 */
export function propagatedDependencyFailure(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth += 1) {
    const marker = failedDependencyOf(current);
    const dependency = dependencyOfError.get(current);
    if (dependency !== undefined || marker !== undefined) return marker ?? dependency;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when the dependency's error object came straight from a service client (not wrapped). */
export function isDependencyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && dependencyOfError.has(error);
}

/**
 * The message a client sees for a propagated failure of `dependency`: it names the service that
 * failed, never a host, and says what to do.
 */
export function dependencyFailureMessage(
  dependency: string,
  code: Code.Unavailable | Code.DeadlineExceeded,
): string {
  return code === Code.DeadlineExceeded
    ? `the ${dependency} service did not answer in time; retry shortly`
    : `the ${dependency} service is unavailable; retry shortly`;
}
