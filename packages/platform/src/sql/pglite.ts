import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type Transaction as PGliteTransaction, type Results } from '@electric-sql/pglite';
import type {
  IsolationLevel,
  Sql,
  SqlExecutor,
  SqlResult,
  SqlValue,
  TransactionOptions,
} from './types.js';
import { acquireFolderLock, type FolderLock } from './folder-lock.js';
import { createMutex, type Mutex } from './mutex.js';
import {
  SqlUsageError,
  assertOutsideTransaction,
  runInTransactionScope,
} from './transaction-scope.js';

/** Options of {@link openEmbeddedDatabase}. */
export interface EmbeddedDatabaseOptions {
  /**
   * Folder that holds the database (`<dataDir>/pgdata`) and its lock file (`<dataDir>/streambet.lock`).
   * Created when missing. Undefined: in memory, gone on close (tests).
   */
  readonly dataDir?: string;
  /**
   * A data-folder tarball (from {@link EmbeddedDatabase.dumpDataDir}) used instead of `initdb` when the
   * database does not exist yet. Tests use a cached one: about 1 s instead of 3–6 s per database.
   */
  readonly template?: Blob;
}

/**
 * One embedded PostgreSQL (PGlite) per process, shared by every service in it. Each service gets
 * its own schema ({@link forSchema}) — the embedded stand-in for "one database per service" —
 * because one PGlite instance costs 230–800 MB and seconds to start.
 */
