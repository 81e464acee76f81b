/**
 * The platform's command handler: load → decide → evolve → save in one transaction, on every SQL
 * target. A refused command (a thrown domain error) writes nothing; a decision with events saves
 * the state and its outbox-like rows in the same commit; no events saves nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { POSTGRES_SKIP_REASON, sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import {
  handleCommand,
  handleCommandIn,
  type CommandHandler,
} from '@streambet/platform/command/handle-command';
import { IllegalStateError } from '@streambet/platform/errors/domain-errors';
import type { SqlExecutor } from '@streambet/platform/sql/types';

interface Counter {
  readonly id: string;
  readonly value: number;
}
type CounterEvent = { readonly type: 'Added'; readonly amount: number };

/** Adds `amounts` (one event each) to counter `id`; refuses to go above `max`. */
function addCommand(id: string, amounts: readonly number[], max = 100) {
  let saves = 0;
  const handler: CommandHandler<Counter, CounterEvent> = {
    async load(tx) {
      const row = await tx.query<{ value: number }>(
        'SELECT value FROM counters WHERE id = $1 FOR UPDATE',
        [id],
      );
      return { id, value: row.rows[0]?.value ?? 0 };
    },
    decide(state) {
      const total = amounts.reduce((sum, amount) => sum + amount, state.value);
      if (total > max) throw new IllegalStateError(`counter ${id} may not exceed ${max}`);
      return amounts.map((amount) => ({ type: 'Added', amount }) as const);
    },
    evolve: (state, event) => ({ ...state, value: state.value + event.amount }),
    async save(tx, change) {
      saves += 1;
      await tx.query(
        `INSERT INTO counters (id, value) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value`,
        [id, change.after.value],
      );
      for (const { event, after } of change.applied) {
        await tx.query('INSERT INTO counter_events (id, amount, value_after) VALUES ($1, $2, $3)', [
          id,
          event.amount,
          after.value,
        ]);
      }
    },
  };
  return { handler, saves: () => saves };
}

async function stored(db: SqlExecutor, id: string) {
  const value = await db.query<{ value: number }>('SELECT value FROM counters WHERE id = $1', [id]);
  const events = await db.query<{ amount: number; value_after: number }>(
    'SELECT amount, value_after FROM counter_events WHERE id = $1 ORDER BY seq',
    [id],
  );
  return { value: value.rows[0]?.value, events: events.rows };
}

function suite(target: ReturnType<typeof sqlTargets>[number]) {
  describe(`command handler on ${target.name}`, () => {
    let db: SqlTestDatabase;
    beforeAll(async () => {
      db = await target.create();
      await db.sql.query('CREATE TABLE counters (id text PRIMARY KEY, value integer NOT NULL)');
      await db.sql.query(
        `CREATE TABLE counter_events (seq serial PRIMARY KEY, id text NOT NULL,
           amount integer NOT NULL, value_after integer NOT NULL)`,
      );
    });
    afterAll(async () => {
      await db?.dispose();
    });
    beforeEach(async () => {
      await db.sql.query('DELETE FROM counter_events');
      await db.sql.query('DELETE FROM counters');
    });

    it('saves the evolved state and every event with the state after it, once', async () => {
      const command = addCommand('a', [2, 3]);
      const result = await handleCommand(db.sql, command.handler);
      expect(result.before).toEqual({ id: 'a', value: 0 });
      expect(result.after).toEqual({ id: 'a', value: 5 });
      expect(result.applied).toEqual([
        { event: { type: 'Added', amount: 2 }, after: { id: 'a', value: 2 } },
        { event: { type: 'Added', amount: 3 }, after: { id: 'a', value: 5 } },
      ]);
      expect(command.saves()).toBe(1);
      expect(await stored(db.sql, 'a')).toEqual({
        value: 5,
        events: [
          { amount: 2, value_after: 2 },
          { amount: 3, value_after: 5 },
        ],
      });
    });

    it('decides on the committed state of the previous command', async () => {
      await handleCommand(db.sql, addCommand('b', [40]).handler);
      const second = await handleCommand(db.sql, addCommand('b', [1]).handler);
      expect(second.before.value).toBe(40);
      expect(second.after.value).toBe(41);
    });

    it('writes nothing and rethrows the domain error unchanged when the decision refuses', async () => {
      await handleCommand(db.sql, addCommand('c', [90]).handler);
      const refused = addCommand('c', [5, 10]);
      const error = await handleCommand(db.sql, refused.handler).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IllegalStateError);
      expect((error as Error).message).toBe('counter c may not exceed 100');
      expect(refused.saves()).toBe(0);
      expect(await stored(db.sql, 'c')).toEqual({
        value: 90,
        events: [{ amount: 90, value_after: 90 }],
      });
    });

    it('rolls back state and events together when saving fails half-way', async () => {
      const command = addCommand('d', [1]);
      const failing: CommandHandler<Counter, CounterEvent> = {
        ...command.handler,
        async save(tx, change) {
          await command.handler.save(tx, change);
          throw new Error('disk full');
        },
      };
      await expect(handleCommand(db.sql, failing)).rejects.toThrow('disk full');
      expect(await stored(db.sql, 'd')).toEqual({ value: undefined, events: [] });
    });

    it('saves nothing when the decision has no events', async () => {
      const command = addCommand('e', []);
      const result = await handleCommand(db.sql, command.handler);
      expect(result.applied).toEqual([]);
      expect(result.after).toBe(result.before);
      expect(command.saves()).toBe(0);
      expect(await stored(db.sql, 'e')).toEqual({ value: undefined, events: [] });
    });

    it("inside a caller's transaction, commits and rolls back with it", async () => {
      await db.sql.transaction(async (tx) => {
        await handleCommandIn(tx, addCommand('f', [7]).handler);
      });
      expect((await stored(db.sql, 'f')).value).toBe(7);
      await expect(
        db.sql.transaction(async (tx) => {
          await handleCommandIn(tx, addCommand('f', [1]).handler);
          throw new Error('the consumer failed after the command');
        }),
      ).rejects.toThrow('the consumer failed');
      expect(await stored(db.sql, 'f')).toEqual({
        value: 7,
        events: [{ amount: 7, value_after: 7 }],
      });
    });

    it('serializes concurrent commands on the same row through the lock taken by load', async () => {
      await db.sql.query("INSERT INTO counters (id, value) VALUES ('g', 0)");
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => handleCommand(db.sql, addCommand('g', [30]).handler)),
      );
      const refused = results.filter((r) => r.status === 'rejected');
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      expect(refused).toHaveLength(2);
      for (const r of refused) expect(r.reason).toBeInstanceOf(IllegalStateError);
      const final = await stored(db.sql, 'g');
      expect(final.value).toBe(90);
      expect(final.events.map((e) => e.value_after)).toEqual([30, 60, 90]);
    });
  });
}

const targets = sqlTargets();
for (const target of targets) suite(target);
if (!targets.some((target) => target.name === 'postgres')) {
  describe.skip(`command handler on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs when TEST_DATABASE_URL is set', () => {});
  });
}
