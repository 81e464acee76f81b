import { fromBinary } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { ChannelLinkedSchema } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import {
  MarketCreatedSchema,
  MarketLockedSchema,
  MarketOpenedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { PayoutMadeSchema } from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import {
  LeaderboardPeriod,
  LeaderboardScope,
  MarketLockReason,
  MarketState,
  PoolService,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { PayoutKind } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { createMemoryBus } from '@streambet/platform/bus/memory';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import { startService } from '@streambet/platform/runtime/service-host';
import { envelope } from '@streambet/testkit/events';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { createPoolServiceDefinition } from '../src/app.js';
import { loadPoolConfig } from '../src/config.js';
import { manualClock, marketRequest, testSettings } from './harness.js';

const targets = sqlTargets();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * The pool as the platform runs it: a real port, migrations, the outbox relay to the in-process
 * bus, the integration and leaderboard consumers and the auto-lock task on an injected clock.
 */
describe.each(targets.map((t) => [t.name, t] as const))('pool service on %s', (_name, target) => {
  it('given ChannelLinked on the bus, then the owner creates a market over gRPC, its events reach the bus in order, the window auto-locks it and payouts feed the leaderboard once', async () => {
    const db = await target.create();
    const bus = createMemoryBus();
    const clock = manualClock(Date.now());
    const tokens = await createTestTokens();
    const config = loadPoolConfig({
      STREAMBET_MODE: 'embedded',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      SHUTDOWN_GRACE_MS: '1000',
      ...tokens.serviceEnv('pool'),
    });
    const service = await startService(
      createPoolServiceDefinition({ ...testSettings, autoLockIntervalMs: 20 }),
      {
        config,
        infra: {
          sql: db.sql,
          bus,
          cache: createMemoryCache({ now: () => clock.now() }),
          close: async () => {},
        },
        userJwks: tokens.userJwks,
        clock,
      },
    );
    cleanups.push(async () => {
      await service.shutdown();
      await bus.close();
      await db.dispose();
    });
    const seen: EventEnvelope[] = [];
    const subscription = await bus.subscribe({
      group: 'test.market',
      topics: ['market'],
      handler: (event) => {
        seen.push(event);
        return Promise.resolve();
      },
    });
    cleanups.push(() => subscription.close());

    await bus.publish([
      envelope('integration', 'CHS', ChannelLinkedSchema, {
        channelId: 'CHS',
        ownerUserId: 'streamer-s',
        platform: Platform.KICK,
      }),
    ]);
    const pool = createClient(PoolService, createGrpcTransport({ baseUrl: service.url }));
    const owner = { headers: await tokens.userHeaders('streamer-s', 'streamer') };
    await vi.waitFor(async () =>
      expect(
        (await pool.getChannelSettings({ channelId: 'CHS' }, owner)).settings?.ownerUserId,
      ).toBe('streamer-s'),
    );
    const market = (
      await pool.createMarket(
        marketRequest('CHS', { openNow: true, bettingWindowSeconds: 30 }),
        owner,
      )
    ).market!;
    clock.advance(30_000);
    await vi.waitFor(async () =>
      expect((await pool.getMarket({ marketId: market.marketId })).market?.state).toBe(
        MarketState.LOCKED,
      ),
    );
    await vi.waitFor(() => expect(seen).toHaveLength(3));
    expect(seen.map((e) => [e.key, e.type])).toEqual([
      [market.marketId, MarketCreatedSchema.typeName],
      [market.marketId, MarketOpenedSchema.typeName],
      [market.marketId, MarketLockedSchema.typeName],
    ]);
    const locked = fromBinary(MarketLockedSchema, seen[2]!.payload);
    expect(locked).toMatchObject({
      reason: MarketLockReason.WINDOW_ELAPSED,
      lockEffectiveAtMs: market.bettingClosesAtMs,
      version: 3n,
    });
    expect(locked.metadata?.eventId).toBe(seen[2]!.id);

    const paid = envelope(
      'settlement',
      market.marketId,
      PayoutMadeSchema,
      {
        payout: {
          payoutId: 'p1',
          marketId: market.marketId,
          channelId: 'CHS',
          userId: 'viewer-s',
          kind: PayoutKind.SETTLEMENT,
          currency: 'PTS',
          stakeMinor: 100n,
          payoutMinor: 250n,
          netMinor: 150n,
          paidAtMs: BigInt(clock.now()),
        },
      },
      { id: 'payout-event-1' },
    );
    await bus.publish([paid]);
    await bus.publish([paid]);
    const board = {
      scope: LeaderboardScope.CHANNEL,
      channelId: 'CHS',
      period: LeaderboardPeriod.DAILY,
      currency: 'PTS',
    };
    await vi.waitFor(async () =>
      expect((await pool.getLeaderboard(board)).entries).toHaveLength(1),
    );
    // A later event on the same key is delivered after the duplicate, which was skipped.
    await bus.publish([
      envelope('settlement', market.marketId, PayoutMadeSchema, {
        payout: {
          userId: 'viewer-t',
          channelId: 'CHS',
          currency: 'PTS',
          kind: PayoutKind.SETTLEMENT,
          netMinor: -100n,
          stakeMinor: 100n,
          paidAtMs: BigInt(clock.now()),
        },
      }),
    ]);
    await vi.waitFor(async () =>
      expect((await pool.getLeaderboard(board)).entries).toHaveLength(2),
    );
    const entries = (await pool.getLeaderboard(board)).entries;
    expect(entries.map((e) => [e.userId, e.netProfitMinor, e.settledMarketCount])).toEqual([
      ['viewer-s', 150n, 1n],
      ['viewer-t', -100n, 1n],
    ]);
  });
});

if (!targets.some((t) => t.name === 'postgres')) {
  describe.skip(`pool service on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs the same cases on real PostgreSQL', () => {});
  });
}
