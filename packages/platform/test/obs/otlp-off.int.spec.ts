import diagnostics from 'node:diagnostics_channel';
import { startOtlpReceiver, type OtlpReceiver } from '@streambet/testkit/otlp-receiver';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { tracingOptions } from '../../src/obs/otlp-export.js';
import { trace } from '@opentelemetry/api';
import {
  inSpan,
  initTracing,
  injectTraceHeaders,
  withBatchSpan,
  withExtractedContext,
  activeSpanLink,
} from '../../src/obs/tracing.js';
import { tracingConfigSpec } from '../../src/runtime/platform-config.js';

// Its own file: the tracer provider is process-wide, and here it must start without an exporter.
let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await receiver?.close();
});

describe('OTLP trace export, off', () => {
  it('given no OTEL endpoint in the config, then no exporter is created and nothing goes on the network, even with one in process.env', async () => {
    // The SDK must not configure itself from the environment behind the config's back.
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', receiver.url);
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', `${receiver.url}/v1/traces`);
    const outgoing: string[] = [];
    const onRequest = (message: unknown): void => {
      const { request } = message as { request: { host: string; path: string } };
      outgoing.push(`${request.host}${request.path}`);
    };
    diagnostics.subscribe('http.client.request.start', onRequest);
    try {
      const options = tracingOptions(loadConfig(tracingConfigSpec, {}), 'user');
      expect(options.spanProcessors).toEqual([]);
      const tracing = initTracing(options);
      expect(tracing.exporting).toBe(false);

      await withExtractedContext({}, () => Promise.resolve(inSpan('work', () => 1)), {
        spanName: 'consume UserRegistered',
        service: 'user',
      });
      await tracing.forceFlush();
      await tracing.shutdown();
    } finally {
      diagnostics.unsubscribe('http.client.request.start', onRequest);
    }
    expect(outgoing).toEqual([]);
    expect(receiver.requests).toEqual([]);
  });

  it('given no exporter, then spans are not recorded, yet trace ids and traceparent still propagate', async () => {
    initTracing({ serviceName: 'user' });
    const remote = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const seen = await withExtractedContext(
      { traceparent: remote },
      () =>
        inSpan('work', async () => {
          await Promise.resolve();
          const span = trace.getActiveSpan();
          return {
            recording: span?.isRecording(),
            span: span?.spanContext(),
            headers: injectTraceHeaders(),
            link: activeSpanLink(),
          };
        }),
      { spanName: 'consume BetPlaced', service: 'user' },
    );
    expect(seen.recording).toBe(false);
    expect(seen.span?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(seen.span?.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(seen.span?.spanId).not.toBe('b7ad6b7169203331');
    // The child continues the caller's trace, sampled flag kept, with its own span id.
    expect(seen.headers.traceparent).toBe(
      `00-0af7651916cd43dd8448eb211c80319c-${seen.span!.spanId}-01`,
    );

    // A root span (no caller) still gets a fresh, valid, sampled trace id for the logs; a batch
    // serving several callers starts a new trace of its own.
    const root = inSpan('root', () => trace.getActiveSpan()?.spanContext());
    expect(root?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root?.traceId).not.toBe('00000000000000000000000000000000');
    expect(root?.traceFlags).toBe(1);
    const batch = await withBatchSpan('batch', [seen.link, root && { context: root }], {}, () =>
      Promise.resolve(trace.getActiveSpan()?.spanContext()),
    );
    expect(batch?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect([seen.span?.traceId, root?.traceId]).not.toContain(batch?.traceId);
  });
});
