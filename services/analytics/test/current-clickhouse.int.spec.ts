/**
 * The warehouse's ClickHouse SQL on a current ClickHouse: chDB (ClickHouse in-process, `npm install
 * chdb` into a folder outside the repository, 546 MB, e.g. `npm install chdb --prefix /tmp/chdb`)
 * runs the frozen migrations' DDL, takes the JSONEachRow rows the sink sends, and answers the
 * metrics queries exactly as the SQL warehouse does on the generated day (redeliveries included).
 * No server newer than Debian's 18.16 installs on these machines; this is how the SQL is checked
 * against a current one. Runs when CHDB_DIR names that folder.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { platformMigrations } from '@streambet/platform/outbox/index';
import { migrate } from '@streambet/platform/sql/migrate';
import { sqlTargets } from '@streambet/testkit/sql';
import { describe, expect, it } from 'vitest';
import { clickhouseMigrations } from '../src/clickhouse/migrations/index.js';
import { toWarehouseRows } from '../src/domain/facts.js';
import { planMetricsQuery, type Granularity } from '../src/domain/metrics.js';
import { queryMetrics } from '../src/metrics-query.js';
import { analyticsMigrations } from '../src/migrations/index.js';
import { eventJson, factJson, statementsOf } from '../src/warehouse/clickhouse-warehouse.js';
import { createSqlWarehouse } from '../src/warehouse/sql-warehouse.js';
import type { Warehouse } from '../src/warehouse/warehouse.js';
import { generateDay } from './traffic.js';

const chdbDir = process.env.CHDB_DIR ?? '';

interface ChdbSession {
  query(sql: string, format: string): string;
  cleanup?(): void;
}

describe.skipIf(chdbDir === '')(
  `the ClickHouse SQL on a current ClickHouse (chDB)${chdbDir === '' ? ' (skipped: CHDB_DIR not set)' : ''}`,
  () => {
    it('migrations, inserts and metrics queries give what the SQL warehouse gives', async () => {
      const require = createRequire(path.join(chdbDir, 'package.json'));
      const { Session } = require('chdb') as { Session: new (dir: string) => ChdbSession };
      const session = new Session(path.join(chdbDir, `session-${process.pid}`));
      const q = (sql: string, format = 'CSV'): string => session.query(sql, format);
      const version = q('SELECT version()').trim();
      expect(Number(/^"?(\d+)/.exec(version)?.[1])).toBeGreaterThanOrEqual(24);
      q('DROP DATABASE IF EXISTS wh');
      q('CREATE DATABASE wh');
      for (const migration of clickhouseMigrations) {
        for (const statement of statementsOf(migration.sql)) {
          q(
            statement.replace(
              /CREATE TABLE IF NOT EXISTS (\w+)/,
              'CREATE TABLE IF NOT EXISTS wh.$1',
            ),
          );
        }
      }
      const dayStartMs = Date.UTC(2026, 10, 23);
      const traffic = generateDay(dayStartMs);
      const rows = [...traffic.events, ...traffic.events.slice(0, 200)].map(toWarehouseRows);
      const lines = (values: Array<Record<string, unknown>>) =>
        values.map((v) => JSON.stringify(v)).join('\n');
      q(
        `INSERT INTO wh.facts FORMAT JSONEachRow ${lines(rows.flatMap((r) => r.facts.map(factJson)))}`,
      );
      q(`INSERT INTO wh.events FORMAT JSONEachRow ${lines(rows.map((r) => eventJson(r.event)))}`);
      const current: Warehouse = {
        kind: 'clickhouse',
        dialect: { facts: 'wh.facts FINAL', intDiv: (a, b) => `intDiv(${a}, ${b})` },
        write: () => Promise.resolve(),
        select: (text) =>
          Promise.resolve(
            q(text, 'JSONEachRow')
              .split('\n')
              .filter((line) => line.trim() !== '')
              .map((line) => JSON.parse(line) as Record<string, unknown>),
          ),
        ping: () => Promise.resolve(),
        close: () => Promise.resolve(),
      };
      const db = await sqlTargets()[0]!.create();
      try {
        await migrate(db.sql, 'analytics', [...platformMigrations, ...analyticsMigrations]);
        const sqlWarehouse = createSqlWarehouse(db.sql);
        await sqlWarehouse.write(rows);
        const cases: Array<[Granularity, string, number, number]> = [
          ['day', 'PTS', dayStartMs, dayStartMs + 86_400_000],
          ['hour', 'PTS', dayStartMs, dayStartMs + 86_400_000],
          ['week', 'BRL', dayStartMs, dayStartMs + 86_400_000],
          ['minute', 'BRL', dayStartMs + 36_000_000, dayStartMs + 36_000_000 + 900 * 60_000],
        ];
        for (const [granularity, currency, fromMs, toMs] of cases) {
          const plan = planMetricsQuery({
            fromMs,
            toMs,
            granularity,
            currency,
            channelId: '',
            channelLimit: 0,
          });
          const fromCurrent = await queryMetrics(current, plan);
          expect({ granularity, fromCurrent }).toEqual({
            granularity,
            fromCurrent: await queryMetrics(sqlWarehouse, plan),
          });
          expect(fromCurrent.totals.handleMinor).toBeGreaterThan(0n);
        }
        expect(q('SELECT count() FROM wh.events FINAL').trim()).toBe(String(traffic.events.length));
      } finally {
        await db.dispose();
        q('DROP DATABASE IF EXISTS wh');
        session.cleanup?.();
      }
    });
  },
);
