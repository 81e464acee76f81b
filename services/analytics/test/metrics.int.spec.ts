/**
 * GetMetrics on a generated day of traffic, in every warehouse at once (SQL on PGlite, PostgreSQL
 * when TEST_DATABASE_URL is set, ClickHouse when TEST_CLICKHOUSE_URL is set): the figures equal
 * what the ledger's side of the same script says, redelivered events count once, and the
 * warehouses answer the same. Then the contract's errors: bad requests, non-admins, and a
 * warehouse that is down (UNAVAILABLE).
 */
import { Code, ConnectError } from '@connectrpc/connect';
import {
  Granularity,
  type GetMetricsResponse,
} from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { manualClock, testEpochMs } from '@streambet/testkit/clock';
import { nextUlid } from '@streambet/testkit/ids';
import { asUser } from '@streambet/testkit/rpc';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens, type TestTokens } from '@streambet/testkit/tokens';
import { beforeAll, describe, expect, it } from 'vitest';
import { percentile } from '../src/domain/metrics.js';
import { createAnalyticsTestService } from '../src/testing.js';
import { createSqlWarehouse } from '../src/warehouse/sql-warehouse.js';
import { generateDay, isRevenueAccount, type Traffic } from './traffic.js';
import { warehouseTargets, withOutage } from './warehouses.js';

const HOUR = 3_600_000;
const dayStartMs = Math.floor(testEpochMs / 86_400_000) * 86_400_000;
const dayEndMs = dayStartMs + 86_400_000;

let tokens: TestTokens;
beforeAll(async () => {
  tokens = await createTestTokens();
});

/** The day's figures as the ledger and the bets say them, for one currency. */
function ledgerView(traffic: Traffic, currency: string) {
  const holds = traffic.holds.filter((h) => h.currency === currency && h.state !== 'voided');
  const moves = traffic.transfers.filter((t) => t.currency === currency);
  const credits = moves.filter((t) => isRevenueAccount(t.credit));
  const debits = moves.filter((t) => isRevenueAccount(t.debit));
  const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);
  const times = traffic.settlementTimes.filter((t) => t.currency === currency).map((t) => t.ms);
  return {
    handleMinor: sum(holds.map((h) => h.amountMinor)),
    betsCount: BigInt(holds.length),
    activeBettors: BigInt(new Set(holds.map((h) => h.userId)).size),
    ggrMinor: sum(credits.map((t) => t.amountMinor)) - sum(debits.map((t) => t.amountMinor)),
    commissionMinor: sum(credits.filter((t) => t.credit !== 'house').map((t) => t.amountMinor)),
    streamerShareMinor: sum(
      credits.filter((t) => t.credit.startsWith('streamer:')).map((t) => t.amountMinor),
    ),
    marketsSettled: BigInt(traffic.settled.filter((s) => s.currency === currency).length),
    p50: BigInt(percentile(times, 50)),
    p95: BigInt(percentile(times, 95)),
    p99: BigInt(percentile(times, 99)),
    handleByHour: Array.from({ length: 24 }, (_, h) =>
      sum(
        holds
          .filter((x) => x.atMs >= dayStartMs + h * HOUR && x.atMs < dayStartMs + (h + 1) * HOUR)
          .map((x) => x.amountMinor),
      ),
    ),
    ggrByChannel: new Map(
      traffic.channels.map((c) => [
        c.channelId,
        sum(credits.filter((t) => t.channelId === c.channelId).map((t) => t.amountMinor)) -
          sum(debits.filter((t) => t.channelId === c.channelId).map((t) => t.amountMinor)),
      ]),
    ),
  };
}

