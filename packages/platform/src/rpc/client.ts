import type { DescService } from '@bufbuild/protobuf';
import { MethodOptions_IdempotencyLevel } from '@bufbuild/protobuf/wkt';
import {
  Code,
  ConnectError,
  createClient,
  createContextKey,
  createContextValues,
  type CallOptions,
  type Client,
  type Interceptor,
} from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  Http2SessionManager,
} from '@connectrpc/connect-node';
import type { Registry } from 'prom-client';
import {
  isDependencyName,
  rememberDependencyError,
  serviceNameOfType,
} from '../errors/dependency-failure.js';
import type { Logger } from '../log/logger.js';
import { createRpcMetricsInterceptor } from '../obs/metrics.js';
import { clientTracingInterceptor } from '../obs/tracing.js';
import {
  classifyOutcome,
  defaultCircuitBreakers,
  isCircuitOpenError,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitBreakerRegistry,
} from './circuit-breaker.js';
import { systemClock, type Clock } from './clock.js';

/** Retry policy for idempotent calls. */
export interface RetryOptions {
  /** Extra attempts after the first; 0 disables retries. */
  readonly count: number;
  /** First backoff in ms; doubles per attempt, with full jitter. */
  readonly backoffBaseMs: number;
  /** Upper bound of one backoff in ms; default 2000. */
  readonly maxBackoffMs?: number;
}

/** Options of {@link createServiceClient}. */
export interface ServiceClientOptions {
  /** Downstream base URL, e.g. `http://user:8080`; also the key of its circuit breaker. */
  readonly baseUrl: string;
  /** Wire protocol over HTTP/2; `grpc` (default) or `connect`. */
  readonly protocol?: 'grpc' | 'connect';
  /**
   * Deadline of every call in ms (default 5000). A call may pass a shorter or longer positive
   * `timeoutMs`; zero, negative or missing values get this default, so no call runs unbounded.
   */
  readonly timeoutMs?: number;
  /** Retries for idempotent methods only; default `{ count: 2, backoffBaseMs: 50 }`; `false` disables. */
  readonly retries?: RetryOptions | false;
  /**
   * Circuit breaker of this downstream; default {@link defaultBreakerOptions}. It counts only the
   * downstream's own failures, never the ones it reports for its dependencies.
   */
  readonly breaker?: CircuitBreakerOptions | false;
  /** Returns a bearer token for each call (e.g. a service token issuer). */
  readonly credentials?: () => Promise<string>;
  readonly logger: Logger;
  /**
   * Downstream name for messages and logs; default: host of `baseUrl`. When given as a plain
   * service name (`bet-engine`, not `user:8080`) it is also the name a service puts in its
   * `x-streambet-failed-dependency` marker when this downstream's failure makes its own call
   * fail; otherwise the contract's package (`streambet.<service>.v1`) names it there, never a
   * host.
   */
  readonly name?: string;
  /** Client-side metrics (`rpc_client_*`) go to this registry when given. */
  readonly registry?: Registry;
  /** Extra interceptors, innermost (run once per attempt, after the breaker let it through). */
  readonly interceptors?: readonly Interceptor[];
  /** Where breakers live; default: the process-wide registry (one breaker per base URL). */
  readonly breakers?: CircuitBreakerRegistry;
  readonly clock?: Clock;
  /** Jitter source in [0, 1); default Math.random. */
  readonly random?: () => number;
}

/** A typed client plus the resources behind it. */
export interface ServiceClient<T extends DescService> {
  /** Typed Connect client: `await users.client.getUser({ userId })`. */
  readonly client: Client<T>;
  /** The downstream's breaker, or undefined when disabled. */
  readonly breaker: CircuitBreaker | undefined;
  /** Closes the HTTP/2 connection; in-flight calls fail. Call in graceful shutdown. */
  close(): void;
}

