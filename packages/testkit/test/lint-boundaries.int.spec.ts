/**
 * The boundaries style.md puts "in the tools" stay in them: the repository's own ESLint config
 * (eslint.config.js, through ESLint's Node API) must reject snippets that cross a package boundary,
 * load test helpers from shipped code or make domain code impure, and accept their lawful twins;
 * every workspace package must keep an explicit exports map and declare what its code imports.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The boundary and purity rules; other findings (unused imports in a snippet) are ignored. */
const boundaryRules = new Set([
  'streambet/no-cross-workspace-imports',
  'no-restricted-imports',
  '@typescript-eslint/no-restricted-imports',
  'no-restricted-globals',
  'no-restricted-properties',
  'no-restricted-syntax',
]);

let eslint: ESLint;

beforeAll(() => {
  // The snippets are not files of the TypeScript project, so type-aware rules are switched off;
  // none of the boundary rules needs type information.
  eslint = new ESLint({
    cwd: repoRoot,
    overrideConfig: [{ files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked }],
  });
});

/** The boundary rules `code` breaks when it is the file at `file` (relative to the repository). */
async function violations(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(repoRoot, file) });
  return (result?.messages ?? [])
    .filter((message) => message.ruleId !== null && boundaryRules.has(message.ruleId))
    .map((message) => message.ruleId!)
    .sort();
}

describe('lint: packages meet only through their exports maps', () => {
  it('rejects a relative import into another service, in tests too', async () => {
    expect(
      await violations(
        'services/bet-engine/test/fixture.int.spec.ts',
        "import { createHarness } from '../../pool/test/harness.js';\nvoid createHarness;\n",
      ),
    ).toEqual(['streambet/no-cross-workspace-imports']);
  });

  it('rejects a bench reaching into a service folder, and accepts its testing entry', async () => {
    expect(
      await violations(
        'bench/fixture.ts',
        "export { createLedgerStore } from '../services/user/src/ledger/store/index.js';\n",
      ),
    ).toEqual(['streambet/no-cross-workspace-imports']);
    expect(
      await violations(
        'bench/fixture.ts',
        "export { createLedgerStore } from '@streambet/user/testing';\n",
      ),
    ).toEqual([]);
  });

  it("rejects a package's src/ and test/ paths as bare specifiers", async () => {
    expect(
      await violations(
        'services/settlement/test/fixture.ts',
        "export { createLedgerStore } from '@streambet/user/src/ledger/store/index';\n" +
          "export { createHarness } from '@streambet/pool/test/harness';\n",
      ),
    ).toEqual([
      'no-restricted-imports',
      'no-restricted-imports',
      'streambet/no-cross-workspace-imports',
      'streambet/no-cross-workspace-imports',
    ]);
  });

  it("rejects a subpath missing from the package's exports map, and accepts its entries", async () => {
    expect(
      await violations(
        'services/bet-engine/test/fixture.ts',
        "export { createLedgerInternalService } from '@streambet/user/ledger/routes';\n" +
          "export { mutex } from '@streambet/platform/sql/mutex';\n",
      ),
    ).toEqual(['streambet/no-cross-workspace-imports', 'streambet/no-cross-workspace-imports']);
    expect(
      await violations(
        'services/bet-engine/test/fixture.ts',
        "export { createUserTestService } from '@streambet/user/testing';\n" +
          "export { PoolService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';\n" +
          "export { migrate } from '@streambet/platform/sql/migrate';\n",
      ),
    ).toEqual([]);
  });

  it("accepts a service's tests importing their own source", async () => {
    expect(
      await violations(
        'services/pool/test/fixture.ts',
        "export { createPoolStore } from '../src/store.js';\n",
      ),
    ).toEqual([]);
  });

  it("keeps test helpers out of shipped code, but not out of a service's testing entry", async () => {
    const code = "export { manualClock } from '@streambet/testkit/clock';\n";
    expect(await violations('services/pool/src/fixture.ts', code)).toEqual([
      'no-restricted-imports',
    ]);
    expect(await violations('gateway/src/fixture.ts', code)).toEqual(['no-restricted-imports']);
    expect(await violations('services/pool/src/testing.ts', code)).toEqual([]);
  });
});

