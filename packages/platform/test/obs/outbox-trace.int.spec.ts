import { trace } from '@opentelemetry/api';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inSpan, initTracing } from '../../src/obs/tracing.js';
import { appendToOutbox, platformMigrations, type OutboxEvent } from '../../src/outbox/index.js';
import { migrate } from '../../src/sql/migrate.js';

initTracing({ serviceName: 'outbox-trace-test' });
const [pglite] = sqlTargets();
let db: SqlTestDatabase;

beforeAll(async () => {
  db = await pglite!.create();
  await migrate(db.sql, 'outbox-trace-test', platformMigrations);
});
afterAll(async () => {
  await db?.dispose();
});

const event = (key: string, headers?: Record<string, string>): OutboxEvent => ({
  topic: 'market',
  key,
  type: 'streambet.test.Happened',
  payload: new Uint8Array([1]),
  ...(headers === undefined ? {} : { headers }),
});

describe('the outbox carries the trace of the change', () => {
  it('given a change inside a span, then each event gets its traceparent unless it brings its own; outside any span, no headers', async () => {
    const foreign = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const { envelopes, spanContext } = await inSpan('change', async () => ({
      envelopes: await db.sql.transaction((tx) =>
        appendToOutbox(tx, [
          event('a'),
          event('b', { producer: 'pool' }),
          event('c', { traceparent: foreign }),
        ]),
      ),
      spanContext: trace.getActiveSpan()!.spanContext(),
    }));
    const traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-01`;
    expect(envelopes.map((envelope) => envelope.headers)).toEqual([
      { traceparent },
      { traceparent, producer: 'pool' },
      { traceparent: foreign },
    ]);
    const stored = await db.sql.query<{ key: string; headers: Record<string, string> }>(
      `SELECT key, headers FROM outbox WHERE key IN ('a', 'b', 'c') ORDER BY key`,
    );
    expect(stored.rows.map((row) => row.headers)).toEqual(
      envelopes.map((envelope) => envelope.headers),
    );

    const untraced = await db.sql.transaction((tx) => appendToOutbox(tx, [event('d')]));
    expect(untraced[0]!.headers).toEqual({});
  });
});
