/**
 * A SQL port that joins an open transaction: inside {@link JoinedSql.within}, every statement of
 * the port runs on that transaction, and a `transaction()` becomes a savepoint of it (so a ledger
 * batch that fails and retries rolls back only its own statements). Outside, it is the plain port.
 * This lets the ledger store's own commit path take holds inside the reservation's transaction.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';

/** {@link joinedSql}'s port and the way to enter a transaction. */
export interface JoinedSql {
  /** The port: joins the transaction of the current {@link within}, if any. */
  readonly sql: Sql;
  /** Runs `fn` with every statement of {@link sql} joining `tx`. */
  within<T>(tx: SqlExecutor, fn: () => Promise<T>): Promise<T>;
}

/** Wraps `sql` (see the file comment). Closing the port leaves `sql` open. */
export function joinedSql(sql: Sql): JoinedSql {
  const current = new AsyncLocalStorage<{ tx: SqlExecutor; savepoints: number }>();
  const port: Sql = {
    dialect: sql.dialect,
    query(text, params, options) {
      return (current.getStore()?.tx ?? sql).query(text, params, options);
    },
    async transaction(fn, options) {
      const joined = current.getStore();
      if (joined === undefined) return sql.transaction(fn, options);
      joined.savepoints += 1;
      const name = `sb_joined_${joined.savepoints}`;
      await joined.tx.query(`SAVEPOINT ${name}`);
      let result;
      try {
        result = await fn(joined.tx);
      } catch (error) {
        await joined.tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
        throw error;
      }
      await joined.tx.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    },
    ping: () => sql.ping(),
    close: () => Promise.resolve(),
  };
  return {
    sql: port,
    within: (tx, fn) => current.run({ tx, savepoints: 0 }, fn),
  };
}