describe('GetMetrics on a generated day of traffic, side by side in every warehouse', () => {
  it(`reconciles with the ledger in ${warehouseTargets()
    .map((t) => t.name)
    .join(', ')} and answers the same from each`, async () => {
    const traffic = generateDay(dayStartMs);
    // Redeliveries: every tenth event again, in reverse order, in the same and in later batches.
    const deliveries = [
      ...traffic.events,
      ...traffic.events.filter((_, i) => i % 10 === 0).reverse(),
    ];
    const admin = await asUser(tokens, nextUlid(), 'admin');
    const answers: Array<{ name: string; day: Record<string, GetMetricsResponse> }> = [];
    for (const target of warehouseTargets()) {
      const db = await target.create();
      try {
        const service = await createAnalyticsTestService({
          warehouse: db.warehouse,
          tokens,
          clock: manualClock(dayEndMs + 60_000),
        });
        for (let i = 0; i < deliveries.length; i += 500) {
          await service.ingest(deliveries.slice(i, i + 500));
        }
        const day: Record<string, GetMetricsResponse> = {};
        for (const currency of ['PTS', 'BRL']) {
          const ledger = ledgerView(traffic, currency);
          const response = await service.analytics.getMetrics(
            {
              fromMs: BigInt(dayStartMs),
              toMs: BigInt(dayEndMs),
              granularity: Granularity.DAY,
              currency,
            },
            admin,
          );
          day[currency] = response;
          expect(response.currency).toBe(currency);
          expect(response.asOfMs).toBe(BigInt(dayEndMs + 60_000));
          expect(response.buckets).toHaveLength(1);
          const totals = response.totals!;
          expect({
            handle: totals.handleMinor,
            bets: totals.betsCount,
            bettors: totals.activeBettors,
            ggr: totals.ggrMinor,
            commission: totals.commissionMinor,
            share: totals.streamerShareMinor,
            settled: totals.marketsSettled,
            p50: totals.settlementTimeP50Ms,
            p95: totals.settlementTimeP95Ms,
            p99: totals.settlementTimeP99Ms,
          }).toEqual({
            handle: ledger.handleMinor,
            bets: ledger.betsCount,
            bettors: ledger.activeBettors,
            ggr: ledger.ggrMinor,
            commission: ledger.commissionMinor,
            share: ledger.streamerShareMinor,
            settled: ledger.marketsSettled,
            p50: ledger.p50,
            p95: ledger.p95,
            p99: ledger.p99,
          });
          expect(ledger.handleMinor).toBeGreaterThan(0n);
          expect(ledger.ggrMinor).toBeGreaterThan(0n);
          const { startMs, endMs, ...bucket } = response.buckets[0]!;
          const { startMs: _s, endMs: _e, ...whole } = totals;
          expect([startMs, endMs]).toEqual([BigInt(dayStartMs), BigInt(dayEndMs)]);
          expect(bucket).toEqual(whole);
          for (const channel of response.channelRevenue) {
            expect(channel.ggrMinor).toBe(ledger.ggrByChannel.get(channel.channelId));
            expect(channel.ownerUserId).toBe(
              traffic.channels.find((c) => c.channelId === channel.channelId)?.ownerUserId,
            );
          }
          expect(response.channelRevenue.map((c) => c.ggrMinor)).toEqual(
            [...response.channelRevenue.map((c) => c.ggrMinor)].sort((a, b) =>
              a > b ? -1 : a < b ? 1 : 0,
            ),
          );
          expect(response.channelRevenue).toHaveLength(traffic.channels.length);
        }
        const hourly = await service.analytics.getMetrics(
          {
            fromMs: BigInt(dayStartMs + 1),
            toMs: BigInt(dayEndMs - 1),
            granularity: Granularity.HOUR,
            currency: 'PTS',
          },
          admin,
        );
        expect(hourly.buckets.map((b) => b.handleMinor)).toEqual(
          ledgerView(traffic, 'PTS').handleByHour,
        );
        expect(hourly.buckets[0]!.startMs).toBe(BigInt(dayStartMs));
        expect(hourly.buckets.at(-1)!.endMs).toBe(BigInt(dayEndMs));
        const oneChannel = traffic.channels[1]!.channelId;
        const filtered = await service.analytics.getMetrics(
          {
            fromMs: BigInt(dayStartMs),
            toMs: BigInt(dayEndMs),
            granularity: Granularity.WEEK,
            currency: 'PTS',
            channelId: oneChannel,
            channelLimit: 1,
          },
          admin,
        );
        expect(filtered.channelRevenue.map((c) => c.channelId)).toEqual([oneChannel]);
        expect(filtered.totals!.ggrMinor).toBe(
          ledgerView(traffic, 'PTS').ggrByChannel.get(oneChannel),
        );
        // Weeks start on Monday 00:00 UTC: the test day is a Monday.
        expect(filtered.buckets.map((b) => b.startMs)).toEqual([BigInt(dayStartMs)]);
        answers.push({ name: target.name, day });
      } finally {
        await db.dispose();
      }
    }
    for (const other of answers.slice(1)) {
      expect({ name: other.name, day: other.day }).toEqual({
        name: other.name,
        day: answers[0]!.day,
      });
    }
  });
});

