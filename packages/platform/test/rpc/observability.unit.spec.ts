import { SpanStatusCode, trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-node';
import { describe, expect, it } from 'vitest';
import { currentLogContext, runWithLogContext } from '../../src/log/log-context.js';
import { createLogger } from '../../src/log/logger.js';
import {
  activeSpanLink,
  initTracing,
  injectTraceHeaders,
  withBatchSpan,
  withExtractedContext,
} from '../../src/obs/tracing.js';
import { runDetached } from '../../src/runtime/detached.js';
import {
  assertOutsideTransaction,
  runInTransactionScope,
} from '../../src/sql/transaction-scope.js';
import { createLogCapture } from '../fixtures/echo-service.js';

// Spans are recorded only while something exports them; these tests read recorded spans.
initTracing({
  serviceName: 'observability-test',
  spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
});
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

describe('shared workers (group commit lanes, batchers)', () => {
  const database = {};
  /** What a piece of work sees of its async context. */
  const seen = () => ({
    requestId: currentLogContext()?.requestId,
    traceId: trace.getActiveSpan()?.spanContext().traceId,
    inTransaction: (() => {
      try {
        assertOutsideTransaction(database, 'probe');
        return false;
      } catch {
        return true;
      }
    })(),
  });

  it('given a worker woken inside a request, a transaction and a span, runDetached gives it and what it schedules none of them', async () => {
    const caller = await tracer.startActiveSpan('request', async (span) => {
      const result = await runWithLogContext({ requestId: 'req-first' }, () =>
        runInTransactionScope(database, async () => {
          const inside = seen();
          const detached = runDetached(seen);
          const later = await runDetached(
            () =>
              new Promise<ReturnType<typeof seen>>((resolve) =>
                setImmediate(() => resolve(seen())),
              ),
          );
          return { inside, detached, later };
        }),
      );
      span.end();
      return result;
    });
    expect(caller.inside).toMatchObject({ requestId: 'req-first', inTransaction: true });
    expect(caller.inside.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(caller.detached).toEqual({
      requestId: undefined,
      traceId: undefined,
      inTransaction: false,
    });
    expect(caller.later).toEqual({
      requestId: undefined,
      traceId: undefined,
      inTransaction: false,
    });
  });

  it('runs a batch under its own root span that links to every caller it serves, and marks it failed when the batch throws', async () => {
    const callers = ['a', 'b'].map((name) =>
      tracer.startActiveSpan(name, (span) => {
        const link = activeSpanLink();
        span.end();
        return { link, traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
      }),
    );
    expect(activeSpanLink()).toBeUndefined();

    const batchSpan = await withBatchSpan(
      'batch',
      [...callers.map((c) => c.link), undefined],
      { 'streambet.batch.size': 2 },
      () => Promise.resolve(trace.getActiveSpan() as unknown as ReadableSpan),
    );
    expect(batchSpan.name).toBe('batch');
    expect(batchSpan.ended).toBe(true);
    expect(batchSpan.parentSpanContext).toBeUndefined();
    expect(batchSpan.attributes).toMatchObject({ 'streambet.batch.size': 2 });
    expect(callers.map((c) => c.traceId)).not.toContain(batchSpan.spanContext().traceId);
    expect(batchSpan.links.map((l) => l.context.spanId)).toEqual(callers.map((c) => c.spanId));

    let failed: ReadableSpan | undefined;
    await expect(
      withBatchSpan('failing batch', [], {}, () => {
        failed = trace.getActiveSpan() as unknown as ReadableSpan;
        return Promise.reject(new Error('ledger down'));
      }),
    ).rejects.toThrow('ledger down');
    expect(failed?.ended).toBe(true);
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
  });
});