/**
 * The breaker every service client gets unless told otherwise. Five consecutive failures of the
 * downstream itself open it. It stays open 500 ms, then lets one probe through; each failed probe
 * doubles the wait up to 1 s. Why so short: the breaker only has to spare callers the cost of a
 * dead downstream (a refused connection costs little; a hanging one costs a deadline per call),
 * and a probe a second per caller process is negligible load even during a long outage. What a
 * long reset costs is user-visible: every call fails until the probe, however soon the
 * downstream is back — with 10 s, bets failed for 5 s after the user service had returned. Now
 * calls succeed at most about 1 s after the downstream is back.
 */
export const defaultBreakerOptions: CircuitBreakerOptions = Object.freeze({
  failureThreshold: 5,
  resetTimeoutMs: 500,
  maxResetTimeoutMs: 1000,
});

/** Absolute deadline of the logical call (epoch ms), shared by all its attempts. */
const deadlineKey = createContextKey<number>(Number.POSITIVE_INFINITY, {
  description: 'call deadline (epoch ms)',
});

/**
 * Creates a client for one downstream service over HTTP/2 with the platform's call discipline:
 * every call has a deadline; only idempotent methods (proto `idempotency_level` NO_SIDE_EFFECTS or
 * IDEMPOTENT) are retried, on UNAVAILABLE or DEADLINE_EXCEEDED, with backoff, and only while the
 * deadline leaves room; a circuit breaker per downstream fails calls fast while it is down;
 * bearer credentials, a CLIENT trace span with `traceparent`, and optional metrics are added.
 */
export function createServiceClient<T extends DescService>(
  service: T,
  options: ServiceClientOptions,
): ServiceClient<T> {
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!(timeoutMs > 0)) throw new Error(`timeoutMs must be positive, got ${timeoutMs}`);
  const clock = options.clock ?? systemClock;
  const name = options.name ?? new URL(options.baseUrl).host;
  const dependency =
    options.name !== undefined && isDependencyName(options.name)
      ? options.name
      : (serviceNameOfType(service.typeName) ?? 'downstream');
  const logger = options.logger.child({ downstream: name });
  const breaker =
    options.breaker === false
      ? undefined
      : (options.breakers ?? defaultCircuitBreakers).get(options.baseUrl, {
          name,
          options: options.breaker ?? defaultBreakerOptions,
          clock,
          logger,
        });
  const retries =
    options.retries === false ? undefined : (options.retries ?? { count: 2, backoffBaseMs: 50 });

  const interceptors: Interceptor[] = [
    clientTracingInterceptor(),
    ...(options.registry === undefined
      ? []
      : [createRpcMetricsInterceptor(options.registry, 'client')]),
    ...(retries === undefined || retries.count <= 0
      ? []
      : [retryInterceptor(retries, { clock, logger, random: options.random ?? Math.random })]),
    ...(breaker === undefined ? [] : [breakerInterceptor(breaker)]),
    ...(options.credentials === undefined ? [] : [credentialsInterceptor(options.credentials)]),
    ...(options.interceptors ?? []),
  ];

  const sessionManager = new Http2SessionManager(options.baseUrl);
  const transportOptions = {
    baseUrl: options.baseUrl,
    httpVersion: '2' as const,
    sessionManager,
    interceptors,
    defaultTimeoutMs: timeoutMs,
  };
  const transport =
    (options.protocol ?? 'grpc') === 'grpc'
      ? createGrpcTransport(transportOptions)
      : createConnectTransport(transportOptions);
  const raw = createClient(service, transport) as Record<
    string,
    (request: unknown, callOptions?: CallOptions) => unknown
  >;

  const client: Record<string, unknown> = {};
  for (const method of service.methods) {
    const call = raw[method.localName];
    if (call === undefined) continue;
    client[method.localName] = (request: unknown, callOptions: CallOptions = {}) => {
      const effectiveTimeoutMs =
        callOptions.timeoutMs !== undefined && callOptions.timeoutMs > 0
          ? callOptions.timeoutMs
          : timeoutMs;
      const contextValues = callOptions.contextValues ?? createContextValues();
      contextValues.set(deadlineKey, clock.now() + effectiveTimeoutMs);
      const result = call(request, {
        ...callOptions,
        timeoutMs: effectiveTimeoutMs,
        contextValues,
      });
      // Outside every interceptor and the transport's own deadline handling, so the very error
      // object the caller gets is the one remembered as this dependency's.
      return result instanceof Promise
        ? result.catch((error: unknown) => {
            rememberDependencyError(error, dependency);
            throw error;
          })
        : rememberStreamErrors(result as AsyncIterable<unknown>, dependency);
    };
  }

  return {
    client: client as Client<T>,
    breaker,
    close: () => sessionManager.abort(),
  };
}

