/**
 * The warehouse port: where the sink writes events and facts and where the metrics are read from.
 * Two adapters: the service's own SQL database (PGlite or PostgreSQL, embedded mode) and ClickHouse
 * (cluster). The metrics queries are written once (metrics-query.ts) in the SQL both engines accept;
 * the few spellings that differ come from the adapter's {@link WarehouseDialect}.
 */
import type { WarehouseRows } from '../domain/facts.js';

/** How the common queries spell what the two engines spell differently. */
export interface WarehouseDialect {
  /** The facts table as an aggregation reads it (ClickHouse: with FINAL, so duplicates count once). */
  readonly facts: string;
  /** Integer division of two integer expressions (floor for the non-negative values used here). */
  intDiv(dividend: string, divisor: string): string;
}

/** One adapter of the warehouse. */
export interface Warehouse {
  readonly kind: 'sql' | 'clickhouse';
  readonly dialect: WarehouseDialect;
  /**
   * Stores a batch of events with their facts. Idempotent: rows of an event already stored (same
   * event id) are kept once. Rejects when nothing could be stored; a partial write is repaired by
   * writing the batch again.
   */
  write(batch: readonly WarehouseRows[]): Promise<void>;
  /**
   * Runs a read-only query in the common dialect; values come back as strings, numbers or bigints
   * (use {@link toBigInt}). Values in the text are literals the caller has validated (ClickHouse
   * 18.16 has no query parameters).
   */
  select(text: string): Promise<Array<Record<string, unknown>>>;
  /** Resolves when the warehouse answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A number, numeric string or bigint from either engine as a bigint (null/undefined → 0). */
export function toBigInt(value: unknown): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  if (typeof value === 'string') {
    const text = value.includes('.') ? value.slice(0, value.indexOf('.')) : value;
    return BigInt(text === '' || text === '-' ? '0' : text);
  }
  throw new TypeError(`not a number: ${typeof value}`);
}

/** A literal string for the common dialect; only ids, codes and fact kinds ever get here. */
export function literal(value: string): string {
  if (!/^[A-Za-z0-9_:.-]*$/.test(value)) {
    throw new TypeError(`refusing to quote ${JSON.stringify(value)}: not an id or a code`);
  }
  return `'${value}'`;
}
