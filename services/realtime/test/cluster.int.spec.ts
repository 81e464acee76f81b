/**
 * Two realtime processes behind the same Redis (socket.io Redis adapter, CACHE=redis) and the same
 * PostgreSQL database, fed by the Redis Streams bus as in cluster mode: a viewer connected to each
 * process receives the same odds update, whichever process consumed it.
 */
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { ChannelLinkedSchema } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import { MarketCreatedSchema } from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import { createRedisStreamsBus } from '@streambet/platform/bus/redis-streams';
import type { EventBus } from '@streambet/platform/bus/types';
import { realServers } from '@streambet/testkit/env';
import { spawnService, type ServiceProcess } from '@streambet/testkit/process';
import { sqlTargets, type SqlTestUrl } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { envelope, next, request, ulid, waitUntil } from './harness.js';

const skipReason =
  realServers.redisUrl === '' || realServers.postgresUrl === ''
    ? 'skipped: needs TEST_REDIS_URL (adapter, bus) and TEST_DATABASE_URL (both processes share one database, as in the cluster)'
    : undefined;

describe.skipIf(skipReason !== undefined)(
  `two realtime processes behind one Redis${skipReason === undefined ? '' : ` (${skipReason})`}`,
  () => {
    let database: SqlTestUrl;
    let bus: EventBus;
    const processes: ServiceProcess[] = [];
    const urls: string[] = [];
    const sockets: Socket[] = [];

    beforeAll(async () => {
      const postgres = sqlTargets().find((t) => t.name === 'postgres')!;
      database = await postgres.createUrl();
      const tokens = await createTestTokens();
      const env = {
        STREAMBET_MODE: 'cluster',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        SHUTDOWN_GRACE_MS: '1000',
        DATABASE_URL: database.url,
        DATABASE_POOL_SIZE: '3',
        CACHE: 'redis',
        EVENT_BUS: 'redis-streams',
        REDIS_URL: realServers.redisUrl,
        DATA_DIR: os.tmpdir(),
        ...tokens.serviceEnv('realtime'),
      };
      // Both start at once, as replicas do (migrations serialize on an advisory lock).
      const children = [0, 1].map(() => spawnService('services/realtime/src/main.ts', env));
      processes.push(...children);
      for (const ready of await Promise.all(children.map((c) => c.waitForLog('service ready')))) {
        urls.push(String(ready.url));
      }
      bus = createRedisStreamsBus({
        url: realServers.redisUrl,
        streamPrefix: 'streambet:bus',
        consumerName: `realtime-cluster-test-${process.pid}`,
      });
    }, 180_000);

    afterAll(async () => {
      for (const socket of sockets) socket.disconnect();
      await bus?.close();
      for (const child of processes) child.child.kill('SIGTERM');
      await Promise.all(processes.map((child) => child.exited));
      await database?.dispose();
    }, 30_000);

    const connect = async (url: string): Promise<Socket> => {
      const socket = io(url, {
        path: '/socket.io/',
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
      });
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      return socket;
    };

    it('delivers one odds update to viewers on both processes', async () => {
      const channelId = ulid();
      const marketId = ulid();
      await bus.publish([
        envelope('integration', channelId, ChannelLinkedSchema, {
          channelId,
          ownerUserId: ulid(),
          platform: Platform.TWITCH,
          platformChannelId: 'p',
          handle: 'h',
          displayName: 'd',
        }),
        envelope('market', marketId, MarketCreatedSchema, {
          marketId,
          channelId,
          title: 'Who wins?',
        }),
      ]);
      const [first, second] = [await connect(urls[0]!), await connect(urls[1]!)];
      for (const socket of [first, second]) {
        await waitUntil(
          async () => (await request(socket, 'room:join', { room: `market:${marketId}` })).ok,
          'the market projected',
        );
      }
      type Odds = { odds: { marketId: string; version: string } };
      const onFirst = next<Odds>(first, OddsChangedSchema.typeName);
      const onSecond = next<Odds>(second, OddsChangedSchema.typeName);
      await bus.publish([
        envelope('odds', marketId, OddsChangedSchema, {
          channelId,
          odds: { marketId, version: 42n },
        }),
      ]);
      for (const received of await Promise.all([onFirst, onSecond])) {
        expect(received.odds).toMatchObject({ marketId, version: '42' });
      }
    });
  },
);
