/**
 * Array literals built by hand must mean, to the server, exactly the arrays they were built from:
 * round-tripped through `$1::text[]` / `$1::bigint[]` on every SQL target, for awkward and random
 * values.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { integerArrayLiteral, textArrayLiteral } from '@streambet/platform/sql/array-literal';

const INT64_MAX = 9_223_372_036_854_775_807n;
const INT64_MIN = -9_223_372_036_854_775_808n;

for (const target of sqlTargets()) {
  describe(`array literals on ${target.name}`, () => {
    let db: SqlTestDatabase;
    beforeAll(async () => {
      db = await target.create();
    });
    afterAll(async () => {
      await db?.dispose();
    });

    const roundTripText = async (values: (string | null)[]): Promise<unknown> =>
      (await db.sql.query<{ v: unknown }>('SELECT $1::text[] AS v', [textArrayLiteral(values)]))
        .rows[0]?.v;

    it('keeps quotes, backslashes, commas, braces, spaces, NULL as text, empty strings and nulls', async () => {
      const values = [
        'plain',
        '',
        'NULL',
        'null',
        'a,b',
        '{x}',
        'say "hi"',
        'back\\slash',
        '\\"',
        '  padded  ',
        'wallet:01J:BRL',
        'ünï😀',
        null,
      ];
      expect(await roundTripText(values)).toEqual(values);
      expect(await roundTripText([])).toEqual([]);
    });

    it('round-trips random strings and nulls', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.option(
              fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !s.includes('\u0000')),
              { nil: null },
            ),
            { maxLength: 20 },
          ),
          async (values) => {
            expect(await roundTripText(values)).toEqual(values);
          },
        ),
        { numRuns: 100 },
      );
    });

    it('round-trips arrays of strings that need no escaping (the one-join path)', async () => {
      expect(await roundTripText(['wallet:01J:BRL', '', 'NULL', 'a,b', '{x}', ' s '])).toEqual([
        'wallet:01J:BRL',
        '',
        'NULL',
        'a,b',
        '{x}',
        ' s ',
      ]);
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc
              .string({ unit: 'grapheme', maxLength: 12 })
              .filter((s) => !s.includes('\u0000') && !s.includes('"') && !s.includes('\\')),
            { minLength: 1, maxLength: 20 },
          ),
          async (values) => {
            expect(await roundTripText(values)).toEqual(values);
          },
        ),
        { numRuns: 100 },
      );
    });

    it('round-trips integers without nulls (the one-join path), mixed bigint and number', async () => {
      const values = [0n, 1n, -1n, INT64_MAX, INT64_MIN, 42, -7, 0];
      const result = await db.sql.query<{ v: string[] }>('SELECT $1::bigint[]::text[] AS v', [
        integerArrayLiteral(values),
      ]);
      expect(result.rows[0]?.v).toEqual(values.map(String));
      expect(integerArrayLiteral([])).toBe('{}');
    });

    it('round-trips integers at the int64 limits, numbers and nulls', async () => {
      const values = [0n, 1n, -1n, INT64_MAX, INT64_MIN, 42, -7, null];
      const result = await db.sql.query<{ v: (string | bigint | null)[] }>(
        'SELECT $1::bigint[]::text[] AS v',
        [integerArrayLiteral(values)],
      );
      expect(result.rows[0]?.v).toEqual(values.map((v) => (v === null ? null : String(v))));
    });

    it('refuses a number that is not a safe integer instead of changing it', () => {
      expect(() => integerArrayLiteral([1.5])).toThrow(RangeError);
      expect(() => integerArrayLiteral([2 ** 60])).toThrow(/not a safe integer/);
      expect(() => integerArrayLiteral([1n, Number.NaN])).toThrow(RangeError);
    });
  });
}
