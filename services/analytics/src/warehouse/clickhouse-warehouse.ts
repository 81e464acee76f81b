/**
 * The warehouse on ClickHouse (cluster mode), through `@clickhouse/client`: batched
 * `INSERT … FORMAT JSONEachRow` into ReplacingMergeTree tables whose sorting key holds the event id,
 * and metrics read with FINAL, so a redelivered event counts once. Works with Debian's 18.16 and
 * current servers (no query parameters, no async inserts; see the service README).
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { checksumOf } from '@streambet/platform/sql/migrate';
import type { Migration } from '@streambet/platform/sql/types';
import type { EventRow, FactRow, WarehouseRows } from '../domain/facts.js';
import { clickhouseMigrations } from '../clickhouse/migrations/index.js';
import type { Warehouse } from './warehouse.js';

/** Options of {@link createClickHouseWarehouse}. */
export interface ClickHouseWarehouseOptions {
  /** e.g. http://127.0.0.1:8123 (user and password may be in the URL). */
  readonly url: string;
  /** The warehouse database, created when missing. */
  readonly database: string;
  /** Per-request timeout, ms. */
  readonly requestTimeoutMs?: number;
  /** Default: the service's ClickHouse migrations. */
  readonly migrations?: readonly Migration[];
}

/** Thrown when the warehouse's applied migrations and the code disagree. */
export class ClickHouseMigrationError extends Error {
  override readonly name = 'ClickHouseMigrationError';
}

/** Connects, creates the database when missing, applies the migrations and returns the warehouse. */
export async function createClickHouseWarehouse(
  options: ClickHouseWarehouseOptions,
): Promise<Warehouse> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.database)) {
    throw new TypeError(`not a ClickHouse database name: ${options.database}`);
  }
  const timeout = options.requestTimeoutMs ?? 30_000;
  const admin = createClient({ url: options.url, request_timeout: timeout });
  try {
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${options.database}` });
  } finally {
    await admin.close();
  }
  const client = createClient({
    url: options.url,
    database: options.database,
    request_timeout: timeout,
  });
  try {
    await migrateClickHouse(client, options.migrations ?? clickhouseMigrations);
  } catch (error) {
    await client.close();
    throw error;
  }
  return wrap(client, options.database);
}

/** A fact as a JSONEachRow row of table `facts` (Int64 as strings, as 18.16 and later accept). */
export function factJson(f: FactRow): Record<string, string | number> {
  return {
    event_id: f.eventId,
    seq: f.seq,
    kind: f.kind,
    occurred_at_ms: String(f.occurredAtMs),
    currency: f.currency,
    channel_id: f.channelId,
    market_id: f.marketId,
    user_id: f.userId,
    bet_id: f.betId,
    amount_minor: String(f.amountMinor),
    commission_minor: String(f.commissionMinor),
    streamer_share_minor: String(f.streamerShareMinor),
  };
}

/** An event as a JSONEachRow row of table `events`. */
export function eventJson(e: EventRow): Record<string, string> {
  return {
    event_id: e.eventId,
    topic: e.topic,
    type: e.type,
    aggregate_id: e.aggregateId,
    occurred_at_ms: String(e.occurredAtMs),
    producer: e.producer,
    actor_user_id: e.actorUserId,
    payload_json: e.payloadJson,
  };
}

function wrap(client: ClickHouseClient, database: string): Warehouse {
  return {
    kind: 'clickhouse',
    dialect: {
      facts: `${database}.facts FINAL`,
      intDiv: (dividend, divisor) => `intDiv(${dividend}, ${divisor})`,
    },
    async write(batch: readonly WarehouseRows[]) {
      if (batch.length === 0) return;
      const facts = batch.flatMap((rows) => rows.facts);
      // Both tables at once: a batch that fails in either is written again whole, and both
      // tables drop the repeated rows.
      await Promise.all([
        facts.length === 0
          ? Promise.resolve()
          : client.insert({ table: 'facts', format: 'JSONEachRow', values: facts.map(factJson) }),
        client.insert({
          table: 'events',
          format: 'JSONEachRow',
          values: batch.map(({ event }) => eventJson(event)),
        }),
      ]);
    },
    async select(text) {
      const result = await client.query({ query: text, format: 'JSONEachRow' });
      return result.json<Record<string, unknown>>();
    },
    async ping() {
      const result = await client.ping();
      if (!result.success) throw result.error;
    },
    close: () => client.close(),
  };
}

/** Splits a migration file into statements (a `;` ending a line), without comment-only lines. */
export function statementsOf(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(/;\s*\n|;\s*$/)
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
}

/**
 * Applies the migrations ClickHouse has not recorded in `schema_migrations`, in id order, and
 * refuses a recorded one whose text changed. Replicas starting at once may both run a migration:
 * its statements are idempotent (IF NOT EXISTS), and a doubled bookkeeping row is harmless.
 */
export async function migrateClickHouse(
  client: ClickHouseClient,
  migrations: readonly Migration[],
): Promise<string[]> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS schema_migrations (
      id String, checksum String, applied_at DateTime DEFAULT now()
    ) ENGINE = MergeTree() ORDER BY id`,
  });
  const appliedRows = await (
    await client.query({
      query: 'SELECT id, any(checksum) AS checksum FROM schema_migrations GROUP BY id',
      format: 'JSONEachRow',
    })
  ).json<{ id: string; checksum: string }>();
  const applied = new Map(appliedRows.map((row) => [row.id, row.checksum]));
  const known = new Set(migrations.map((m) => m.id));
  for (const id of applied.keys()) {
    if (!known.has(id)) {
      throw new ClickHouseMigrationError(
        `The ClickHouse warehouse has migration ${id} applied, which this code does not know: the schema is newer than the code. Deploy the newer code.`,
      );
    }
  }
  const ran: string[] = [];
  for (const migration of [...migrations].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const checksum = checksumOf(migration.sql);
    const before = applied.get(migration.id);
    if (before !== undefined) {
      if (before !== checksum) {
        throw new ClickHouseMigrationError(
          `ClickHouse migration ${migration.id} was changed after it was applied (checksum ${before} applied, ${checksum} now): restore the file and put the change in a new migration.`,
        );
      }
      continue;
    }
    for (const statement of statementsOf(migration.sql)) await client.command({ query: statement });
    await client.insert({
      table: 'schema_migrations',
      format: 'JSONEachRow',
      values: [{ id: migration.id, checksum }],
    });
    ran.push(migration.id);
  }
  return ran;
}
