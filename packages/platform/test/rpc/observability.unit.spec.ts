import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { runWithLogContext } from '../../src/log/log-context.js';
import { createLogger } from '../../src/log/logger.js';
import { initTracing, injectTraceHeaders, withExtractedContext } from '../../src/obs/tracing.js';
import { createLogCapture } from '../fixtures/echo-service.js';

initTracing({ serviceName: 'observability-test' });
const tracer = trace.getTracer('test');

describe('logger', () => {
  it('writes JSON lines carrying service, requestId, extra fields and the active trace', () => {
    const logs = createLogCapture();
    const logger = createLogger({ service: 'bet-engine', destination: logs.destination });
    logger.info('outside');
    const spanContext = tracer.startActiveSpan('work', (span) => {
      runWithLogContext({ requestId: 'req-1', fields: { eventId: 'evt-9' } }, () =>
        logger.info({ betId: 'b-1' }, 'inside'),
      );
      span.end();
      return span.spanContext();
    });
    const [outside, inside] = logs.lines();
    expect(outside).toMatchObject({ level: 'info', service: 'bet-engine', msg: 'outside' });
    expect(outside).not.toHaveProperty('requestId');
    expect(outside).not.toHaveProperty('traceId');
    expect(inside).toMatchObject({
      service: 'bet-engine',
      msg: 'inside',
      betId: 'b-1',
      requestId: 'req-1',
      eventId: 'evt-9',
      traceId: spanContext.traceId,
      spanId: spanContext.spanId,
    });
  });

  it('redacts credentials wherever a handler logs them', () => {
    const logs = createLogCapture();
    const logger = createLogger({ service: 'user', destination: logs.destination });
    logger.info(
      {
        headers: { authorization: 'Bearer secret-token', 'content-type': 'application/json' },
        password: 'hunter2',
        user: { password: 'hunter3', name: 'ann' },
      },
      'login',
    );
    const line = JSON.stringify(logs.lines()[0]);
    expect(line).not.toMatch(/secret-token|hunter2|hunter3/);
    expect(logs.lines()[0]).toMatchObject({
      headers: { authorization: '[redacted]', 'content-type': 'application/json' },
      password: '[redacted]',
      user: { password: '[redacted]', name: 'ann' },
    });
  });
});

describe('trace propagation through event headers', () => {
  it('injects traceparent and continues the trace in the consumer with a CONSUMER span', async () => {
    const { headers, producer } = tracer.startActiveSpan('produce', (span) => {
      const headers = injectTraceHeaders({ 'content-type': 'application/protobuf' });
      span.end();
      return { headers, producer: span.spanContext() };
    });
    expect(headers.traceparent).toBe(`00-${producer.traceId}-${producer.spanId}-01`);
    expect(headers['content-type']).toBe('application/protobuf');

    const consumer = await withExtractedContext(
      headers,
      async () => {
        await Promise.resolve();
        return trace.getActiveSpan()?.spanContext();
      },
      { spanName: 'consume bet.placed' },
    );
    expect(consumer?.traceId).toBe(producer.traceId);
    expect(consumer?.spanId).not.toBe(producer.spanId);

    const plain = withExtractedContext(headers, () => trace.getActiveSpan()?.spanContext());
    expect(plain?.traceId).toBe(producer.traceId);
  });

  it('without headers, runs outside any trace', () => {
    expect(withExtractedContext({}, () => trace.getActiveSpan())).toBeUndefined();
    expect(injectTraceHeaders()).toEqual({});
  });
});
