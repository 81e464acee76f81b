import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import type { Registry } from 'prom-client';
import { errorInterceptor } from '../errors/error-interceptor.js';
import { currentLogContext, runWithLogContext } from '../log/log-context.js';
import type { Logger } from '../log/logger.js';
import { codeLabel, createRpcMetricsInterceptor } from '../obs/metrics.js';
import { bindAsyncIterable, serverTracingInterceptor } from '../obs/tracing.js';
import { inputLimitsInterceptor } from './input-limits.js';
import { requestParseErrorsInterceptor } from './request-parse-errors.js';
import { requestIdHeader, requestIdKey, resolveRequestId } from './request-context.js';

/**
 * Makes the request id available everywhere a call's work runs: in Connect context values
 * (`requestIdKey`) for handlers and in the log context for every log line, including the body of
 * streaming handlers. Reuses the id the HTTP layer assigned; otherwise takes `x-request-id` or
 * generates one (in-memory transports have no HTTP layer).
 */
export function requestContextInterceptor(): Interceptor {
  return (next) => async (req) => {
    let requestId = req.contextValues.get(requestIdKey);
    if (requestId === '') {
      requestId = resolveRequestId(req.header.get(requestIdHeader));
      req.contextValues.set(requestIdKey, requestId);
    }
    const logContext = { ...currentLogContext(), requestId };
    const res = await runWithLogContext(logContext, () => next(req));
    if (!res.stream) return res;
    const run = <R>(fn: () => R): R => runWithLogContext(logContext, fn);
    return { ...res, message: bindAsyncIterable(res.message, run) };
  };
}

/**
 * Refuses calls with UNAVAILABLE once the server is draining, so a client that still holds a
 * keep-alive connection retries elsewhere instead of starting work that shutdown would cut off.
 */
export function drainingInterceptor(isDraining: () => boolean): Interceptor {
  return (next) => async (req) => {
    if (isDraining()) {
      throw new ConnectError(
        'server is shutting down; retry on another instance',
        Code.Unavailable,
      );
    }
    return next(req);
  };
}

/**
 * One log line per call when it ends: `procedure`, `code` and `duration_ms` (and `requestId`,
 * `traceId` via the logger's mixin). Client errors log at info, server faults at warn.
 */
export function loggingInterceptor(logger: Logger): Interceptor {
  const serverFaults = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unimplemented]);
  return (next) => async (req) => {
    const startedAt = performance.now();
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const log = (error: unknown): void => {
      const line = {
        procedure,
        code: codeLabel(error),
        duration_ms: Math.round((performance.now() - startedAt) * 1000) / 1000,
      };
      const faulty = error !== undefined && serverFaults.has(ConnectError.from(error).code);
      if (faulty) logger.warn(line, 'rpc');
      else logger.info(line, 'rpc');
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        log(undefined);
        return res;
      }
      return { ...res, message: logStreamEnd(res.message, log) };
    } catch (error) {
      log(error);
      throw error;
    }
  };
}

async function* logStreamEnd<T>(
  messages: AsyncIterable<T>,
  log: (error: unknown) => void,
): AsyncIterable<T> {
  let outcome: unknown = new ConnectError('stream abandoned before its end', Code.Canceled);
  try {
    yield* messages;
    outcome = undefined;
  } catch (error) {
    outcome = error;
    throw error;
  } finally {
    log(outcome);
  }
}

/** Options of {@link createServerInterceptors}. */
export interface ServerInterceptorOptions {
  readonly logger: Logger;
  readonly registry: Registry;
  /** The auth interceptor (see `auth/auth-interceptor.ts`), or `'none'` to run without access checks. */
  readonly auth: Interceptor | 'none';
  /** Extra interceptors, innermost (after auth). */
  readonly interceptors?: readonly Interceptor[];
  /** When it returns true, new calls are refused with UNAVAILABLE. */
  readonly isDraining?: () => boolean;
  /** The deployable serving (`bet-engine`): labels its spans (`streambet.service`, obs/tracing). */
  readonly service?: string;
}

/**
 * The platform's server interceptor stack, outermost first: request parse errors
 * (`request-parse-errors.ts`), request id + log context, tracing,
 * metrics, logging, draining guard, error mapping, input limits, auth, then the service's own.
 * Error mapping sits inside metrics and logging so both record the code the client receives
 * (refusals while draining included); auth sits inside error mapping so its failures get the same
 * translation; input limits (`input-limits.ts`) run before auth, so over-long fields cost no
 * token verification. Use this list with
 * `createRouterTransport` in integration tests to get exactly the production behaviour.
 */
export function createServerInterceptors(options: ServerInterceptorOptions): Interceptor[] {
  return [
    requestParseErrorsInterceptor(),
    requestContextInterceptor(),
    serverTracingInterceptor(options.service),
    createRpcMetricsInterceptor(options.registry, 'server'),
    loggingInterceptor(options.logger),
    ...(options.isDraining === undefined ? [] : [drainingInterceptor(options.isDraining)]),
    errorInterceptor(options.logger),
    inputLimitsInterceptor(),
    ...(options.auth === 'none' ? [] : [options.auth]),
    ...(options.interceptors ?? []),
  ];
}
