import pg from 'pg';
import type {
  IsolationLevel,
  Sql,
  SqlExecutor,
  SqlResult,
  QueryOptions,
  SqlValue,
  TransactionOptions,
} from './types.js';
import {
  SqlUsageError,
  assertOutsideTransaction,
  runInTransactionScope,
} from './transaction-scope.js';

/** Options of {@link createPostgresSql}. Read from the service's config, never from the environment here. */
export interface PostgresSqlOptions {
  /** `postgres://user:pass@host:port/database`; one database per service. */
  readonly connectionString: string;
  /** Pool size. PostgreSQL's default `max_connections` is 100 for the whole server: keep replicas × pool below it. Default 10. */
  readonly maxConnections?: number;
  /** Shown in `pg_stat_activity`, so an operator can tell which service holds a connection. */
  readonly applicationName?: string;
  /** How long to wait for a free or new connection before failing the call. Default 10 000. */
  readonly connectionTimeoutMs?: number;
  /** Idle connections are closed after this long. Default 30 000. */
  readonly idleTimeoutMs?: number;
  /** Server-side `statement_timeout`; unset means none. */
  readonly statementTimeoutMs?: number;
  /**
   * Errors of idle pooled connections (server restart, network cut). The pool drops the connection
   * and reconnects on demand; without a listener such an error would crash the process.
   */
  readonly onIdleConnectionError?: (error: Error) => void;
}

const INT8_OID = 20;
const INT8_ARRAY_OID = 1016;
const NUMERIC_OID = 1700;
const NUMERIC_ARRAY_OID = 1231;
const TEXT_ARRAY_OID = 1009;

/** pg's built-in (process-wide) parsers, read but never modified here. */
const builtinParser = pg.types.getTypeParser as (
  oid: number,
  format: 'text' | 'binary',
) => (value: string) => unknown;

/**
 * Type parsers for this pool only (never `pg.types.setTypeParser`, which would change every
 * other pg user in the process): BIGINT → `bigint` so money never passes through a float,
 * NUMERIC → string so odds and ratios keep every digit for decimal.js.
 */
const poolTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === 'binary') return builtinParser(oid, 'binary');
    switch (oid) {
      case INT8_OID:
        return (value: string) => BigInt(value);
      case INT8_ARRAY_OID: {
        const parseTextArray = builtinParser(TEXT_ARRAY_OID, 'text');
        return (value: string) => mapArray(parseTextArray(value), (element) => BigInt(element));
      }
      case NUMERIC_OID:
        return (value: string) => value;
      case NUMERIC_ARRAY_OID:
        return builtinParser(TEXT_ARRAY_OID, 'text');
      default:
        return builtinParser(oid, 'text');
    }
  }) as pg.CustomTypesConfig['getTypeParser'],
};

function mapArray(value: unknown, map: (element: string) => unknown): unknown {
  if (Array.isArray(value)) return value.map((element) => mapArray(element, map));
  return value === null ? null : map(value as string);
}

const isolationSql: Record<IsolationLevel, string> = {
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
};

/**
 * The SQL port over a real PostgreSQL server through a `pg` Pool. Statements without parameters use
 * the simple protocol (several `;`-separated statements allowed, as migrations need); with
 * parameters the extended protocol (one statement). `transaction()` holds one pooled connection
 * from BEGIN to COMMIT/ROLLBACK and always returns it to the pool.
 */
