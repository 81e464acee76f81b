import { Counter, Gauge } from 'prom-client';
import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import { closeRedis, duplicateRedis, openRedis } from '@streambet/platform/cache/redis-connection';
import {
  RealtimeService,
  RealtimeInternalService,
} from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import { createChat } from './chat.js';
import {
  connectionLimitsOf,
  defaultRealtimeSettings,
  type RealtimeConfig,
  type RealtimeSettings,
} from './config.js';
import { createFanoutConsumer, createProjectionConsumer } from './consumers.js';
import { createFanout } from './fanout.js';
import { realtimeMigrations } from './migrations/index.js';
import { realtimePolicy } from './policy.js';
import { createRealtimeInternalServiceImpl, createRealtimeServiceImpl } from './routes.js';
import { createSocketServer } from './socket-server.js';
import { createRealtimeStore } from './store.js';

/**
 * Builds the realtime service: socket.io on the service's own port at `/socket.io/` (the gateway
 * proxies that path here), rooms fed by the bus (`fanout` consumer) and by Publish, chat with its
 * moderation RPCs, and the projections chat and room checks need. With CACHE=redis the socket.io
 * Redis adapter shares rooms between every realtime process. `settings` defaults to the
 * deployment's; tests pass theirs.
 */
export function createRealtimeServiceDefinition(
  settings: RealtimeSettings = defaultRealtimeSettings,
): ServiceDefinition<RealtimeConfig> {
  return {
    name: 'realtime',
    migrations: realtimeMigrations,
    create(ctx) {
      const store = createRealtimeStore(ctx.sql);
      const deliveries = new Counter({
        name: 'realtime_room_emits_total',
        help: 'Messages emitted to socket.io rooms, by event name family',
        labelNames: ['event'],
        registers: [ctx.registry],
      });
      const dropped = new Counter({
        name: 'realtime_conflation_dropped_total',
        help: 'Snapshots dropped because their version was not newer than one delivered or pending',
        registers: [ctx.registry],
      });
      const refusals = new Counter({
        name: 'realtime_socket_refusals_total',
        help: 'Client inputs refused on sockets, by Connect code name',
        labelNames: ['code'],
        registers: [ctx.registry],
      });
      const redis =
        ctx.config.CACHE === 'redis'
          ? (() => {
              const pub = openRedis('socket.io adapter', { url: ctx.config.REDIS_URL });
              return { pub, sub: duplicateRedis(pub) };
            })()
          : undefined;
      // The fan-out emits through the socket server, which is created after it (chat needs both).
      let emitToRoom: (room: string, event: string, payload: unknown) => void = () => undefined;
      const fanout = createFanout({
        emit: (room, event, payload) => emitToRoom(room, event, payload),
        clock: ctx.clock,
        conflationIntervalMs: settings.conflationIntervalMs,
        onDelivered: (event) => deliveries.inc({ event: event.split(':')[0] ?? event }),
        onDropped: () => dropped.inc(),
      });
      const chat = createChat({
        store,
        cache: ctx.cache,
        clock: ctx.clock,
        fanout,
        logger: ctx.logger.child({ component: 'chat' }),
      });
      const sockets = createSocketServer({
        logger: ctx.logger.child({ component: 'socket.io' }),
        clock: ctx.clock,
        verifyUserToken: ctx.verifyUserToken,
        chat,
        store,
        // The join budget comes from the environment, unless a caller (a test) passed its own
        // settings, which then win.
        limits:
          settings === defaultRealtimeSettings
            ? {
                ...settings.socket,
                joinBurstPerAddress: ctx.config.REALTIME_ROOM_JOIN_BURST_PER_ADDRESS,
                joinsPerSecondPerAddress: ctx.config.REALTIME_ROOM_JOINS_PER_SECOND_PER_ADDRESS,
              }
            : settings.socket,
        connections: connectionLimitsOf(ctx.config),
        ...(redis === undefined
          ? {}
          : { redis: { pub: redis.pub.redis, sub: redis.sub.redis, key: settings.adapterKey } }),
        onRefused: (code) => refusals.inc({ code }),
      });
      emitToRoom = sockets.emit;
      new Gauge({
        name: 'realtime_connected_sockets',
        help: 'socket.io connections on this process',
        registers: [ctx.registry],
        collect() {
          this.set(sockets.connectedCount());
        },
      });
      return {
        routes(router) {
          router.service(RealtimeService, createRealtimeServiceImpl({ chat }));
          router.service(RealtimeInternalService, createRealtimeInternalServiceImpl({ fanout }));
        },
        policy: realtimePolicy,
        consumers: [createFanoutConsumer(fanout), createProjectionConsumer(store)],
        attachHttpServer: (server) => sockets.attach(server),
        ...(redis === undefined
          ? {}
          : {
              readiness: {
                socketAdapter: async () => {
                  await redis.pub.redis.ping();
                },
              },
            }),
        async stop() {
          fanout.close();
          await sockets.close();
          if (redis !== undefined) {
            await closeRedis(redis.sub);
            await closeRedis(redis.pub);
          }
        },
      };
    },
  };
}

/** The realtime service as the platform runs it (embedded `npm start` and its own process). */
export const realtimeService: ServiceDefinition<RealtimeConfig> = createRealtimeServiceDefinition();
