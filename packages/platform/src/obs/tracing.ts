import {
  context,
  trace,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import type { Interceptor } from '@connectrpc/connect';
import { ConnectError } from '@connectrpc/connect';

/** Options of {@link initTracing}. */
export interface InitTracingOptions {
  /** `service.name` resource attribute; in embedded mode the first service to start names the process. */
  readonly serviceName: string;
  /** Where finished spans go (e.g. a BatchSpanProcessor around an OTLP exporter). None by default. */
  readonly spanProcessors?: readonly SpanProcessor[];
}

/** Handle of the process-wide tracer provider. */
export interface Tracing {
  /** Flushes span processors and stops tracing; call last in graceful shutdown. */
  shutdown(): Promise<void>;
}

let activeTracing: Tracing | undefined;

/**
 * Registers the process-wide OpenTelemetry tracer provider, AsyncLocalStorage context manager and
 * W3C `traceparent` propagator. OpenTelemetry's registration is global, so the first call wins
 * and later calls return the same handle: safe to call from every service in embedded mode.
 * Without an exporter spans are still created, which gives every log line a real trace id.
 */
export function initTracing(options: InitTracingOptions): Tracing {
  if (activeTracing !== undefined) return activeTracing;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [...(options.spanProcessors ?? [])],
  });
  provider.register();
  activeTracing = {
    async shutdown() {
      await provider.shutdown();
    },
  };
  return activeTracing;
}

/**
 * Propagates trace context in W3C `traceparent`/`tracestate` headers. The RPC and event helpers
 * use this instance directly so propagation does not depend on which global propagator is set.
 */
const propagator = new W3CTraceContextPropagator();
const tracerName = '@streambet/platform';

const fetchHeadersGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};
const fetchHeadersSetter: TextMapSetter<Headers> = {
  set: (headers, key, value) => headers.set(key, value),
};

/**
 * Server interceptor: continues the caller's trace from the request's `traceparent` header (or
 * starts a new one) with a SERVER span around the call, active while the handler runs.
 */
export function serverTracingInterceptor(): Interceptor {
  return (next) => async (req) => {
    const parent = propagator.extract(ROOT_CONTEXT, req.header, fetchHeadersGetter);
    const span = trace
      .getTracer(tracerName)
      .startSpan(
        `${req.service.typeName}/${req.method.name}`,
        { kind: SpanKind.SERVER, attributes: rpcAttributes(req.service.typeName, req.method.name) },
        parent,
      );
    return runInSpan(span, trace.setSpan(parent, span), () => next(req));
  };
}

/**
 * Client interceptor: a CLIENT span around each outgoing call, child of the active span, whose
 * context is injected as `traceparent` so the server continues the same trace.
 */
export function clientTracingInterceptor(): Interceptor {
  return (next) => async (req) => {
    const parent = context.active();
    const span = trace
      .getTracer(tracerName)
      .startSpan(
        `${req.service.typeName}/${req.method.name}`,
        { kind: SpanKind.CLIENT, attributes: rpcAttributes(req.service.typeName, req.method.name) },
        parent,
      );
    const spanContext = trace.setSpan(parent, span);
    propagator.inject(spanContext, req.header, fetchHeadersSetter);
    return runInSpan(span, spanContext, () => next(req));
  };
}

/**
 * Writes the active trace context into an event's headers (`traceparent`, `tracestate`) so the
 * consumer's work joins the producer's trace across a Kafka or in-process hop. Mutates and returns
 * `headers`.
 */
export function injectTraceHeaders(headers: Record<string, string> = {}): Record<string, string> {
  propagator.inject(context.active(), headers, defaultTextMapSetter);
  return headers;
}

/**
 * Runs `fn` in the trace context carried by an event's headers. With `spanName`, a CONSUMER span
 * (ended when `fn`'s promise settles) wraps the work; without, `fn` just runs under the remote
 * parent so the spans it starts join the producer's trace.
 */
export function withExtractedContext<T>(
  headers: Readonly<Record<string, string | undefined>>,
  fn: () => T,
  options: { spanName?: string } = {},
): T {
  const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  if (options.spanName === undefined) return context.with(parent, fn);
  const span = trace
    .getTracer(tracerName)
    .startSpan(options.spanName, { kind: SpanKind.CONSUMER }, parent);
  const spanContext = trace.setSpan(parent, span);
  let result: T;
  try {
    result = context.with(spanContext, fn);
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
  if (isPromiseLike(result)) {
    result.then(
      () => endSpan(span, undefined),
      (error: unknown) => endSpan(span, error),
    );
  } else {
    endSpan(span, undefined);
  }
  return result;
}

/**
 * Binds each step of an async iterable to `run`, so a stream's producer (an async generator whose
 * body runs when the framework pulls) sees the same async context as the call that created it.
 */
export async function* bindAsyncIterable<T>(
  source: AsyncIterable<T>,
  run: <R>(fn: () => R) => R,
): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const step = await run(() => iterator.next());
      if (step.done === true) {
        finished = true;
        return;
      }
      yield step.value;
    }
  } finally {
    const close = iterator.return?.bind(iterator);
    if (!finished && close !== undefined) await run(() => close());
  }
}

type CallResult = Awaited<ReturnType<ReturnType<Interceptor>>>;

async function runInSpan(
  span: Span,
  spanContext: Context,
  call: () => Promise<CallResult>,
): Promise<CallResult> {
  let res: CallResult;
  try {
    res = await context.with(spanContext, call);
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
  if (!res.stream) {
    endSpan(span, undefined);
    return res;
  }
  const run = <R>(fn: () => R): R => context.with(spanContext, fn);
  return { ...res, message: endSpanAfter(bindAsyncIterable(res.message, run), span) };
}

async function* endSpanAfter<T>(messages: AsyncIterable<T>, span: Span): AsyncIterable<T> {
  let outcome: unknown = undefined;
  try {
    yield* messages;
  } catch (error) {
    outcome = error;
    throw error;
  } finally {
    endSpan(span, outcome);
  }
}

function endSpan(span: Span, error: unknown): void {
  if (error !== undefined) {
    const connectError = ConnectError.from(error);
    span.setAttribute('rpc.connect_rpc.error_code', connectError.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: connectError.rawMessage });
  }
  span.end();
}

function rpcAttributes(service: string, method: string): Record<string, string> {
  return { 'rpc.system': 'connect_rpc', 'rpc.service': service, 'rpc.method': method };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** A link to the caller's active span, for a batch that serves it; undefined outside any trace. */
export function activeSpanLink(): Link | undefined {
  const span = trace.getActiveSpan();
  return span === undefined ? undefined : { context: span.spanContext() };
}

/**
 * Runs `fn` under a new root INTERNAL span `name` that links to the spans of the callers the work
 * serves (one batch, many requests: a parent would tie it to one of them; links keep every
 * request's trace one click away from the batch, and the batch's downstream calls its children).
 * The span ends when `fn`'s promise settles, marked as an error if it rejects.
 */
export async function withBatchSpan<T>(
  name: string,
  links: ReadonlyArray<Link | undefined>,
  attributes: Attributes,
  fn: () => Promise<T>,
): Promise<T> {
  const span = trace.getTracer(tracerName).startSpan(
    name,
    {
      kind: SpanKind.INTERNAL,
      root: true,
      attributes,
      links: links.filter((link): link is Link => link !== undefined),
    },
    ROOT_CONTEXT,
  );
  let outcome: unknown = undefined;
  try {
    return await context.with(trace.setSpan(ROOT_CONTEXT, span), fn);
  } catch (error) {
    outcome = error;
    throw error;
  } finally {
    endSpan(span, outcome);
  }
}
