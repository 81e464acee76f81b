import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSqlMigrations } from '@streambet/platform/sql/load-migrations';

const folders: string[] = [];

/** A temporary folder holding `files` (name → text; a name ending in `/` is a subfolder). */
function folderWith(files: Record<string, string>): URL {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbtest-migrations-'));
  folders.push(dir);
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (name.endsWith('/')) fs.mkdirSync(file, { recursive: true });
    else fs.writeFileSync(file, text);
  }
  return pathToFileURL(`${dir}/`);
}

afterEach(() => {
  for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('loadSqlMigrations', () => {
  it('returns every <id>.sql file in id order, each text exactly as written', () => {
    const folder = folderWith({
      '0010_later.sql': 'SELECT 10;',
      '0002_second.sql': '\n  CREATE TABLE b (id int);\r\n',
      '0001_first.sql': 'CREATE TABLE a (id int);\n',
    });

    expect(loadSqlMigrations(folder)).toEqual([
      { id: '0001_first', sql: 'CREATE TABLE a (id int);\n' },
      { id: '0002_second', sql: '\n  CREATE TABLE b (id int);\r\n' },
      { id: '0010_later', sql: 'SELECT 10;' },
    ]);
  });

  it('accepts ids with a lowercase prefix, as the platform names its own', () => {
    const folder = folderWith({
      'platform_0002_inbox.sql': 'B',
      'platform_0001_outbox.sql': 'A',
    });

    expect(loadSqlMigrations(folder).map((migration) => migration.id)).toEqual([
      'platform_0001_outbox',
      'platform_0002_inbox',
    ]);
  });

  it('ignores what is not a .sql file directly in the folder', () => {
    const folder = folderWith({
      'index.ts': 'export {};',
      'README.md': '# notes',
      '0001_first.sql.orig': 'old',
      'current/functions.sql': 'CREATE OR REPLACE FUNCTION f() ...',
      'empty-subfolder.sql/': '',
      '0001_first.sql': 'SELECT 1;',
    });

    expect(loadSqlMigrations(folder)).toEqual([{ id: '0001_first', sql: 'SELECT 1;' }]);
  });

  it('resolves a folder URL given without its trailing slash', () => {
    const folder = folderWith({ '0001_first.sql': 'SELECT 1;' });

    const withoutSlash = new URL(folder.href.replace(/\/$/, ''));

    expect(loadSqlMigrations(withoutSlash)).toEqual([{ id: '0001_first', sql: 'SELECT 1;' }]);
  });

  it('returns nothing for a folder without migrations yet', () => {
    expect(loadSqlMigrations(folderWith({ 'index.ts': 'export {};' }))).toEqual([]);
  });

  it('rejects two migrations with the same version number, naming both', () => {
    const folder = folderWith({
      '0001_first.sql': 'SELECT 1;',
      '0002_add_limits.sql': 'SELECT 2;',
      '0002_add_kyc.sql': 'SELECT 2;',
    });

    expect(() => loadSqlMigrations(folder)).toThrow(
      /0002_add_kyc\.sql and 0002_add_limits\.sql .* have the same version number/,
    );
  });

  it('counts 2 and 0002 as the same version', () => {
    const folder = folderWith({ '2_short.sql': 'SELECT 2;', '0002_padded.sql': 'SELECT 2;' });

    expect(() => loadSqlMigrations(folder)).toThrow(/same version number/);
  });

  it.each(['CURRENT.sql', 'notes.sql', '0003_Add_Limits.sql', '0003_x.SQL', '0003.sql'])(
    'rejects a .sql file not named like a migration: %s',
    (name) => {
      const folder = folderWith({ '0001_first.sql': 'SELECT 1;', [name]: 'SELECT 3;' });

      expect(() => loadSqlMigrations(folder)).toThrow(/is not named like a migration/);
    },
  );
});
