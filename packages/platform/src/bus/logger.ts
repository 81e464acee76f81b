/**
 * The little a bus adapter needs from a logger. The platform pino logger satisfies it; the
 * default writes infrastructure errors to stderr so they are never silently lost.
 */

/** Structured logger used by the bus adapters (pino-compatible signature). */
export interface BusLogger {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Fallback: handler failures (expected, retried) are not printed; infrastructure errors are. */
export const stderrBusLogger: BusLogger = {
  warn: () => {},
  error: (fields, message) => {
    console.error(`[bus] ${message}`, fields);
  },
};
