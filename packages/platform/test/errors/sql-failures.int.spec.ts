/**
 * Database failures a client should retry reach it as ABORTED or UNAVAILABLE, not as INTERNAL
 * (which says "a bug; report it"): the errors here are raised by the real engines, on every SQL
 * target, and one is a real deadlock between two transactions on PostgreSQL.
 */
import { Code } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { toClientError, transientSqlFailure } from '@streambet/platform/errors/error-interceptor';
import { createLogger } from '@streambet/platform/log/logger';
import { createLogCapture } from '../fixtures/echo-service.js';

for (const target of sqlTargets()) {
  describe(`database failures on ${target.name}`, () => {
    let db: SqlTestDatabase;
    beforeAll(async () => {
      db = await target.create();
      await db.sql.query('CREATE TABLE failure_probe (id integer PRIMARY KEY, v integer NOT NULL)');
      await db.sql.query('INSERT INTO failure_probe VALUES (1, 0), (2, 0)');
    });
    afterAll(async () => {
      await db?.dispose();
    });

    /** The error the engine raises for `sql`. */
    async function raised(sql: string): Promise<unknown> {
      try {
        await db.sql.query(sql);
      } catch (error) {
        return error;
      }
      throw new Error(`${sql} did not fail`);
    }
    const raise = (sqlState: string) =>
      raised(`DO $$ BEGIN RAISE EXCEPTION 'probe' USING ERRCODE = '${sqlState}'; END $$`);

    it.each([
      ['40001', Code.Aborted],
      ['40P01', Code.Aborted],
      ['08006', Code.Unavailable],
      ['57P01', Code.Unavailable],
      ['53300', Code.Unavailable],
      ['23505', undefined],
      ['42P01', undefined],
    ] as const)('SQLSTATE %s → %s', async (sqlState, code) => {
      const error = await raise(sqlState);
      expect(transientSqlFailure(error)).toBe(code);
      // also when a layer wrapped it
      expect(transientSqlFailure(new Error('batch failed', { cause: error }))).toBe(code);
    });

    it('answers a client ABORTED with what to do, UNAVAILABLE with retry-after, and logs the original as a warning', async () => {
      const logs = createLogCapture();
      const logger = createLogger({ service: 'probe', destination: logs.destination });
      const context = { logger, requestId: 'req-1', procedure: 'probe.v1.Probe/Do' };
      const aborted = toClientError(await raise('40P01'), context);
      expect(aborted.code).toBe(Code.Aborted);
      expect(aborted.rawMessage).toMatch(/conflicted with a concurrent change.*retry it/);
      const unavailable = toClientError(await raise('57P01'), context);
      expect(unavailable.code).toBe(Code.Unavailable);
      expect(unavailable.metadata.get('retry-after')).toBe('1');
      const bug = toClientError(await raised('INSERT INTO failure_probe VALUES (1, 1)'), context);
      expect([bug.code, bug.rawMessage]).toEqual([
        Code.Internal,
        'internal error; reference req-1',
      ]);
      expect(logs.lines().map((line) => [line.level, line.msg])).toEqual([
        ['warn', 'transient database failure'],
        ['warn', 'transient database failure'],
        ['error', 'unhandled error in handler'],
      ]);
    });

    it.skipIf(target.name !== 'postgres')(
      'maps a real deadlock between two transactions to ABORTED',
      async () => {
        let firstLocked = (): void => {};
        let secondLocked = (): void => {};
        const bothLocked = Promise.all([
          new Promise<void>((resolve) => (firstLocked = resolve)),
          new Promise<void>((resolve) => (secondLocked = resolve)),
        ]);
        const crossing = (first: number, second: number, locked: () => void) =>
          db.sql.transaction(async (tx) => {
            await tx.query('UPDATE failure_probe SET v = v + 1 WHERE id = $1', [first]);
            locked();
            await bothLocked;
            await tx.query('UPDATE failure_probe SET v = v + 1 WHERE id = $1', [second]);
          });
        const outcomes = await Promise.allSettled([
          crossing(1, 2, firstLocked),
          crossing(2, 1, secondLocked),
        ]);
        const failures: unknown[] = outcomes.flatMap((o) =>
          o.status === 'rejected' ? [o.reason as unknown] : [],
        );
        expect(failures).toHaveLength(1);
        expect((failures[0] as { code?: string }).code).toBe('40P01');
        expect(transientSqlFailure(failures[0])).toBe(Code.Aborted);
      },
    );
  });
}
