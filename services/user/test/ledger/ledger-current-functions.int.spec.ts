import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { POSTGRES_SKIP_REASON, sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { ledgerMigrations } from '../../src/ledger/migrations/index.js';

/**
 * `current/functions.sql` is the one place to read the ledger's functions as they are now (the
 * migrations that wrote them are frozen history). These tests keep it from drifting: after every
 * migration, running the reference over the database must change no function, and it must hold
 * every function, naming the migration that installed its definition.
 */
const reference = fs.readFileSync(
  new URL('../../src/ledger/migrations/current/functions.sql', import.meta.url),
  'utf8',
);

const definedNames = [...reference.matchAll(/^CREATE OR REPLACE FUNCTION (\w+)\(/gm)].map(
  (match) => match[1]!,
);
const installedBy = new Map(
  [...reference.matchAll(/^-- (\w+): installed by (\w+)/gm)].map((match) => [match[1]!, match[2]!]),
);

/** The last migration that creates or replaces the function: the one whose definition is in force. */
function lastMigrationDefining(name: string): string | undefined {
  const creates = new RegExp(`CREATE (?:OR REPLACE )?FUNCTION ${name}\\(`);
  return ledgerMigrations.findLast((migration) => creates.test(migration.sql))?.id;
}

/** Every function in the current schema: signature → its full definition as the server prints it. */
async function functionDefinitions(sql: Sql): Promise<Map<string, string>> {
  const result = await sql.query<{ signature: string; definition: string }>(
    `SELECT p.oid::regprocedure::text AS signature, pg_get_functiondef(p.oid) AS definition
     FROM pg_proc p
     WHERE p.pronamespace = current_schema()::regnamespace AND p.prokind = 'f'
     ORDER BY 1`,
  );
  return new Map(result.rows.map((row) => [row.signature, row.definition]));
}

function nameOf(signature: string): string {
  return signature.slice(0, signature.indexOf('('));
}

describe('the ledger functions reference (current/functions.sql)', () => {
  it('defines each function once, under a note naming the migration that installed it', () => {
    expect(new Set(definedNames).size).toBe(definedNames.length);
    expect([...installedBy.keys()]).toEqual(definedNames);
    for (const name of definedNames) {
      expect(installedBy.get(name), name).toBe(lastMigrationDefining(name));
    }
  });
});

const targets = sqlTargets();
if (!targets.some((target) => target.name === 'postgres')) {
  describe.skip(`the ledger functions reference on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('is what the migrations leave on real PostgreSQL too', () => undefined);
  });
}

for (const target of targets) {
  describe(`the ledger functions reference on ${target.name}`, () => {
    let db: SqlTestDatabase;
    let migrated: Map<string, string>;

    beforeAll(async () => {
      db = await target.create();
      await migrate(db.sql, 'user', ledgerMigrations);
      migrated = await functionDefinitions(db.sql);
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it('holds every function the migrations leave, and no other', () => {
      expect(migrated.size).toBeGreaterThan(0);
      expect([...migrated.keys()].map(nameOf).sort()).toEqual([...definedNames].sort());
    });

    it('is exactly what the migrations leave: running it over them changes no function', async () => {
      await db.sql.query(reference);

      expect(await functionDefinitions(db.sql)).toEqual(migrated);
    });

    it('would notice a definition that differs from the database', async () => {
      const drifted = reference.replace(
        /(FUNCTION ledger_account_hashes\(ids text\[\]\) RETURNS integer\[\]\s+LANGUAGE sql) IMMUTABLE/,
        '$1 STABLE',
      );
      expect(drifted).not.toBe(reference);

      await db.sql.query(drifted);
      const after = await functionDefinitions(db.sql);
      await db.sql.query(reference);

      const changed = [...after].filter(([signature, text]) => migrated.get(signature) !== text);
      expect(changed.map(([signature]) => nameOf(signature))).toEqual(['ledger_account_hashes']);
    });
  });
}
