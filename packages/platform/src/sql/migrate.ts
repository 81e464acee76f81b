import { createHash } from 'node:crypto';
import type { Migration, Sql, SqlExecutor } from './types.js';

/** The subset of the platform logger (pino) that migrations use. */
export interface MigrationLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  readonly logger?: MigrationLogger;
  /**
   * What to do when the database has applied a migration this code does not know (the schema is
   * newer than the code: a rollback, or an old replica restarting during a rolling deploy).
   * `error` (default) refuses to start; `warn` logs and continues — only safe when every newer
   * migration is backward compatible (expand/contract).
   */
  readonly onUnknownApplied?: 'error' | 'warn';
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Ids applied by this call, in order. Empty when the schema was up to date (or another replica applied them). */
  readonly applied: readonly string[];
}

/** Thrown when the database and the code disagree about migrations; the message names the migration. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    message: string,
    /** The migration the error is about. */
    readonly migrationId: string,
  ) {
    super(message);
  }
}

/**
 * Brings the service's database (or embedded schema) up to date: applies every migration not yet in
 * `schema_migrations`, in `id` order, each in its own transaction together with its bookkeeping row,
 * so a crash leaves either the whole migration or none of it.
 *
 * Every transaction first takes a transaction-scoped advisory lock keyed by service and schema, then
 * re-reads what is applied: replicas starting at once on PostgreSQL wait for each other and each
 * migration runs exactly once. An applied migration whose SQL changed (checksum of the text) is an
 * error naming it: shipped migrations are never edited, a new one is added instead.
 *
 * Statements that cannot run inside a transaction (`CREATE INDEX CONCURRENTLY`) are not supported.
 */
export async function migrate(
  sql: Sql,
  serviceName: string,
  migrations: readonly Migration[],
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const ordered = validate(serviceName, migrations);
  const lockKey = `streambet.migrate:${serviceName}`;

  await sql.transaction(async (tx) => {
    await lock(tx, lockKey);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      id text PRIMARY KEY,
      checksum text NOT NULL,
      service text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
  });

  const applied = await readApplied(sql);
  const known = new Map(ordered.map((migration) => [migration.id, migration]));
  for (const row of applied.values()) {
    if (known.has(row.id)) continue;
    const message =
      `The ${serviceName} database has migration ${row.id} applied (at ${row.appliedAt.toISOString()}), ` +
      'which this code does not know: the schema is newer than the code. Deploy the newer code, or ' +
      'set onUnknownApplied: "warn" if the newer migrations are backward compatible.';
    if ((options.onUnknownApplied ?? 'error') === 'error')
      throw new MigrationError(message, row.id);
    options.logger?.warn({ migrationId: row.id }, message);
  }

  const appliedNow: string[] = [];
  for (const migration of ordered) {
    const checksum = checksumOf(migration.sql);
    const before = applied.get(migration.id);
    if (before !== undefined) {
      assertSameChecksum(serviceName, migration.id, before.checksum, checksum);
      continue;
    }
    const ran = await sql.transaction(async (tx) => {
      await lock(tx, lockKey);
      const existing = await tx.query<{ checksum: string }>(
        'SELECT checksum FROM schema_migrations WHERE id = $1',
        [migration.id],
      );
      const row = existing.rows[0];
      if (row !== undefined) {
        assertSameChecksum(serviceName, migration.id, row.checksum, checksum);
        return false; // another replica applied it while we waited for the lock
      }
      await tx.query(migration.sql);
      await tx.query('INSERT INTO schema_migrations (id, checksum, service) VALUES ($1, $2, $3)', [
        migration.id,
        checksum,
        serviceName,
      ]);
      return true;
    });
    if (ran) {
      appliedNow.push(migration.id);
      options.logger?.info({ migrationId: migration.id }, 'migration applied');
    }
  }
  return { applied: appliedNow };
}

/** sha256 of the migration text with line endings normalised (a checkout with CRLF is not a change). */
export function checksumOf(sqlText: string): string {
  return createHash('sha256').update(sqlText.replaceAll('\r\n', '\n').trim()).digest('hex');
}

function validate(serviceName: string, migrations: readonly Migration[]): Migration[] {
  const seen = new Set<string>();
  for (const migration of migrations) {
    if (migration.id.trim() === '')
      throw new MigrationError(`A ${serviceName} migration has an empty id.`, migration.id);
    if (seen.has(migration.id)) {
      throw new MigrationError(
        `Migration id ${migration.id} appears twice in the ${serviceName} migrations.`,
        migration.id,
      );
    }
    seen.add(migration.id);
  }
  return [...migrations].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function lock(tx: SqlExecutor, key: string): Promise<void> {
  // Keyed by the current schema too: embedded services share one database, one schema each.
  await tx.query(
    "SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || current_schema(), 0))",
    [key],
  );
}

interface AppliedRow {
  readonly id: string;
  readonly checksum: string;
  readonly appliedAt: Date;
}

async function readApplied(sql: Sql): Promise<Map<string, AppliedRow>> {
  const result = await sql.query<{ id: string; checksum: string; applied_at: Date }>(
    'SELECT id, checksum, applied_at FROM schema_migrations ORDER BY id',
  );
  return new Map(
    result.rows.map((row) => [
      row.id,
      { id: row.id, checksum: row.checksum, appliedAt: row.applied_at },
    ]),
  );
}

function assertSameChecksum(
  serviceName: string,
  id: string,
  appliedChecksum: string,
  codeChecksum: string,
): void {
  if (appliedChecksum === codeChecksum) return;
  throw new MigrationError(
    `Migration ${id} of ${serviceName} was changed after it was applied (checksum ${appliedChecksum.slice(0, 12)}… in the database, ` +
      `${codeChecksum.slice(0, 12)}… in the code). Shipped migrations must not be edited: restore it and add a new migration.`,
    id,
  );
}
