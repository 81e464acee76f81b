import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Migration } from './types.js';

/**
 * What a migration file is called: `<id>.sql`, the id an optional lowercase prefix (`platform_`),
 * a version number, then a lowercase name: `0001_pool_markets`, `platform_0002_inbox`.
 */
const MIGRATION_FILE = /^(([a-z][a-z0-9]*_)?(\d+)_[a-z0-9_]+)\.sql$/;

/**
 * A folder's frozen migrations: every `<id>.sql` file directly in it, in id order, each file's text
 * exactly as written (its checksum is what {@link migrate} stores and compares). Anything else in
 * the folder (its `index.ts`, subfolders such as a `current/` reference) is not a migration.
 *
 * Pass the folder as a URL relative to the calling module — `new URL('./', import.meta.url)` —
 * so it resolves next to the code both when run from source and in the container image.
 *
 * Throws when a `.sql` file's name is not a migration id, or two files share a version number
 * (`0005_a.sql` and `0005_b.sql`: two changes written at once, one must be renumbered before it
 * ships).
 */
export function loadSqlMigrations(folder: URL): readonly Migration[] {
  const base = folder.href.endsWith('/') ? folder : new URL(`${folder.href}/`);
  const where = fileURLToPath(base);
  const ids = fs
    .readdirSync(base, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.toLowerCase().endsWith('.sql'))
    .map((entry) => {
      const match = MIGRATION_FILE.exec(entry.name);
      if (match === null) {
        throw new Error(
          `${entry.name} in ${where} is not named like a migration: <version>_<name>.sql, lowercase (0003_add_limits.sql).`,
        );
      }
      return { id: match[1]!, version: `${match[2] ?? ''}${BigInt(match[3]!)}` };
    })
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const byVersion = new Map<string, string>();
  for (const { id, version } of ids) {
    const other = byVersion.get(version);
    if (other !== undefined) {
      throw new Error(
        `${other}.sql and ${id}.sql in ${where} have the same version number: renumber the one not applied anywhere yet.`,
      );
    }
    byVersion.set(version, id);
  }
  return ids.map(({ id }) => ({ id, sql: fs.readFileSync(new URL(`${id}.sql`, base), 'utf8') }));
}
