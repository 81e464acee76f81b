import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Thrown when the SQL port is used in a way that would deadlock or silently lose atomicity:
 * using a `tx` after its transaction ended, or reaching for the whole database (`sql.query`,
 * `sql.transaction`) while a transaction on the same connection(s) is open in the calling flow.
 * On the embedded engine (one backend) the latter would wait for itself forever; on PostgreSQL
 * it would run outside the transaction and hold a second pooled connection. Refusing on both
 * keeps code written against one mode correct in the other.
 */
export class SqlUsageError extends Error {
  override readonly name = 'SqlUsageError';
}

interface TransactionFrame {
  /** The connection group the transaction belongs to: a pg Pool wrapper, or the PGlite engine. */
  readonly owner: object;
  /** False once the transaction ended, so work the callback spawned but did not await is not flagged later. */
  active: boolean;
  readonly parent: TransactionFrame | undefined;
}

const frames = new AsyncLocalStorage<TransactionFrame>();

/** Runs `fn` marked as "inside a transaction of `owner`" for everything it awaits. */
export async function runInTransactionScope<T>(owner: object, fn: () => Promise<T>): Promise<T> {
  const frame: TransactionFrame = { owner, active: true, parent: frames.getStore() };
  try {
    return await frames.run(frame, fn);
  } finally {
    frame.active = false;
  }
}

/** Throws {@link SqlUsageError} when the calling flow is inside an open transaction of `owner`. */
export function assertOutsideTransaction(owner: object, operation: string): void {
  for (let frame = frames.getStore(); frame !== undefined; frame = frame.parent) {
    if (frame.owner === owner && frame.active) {
      throw new SqlUsageError(
        `${operation} was called inside an open transaction on the same database. ` +
          'Use the `tx` executor passed to the transaction callback (nested transactions are not supported); ' +
          'on the embedded engine this call would otherwise wait for the open transaction forever. ' +
          'Background work that must not join the transaction can be started with runOutsideTransactions().',
      );
    }
  }
}

/**
 * Runs `fn` (and everything it starts) as if no transaction were open. For infrastructure that is
 * called from inside a transaction but does independent work later: an outbox relay publishing
 * while it holds its claim, an in-process bus delivering to handlers that open their own transactions.
 */
export function runOutsideTransactions<T>(fn: () => T): T {
  return frames.exit(fn);
}
