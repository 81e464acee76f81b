import { Code, ConnectError, type Interceptor, type StreamResponse } from '@connectrpc/connect';
import type { Logger } from '../log/logger.js';
import { requestIdKey } from '../rpc/request-context.js';
import { DomainError, type DomainErrorKind, retryAfterSeconds } from './domain-errors.js';
import {
  dependencyFailureMessage,
  failedDependencyHeader,
  isDependencyError,
  propagatedDependencyFailure,
} from './dependency-failure.js';

/** Status code for each domain error kind: the one place this mapping exists. */
export const codeForDomainErrorKind: Readonly<Record<DomainErrorKind, Code>> = {
  validation: Code.InvalidArgument,
  'not-found': Code.NotFound,
  'illegal-state': Code.FailedPrecondition,
  'already-exists': Code.AlreadyExists,
  concurrency: Code.Aborted,
  'permission-denied': Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  'resource-exhausted': Code.ResourceExhausted,
  unavailable: Code.Unavailable,
};

/**
 * Translates anything a handler throws into what a client may see:
 * - a {@link DomainError} becomes its status code with the domain message, its structured
 *   `details` (if any) attached, plus a `retry-after` header/trailer in seconds when the error
 *   carries `retryAfterMs`;
 * - a ConnectError passes through unchanged (it was already meant for the client);
 * - except a failure of one of this service's dependencies: an UNAVAILABLE or DEADLINE_EXCEEDED
 *   answer with a service client's error in its cause chain keeps its code and gets the
 *   `x-streambet-failed-dependency` header/trailer naming the service that failed, so callers'
 *   circuit breakers do not count it against this service (see `dependency-failure.ts`); when
 *   the dependency's error is passed on as it came (its message may carry a host name or the
 *   hop's wording), the message becomes "the <dependency> service is unavailable; retry shortly";
 * - a database error that is transient (see {@link transientSqlFailure}) becomes ABORTED or
 *   UNAVAILABLE with a message saying to retry, logged as a warning with the original;
 * - anything else becomes INTERNAL "internal error; reference <requestId>", and the original,
 *   stack included, is logged — never sent.
 */
export function errorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const requestId = req.contextValues.get(requestIdKey);
    const translate = (error: unknown): ConnectError =>
      toClientError(error, {
        logger,
        requestId,
        procedure: `${req.service.typeName}/${req.method.name}`,
      });
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: mapStreamErrors(res.message, translate) } satisfies StreamResponse;
    } catch (error) {
      throw translate(error);
    }
  };
}

/**
 * The client-facing form of `error` (see {@link errorInterceptor}). Exported for edges that are
 * not Connect handlers (webhooks, socket.io) but must apply the same rules.
 */
export function toClientError(
  error: unknown,
  context: { logger: Logger; requestId: string; procedure: string },
): ConnectError {
  return markDependencyFailure(error, translateError(error, context));
}

function translateError(
  error: unknown,
  context: { logger: Logger; requestId: string; procedure: string },
): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof DomainError) {
    const metadata = new Headers();
    const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof retryAfterMs === 'number')
      metadata.set('retry-after', String(retryAfterSeconds(retryAfterMs)));
    return new ConnectError(
      error.message,
      codeForDomainErrorKind[error.kind],
      metadata,
      // built by the service's codec from protobuf-es schemas (see ErrorDetail)
      error.details as ConstructorParameters<typeof ConnectError>[3],
      error,
    );
  }
  const transient = transientSqlFailure(error);
  if (transient !== undefined) {
    context.logger.warn(
      { err: error, procedure: context.procedure, requestId: context.requestId },
      'transient database failure',
    );
    const metadata = new Headers();
    if (transient === Code.Unavailable) metadata.set('retry-after', '1');
    return new ConnectError(
      transient === Code.Aborted
        ? 'the request conflicted with a concurrent change and did not complete; retry it (a command repeated with its id or idempotency key is applied at most once)'
        : 'the database is briefly unavailable; retry shortly',
      transient,
      metadata,
      undefined,
      error,
    );
  }
  context.logger.error(
    { err: error, procedure: context.procedure, requestId: context.requestId },
    'unhandled error in handler',
  );
  const reference = context.requestId === '' ? 'unknown' : context.requestId;
  return new ConnectError(
    `internal error; reference ${reference}`,
    Code.Internal,
    undefined,
    undefined,
    error,
  );
}

/**
 * `translated` marked as a propagated dependency failure when it is one (see
 * {@link errorInterceptor}); otherwise `translated` itself. `original` is what the handler threw.
 */
function markDependencyFailure(original: unknown, translated: ConnectError): ConnectError {
  const code = translated.code;
  if (code !== Code.Unavailable && code !== Code.DeadlineExceeded) return translated;
  const dependency = propagatedDependencyFailure(original);
  if (dependency === undefined) return translated;
  const metadata = new Headers();
  const retryAfter = translated.metadata.get('retry-after');
  if (retryAfter !== null) metadata.set('retry-after', retryAfter);
  metadata.set(failedDependencyHeader, dependency);
  if (isDependencyError(original)) {
    // the dependency's own error, rethrown as it came: its message and metadata are the hop's
    return new ConnectError(
      dependencyFailureMessage(dependency, code),
      code,
      metadata,
      undefined,
      original,
    );
  }
  for (const [name, value] of translated.metadata) {
    if (name !== failedDependencyHeader && name !== 'retry-after') metadata.append(name, value);
  }
  const marked = new ConnectError(
    translated.rawMessage,
    code,
    metadata,
    undefined,
    translated.cause,
  );
  marked.details.push(...translated.details);
  return marked;
}

async function* mapStreamErrors<T>(
  messages: AsyncIterable<T>,
  translate: (error: unknown) => ConnectError,
): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw translate(error);
  }
}

/**
 * The code for a database failure a client should retry rather than report as a bug, found on
 * `error` or its causes by SQLSTATE (node-postgres and PGlite both expose it as `code`):
 * - class 40, transaction rollback (40001 serialization failure, 40P01 deadlock): the transaction
 *   lost a race and was rolled back — ABORTED, retry the read-modify-write;
 * - class 08 (connection exception), 57P01–57P03 (the server is shutting down or starting) and
 *   53300 (too many connections): the database is briefly out of reach — UNAVAILABLE.
 * Anything else (constraint violations, syntax, a missing table) is a bug: undefined.
 */
export function transientSqlFailure(error: unknown): Code.Aborted | Code.Unavailable | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      if (code.startsWith('40')) return Code.Aborted;
      if (code.startsWith('08') || /^57P0[1-3]$/.test(code) || code === '53300')
        return Code.Unavailable;
      return undefined;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