export function createPostgresSql(options: PostgresSqlOptions): Sql {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    ...(options.statementTimeoutMs === undefined
      ? {}
      : { statement_timeout: options.statementTimeoutMs }),
    types: poolTypes,
  });
  pool.on('error', (error) => {
    options.onIdleConnectionError?.(error);
  });

  /** Identity of this connection group for the nested-usage guard. */
  const owner = {};
  let closing: Promise<void> | undefined;

  function assertOpen(): void {
    if (closing !== undefined)
      throw new SqlUsageError('This Sql was closed; it no longer accepts statements.');
  }

  async function query<Row>(
    text: string,
    params?: readonly SqlValue[],
    queryOptions?: QueryOptions,
  ): Promise<SqlResult<Row>> {
    assertOpen();
    assertOutsideTransaction(owner, 'sql.query()');
    return runStatement<Row>(pool, text, params, queryOptions);
  }

  async function transaction<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
    txOptions?: TransactionOptions,
  ): Promise<T> {
    assertOpen();
    assertOutsideTransaction(owner, 'sql.transaction()');
    const isolation = isolationSql[txOptions?.isolation ?? 'read committed'];
    if (isolation === undefined)
      throw new SqlUsageError(`Unknown isolation level: ${String(txOptions?.isolation)}`);

    const client = await pool.connect();
    let connectionBroken: Error | undefined;
    const tx = createTransactionExecutor(client);
    try {
      await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
      let result: T;
      try {
        result = await runInTransactionScope(owner, () => fn(tx.executor));
      } finally {
        tx.finish();
      }
      const commit = await client.query('COMMIT');
      if (commit.command === 'ROLLBACK') throw transactionRolledBackError();
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable (server gone, protocol out of sync): destroy it, keep the original error.
        connectionBroken =
          rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    } finally {
      client.release(connectionBroken);
    }
  }

  async function ping(): Promise<void> {
    await query('SELECT 1');
  }

  async function close(): Promise<void> {
    closing ??= pool.end();
    await closing;
  }

  return { dialect: 'postgres', query, transaction, ping, close };
}

/** A `tx` that refuses to run after its transaction ended (an un-awaited statement would otherwise hit another transaction). */
function createTransactionExecutor(client: pg.PoolClient): {
  executor: SqlExecutor;
  finish(): void;
} {
  let finished = false;
  const executor: SqlExecutor = {
    query<Row>(
      text: string,
      params?: readonly SqlValue[],
      queryOptions?: QueryOptions,
    ): Promise<SqlResult<Row>> {
      if (finished) {
        return Promise.reject(
          new SqlUsageError(
            'This transaction already ended (committed or rolled back); its `tx` cannot run statements. Was a statement not awaited?',
          ),
        );
      }
      return runStatement<Row>(client, text, params, queryOptions);
    },
  };
  return {
    executor,
    finish() {
      finished = true;
    },
  };
}

async function runStatement<Row>(
  target: pg.Pool | pg.PoolClient,
  text: string,
  params: readonly SqlValue[] | undefined,
  queryOptions?: QueryOptions,
): Promise<SqlResult<Row>> {
  if (queryOptions?.prepareAs !== undefined) {
    // pg remembers per connection which names it has prepared, and sends only Bind/Execute then.
    const result = await target.query({
      name: queryOptions.prepareAs,
      text,
      values: (params ?? []).map(prepareParam),
    });
    return toResult<Row>(result);
  }
  if (params === undefined || params.length === 0) {
    const raw = (await target.query(text)) as pg.QueryResult | pg.QueryResult[];
    const last = Array.isArray(raw) ? raw.at(-1) : raw;
    return toResult<Row>(last);
  }
  const result = await target.query(text, params.map(prepareParam));
  return toResult<Row>(result);
}

function toResult<Row>(result: pg.QueryResult | undefined): SqlResult<Row> {
  if (result === undefined) return { rows: [], rowCount: 0 };
  const rows = (result.rows ?? []) as Row[];
  return { rows, rowCount: result.rowCount ?? rows.length };
}

/**
 * pg serialises plain objects with `JSON.stringify`, which throws on `bigint`; JSONB documents
 * carrying money amounts would fail. Write them as decimal strings instead (PGlite does the same).
 */
function prepareParam(value: SqlValue): unknown {
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !ArrayBuffer.isView(value)
  ) {
    return JSON.stringify(value, (_key, inner: unknown) =>
      typeof inner === 'bigint' ? inner.toString() : inner,
    );
  }
  return value;
}

/** Same SQLSTATE PGlite uses when COMMIT turns into ROLLBACK because a statement inside failed and its error was swallowed. */
function transactionRolledBackError(): Error {
  return Object.assign(
    new Error(
      'Transaction was rolled back instead of committed: a statement inside it failed and its error was caught; nothing was saved.',
    ),
    { code: '25P02' },
  );
}
