import diagnostics from 'node:diagnostics_channel';
import { startOtlpReceiver, type OtlpReceiver } from '@streambet/testkit/otlp-receiver';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { tracingOptions } from '../../src/obs/otlp-export.js';
import { inSpan, initTracing, withExtractedContext } from '../../src/obs/tracing.js';
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
});
