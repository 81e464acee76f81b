/**
 * Where spans go: an OTLP/HTTP exporter (protobuf) behind a BatchSpanProcessor, built from the
 * standard `OTEL_*` variables that every process reads and validates with its config
 * (`tracingConfigSpec` in runtime/platform-config.ts). No endpoint, no exporter: spans still exist
 * (log lines carry their ids) but never leave the process.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-node';
import type { Config } from '../config/load-config.js';
import type { tracingConfigSpec } from '../runtime/platform-config.js';
import type { InitTracingOptions } from './tracing.js';

/** The tracing part of a loaded config. */
export type TracingConfig = Config<typeof tracingConfigSpec>;

/**
 * The URL spans are POSTed to: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else
 * OTEL_EXPORTER_OTLP_ENDPOINT plus `/v1/traces` (the OTLP/HTTP rule); undefined when neither is
 * set, which turns export off.
 */
export function otlpTracesUrl(config: TracingConfig): string | undefined {
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== '') {
    return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  }
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT === '') return undefined;
  return `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
}

/** The sampler OTEL_TRACES_SAMPLER (and its ratio, OTEL_TRACES_SAMPLER_ARG) names. */
export function samplerFromConfig(config: TracingConfig): Sampler {
  const ratio = (): Sampler => new TraceIdRatioBasedSampler(config.OTEL_TRACES_SAMPLER_ARG);
  switch (config.OTEL_TRACES_SAMPLER) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
  }
}

/**
 * Options for `initTracing` from a process's config: `service.name` is OTEL_SERVICE_NAME or
 * `defaultServiceName` (the deployable, or `streambet` for the embedded platform); with an
 * endpoint, one BatchSpanProcessor (its OTEL_BSP_* tuning read by the SDK) around an OTLP/HTTP
 * protobuf exporter that sends OTEL_EXPORTER_OTLP_HEADERS with every request.
 */
export function tracingOptions(
  config: TracingConfig,
  defaultServiceName: string,
): InitTracingOptions {
  const url = otlpTracesUrl(config);
  return {
    serviceName: config.OTEL_SERVICE_NAME === '' ? defaultServiceName : config.OTEL_SERVICE_NAME,
    sampler: samplerFromConfig(config),
    spanProcessors:
      url === undefined
        ? []
        : [
            new BatchSpanProcessor(
              new OTLPTraceExporter({ url, headers: { ...config.OTEL_EXPORTER_OTLP_HEADERS } }),
            ),
          ],
  };
}
