/**
 * The ledger's market-level settlement events (ResolveMarket → MarketHoldsResolved with
 * whole_market, CreditMarketPayouts → MarketPayoutsCredited) in analytics: each payout page is
 * one audit entry (subject its market; every credited wallet and its balance in the details),
 * redeliveries count once, the warehouse keeps the page, and GetMetrics is the same with or
 * without these events (its figures come from bet and settlement events, never from ledger
 * pages). On PGlite, PostgreSQL (TEST_DATABASE_URL) and ClickHouse (TEST_CLICKHOUSE_URL).
 */
import { fromBinary, type JsonValue } from '@bufbuild/protobuf';
import { Granularity } from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { BetPlacedSchema } from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import {
  MarketHoldsAction,
  MarketHoldsResolvedSchema,
  MarketPayoutsCreditedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import {
  AccountKind,
  TransferCode,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { manualClock, testEpochMs } from '@streambet/testkit/clock';
import { envelope } from '@streambet/testkit/events';
import { nextUlid } from '@streambet/testkit/ids';
import { asUser } from '@streambet/testkit/rpc';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens, type TestTokens } from '@streambet/testkit/tokens';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsTestService } from '../src/testing.js';
import { generateDay } from './traffic.js';
import { warehouseTargets } from './warehouses.js';

const dayStartMs = Math.floor(testEpochMs / 86_400_000) * 86_400_000;
const dayEndMs = dayStartMs + 86_400_000;

let tokens: TestTokens;
beforeAll(async () => {
  tokens = await createTestTokens();
});

const wallet = (userId: string, currency: string, availableMinor: bigint) => ({
  accountId: `wallet:${userId}:${currency}`,
  kind: AccountKind.USER_WALLET,
  ownerId: userId,
  currency,
  balance: {
    accountId: `wallet:${userId}:${currency}`,
    currency,
    creditsPostedMinor: availableMinor,
    postedMinor: availableMinor,
    availableMinor,
  },
});
const escrow = (marketId: string, currency: string, availableMinor: bigint) => ({
  accountId: `market:${marketId}:escrow`,
  currency,
  balance: { accountId: `market:${marketId}:escrow`, currency, availableMinor },
});

/** The whole-market resolution and the payout page of one market, as the ledger publishes them. */
function settlementPages(
  marketId: string,
  currency: string,
  bettors: ReadonlyArray<{ userId: string; stake: bigint }>,
  atMs: number,
): EventEnvelope[] {
  const settlementId = nextUlid();
  const total = bettors.reduce((sum, b) => sum + b.stake, 0n);
  const [winner] = bettors;
  return [
    envelope(
      'wallet',
      marketId,
      MarketHoldsResolvedSchema,
      {
        metadata: { producer: 'user', aggregateId: marketId, occurredAtMs: BigInt(atMs) },
        marketId,
        action: MarketHoldsAction.POST_IN_FULL,
        settlementId,
        code: TransferCode.BET_STAKE,
        resolvedCount: bettors.length,
        resolvedAmountMinor: total,
        sequence: 100n,
        accounts: [
          ...bettors.map((b) => wallet(b.userId, currency, 1_000n - b.stake)),
          escrow(marketId, currency, total),
        ],
        part: 1,
        partCount: 1,
        wholeMarket: true,
      },
      { occurredAtMs: atMs },
    ),
    envelope(
      'wallet',
      marketId,
      MarketPayoutsCreditedSchema,
      {
        metadata: { producer: 'user', aggregateId: marketId, occurredAtMs: BigInt(atMs + 1) },
        marketId,
        settlementId,
        currency,
        creditedCount: 1,
        creditedAmountMinor: total,
        sequence: 101n,
        accounts: [
          wallet(winner!.userId, currency, 1_000n - winner!.stake + total),
          escrow(marketId, currency, 0n),
        ],
        part: 1,
        partCount: 1,
      },
      { occurredAtMs: atMs + 1 },
    ),
  ];
}

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'market payouts in the audit log on %s',
  (_n, target) => {
    it('given a whole-market resolution and its payout page, then each is one audit entry of the market, the payout listing the paid wallet, once despite redelivery', async () => {
      const db = await target.create();
      try {
        const service = await createAnalyticsTestService({ sql: db.sql, tokens });
        const marketId = nextUlid();
        const [winner, loser] = [nextUlid(), nextUlid()];
        const events = settlementPages(
          marketId,
          'BRL',
          [
            { userId: winner, stake: 300n },
            { userId: loser, stake: 200n },
          ],
          testEpochMs,
        );
        await service.ingest(events);
        await service.ingest([events[1]!]); // redelivered
        const admin = await asUser(tokens, nextUlid(), 'admin');
        const log = await service.analytics.queryAuditLog(
          { subjectType: 'market', subjectId: marketId, oldestFirst: true },
          admin,
        );
        expect(log.entries.map((e) => e.action)).toEqual([
          'streambet.events.v1.MarketHoldsResolved',
          'streambet.events.v1.MarketPayoutsCredited',
        ]);
        const payout = log.entries[1]!;
        expect(payout).toMatchObject({
          actorType: 2,
          actorService: 'user',
          subjectType: 'market',
          subjectId: marketId,
          sourceEventId: events[1]!.id,
          occurredAtMs: BigInt(testEpochMs + 1),
        });
        const details = JSON.parse(payout.detailsJson) as Record<string, JsonValue>;
        expect(details).toMatchObject({
          marketId,
          currency: 'BRL',
          creditedCount: 1,
          creditedAmountMinor: '500',
          sequence: '101',
        });
        expect(
          (
            details.accounts as Array<{ accountId: string; balance: { availableMinor: string } }>
          ).map((a) => [a.accountId, a.balance.availableMinor ?? '0']),
        ).toEqual([
          [`wallet:${winner}:BRL`, '1200'],
          [`market:${marketId}:escrow`, '0'],
        ]);
        expect(JSON.parse(log.entries[0]!.detailsJson)).toMatchObject({ wholeMarket: true });
        const stored = await db.sql.query<{ type: string; n: number }>(
          `SELECT type, count(*)::int AS n FROM analytics_events WHERE aggregate_id = $1
           GROUP BY type ORDER BY type`,
          [marketId],
        );
        expect(stored.rows).toEqual([
          { type: 'streambet.events.v1.MarketHoldsResolved', n: 1 },
          { type: 'streambet.events.v1.MarketPayoutsCredited', n: 1 },
        ]);
      } finally {
        await db.dispose();
      }
    });
  },
);

