import { SpanKind } from '@opentelemetry/api';
import { startOtlpReceiver, type OtlpReceiver } from '@streambet/testkit/otlp-receiver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';
import { otlpTracesUrl, samplerFromConfig, tracingOptions } from '../../src/obs/otlp-export.js';
import {
  activeSpanLink,
  inSpan,
  initTracing,
  injectTraceHeaders,
  serviceAttribute,
  withBatchSpan,
  withExtractedContext,
  type Tracing,
} from '../../src/obs/tracing.js';
import { tracingConfigSpec } from '../../src/runtime/platform-config.js';

// One tracer provider per process (OpenTelemetry's registration is global): this file registers it
// with an exporter pointed at the receiver; otlp-off.int.spec.ts checks the other way round.
let receiver: OtlpReceiver;
let tracing: Tracing;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const config = loadConfig(tracingConfigSpec, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`,
    OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s3cret%20key, x-tenant=streambet',
  });
  tracing = initTracing(tracingOptions(config, 'bet-engine'));
});
afterAll(async () => {
  await tracing?.shutdown();
  await receiver?.close();
});

describe('OTLP trace export', () => {
  it('given an endpoint, when spans end and tracing flushes, then the receiver decodes them: resource, names, parent/child ids, service labels, headers', async () => {
    // A bus hop: the producer injects traceparent, the consumer continues it and pushes.
    const headers = inSpan('produce', () => injectTraceHeaders({ producer: 'pool' }));
    await withExtractedContext(
      headers,
      () => Promise.resolve(inSpan('realtime push', () => 'sent', { kind: SpanKind.PRODUCER })),
      {
        spanName: 'consume MarketOpened',
        service: 'realtime',
        attributes: { 'messaging.system': 'memory' },
      },
    );
    expect(tracing.exporting).toBe(true);
    await tracing.forceFlush();

    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const request of receiver.requests) {
      expect(request).toMatchObject({ method: 'POST', path: '/v1/traces' });
      expect(request.headers['content-type']).toBe('application/x-protobuf');
      expect(request.headers['x-api-key']).toBe('s3cret key');
      expect(request.headers['x-tenant']).toBe('streambet');
    }
    const byName = new Map(receiver.spans().map((span) => [span.name, span]));
    const produce = byName.get('produce')!;
    const consume = byName.get('consume MarketOpened')!;
    const push = byName.get('realtime push')!;
    expect(produce.resourceServiceName).toBe('bet-engine');
    expect(produce.parentSpanId).toBe('');
    expect(consume).toMatchObject({
      traceId: produce.traceId,
      parentSpanId: produce.spanId,
      kind: 5,
      attributes: { [serviceAttribute]: 'realtime', 'messaging.system': 'memory' },
    });
    expect(push).toMatchObject({
      traceId: produce.traceId,
      parentSpanId: consume.spanId,
      kind: 4,
      // inherited from the consumer's context, not set by the push itself
      attributes: { [serviceAttribute]: 'realtime' },
    });
    expect(produce.attributes[serviceAttribute]).toBeUndefined();
  });

  it("given a batch serving one caller, then it is that caller's child (one trace); serving several, a root span linking each", async () => {
    const caller = (name: string) =>
      withExtractedContext({}, () => inSpan(name, () => activeSpanLink()), {
        spanName: `rpc ${name}`,
        service: 'bet-engine',
      });
    const lone = caller('lone');
    await withBatchSpan('batch of one', [lone], {}, () =>
      Promise.resolve(inSpan('ledger call', () => undefined)),
    );
    const many = [caller('a'), caller('b')];
    await withBatchSpan('batch of two', [...many, undefined], {}, () => Promise.resolve());
    await tracing.forceFlush();

    const byName = new Map(receiver.spans().map((span) => [span.name, span]));
    const loneSpan = byName.get('lone')!;
    const batchOfOne = byName.get('batch of one')!;
    expect(batchOfOne).toMatchObject({
      traceId: loneSpan.traceId,
      parentSpanId: loneSpan.spanId,
      links: [],
      attributes: { [serviceAttribute]: 'bet-engine' },
    });
    expect(byName.get('ledger call')).toMatchObject({
      traceId: loneSpan.traceId,
      parentSpanId: batchOfOne.spanId,
      attributes: { [serviceAttribute]: 'bet-engine' },
    });
    const batchOfTwo = byName.get('batch of two')!;
    expect(batchOfTwo.parentSpanId).toBe('');
    expect(batchOfTwo.attributes[serviceAttribute]).toBe('bet-engine');
    expect(batchOfTwo.links.map((link) => link.spanId)).toEqual(
      ['a', 'b'].map((name) => byName.get(name)!.spanId),
    );
  });

  it('given a second initTracing (another service of an embedded process), then the same provider and exporter serve it', () => {
    expect(initTracing({ serviceName: 'user' })).toBe(tracing);
    expect(tracing.exporting).toBe(true);
  });
});

describe('tracing configuration (OTEL_* variables)', () => {
  it('given nothing set, then export is off and the sampler follows the caller', () => {
    const config = loadConfig(tracingConfigSpec, {});
    expect(otlpTracesUrl(config)).toBeUndefined();
    expect(tracingOptions(config, 'user')).toMatchObject({
      serviceName: 'user',
      spanProcessors: [],
    });
    expect(samplerFromConfig(config).toString()).toBe(
      'ParentBased{root=AlwaysOnSampler, remoteParentSampled=AlwaysOnSampler, remoteParentNotSampled=AlwaysOffSampler, localParentSampled=AlwaysOnSampler, localParentNotSampled=AlwaysOffSampler}',
    );
  });

  it('given a traces endpoint, a service name and a ratio sampler, then they win over the defaults', () => {
    const config = loadConfig(tracingConfigSpec, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/base',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp',
      OTEL_SERVICE_NAME: 'streambet-eu',
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect(otlpTracesUrl(config)).toBe('https://traces.example.com/otlp');
    expect(otlpTracesUrl({ ...config, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' })).toBe(
      'http://collector:4318/base/v1/traces',
    );
    expect(tracingOptions(config, 'user').serviceName).toBe('streambet-eu');
    expect(tracingOptions(config, 'user').spanProcessors).toHaveLength(1);
    expect(samplerFromConfig(config).toString()).toBe('TraceIdRatioBased{0.25}');
  });

  it('given bad values, then loading fails naming every bad variable (the process exits 78)', () => {
    let error: unknown;
    try {
      loadConfig(tracingConfigSpec, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317',
        OTEL_EXPORTER_OTLP_HEADERS: 'api-key',
        OTEL_TRACES_SAMPLER: 'sometimes',
        OTEL_TRACES_SAMPLER_ARG: '1.5',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.name)).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'OTEL_EXPORTER_OTLP_HEADERS',
      'OTEL_TRACES_SAMPLER',
      'OTEL_TRACES_SAMPLER_ARG',
    ]);
    // Headers may hold credentials: never echoed.
    expect(problems[2]!.problem).toBe('(value hidden) is invalid (each entry must be name=value)');
  });
});
