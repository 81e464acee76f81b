import { z } from 'zod';

/**
 * One environment variable a service reads: how to parse it, its default (as the string you would
 * put in the environment, so the README shows it verbatim) and what it is for.
 */
export interface ConfigVar<S extends z.ZodType = z.ZodType> {
  /** Parses and validates the raw string; use the `configSchemas` helpers or any zod schema. */
  readonly schema: S;
  /** What the variable controls and what a valid value looks like (shown in errors and docs). */
  readonly description: string;
  /** Raw value used when the variable is unset or empty; omit to make the variable required. */
  readonly default?: string;
  /** Never echo the value (in errors or docs): passwords, keys, tokens. */
  readonly secret?: boolean;
}

/** A service's whole configuration: environment variable name → how to read it. */
export type ConfigSpec = Readonly<Record<string, ConfigVar>>;

/** The typed, frozen result of {@link loadConfig}: one property per variable, same name. */
export type Config<Spec extends ConfigSpec> = {
  readonly [K in keyof Spec]: z.output<Spec[K]['schema']>;
};

/** The environment as a plain map (process.env or a test's own object). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** One variable that failed: its name, what went wrong, and what is expected. */
export interface ConfigProblem {
  readonly name: string;
  readonly problem: string;
  readonly expected: string;
}

/**
 * Thrown by {@link loadConfig} when any variable is missing or invalid. The message has one line
 * per offending variable (all of them, not just the first), so one restart fixes everything.
 */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(
      `invalid configuration (${problems.length} variable${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${p.name}: ${p.problem}; expected ${p.expected}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Identity helper that keeps the literal types of a spec (`defineConfig({ PORT: {...} })`). */
export function defineConfig<Spec extends ConfigSpec>(spec: Spec): Spec {
  return spec;
}

/**
 * Reads and validates every variable of `spec` from `env` at once. Unset or empty variables take
 * their default; required ones without a value and values the schema rejects are all collected
 * into one {@link ConfigError}. Returns a frozen object: configuration never changes after start.
 * This (with the service's `config.ts`) is the only place that may read the environment.
 */
export function loadConfig<Spec extends ConfigSpec>(
  spec: Spec,
  env: Environment = process.env,
): Config<Spec> {
  const values: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const [name, variable] of Object.entries(spec)) {
    const given = env[name];
    const raw = given === undefined || given === '' ? variable.default : given;
    if (raw === undefined) {
      problems.push({ name, problem: 'is not set', expected: variable.description });
      continue;
    }
    const parsed = variable.schema.safeParse(raw);
    if (parsed.success) {
      values[name] = parsed.data;
    } else {
      const shown = variable.secret === true ? '(value hidden)' : JSON.stringify(raw);
      const reason = parsed.error.issues.map((issue) => issue.message).join(', ');
      problems.push({
        name,
        problem: `${shown} is invalid (${reason})`,
        expected: variable.description,
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(values) as Config<Spec>;
}

/** Exit code for a configuration error (sysexits.h EX_CONFIG). */
export const exitCodeConfigError = 78;

/**
 * For `main.ts`: runs `load` and, if it throws a {@link ConfigError}, prints one line per
 * offending variable to stderr and exits with code 78 (EX_CONFIG) before anything starts.
 * Other errors propagate unchanged.
 */
export function exitOnConfigError<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(exitCodeConfigError);
  }
}

/** One row of the configuration table in a service's README. */
export interface ConfigRow {
  readonly name: string;
  /** The default as written in the environment, `(required)` when there is none, `(secret)` for secrets with one. */
  readonly default: string;
  readonly description: string;
}

/** Rows documenting `spec`, in declaration order, for generating or checking README tables. */
export function describeConfig(spec: ConfigSpec): ConfigRow[] {
  return Object.entries(spec).map(([name, variable]) => ({
    name,
    default:
      variable.default === undefined
        ? '(required)'
        : variable.secret === true
          ? '(secret)'
          : variable.default,
    description: variable.description,
  }));
}

/** Renders {@link describeConfig} as a Markdown table. */
export function configMarkdownTable(spec: ConfigSpec): string {
  const escape = (text: string): string => text.replaceAll('|', '\\|');
  const lines = describeConfig(spec).map(
    (row) =>
      `| \`${row.name}\` | ${row.default === '' ? '(empty)' : `\`${escape(row.default)}\``} | ${escape(row.description)} |`,
  );
  return ['| variable | default | description |', '|---|---|---|', ...lines].join('\n');
}

/**
 * Schemas for common variable shapes. Environment values are strings, and zod's own coercions
 * have traps (`z.coerce.boolean()` turns "false" into true), so these parse strictly.
 */
export const configSchemas = {
  /** Any non-empty string. */
  string: () => z.string().min(1, 'must not be empty'),
  /** A TCP port, 0–65535 (0 = pick a free one). */
  port: () =>
    z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(0, 'must be 0-65535').max(65535, 'must be 0-65535')),
  /** A whole number within [min, max]. */
  int: (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
    z
      .string()
      .regex(/^-?\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(min, `must be >= ${min}`).max(max, `must be <= ${max}`)),
  /** `true`/`false` (also `1`/`0`, `yes`/`no`), case-insensitive. */
  boolean: () =>
    z
      .string()
      .transform((value) => value.trim().toLowerCase())
      .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], 'must be true or false'))
      .transform((value) => value === 'true' || value === '1' || value === 'yes'),
  /** An absolute URL, optionally restricted to some protocols (e.g. `['postgres:', 'postgresql:']`). */
  url: (protocols?: readonly string[]) =>
    z.string().refine(
      (value) => {
        try {
          const url = new URL(value);
          return protocols === undefined || protocols.includes(url.protocol);
        } catch {
          return false;
        }
      },
      protocols === undefined
        ? 'must be an absolute URL'
        : `must be a URL with scheme ${protocols.join(' or ')}`,
    ),
  /** One of a fixed set of words. */
  oneOf: <const T extends readonly [string, ...string[]]>(values: T) =>
    z.enum(values, `must be one of ${values.join(', ')}`),
  /** Comma-separated list; blanks dropped. */
  list: () =>
    z.string().transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    ),
  /** A JSON document validated by `schema` (e.g. a JWK or JWKS). */
  json: <S extends z.ZodType>(schema: S) =>
    z
      .string()
      .transform((value, ctx) => {
        try {
          return JSON.parse(value) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be valid JSON' });
          return z.NEVER;
        }
      })
      .pipe(schema),
} as const;