describe('GetMetrics with market-level settlement pages, in every warehouse', () => {
  it(`is the same with and without MarketHoldsResolved / MarketPayoutsCredited pages in ${warehouseTargets()
    .map((t) => t.name)
    .join(', ')}`, async () => {
    const traffic = generateDay(dayStartMs);
    const byMarket = new Map<
      string,
      { currency: string; atMs: number; bettors: Array<{ userId: string; stake: bigint }> }
    >();
    for (const event of traffic.events) {
      if (event.type !== BetPlacedSchema.typeName) continue;
      const bet = fromBinary(BetPlacedSchema, event.payload);
      const market = byMarket.get(bet.marketId) ?? {
        currency: bet.currency,
        atMs: event.occurredAtMs,
        bettors: [],
      };
      market.atMs = Math.max(market.atMs, event.occurredAtMs) + 1;
      market.bettors.push({ userId: bet.userId, stake: bet.stakeMinor });
      byMarket.set(bet.marketId, market);
    }
    const pages = [...byMarket].flatMap(([marketId, m]) =>
      settlementPages(marketId, m.currency, m.bettors, Math.min(m.atMs, dayEndMs - 10)),
    );
    expect(pages.length).toBeGreaterThan(10);
    const admin = await asUser(tokens, nextUlid(), 'admin');
    for (const target of warehouseTargets()) {
      const db = await target.create();
      try {
        const service = await createAnalyticsTestService({
          warehouse: db.warehouse,
          tokens,
          clock: manualClock(dayEndMs + 60_000),
        });
        for (let i = 0; i < traffic.events.length; i += 500) {
          await service.ingest(traffic.events.slice(i, i + 500));
        }
        const metrics = async () =>
          Promise.all(
            ['PTS', 'BRL'].map((currency) =>
              service.analytics.getMetrics(
                {
                  fromMs: BigInt(dayStartMs),
                  toMs: BigInt(dayEndMs),
                  granularity: Granularity.HOUR,
                  currency,
                },
                admin,
              ),
            ),
          );
        const before = await metrics();
        expect(before[0]!.totals!.handleMinor + before[1]!.totals!.handleMinor).toBeGreaterThan(0n);
        await service.ingest(pages);
        expect(await metrics(), target.name).toEqual(before);
        const stored = await db.warehouse.select(
          `SELECT count(*) AS n FROM ${db.warehouse.kind === 'sql' ? 'analytics_events' : 'events'}
           WHERE type = 'streambet.events.v1.MarketPayoutsCredited'`,
        );
        expect(Number(stored[0]!.n), target.name).toBe(byMarket.size);
      } finally {
        await db.dispose();
      }
    }
  });
});
