// One type-aware linter for the monorepo. `no-floating-promises` is the rule that matters most
// in an async service mesh. Boundaries are in the tools (style.md): a package reaches another only
// through the entries of its `exports` map, production code never loads test helpers, and domain
// code is pure (no I/O imports, no clock or randomness of its own). packages/testkit's
// lint-boundaries test proves each of these rules fires.
import fs from 'node:fs';
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import { defineConfig } from 'eslint/config';

const repoRoot = import.meta.dirname;

/** The workspace (or top-level area such as bench/) a file belongs to: `services/pool`, `gateway`. */
function workspaceOf(file) {
  const [first = '', second = ''] = path.relative(repoRoot, file).split(path.sep);
  if (first.startsWith('..')) return '(outside the repository)';
  return ['services', 'packages', 'apps'].includes(first) ? `${first}/${second}` : first;
}

/** Whether `subpath` (`./testing`) is an entry of `exports`, exactly or through a `*` pattern. */
function isExported(exports, subpath) {
  return Object.entries(exports).some(([key, target]) => {
    if (target === null) return false;
    const star = key.indexOf('*');
    if (star < 0) return key === subpath;
    const [prefix, suffix] = [key.slice(0, star), key.slice(star + 1)];
    return (
      subpath.length > prefix.length + suffix.length &&
      subpath.startsWith(prefix) &&
      subpath.endsWith(suffix)
    );
  });
}

/** Each workspace package's manifest by package name. */
function workspaceManifests() {
  const manifests = new Map();
  for (const group of ['packages', 'services', 'apps']) {
    for (const name of fs.existsSync(path.join(repoRoot, group))
      ? fs.readdirSync(path.join(repoRoot, group))
      : []) {
      const file = path.join(repoRoot, group, name, 'package.json');
      if (!fs.existsSync(file)) continue;
      const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
      manifests.set(manifest.name, manifest);
    }
  }
  const gateway = JSON.parse(fs.readFileSync(path.join(repoRoot, 'gateway/package.json'), 'utf8'));
  manifests.set(gateway.name, gateway);
  return manifests;
}

/**
 * Packages meet only through their `exports` maps: a bare `@streambet/<package>/<subpath>` must
 * name an exported entry, and a relative import may not land in another workspace
 * (`../../pool/test/harness.js`, `../services/user/src/…`), which would bypass that map.
 */
const noCrossWorkspaceImports = {
  meta: {
    type: 'problem',
    docs: { description: "forbid imports of another workspace's unexported files" },
    schema: [],
    messages: {
      crossing:
        "'{{source}}' reaches into {{target}} from {{own}}: import one of its exported entries (@streambet/<package>/<entry>, e.g. '/testing') instead.",
      unexported:
        "'{{source}}' is not an entry of {{name}}'s exports map ({{entries}}): use one of those, or export the module if it is truly public.",
    },
  },
  create(context) {
    const own = workspaceOf(context.filename);
    let manifests;
    function check(node) {
      const source = node?.type === 'Literal' ? node.value : undefined;
      if (typeof source !== 'string') return;
      if (source.startsWith('.')) {
        const target = workspaceOf(path.resolve(path.dirname(context.filename), source));
        if (target !== own) {
          context.report({ node, messageId: 'crossing', data: { source, target, own } });
        }
        return;
      }
      const match = /^(@streambet\/[^/]+)(\/.*)?$/.exec(source);
      if (match === null) return;
      manifests ??= workspaceManifests();
      const manifest = manifests.get(match[1]);
      if (manifest === undefined) return;
      const exports = manifest.exports ?? {};
      if (!isExported(exports, `.${match[2] ?? ''}`)) {
        const entries = Object.keys(exports).join(', ') || 'none';
        context.report({
          node,
          messageId: 'unexported',
          data: {
            source,
            name: match[1],
            entries: entries.length > 200 ? `${entries.slice(0, 200)}…` : entries,
          },
        });
      }
    }
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
    };
  },
};

/** Bare specifiers that skip a package's `exports` map (TypeScript rejects them too). */
const exportsOnlyPatterns = [
  {
    group: ['@streambet/*/src', '@streambet/*/src/**', '@streambet/*/test', '@streambet/*/test/**'],
    message:
      "Import a package through its exports map ('@streambet/<package>/<entry>'), never its src/ or test/ files.",
  },
];

