/**
 * PostgreSQL array literals built directly, for statements that pass thousands of array elements
 * per call (the ledger's batch commit). `pg` serializes a JS array element by element with two
 * regular-expression replaces each; a literal built here is passed through as one text parameter
 * and parsed by the server exactly as `pg`'s would be (`$n::text[]`, `$n::bigint[]` ...).
 */

const NEEDS_ESCAPE = /["\\]/;

/**
 * True when every value is a string that needs no escaping: the literal is then one `join`, a
 * single flat string, instead of thousands of concatenations the collector has to clean up (the
 * ledger's batch commit builds a dozen such literals of a thousand elements per call).
 */
function allPlainStrings(
  values: readonly (string | null | undefined)[],
): values is readonly string[] {
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (typeof value !== 'string' || NEEDS_ESCAPE.test(value)) return false;
  }
  return true;
}

/** True when every value can be written by `join` as it is (a bigint or a safe integer). */
function allPlainIntegers(values: readonly (number | bigint | null | undefined)[]): boolean {
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (typeof value !== 'bigint' && !Number.isSafeInteger(value)) return false;
  }
  return true;
}

/**
 * `{"a","b",NULL}`: every element quoted (so `NULL`, `""`, commas and braces stay text), `"` and
 * `\` escaped with a backslash; null and undefined become SQL NULL.
 */
export function textArrayLiteral(values: readonly (string | null | undefined)[]): string {
  if (values.length === 0) return '{}';
  if (allPlainStrings(values)) return `{"${values.join('","')}"}`;
  let out = '{';
  for (let i = 0; i < values.length; i += 1) {
    if (i > 0) out += ',';
    const value = values[i];
    if (value === null || value === undefined) out += 'NULL';
    else if (NEEDS_ESCAPE.test(value)) out += `"${value.replace(/[\\"]/g, '\\$&')}"`;
    else out += `"${value}"`;
  }
  return `${out}}`;
}

/**
 * `{1,-2,NULL}` for integers (number or bigint; a number must be a safe integer, or the literal
 * would silently change its value); null and undefined become SQL NULL.
 */
export function integerArrayLiteral(
  values: readonly (number | bigint | null | undefined)[],
): string {
  if (allPlainIntegers(values)) return `{${values.join(',')}}`;
  let out = '{';
  for (let i = 0; i < values.length; i += 1) {
    if (i > 0) out += ',';
    const value = values[i];
    if (value === null || value === undefined) out += 'NULL';
    else if (typeof value === 'bigint') out += value.toString();
    else if (Number.isSafeInteger(value)) out += String(value);
    else throw new RangeError(`integerArrayLiteral: ${value} is not a safe integer`);
  }
  return `${out}}`;
}
