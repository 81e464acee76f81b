/**
 * The SQL port. One interface over real PostgreSQL (`pg`) and embedded PGlite, so a
 * service's store is written once and runs in both modes (architecture.md, "two ways to run").
 *
 * Values: `bigint` in, `bigint` out for BIGINT columns (money is never a JS number);
 * NUMERIC comes back as string; JSONB as parsed JSON; TIMESTAMPTZ as `Date`.
 */
export type SqlValue =
  | string
  | number
  | bigint
  | boolean
  | Date
  | Uint8Array
  | null
  | readonly SqlValue[]
  | { readonly [key: string]: unknown };

/** The result of one statement. */
export interface SqlResult<Row> {
  readonly rows: Row[];
  /** Rows inserted, updated, deleted or returned. */
  readonly rowCount: number;
}

/** How one statement runs. */
export interface QueryOptions {
  /**
   * PostgreSQL: run as the named prepared statement `prepareAs`, parsed and described once per
   * connection instead of on every call — for hot statements of a fixed text and result shape
   * (a name must always go with the same text). PGlite runs the text as usual.
   */
  readonly prepareAs?: string;
}

/** Runs statements: either the whole database (autocommit) or one open transaction. */
export interface SqlExecutor {
  query<Row = Record<string, unknown>>(
    text: string,
    params?: readonly SqlValue[],
    options?: QueryOptions,
  ): Promise<SqlResult<Row>>;
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export interface TransactionOptions {
  /** Default `read committed`. */
  readonly isolation?: IsolationLevel;
}

/** A service's database. Each service has its own (its own database, or its own schema when embedded). */
export interface Sql extends SqlExecutor {
  /** `postgres` for a real server, `pglite` for the embedded engine. */
  readonly dialect: 'postgres' | 'pglite';
  /**
   * Runs `fn` in one transaction: committed when `fn` resolves, rolled back when it throws
   * (the error is rethrown unchanged). Statements outside `tx` do not join the transaction.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Resolves when the database answers `SELECT 1`; rejects otherwise (readiness probes). */
  ping(): Promise<void>;
  /** Closes connections this object opened. Idempotent. */
  close(): Promise<void>;
}

/** One forward-only schema change, applied at start in `id` order, exactly once. */
export interface Migration {
  /** Unique, sortable: `0001_create_accounts`. Never renamed once shipped. */
  readonly id: string;
  readonly sql: string;
}
