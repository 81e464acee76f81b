import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { POSTGRES_SKIP_REASON, sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { definePolicy } from '../../src/auth/auth-interceptor.js';
import { generateSigningKeyPair, type SigningKeyPair } from '../../src/auth/tokens.js';
import { createMemoryBus } from '../../src/bus/memory.js';
import type { EventBus, EventEnvelope } from '../../src/bus/types.js';
import { createMemoryCache } from '../../src/cache/memory.js';
import { loadConfig } from '../../src/config/load-config.js';
import { appendToOutbox } from '../../src/outbox/outbox.js';
import { platformConfigSpec, type PlatformConfig } from '../../src/runtime/platform-config.js';
import {
  startService,
  type RunningService,
  type ServiceDefinition,
} from '../../src/runtime/service-host.js';
import { EchoService } from '../fixtures/echo-service.js';

/**
 * A small service on the platform runtime: Mutate records a note and emits an event through the
 * outbox; its own consumer records every event it receives; Echo answers how many it received.
 */
const notesService: ServiceDefinition = {
  name: 'analytics',
  migrations: [
    {
      id: '0001_notes',
      sql: 'CREATE TABLE notes (text text PRIMARY KEY); CREATE TABLE received (event_id text PRIMARY KEY, text text NOT NULL);',
    },
  ],
  create: (ctx) => ({
    routes(router) {
      router.service(EchoService, {
        async mutate(req) {
          await ctx.sql.transaction(async (tx) => {
            await tx.query('INSERT INTO notes (text) VALUES ($1)', [req.text]);
            await appendToOutbox(tx, [
              {
                topic: 'notes',
                key: 'notes',
                type: 'streambet.testing.v1.Noted',
                payload: new TextEncoder().encode(req.text),
              },
            ]);
          });
          if (!req.text.startsWith('quiet')) ctx.outboxCommitted();
          return { text: req.text };
        },
        async echo() {
          const rows = await ctx.sql.query<{ n: bigint }>(
            'SELECT count(*)::bigint AS n FROM received',
          );
          return { text: String(rows.rows[0]?.n) };
        },
      });
    },
    policy: definePolicy(EchoService, {
      echo: ['public'],
      mutate: ['public'],
      slow: ['public'],
      fail: ['public'],
      count: ['public'],
    }),
    consumers: [
      {
        name: 'notes',
        topics: ['notes'],
        async handle(event, tx) {
          await tx.query('INSERT INTO received (event_id, text) VALUES ($1, $2)', [
            event.id,
            new TextDecoder().decode(event.payload),
          ]);
        },
      },
    ],
  }),
};

/** The real in-process bus, recording what was published (so a test can see the outbox flush). */
function recordingBus(): EventBus & { published: EventEnvelope[] } {
  const bus = createMemoryBus();
  const published: EventEnvelope[] = [];
  return Object.assign(Object.create(bus) as EventBus, {
    kind: bus.kind,
    published,
    async publish(events: readonly EventEnvelope[]) {
      await bus.publish(events);
      published.push(...events);
    },
    async publishAndConfirm(events: readonly EventEnvelope[]) {
      await bus.publishAndConfirm(events);
      published.push(...events);
    },
    subscribe: bus.subscribe.bind(bus),
    ping: bus.ping.bind(bus),
    close: bus.close.bind(bus),
  });
}

let keys: SigningKeyPair;
beforeAll(async () => {
  keys = await generateSigningKeyPair('analytics:1');
});

function testConfig(): PlatformConfig {
  return loadConfig(platformConfigSpec('analytics'), {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    SHUTDOWN_GRACE_MS: '2000',
    SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify(keys.privateJwk),
    SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify(keys.publicJwks),
  });
}

const targets = sqlTargets();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each(targets.map((t) => [t.name, t] as const))('service host on %s', (_name, target) => {
  async function start(): Promise<{
    service: RunningService;
    db: SqlTestDatabase;
    bus: ReturnType<typeof recordingBus>;
    client: ReturnType<typeof createClient<typeof EchoService>>;
  }> {
    const db = await target.create();
    const bus = recordingBus();
    const cache = createMemoryCache();
    const service = await startService(notesService, {
      config: testConfig(),
      infra: { sql: db.sql, bus, cache, close: async () => {} },
    });
    cleanups.push(async () => {
      await service.shutdown();
      await bus.close();
      await db.dispose();
    });
    const client = createClient(EchoService, createGrpcTransport({ baseUrl: service.url }));
    return { service, db, bus, client };
  }

  it('given a committed change, then its event reaches the consumer once, and a duplicate delivery changes nothing', async () => {
    const { bus, client } = await start();
    await client.mutate({ text: 'first' });
    await vi.waitFor(async () => expect((await client.echo({})).text).toBe('1'));
    // The bus delivers the same event again, then a new one with the same key: per-key order
    // means the duplicate was handled (and skipped) before the new one is counted.
    const original = bus.published.find((e) => new TextDecoder().decode(e.payload) === 'first')!;
    await bus.publish([original]);
    await client.mutate({ text: 'second' });
    await vi.waitFor(async () => expect((await client.echo({})).text).toBe('2'));
  });

  it('given a dead letter replayed for another group, then this group acknowledges it without handling it', async () => {
    const { bus, client } = await start();
    await client.mutate({ text: 'first' });
    await vi.waitFor(async () => expect((await client.echo({})).text).toBe('1'));
    const original = bus.published.find((e) => new TextDecoder().decode(e.payload) === 'first')!;
    const replayed = (group: string, id: string): EventEnvelope => ({
      ...original,
      id,
      headers: { ...original.headers, 'dlq-replay-for-group': group },
    });
    // Per-key order: the marker published last is counted only after both replays were handled.
    await bus.publish([
      replayed('analytics.other', 'replay-other'),
      replayed('analytics.notes', 'replay-own'),
    ]);
    await vi.waitFor(async () => expect((await client.echo({})).text).toBe('2'));
    await client.mutate({ text: 'marker' });
    await vi.waitFor(async () => expect((await client.echo({})).text).toBe('3'));
  });

  it('given an event committed without waking the relay, when the service shuts down, then the outbox is flushed to the bus first', async () => {
    const { service, bus, client } = await start();
    await client.mutate({ text: 'quiet-1' });
    await service.shutdown();
    expect(bus.published.map((e) => new TextDecoder().decode(e.payload))).toContain('quiet-1');
  });

  it('given the database goes away, then readiness fails naming it while liveness holds', async () => {
    const { service, db } = await start();
    expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);
    await db.sql.close();
    const probe = await fetch(`${service.url}/health/ready`);
    expect(probe.status).toBe(503);
    const body = (await probe.json()) as { failing: Record<string, string> };
    expect(Object.keys(body.failing)).toEqual(['database']);
    expect((await fetch(`${service.url}/health/live`)).status).toBe(200);
  });
});

if (targets.length === 1) {
  describe.skip(`service host on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs the same cases on real PostgreSQL', () => {});
  });
}
