import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Options of {@link createMetricsRegistry}. */
export interface CreateMetricsRegistryOptions {
  /** Deployable name; added as the `service` label on every series of this registry. */
  readonly service: string;
  /** Collect Node process metrics (CPU, memory, event-loop lag, GC); default true. */
  readonly collectDefaultMetrics?: boolean;
}

/**
 * A Prometheus registry for one service. Each service owns its registry (not prom-client's global
 * one) so that in embedded mode, where all services share a process, each `/metrics` shows only
 * its own series.
 */
export function createMetricsRegistry(options: CreateMetricsRegistryOptions): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.collectDefaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Which end of a call a metrics interceptor measures; it picks the metric name prefix. */
export type RpcSide = 'server' | 'client';

/** Histogram buckets in seconds: sub-millisecond in-process calls up to multi-second timeouts. */
export const rpcDurationBucketsSeconds: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * Counts calls (`rpc_<side>_requests_total`) and measures their duration in seconds
 * (`rpc_<side>_duration_seconds`), labelled by `rpc_service` (proto service), `rpc_method` and
 * `code` (Connect code name, `ok` on success). Streams are measured until the last message.
 */
export function createRpcMetricsInterceptor(
  registry: Registry,
  side: RpcSide = 'server',
): Interceptor {
  const labelNames = ['rpc_service', 'rpc_method', 'code'] as const;
  const requestsName = `rpc_${side}_requests_total`;
  const durationName = `rpc_${side}_duration_seconds`;
  const requests =
    (registry.getSingleMetric(requestsName) as Counter<(typeof labelNames)[number]> | undefined) ??
    new Counter({
      name: requestsName,
      help: `RPCs ${side === 'server' ? 'handled' : 'sent'}, by outcome code`,
      labelNames,
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric(durationName) as
      Histogram<(typeof labelNames)[number]> | undefined) ??
    new Histogram({
      name: durationName,
      help: `RPC duration in seconds (${side} side), by outcome code`,
      labelNames,
      buckets: [...rpcDurationBucketsSeconds],
      registers: [registry],
    });

  return (next) => async (req) => {
    const startedAt = process.hrtime.bigint();
    const record = (error: unknown): void => {
      const labels = {
        rpc_service: req.service.typeName,
        rpc_method: req.method.name,
        code: codeLabel(error),
      };
      requests.inc(labels);
      duration.observe(labels, Number(process.hrtime.bigint() - startedAt) / 1e9);
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        record(undefined);
        return res;
      }
      return { ...res, message: observeStream(res.message, record) };
    } catch (error) {
      record(error);
      throw error;
    }
  };
}

/** Connect code name in snake case (`invalid_argument`), or `ok` when there was no error. */
export function codeLabel(error: unknown): string {
  if (error === undefined) return 'ok';
  const code = ConnectError.from(error).code;
  return (Code[code] ?? 'unknown').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

async function* observeStream<T>(
  messages: AsyncIterable<T>,
  record: (error: unknown) => void,
): AsyncIterable<T> {
  let outcome: unknown = new ConnectError('stream abandoned before its end', Code.Canceled);
  try {
    yield* messages;
    outcome = undefined;
  } catch (error) {
    outcome = error;
    throw error;
  } finally {
    record(outcome);
  }
}
