import { startOtlpReceiver, type OtlpReceiver } from '@streambet/testkit/otlp-receiver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { tracingOptions } from '../../src/obs/otlp-export.js';
import { inSpan, initTracing } from '../../src/obs/tracing.js';
import { tracingConfigSpec } from '../../src/runtime/platform-config.js';

// Its own file: the tracer provider is process-wide, and here it is registered before export.
let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

describe('OTLP trace export installed after registration', () => {
  it('given tracing registered without an exporter (an RPC server, npm start), when the entry point then brings the OTEL_* config, then spans are exported under the first resource name', async () => {
    const registered = initTracing({ serviceName: 'streambet' });
    expect(registered.exporting).toBe(false);
    const config = loadConfig(tracingConfigSpec, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    const tracing = initTracing(tracingOptions(config, 'gateway'));
    expect(tracing).toBe(registered);
    expect(tracing.exporting).toBe(true);
    // A later call with another exporter is not installed twice.
    initTracing(tracingOptions(config, 'user'));

    inSpan('after install', () => undefined);
    await tracing.shutdown();

    expect(receiver.requests).toHaveLength(1);
    expect(receiver.spans().map((span) => [span.name, span.resourceServiceName])).toEqual([
      ['after install', 'streambet'],
    ]);
  });
});
