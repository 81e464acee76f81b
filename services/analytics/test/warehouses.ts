/**
 * The warehouses the analytics tests run against: the SQL warehouse on every SQL target (PGlite,
 * and PostgreSQL when TEST_DATABASE_URL is set) and ClickHouse when TEST_CLICKHOUSE_URL is set
 * (a fresh `sbtest_<random>` database per test, dropped afterwards).
 */
import { randomBytes } from 'node:crypto';
import { createClient } from '@clickhouse/client';
import { platformMigrations } from '@streambet/platform/outbox/index';
import { migrate } from '@streambet/platform/sql/migrate';
import { realServers } from '@streambet/testkit/env';
import { sqlTargets } from '@streambet/testkit/sql';
import { analyticsMigrations } from '../src/migrations/index.js';
import { createClickHouseWarehouse } from '../src/warehouse/clickhouse-warehouse.js';
import { createSqlWarehouse } from '../src/warehouse/sql-warehouse.js';
import type { Warehouse } from '../src/warehouse/warehouse.js';

/** A warehouse made for one test. */
export interface TestWarehouse {
  readonly warehouse: Warehouse;
  dispose(): Promise<void>;
}

/** One engine. */
export interface WarehouseTarget {
  readonly name: string;
  create(): Promise<TestWarehouse>;
}

/** The title suffix of ClickHouse suites when they are skipped. */
export const CLICKHOUSE_SKIP_REASON = 'skipped: TEST_CLICKHOUSE_URL not set';

/** A ClickHouse warehouse in a new database on the test server. */
export async function createTestClickHouse(
  url: string,
): Promise<TestWarehouse & { database: string }> {
  const database = `sbtest_${randomBytes(6).toString('hex')}`;
  const warehouse = await createClickHouseWarehouse({ url, database });
  return {
    warehouse,
    database,
    async dispose() {
      await warehouse.close();
      const admin = createClient({ url });
      await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await admin.close();
    },
  };
}

/** Every warehouse this run can test. */
export function warehouseTargets(): WarehouseTarget[] {
  const targets: WarehouseTarget[] = sqlTargets().map((target) => ({
    name: `sql on ${target.name}`,
    async create() {
      const db = await target.create();
      await migrate(db.sql, 'analytics', [...platformMigrations, ...analyticsMigrations]);
      return { warehouse: createSqlWarehouse(db.sql), dispose: () => db.dispose() };
    },
  }));
  if (realServers.clickhouseUrl !== '') {
    const url = realServers.clickhouseUrl;
    targets.push({ name: 'clickhouse', create: () => createTestClickHouse(url) });
  }
  return targets;
}

/** A warehouse whose writes and reads fail while `down` is true (an outage, for the sink tests). */
export function withOutage(inner: Warehouse): Warehouse & { down: boolean } {
  const outage = {
    down: false,
    kind: inner.kind,
    dialect: inner.dialect,
    write: (batch: Parameters<Warehouse['write']>[0]) =>
      outage.down ? Promise.reject(new Error('warehouse down (test outage)')) : inner.write(batch),
    select: (text: string) =>
      outage.down ? Promise.reject(new Error('warehouse down (test outage)')) : inner.select(text),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
  return outage;
}