/** Test helpers: for tests, benches and `testing` entries, never for code that ships. */
const testOnlyPatterns = [
  {
    group: ['@streambet/testkit', '@streambet/testkit/**', '@streambet/*/testing', 'vitest'],
    message:
      "Code that ships may not load test helpers (@streambet/testkit, a package's testing entry, vitest).",
  },
];

/** What domain code may not import: I/O drivers, the RPC stack, and the platform's I/O modules. */
const impureImportPatterns = [
  {
    group: [
      'node:*',
      'pg',
      'kafkajs',
      'ioredis',
      'socket.io',
      'socket.io-client',
      '@socket.io/*',
      '@clickhouse/*',
      '@electric-sql/*',
      '@connectrpc/*',
      '@opentelemetry/*',
      'pino',
      'prom-client',
      'jose',
    ],
    message: 'Domain code is pure: time, ids and I/O come in as arguments (style.md).',
  },
  {
    // Only the platform's pure modules (typed errors, id encoding) are open to domain code; the
    // others (sql, bus, cache, outbox, rpc, runtime, log, obs, auth, ...) may lend it types only.
    regex: '^@streambet/platform/(?!errors/|ids/)',
    allowTypeImports: true,
    message:
      "Domain code is pure: of @streambet/platform it may import the errors and ids modules (and other modules' types) only (style.md).",
  },
  {
    group: [
      '@streambet/testkit',
      '@streambet/testkit/**',
      '@streambet/*/testing',
      '@streambet/*/app',
      '@streambet/*/config',
    ],
    message: 'Domain code is pure: it depends on no service wiring, configuration or test helpers.',
  },
];

const impureMessage = 'Domain code is pure: time and ids come in as arguments (style.md).';

export default defineConfig(
  {
    ignores: [
      '**/node_modules/**',
      '**/data/**',
      '**/dist/**',
      'packages/contracts/src/gen/**',
      '**/test/fixtures/gen/**',
      '.tmp/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Every file: packages meet only through their exports maps.
    plugins: { streambet: { rules: { 'no-cross-workspace-imports': noCrossWorkspaceImports } } },
    rules: {
      'streambet/no-cross-workspace-imports': 'error',
      'no-restricted-imports': ['error', { patterns: exportsOnlyPatterns }],
    },
  },
  {
    // Code that ships: no test helpers (a package's `testing` entry is itself a test helper).
    files: [
      'services/*/src/**/*.ts',
      'packages/{contracts,exchange,parimutuel,platform}/src/**/*.ts',
      'gateway/src/**/*.ts',
      'apps/*/src/**/*.{ts,tsx}',
    ],
    ignores: ['**/src/testing.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [...exportsOnlyPatterns, ...testOnlyPatterns] },
      ],
    },
  },
  {
    files: ['**/test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Pure domain code: the parimutuel math and every service's domain folder at any depth
    // (services/pool/src/domain/, services/user/src/ledger/domain/, ...). No I/O, no clock and no
    // randomness of its own.
    files: [
      'packages/{exchange,parimutuel}/src/**/*.ts',
      'services/*/src/domain/**/*.ts',
      'services/*/src/**/domain/**/*.ts',
    ],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: impureImportPatterns }],
      'no-restricted-globals': [
        'error',
        ...[
          'process',
          'performance',
          'crypto',
          'fetch',
          'setTimeout',
          'setInterval',
          'setImmediate',
        ].map((name) => ({ name, message: `${impureMessage} (no \`${name}\`)` })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: impureMessage },
        { object: 'Math', property: 'random', message: impureMessage },
        { object: 'performance', property: 'now', message: impureMessage },
        { object: 'crypto', property: 'randomUUID', message: impureMessage },
        { object: 'crypto', property: 'getRandomValues', message: impureMessage },
        { object: 'globalThis', property: 'crypto', message: impureMessage },
        { object: 'globalThis', property: 'performance', message: impureMessage },
        { object: 'globalThis', property: 'process', message: impureMessage },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: `${impureMessage} (\`new Date()\` reads the clock: pass the instant in)`,
        },
        {
          selector: "CallExpression[callee.name='Date']",
          message: `${impureMessage} (\`Date()\` reads the clock: pass the instant in)`,
        },
      ],
    },
  },
  {
    // The web apps: the rules of hooks (and the React Compiler's checks) on every component.
    files: ['apps/{web,admin}/src/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat.recommended,
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
);