export interface EmbeddedDatabase {
  /** The folder, or undefined when in memory. */
  readonly dataDir: string | undefined;
  /**
   * The SQL port for one service: every statement and transaction runs with `search_path` set to
   * `schema` (created if missing). Schema names: lower-case letters, digits, `_`; at most 63.
   * Do not change `search_path` yourself through the returned object.
   */
  forSchema(schema: string): Promise<Sql>;
  /** Tarball of the whole data folder (uncompressed), e.g. to seed {@link EmbeddedDatabaseOptions.template}. */
  dumpDataDir(): Promise<Blob>;
  /** Waits for running statements, closes the engine and releases the folder lock. Idempotent. */
  close(): Promise<void>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Opens (creating if needed) the process's embedded database. With a `dataDir`, the folder is locked
 * for this process first: a second process gets a clear error instead of a corrupted database; the
 * lock of a crashed process is taken over.
 */
export async function openEmbeddedDatabase(
  options: EmbeddedDatabaseOptions = {},
): Promise<EmbeddedDatabase> {
  const dataDir = options.dataDir === undefined ? undefined : path.resolve(options.dataDir);
  const lock: FolderLock | undefined =
    dataDir === undefined ? undefined : acquireFolderLock(dataDir);
  let engine: PGlite;
  try {
    const pgdata = dataDir === undefined ? undefined : path.join(dataDir, 'pgdata');
    const exists = pgdata !== undefined && fs.existsSync(path.join(pgdata, 'PG_VERSION'));
    engine = await PGlite.create({
      ...(pgdata === undefined ? {} : { dataDir: pgdata }),
      ...(options.template !== undefined && !exists ? { loadDataDir: options.template } : {}),
      // PGlite's default BIGINT parser returns a JS number when the value fits; the port promises bigint always.
      parsers: {
        [INT8_OID]: (value: string) => BigInt(value),
        [NUMERIC_OID]: (value: string) => value,
      },
    });
  } catch (error) {
    lock?.release();
    throw error;
  }
  return createEmbeddedDatabase(engine, dataDir, lock);
}

interface Engine {
  readonly pg: PGlite;
  readonly mutex: Mutex;
  /** The schema `search_path` currently points at; statements only change it when it differs. */
  currentSchema: string | undefined;
  closed: boolean;
}

function createEmbeddedDatabase(
  pg: PGlite,
  dataDir: string | undefined,
  lock: FolderLock | undefined,
): EmbeddedDatabase {
  const engine: Engine = { pg, mutex: createMutex(), currentSchema: undefined, closed: false };
  let closing: Promise<void> | undefined;

  function assertOpen(): void {
    if (engine.closed) throw new SqlUsageError('The embedded database was closed.');
  }

  async function forSchema(schema: string): Promise<Sql> {
    assertOpen();
    if (!SCHEMA_NAME.test(schema)) {
      throw new SqlUsageError(
        `Invalid schema name ${JSON.stringify(schema)}: use lower-case letters, digits and "_" (e.g. "bet_engine"), at most 63 characters.`,
      );
    }
    assertOutsideTransaction(engine, 'embedded.forSchema()');
    await engine.mutex.runExclusive(async () => {
      await engine.pg.exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
    });
    return createSchemaSql(engine, schema);
  }

  async function dumpDataDir(): Promise<Blob> {
    assertOpen();
    return engine.mutex.runExclusive(() => engine.pg.dumpDataDir('none'));
  }

  async function close(): Promise<void> {
    closing ??= (async () => {
      try {
        await engine.mutex.runExclusive(async () => {
          engine.closed = true;
          await engine.pg.close();
        });
      } finally {
        lock?.release();
      }
    })();
    await closing;
  }

  return { dataDir, forSchema, dumpDataDir, close };
}

function createSchemaSql(engine: Engine, schema: string): Sql {
  let closed = false;

  function assertOpen(): void {
    if (closed)
      throw new SqlUsageError(
        `This Sql (schema ${schema}) was closed; it no longer accepts statements.`,
      );
    if (engine.closed) throw new SqlUsageError('The embedded database was closed.');
  }

  async function useSchema(): Promise<void> {
    if (engine.currentSchema === schema) return;
    engine.currentSchema = undefined;
    await engine.pg.exec(`SET search_path TO ${quoteIdentifier(schema)}`);
    engine.currentSchema = schema;
  }

  async function query<Row>(text: string, params?: readonly SqlValue[]): Promise<SqlResult<Row>> {
    assertOpen();
    assertOutsideTransaction(engine, 'sql.query()');
    return engine.mutex.runExclusive(async () => {
      assertOpen();
      await useSchema();
      return runStatement<Row>(engine.pg, text, params);
    });
  }

  async function transaction<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
    options?: TransactionOptions,
  ): Promise<T> {
    assertOpen();
    assertOutsideTransaction(engine, 'sql.transaction()');
    const isolation = isolationSql[options?.isolation ?? 'read committed'];
    if (isolation === undefined)
      throw new SqlUsageError(`Unknown isolation level: ${String(options?.isolation)}`);
    // The mutex is held from BEGIN to COMMIT/ROLLBACK: the engine has one backend, so nothing else may interleave.
    return engine.mutex.runExclusive(async () => {
      assertOpen();
      await useSchema();
      return engine.pg.transaction(async (pgTx) => {
        await pgTx.exec(`SET TRANSACTION ISOLATION LEVEL ${isolation}`);
        let finished = false;
        const tx: SqlExecutor = {
          query<Row>(text: string, params?: readonly SqlValue[]): Promise<SqlResult<Row>> {
            if (finished) {
              return Promise.reject(
                new SqlUsageError(
                  'This transaction already ended (committed or rolled back); its `tx` cannot run statements. Was a statement not awaited?',
                ),
              );
            }
            return runStatement<Row>(pgTx, text, params);
          },
        };
        try {
          return await runInTransactionScope(engine, () => fn(tx));
        } finally {
          finished = true;
        }
      });
    });
  }

  async function ping(): Promise<void> {
    await query('SELECT 1');
  }

  function close(): Promise<void> {
    closed = true;
    return Promise.resolve();
  }

  return { dialect: 'pglite', query, transaction, ping, close };
}

const isolationSql: Record<IsolationLevel, string> = {
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
};

/**
 * Without parameters: the simple protocol (`exec`), which accepts several `;`-separated statements
 * like pg does; the last statement's result is returned. With parameters: the extended protocol.
 */
async function runStatement<Row>(
  target: PGlite | PGliteTransaction,
  text: string,
  params: readonly SqlValue[] | undefined,
): Promise<SqlResult<Row>> {
  if (params === undefined || params.length === 0) {
    const results = await target.exec(text);
    return toResult<Row>(results.at(-1));
  }
  return toResult<Row>(await target.query<Row>(text, params as unknown[]));
}

function toResult<Row>(result: Results<unknown> | undefined): SqlResult<Row> {
  if (result === undefined) return { rows: [], rowCount: 0 };
  const rows = result.rows as Row[];
  const counted = (result as { rowCount?: number }).rowCount;
  return { rows, rowCount: counted ?? result.affectedRows ?? rows.length };
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