async function codeOf(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await call;
  } catch (error) {
    const e = ConnectError.from(error);
    return { code: Code[e.code], message: e.rawMessage };
  }
  throw new Error('call unexpectedly succeeded');
}

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'GetMetrics errors on %s',
  (_n, target) => {
    it('rejects bad requests with INVALID_ARGUMENT naming the field, and non-admins', async () => {
      const db = await target.create();
      try {
        const service = await createAnalyticsTestService({ sql: db.sql, tokens });
        const admin = await asUser(tokens, nextUlid(), 'admin');
        const good = {
          fromMs: BigInt(dayStartMs),
          toMs: BigInt(dayEndMs),
          granularity: Granularity.HOUR,
          currency: 'PTS',
        };
        const cases: Array<[object, string]> = [
          [{ currency: '' }, 'currency'],
          [{ currency: 'pts' }, 'currency'],
          [{ granularity: Granularity.UNSPECIFIED }, 'granularity'],
          [{ toMs: BigInt(dayStartMs) }, 'to_ms'],
          [{ granularity: Granularity.MINUTE }, 'at most 1000'],
          [{ channelId: 'not-a-ulid' }, 'channel_id'],
          [{ channelLimit: 501 }, 'channel_limit'],
        ];
        for (const [change, mentions] of cases) {
          const result = await codeOf(service.analytics.getMetrics({ ...good, ...change }, admin));
          expect({ change, code: result.code }).toEqual({ change, code: 'InvalidArgument' });
          expect(result.message).toContain(mentions);
        }
        const empty = await service.analytics.getMetrics(good, admin);
        expect(empty.buckets).toHaveLength(24);
        expect(empty.totals?.handleMinor).toBe(0n);
        expect(empty.channelRevenue).toEqual([]);
        const viewer = await asUser(tokens, nextUlid(), 'viewer');
        expect((await codeOf(service.analytics.getMetrics(good, viewer))).code).toBe(
          'PermissionDenied',
        );
        expect((await codeOf(service.analytics.getMetrics(good))).code).toBe('Unauthenticated');
      } finally {
        await db.dispose();
      }
    });

    it('answers UNAVAILABLE while the warehouse is down, and figures again once it is back', async () => {
      const db = await target.create();
      try {
        await createAnalyticsTestService({ sql: db.sql, tokens });
        const warehouse = withOutage(createSqlWarehouse(db.sql));
        const service = await createAnalyticsTestService({ warehouse, tokens });
        const admin = await asUser(tokens, nextUlid(), 'admin');
        const request = {
          fromMs: BigInt(dayStartMs),
          toMs: BigInt(dayEndMs),
          granularity: Granularity.DAY,
          currency: 'PTS',
        };
        warehouse.down = true;
        const down = await codeOf(service.analytics.getMetrics(request, admin));
        expect(down.code).toBe('Unavailable');
        expect(down.message).toContain('warehouse');
        warehouse.down = false;
        expect((await service.analytics.getMetrics(request, admin)).buckets).toHaveLength(1);
      } finally {
        await db.dispose();
      }
    });
  },
);
