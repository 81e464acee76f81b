/**
 * The stream-online trigger as the platform runs it: the pool service on a real port with its
 * consumers on the in-process bus. A streamer saves a template with open_on_stream_online over
 * gRPC; the integration service's StreamWentOnline on the bus opens a market from it (MarketOpened
 * reaches the bus), and a second platform's StreamWentOnline for the same stream opens nothing more.
 */
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  ChannelLinkedSchema,
  StreamWentOnlineSchema,
} from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import { MarketOpenedSchema } from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import {
  MarketKind,
  MarketState,
  PoolService,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { createMemoryBus } from '@streambet/platform/bus/memory';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import { startService } from '@streambet/platform/runtime/service-host';
import { envelope } from '@streambet/testkit/events';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { createPoolServiceDefinition } from '../src/app.js';
import { loadPoolConfig } from '../src/config.js';
import { manualClock, testSettings } from './harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Generous for a loaded machine: the consumers poll the in-process bus. */
const waitOptions = { timeout: 15_000, interval: 50 };

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'template trigger in the running pool on %s',
  (_name, target) => {
    it('given a template that opens on stream online, when two platforms report the stream online, then one market opens', async () => {
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
      const service = await startService(createPoolServiceDefinition(testSettings), {
        config,
        infra: {
          sql: db.sql,
          bus,
          cache: createMemoryCache({ now: () => clock.now() }),
          close: async () => {},
        },
        userJwks: tokens.userJwks,
        clock,
      });
      cleanups.push(async () => {
        await service.shutdown();
        await bus.close();
        await db.dispose();
      });
      const opened: EventEnvelope[] = [];
      const subscription = await bus.subscribe({
        group: 'test.market',
        topics: ['market'],
        handler: (event) => {
          if (event.type === MarketOpenedSchema.typeName) opened.push(event);
          return Promise.resolve();
        },
      });
      cleanups.push(() => subscription.close());

      await bus.publish([
        envelope('integration', 'CHT', ChannelLinkedSchema, {
          channelId: 'CHT',
          ownerUserId: 'streamer-t',
          platform: Platform.TWITCH,
        }),
      ]);
      const pool = createClient(PoolService, createGrpcTransport({ baseUrl: service.url }));
      const owner = { headers: await tokens.userHeaders('streamer-t', 'streamer') };
      await vi.waitFor(
        async () =>
          expect(
            (await pool.getChannelSettings({ channelId: 'CHT' }, owner)).settings?.ownerUserId,
          ).toBe('streamer-t'),
        waitOptions,
      );
      const opener = {
        channelId: 'CHT',
        name: 'Opener',
        title: 'First blood?',
        outcomeTitles: ['Us', 'Them'],
        currency: 'PTS',
        kind: MarketKind.POOL,
        openOnStreamOnline: true,
      };
      await pool.saveMarketTemplate(opener, owner);

      await bus.publish([
        envelope('integration', 'CHT', StreamWentOnlineSchema, {
          channelId: 'CHT',
          platform: Platform.TWITCH,
          startedAtMs: BigInt(clock.now()),
        }),
      ]);
      await vi.waitFor(() => expect(opened).toHaveLength(1), waitOptions);
      // A marker after it under the same bus key (per-key order): the stream-online of another
      // channel with its own template. Once its market opened, the Kick event was handled.
      await bus.publish([
        envelope('integration', 'CHT-2', ChannelLinkedSchema, {
          channelId: 'CHT-2',
          ownerUserId: 'streamer-t',
          platform: Platform.KICK,
        }),
      ]);
      await vi.waitFor(
        async () =>
          expect(
            (await pool.getChannelSettings({ channelId: 'CHT-2' }, owner)).settings?.ownerUserId,
          ).toBe('streamer-t'),
        waitOptions,
      );
      await pool.saveMarketTemplate({ ...opener, channelId: 'CHT-2', title: 'Marker' }, owner);
      await bus.publish([
        envelope('integration', 'CHT', StreamWentOnlineSchema, {
          channelId: 'CHT',
          platform: Platform.KICK,
          startedAtMs: BigInt(clock.now()),
        }),
        envelope('integration', 'CHT', StreamWentOnlineSchema, {
          channelId: 'CHT-2',
          platform: Platform.KICK,
          startedAtMs: BigInt(clock.now()),
        }),
      ]);
      await vi.waitFor(() => expect(opened).toHaveLength(2), waitOptions);
      const markets = (await pool.listMarkets({ channelId: 'CHT' }, owner)).markets;
      expect(markets).toHaveLength(1);
      expect(markets[0]).toMatchObject({ state: MarketState.OPEN, title: 'First blood?' });
      const templates = (await pool.listMarketTemplates({ channelId: 'CHT' }, owner)).templates;
      expect(templates[0]?.lastMarketId).toBe(markets[0]!.marketId);
    });
  },
);