describe('lint: domain code is pure', () => {
  const domainFiles = [
    'services/pool/src/domain/fixture.ts',
    'services/user/src/ledger/domain/fixture.ts',
    'packages/parimutuel/src/fixture.ts',
  ];

  it.each(domainFiles)(
    '%s may not import I/O, or the platform beyond errors and ids',
    async (file) => {
      expect(
        await violations(
          file,
          [
            "import pg from 'pg';",
            "import { readFileSync } from 'node:fs';",
            "import { createClient } from '@connectrpc/connect';",
            "import { createMemoryBus } from '@streambet/platform/bus/memory';",
            "import { migrate } from '@streambet/platform/sql/migrate';",
            "import { manualClock } from '@streambet/testkit/clock';",
            'export const all = [pg, readFileSync, createClient, createMemoryBus, migrate, manualClock];',
          ].join('\n'),
        ),
      ).toEqual(
        [
          ...Array<string>(6).fill('@typescript-eslint/no-restricted-imports'),
          // testkit is also a test helper, which no shipped file may load.
          'no-restricted-imports',
        ].sort(),
      );
      expect(
        await violations(
          file,
          [
            "import { ValidationError } from '@streambet/platform/errors/domain-errors';",
            "import { isUlid } from '@streambet/platform/ids/ulid';",
            "import type { Sql } from '@streambet/platform/sql/types';",
            'export type Port = Sql;',
            'export const all = [ValidationError, isUlid];',
          ].join('\n'),
        ),
      ).toEqual([]);
    },
  );

  it.each(domainFiles)('%s may not read the clock or make randomness', async (file) => {
    expect(
      await violations(
        file,
        [
          'export const a = Date.now();',
          'export const b = new Date();',
          'export const c = Date();',
          'export const d = Math.random();',
          'export const e = performance.now();',
          'export const f = crypto.randomUUID();',
          'export const g = setTimeout(() => {}, 1);',
          'export const h = process.env.HOME;',
        ].join('\n'),
      ),
    ).toEqual(
      [
        ...['Date.now', 'Math.random', 'performance.now', 'crypto.randomUUID'].map(
          () => 'no-restricted-properties',
        ),
        ...['new Date()', 'Date()'].map(() => 'no-restricted-syntax'),
        ...['performance', 'crypto', 'setTimeout', 'process'].map(() => 'no-restricted-globals'),
      ].sort(),
    );
  });

  it('lets domain code format an instant it was given, and wiring code read the clock', async () => {
    expect(
      await violations(
        'services/pool/src/domain/fixture.ts',
        'export const at = (ms: number) => new Date(ms).toISOString() + String(Date.UTC(2026, 0, 1));\n',
      ),
    ).toEqual([]);
    expect(
      await violations(
        'services/pool/src/fixture.ts',
        'export const now = () => Date.now() + Math.random();\n',
      ),
    ).toEqual([]);
  });
});

interface PackageJson {
  readonly name: string;
  readonly exports?: Record<string, string | null>;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

const workspaces = ['packages', 'services', 'apps']
  .flatMap((group) =>
    fs
      .readdirSync(path.join(repoRoot, group), { withFileTypes: true })
      .filter((entry) => fs.existsSync(path.join(repoRoot, group, entry.name, 'package.json')))
      .map((entry) => `${group}/${entry.name}`),
  )
  .concat('gateway');

function packageJsonOf(workspace: string): PackageJson {
  return JSON.parse(
    fs.readFileSync(path.join(repoRoot, workspace, 'package.json'), 'utf8'),
  ) as PackageJson;
}

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(full);
    return /\.(ts|tsx|mts)$/.test(entry.name) ? [full] : [];
  });
}

/** Bare specifiers of import statements, re-exports and dynamic imports (at a line's start). */
const importPattern =
  /^\s*import\s+['"]([^'".][^'"]*)['"]|^\s*(?:import|export)\b[^;]*?\bfrom\s+['"]([^'".][^'"]*)['"]|\bimport\(\s*['"]([^'".][^'"]*)['"]/gm;

/** Packages a file imports by bare specifier (`pg`, `@streambet/platform`), without `node:` ones. */
function importedPackages(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const names: string[] = [];
  for (const match of text.matchAll(importPattern)) {
    const specifier = (match[1] ?? match[2] ?? match[3])!;
    if (specifier.startsWith('node:')) continue;
    const parts = specifier.split('/');
    names.push(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
  }
  return names;
}

describe('package manifests', () => {
  it.each(workspaces)('%s exports named entries, never a blanket ./*', (workspace) => {
    const exports = packageJsonOf(workspace).exports ?? {};
    expect(Object.keys(exports)).not.toContain('./*');
    if (workspace.startsWith('services/')) {
      expect(Object.keys(exports).sort()).toEqual(['./app', './config', './testing']);
      for (const target of Object.values(exports)) {
        expect(fs.existsSync(path.join(repoRoot, workspace, target ?? ''))).toBe(true);
      }
    }
  });

  it("resolves a package's exported entries and refuses its other files (Node's own resolver)", () => {
    const require = createRequire(path.join(repoRoot, 'bench', 'resolve.js'));
    expect(require.resolve('@streambet/user/testing')).toBe(
      path.join(repoRoot, 'services/user/src/testing.ts'),
    );
    expect(require.resolve('@streambet/platform/sql/migrate')).toBe(
      path.join(repoRoot, 'packages/platform/src/sql/migrate.ts'),
    );
    for (const hidden of [
      '@streambet/user/ledger/routes',
      '@streambet/user/src/testing.ts',
      '@streambet/pool/store',
      '@streambet/platform/sql/mutex',
    ]) {
      expect(() => require.resolve(hidden), hidden).toThrow(/not (defined by|exported)/i);
    }
  });

  it.each(workspaces)('%s declares every package its code imports', (workspace) => {
    const manifest = packageJsonOf(workspace);
    const declared = new Set([
      manifest.name,
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.devDependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]);
    const shipped = new Set([manifest.name, ...Object.keys(manifest.dependencies ?? {})]);
    const missing: string[] = [];
    for (const folder of ['src', 'test']) {
      for (const file of sourceFiles(path.join(repoRoot, workspace, folder))) {
        // Shipped code needs runtime dependencies; tests, testing entries and the test kit (which
        // only tests load) may use dev ones, which production images leave out.
        const needsRuntime =
          folder === 'src' &&
          workspace !== 'packages/testkit' &&
          !file.endsWith(`${path.sep}testing.ts`);
        for (const name of importedPackages(file)) {
          if (!(needsRuntime ? shipped : declared).has(name)) {
            missing.push(`${path.relative(repoRoot, file)} → ${name}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
