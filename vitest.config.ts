import { defineConfig } from 'vitest/config';

/**
 * One runner for the whole monorepo. Test tiers by suffix (style.md):
 * `*.unit.spec.ts` pure domain, `*.int.spec.ts` real database / in-memory transport,
 * `*.e2e.spec.ts` whole flows over real ports. Real servers join when their URL is set
 * (TEST_DATABASE_URL, TEST_REDIS_URL, TEST_CLICKHOUSE_URL, KAFKA_BROKERS); see packages/testkit.
 */
export default defineConfig({
  test: {
    include: [
      '{packages,services,gateway}/*/test/**/*.spec.ts',
      'gateway/test/**/*.spec.ts',
      'apps/*/test/**/*.spec.ts',
      'scripts/test/**/*.spec.ts',
    ],
    exclude: ['**/node_modules/**', '**/data/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