/** True when the contract says the method may be repeated safely. */
export function isIdempotent(method: {
  readonly idempotency: MethodOptions_IdempotencyLevel;
}): boolean {
  return (
    method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS ||
    method.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT
  );
}

function retryInterceptor(
  retries: RetryOptions,
  deps: { clock: Clock; logger: Logger; random: () => number },
): Interceptor {
  const maxBackoffMs = retries.maxBackoffMs ?? 2000;
  return (next) => async (req) => {
    if (req.stream || !isIdempotent(req.method)) return next(req);
    const deadlineMs = req.contextValues.get(deadlineKey);
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await next(req);
      } catch (error) {
        const code = ConnectError.from(error).code;
        // ABORTED: the server lost a race (a deadlock, a serialization failure) and rolled back;
        // the contract says repeating this method is safe, so the read-modify-write is retried
        const retryable =
          (code === Code.Unavailable || code === Code.DeadlineExceeded || code === Code.Aborted) &&
          !isCircuitOpenError(error);
        if (!retryable || attempt >= retries.count || req.signal.aborted) throw error;
        const backoffMs = Math.floor(
          deps.random() * Math.min(maxBackoffMs, retries.backoffBaseMs * 2 ** attempt),
        );
        const remainingMs = deadlineMs - deps.clock.now() - backoffMs;
        if (remainingMs <= 0) throw error;
        deps.logger.warn(
          {
            procedure: `${req.service.typeName}/${req.method.name}`,
            attempt: attempt + 1,
            code: Code[code],
            backoffMs,
          },
          'retrying idempotent call',
        );
        await sleep(backoffMs, req.signal);
        if (req.header.has('grpc-timeout'))
          req.header.set('grpc-timeout', `${Math.max(1, Math.floor(remainingMs))}m`);
        if (req.header.has('connect-timeout-ms'))
          req.header.set('connect-timeout-ms', String(Math.max(1, Math.floor(remainingMs))));
      }
    }
  };
}

function breakerInterceptor(breaker: CircuitBreaker): Interceptor {
  return (next) => async (req) => {
    const permit = breaker.acquire();
    let res;
    try {
      res = await next(req);
    } catch (error) {
      permit.report(classifyOutcome(error));
      throw error;
    }
    if (!res.stream) {
      permit.report('success');
      return res;
    }
    return {
      ...res,
      message: reportStreamOutcome(res.message, (error) => permit.report(classifyOutcome(error))),
    };
  };
}

async function* rememberStreamErrors<T>(
  messages: AsyncIterable<T>,
  dependency: string,
): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    rememberDependencyError(error, dependency);
    throw error;
  }
}

async function* reportStreamOutcome<T>(
  messages: AsyncIterable<T>,
  report: (error: unknown) => void,
): AsyncIterable<T> {
  try {
    yield* messages;
    report(undefined);
  } catch (error) {
    report(error);
    throw error;
  } finally {
    report(new ConnectError('stream abandoned', Code.Canceled));
  }
}

function credentialsInterceptor(credentials: () => Promise<string>): Interceptor {
  return (next) => async (req) => {
    req.header.set('authorization', `Bearer ${await credentials()}`);
    return next(req);
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ms <= 0) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(ConnectError.from(signal.reason ?? new ConnectError('call aborted', Code.Canceled)));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
