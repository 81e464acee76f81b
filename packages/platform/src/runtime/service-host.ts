import type { DescService } from '@bufbuild/protobuf';
import type { Client, ConnectRouter } from '@connectrpc/connect';
import type { Registry } from 'prom-client';
import { authInterceptor, type AccessPolicy } from '../auth/auth-interceptor.js';
import {
  createServiceTokenIssuer,
  createServiceTokenVerifier,
  createUserTokenVerifier,
  type JwksSource,
  type TokenVerifier,
} from '../auth/tokens.js';
import type { Caller } from '../auth/caller.js';
import type { EventBus, EventEnvelope, Subscription } from '../bus/types.js';
import type { Cache } from '../cache/types.js';
import { createHealth, type HealthCheck } from '../health/health.js';
import { createLogger, type Logger } from '../log/logger.js';
import { runWithLogContext } from '../log/log-context.js';
import { createMetricsRegistry } from '../obs/metrics.js';
import { withExtractedContext } from '../obs/tracing.js';
import { handleOnce } from '../outbox/inbox.js';
import { platformMigrations } from '../outbox/migrations.js';
import { createOutboxRelay } from '../outbox/relay.js';
import { createRetentionTask } from '../outbox/retention.js';
import { createConsumerHealth, type ConsumerHealth } from '../bus/consumer-health.js';
import { deadLetterHeaders } from '../bus/envelope.js';
import {
  createCircuitBreakerRegistry,
  systemClock,
  type CircuitBreakerRegistry,
  type Clock,
} from '../rpc/circuit-breaker.js';
import { createServiceClient, type ServiceClient } from '../rpc/client.js';
import { createRpcServer, type HttpRoute, type Http1Server } from '../rpc/server.js';
import { migrate } from '../sql/migrate.js';
import type { Migration, Sql, SqlExecutor } from '../sql/types.js';
import type { Infra } from './infra.js';
import { settleAll } from './infra.js';
import type { PlatformConfig, ServiceName } from './platform-config.js';

/** What a service's wiring gets to build its parts: its config, its resources and helpers. */
export interface ServiceContext<C extends PlatformConfig = PlatformConfig> {
  readonly name: ServiceName;
  readonly config: C;
  /** This service's own database (its schema when embedded); migrations are applied. */
  readonly sql: Sql;
  readonly bus: EventBus;
  readonly cache: Cache;
  readonly logger: Logger;
  /** This service's Prometheus registry (served on /metrics); add domain metrics here. */
  readonly registry: Registry;
  readonly clock: Clock;
  /**
   * A typed client for another service with the platform's call discipline (deadline, retries of
   * idempotent methods, circuit breaker, this service's credential). Closed on shutdown.
   */
  client<T extends DescService>(service: T, baseUrl: string): Client<T>;
  /** Call after committing outbox rows: the relay publishes them now instead of at its next poll. */
  outboxCommitted(): void;
  /**
   * Verifies a user access token exactly as this service's auth interceptor does (same JWKS,
   * issuer, audience, clock), for protocols outside Connect such as a socket.io handshake.
   */
  readonly verifyUserToken: TokenVerifier<Extract<Caller, { kind: 'user' }>>;
}

/**
 * An event consumer, subscribed as consumer group `<service>.<name>`. Either the platform makes its
 * effect exactly-once — `handle` runs in the same transaction as the event's inbox row — or the
 * consumer does it itself (`handleIdempotently`, e.g. when its store records the event id in its
 * own transaction).
 */
export type EventConsumer =
  | (ConsumerBase & { handle(event: EventEnvelope, tx: SqlExecutor): Promise<void> })
  | (ConsumerBase & { handleIdempotently(event: EventEnvelope): Promise<void> });

/** What every {@link EventConsumer} has. */
export interface ConsumerBase {
  readonly name: string;
  readonly topics: readonly string[];
  /**
   * Attempts before the event goes to the dead-letter topic; default the bus's (5). `'unlimited'`
   * for consumers that move money or change state: they retry (capped backoff) until the effect
   * commits, and `bus_oldest_failing_event_age_seconds` alerts when one is stuck.
   */
  readonly maxAttempts?: number | 'unlimited';
  /**
   * Opt-in batch delivery (SubscribeOptions.handleBatch) for a `handleIdempotently` consumer whose
   * cost is per call (the analytics warehouse sink: one insert per batch): the bus hands it up to
   * `batchMaxEvents` events at once, several per key in order; throwing retries them all.
   */
  readonly handleBatchIdempotently?: (events: readonly EventEnvelope[]) => Promise<void>;
  /** Most events per `handleBatchIdempotently` call (the bus's default when unset). */
  readonly batchMaxEvents?: number;
}

/** Work a service does on its own (expiry sweeps, auto-lock timers); stopped before the outbox flush. */
export interface BackgroundTask {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
}

/** What a service is made of, as its `app.ts` builds it from a {@link ServiceContext}. */
export interface ServiceParts {
  /** Registers the Connect services: `router.service(BetEngineService, impl)`. */
  routes(router: ConnectRouter): void;
  /** Who may call each method (definePolicy); a method without an entry is denied. */
  readonly policy: AccessPolicy;
  readonly consumers?: readonly EventConsumer[];
  readonly tasks?: readonly BackgroundTask[];
  /** Plain HTTP routes on the same port (webhooks with raw bodies, JWKS). */
  readonly http?: HttpRoute;
  /**
   * Called once with the port's HTTP/1.1 server before it listens, for protocols that take over
   * requests or the `upgrade` event themselves (socket.io). Their long-lived connections are not
   * counted as in-flight calls; shutdown ends them with the other HTTP/1.1 connections.
   */
  attachHttpServer?(server: Http1Server): void;
  /** Extra readiness checks beyond database and bus. */
  readonly readiness?: Readonly<Record<string, HealthCheck>>;
  /** Releases what `create` acquired; runs after consumers and tasks stopped, before the outbox flush. */
  stop?(): Promise<void>;
}

/** A deployable: its name, its schema and how to build it. Each service exports one from `app.ts`. */
export interface ServiceDefinition<C extends PlatformConfig = PlatformConfig> {
  readonly name: ServiceName;
  /** This service's own migrations; the platform's (outbox, inbox) are applied first. */
  readonly migrations: readonly Migration[];
  create(context: ServiceContext<C>): Promise<ServiceParts> | ServiceParts;
}

/** Options of {@link startService}. */
export interface StartServiceOptions<C extends PlatformConfig> {
  readonly config: C;
  readonly infra: Infra;
  /** Default: a pino logger at LOG_LEVEL named after the service. */
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Where this service's downstream circuit breakers live; default: one registry per service. */
  readonly breakers?: CircuitBreakerRegistry;
  /** Overrides USER_JWKS_URL (embedded mode hands the key set over directly). */
  readonly userJwks?: JwksSource;
  /** Close `infra` on shutdown (standalone processes own it; embedded mode shares it). */
  readonly ownsInfra?: boolean;
}

/** A started service. */
export interface RunningService {
  readonly name: ServiceName;
  /** Base URL clients use, e.g. `http://127.0.0.1:7002`. */
  readonly url: string;
  readonly port: number;
  readonly logger: Logger;
  /**
   * Graceful shutdown, in order: readiness turns 503 and new calls are refused; in-flight calls get
   * SHUTDOWN_GRACE_MS to finish; background tasks stop; the outbox is flushed while consumers are
   * still subscribed (at most SHUTDOWN_GRACE_MS); consumers stop; the outbox is flushed to the bus
   * again; clients and (if owned) infrastructure close. Idempotent.
   */
  shutdown(): Promise<void>;
}

/**
 * Starts one service on the platform: migrations, outbox relay, event consumers, background tasks
 * and the RPC server with auth, probes and metrics. The same function runs a service alone in its
 * own process (cluster mode) and next to the others in one process (`npm start`).
 */
export async function startService<C extends PlatformConfig>(
  definition: ServiceDefinition<C>,
  options: StartServiceOptions<C>,
): Promise<RunningService> {
  const { config, infra } = options;
  const name = definition.name;
  const logger = options.logger ?? createLogger({ service: name, level: config.LOG_LEVEL });
  const clock = options.clock ?? systemClock;
  const registry = createMetricsRegistry({ service: name });
  const breakers = options.breakers ?? createCircuitBreakerRegistry();
  const { sql, bus, cache } = infra;

  await migrate(sql, name, [...platformMigrations, ...definition.migrations], { logger });

  const relay = createOutboxRelay({ sql, bus, logger: logger.child({ component: 'outbox' }) });
  const serviceToken = createServiceTokenIssuer({
    privateJwk: config.SERVICE_TOKEN_PRIVATE_JWK,
    service: name,
    clock,
  });
  const clients: Array<ServiceClient<DescService>> = [];
  const verifyUserToken = createUserTokenVerifier({
    jwks: options.userJwks ?? new URL(config.USER_JWKS_URL),
    issuer: config.USER_TOKEN_ISSUER,
    audience: config.USER_TOKEN_AUDIENCE,
    clock,
  });
  const context: ServiceContext<C> = {
    name,
    config,
    sql,
    bus,
    cache,
    logger,
    registry,
    clock,
    client(service, baseUrl) {
      const created = createServiceClient(service, {
        baseUrl,
        timeoutMs: config.RPC_TIMEOUT_MS,
        credentials: serviceToken,
        logger,
        registry,
        breakers,
        clock,
      });
      clients.push(created);
      return created.client;
    },
    outboxCommitted: () => relay.wake(),
    verifyUserToken,
  };

  const parts = await definition.create(context);
  relay.start();
  const consumerHealth = createConsumerHealth({
    registry,
    logger,
    now: () => clock.now(),
    alertAfterMs: config.CONSUMER_FAILING_ALERT_MS,
  });
  const consumers = createConsumerSet(name, parts.consumers ?? [], {
    sql,
    bus,
    logger,
    health: consumerHealth,
  });
  const retention = createRetentionTask({
    sql,
    registry,
    logger,
    now: () => clock.now(),
    outboxRetentionHours: config.OUTBOX_RETENTION_HOURS,
    inboxRetentionHours: config.INBOX_RETENTION_HOURS,
  });
  await consumers.firstAttempt;
  const health = createHealth({
    checks: {
      database: () => sql.ping(),
      bus: () => bus.ping(),
      consumers: () => consumers.check(),
      ...parts.readiness,
    },
  });
  const auth = authInterceptor({
    verifyUserToken,
    verifyServiceToken: createServiceTokenVerifier({
      publicJwks: config.SERVICE_TOKEN_PUBLIC_JWKS,
      clock,
    }),
    policy: parts.policy,
  });
  const server = createRpcServer({
    name,
    routes: (router) => parts.routes(router),
    auth,
    logger,
    registry,
    health,
    host: config.HOST,
    port: config.PORT,
    readMaxBytes: config.RPC_MAX_BODY_BYTES,
    ...(parts.http === undefined ? {} : { http: parts.http }),
    ...(parts.attachHttpServer === undefined
      ? {}
      : { attachHttpServer: (http1: Http1Server) => parts.attachHttpServer?.(http1) }),
  });

  for (const task of parts.tasks ?? []) task.start();
  retention.start();
  const address = await server.listen();

  let stopping: Promise<void> | undefined;
  return {
    name,
    url: address.url,
    port: address.port,
    logger,
    shutdown() {
      stopping ??= (async () => {
        const startedAtMs = clock.now();
        await server.shutdown(config.SHUTDOWN_GRACE_MS);
        await settleAll(logger, [
          ...(parts.tasks ?? []).map((task) => () => task.stop()),
          () => retention.stop(),
          // Consumers are still subscribed: on the in-process bus, which publishes only what they
          // confirm, this is their last chance to take what the outbox holds (bounded; rows left
          // unpublished are delivered after the restart).
          () => settleWithin(relay.flush(), config.SHUTDOWN_GRACE_MS, logger),
          () => consumers.close(),
          async () => parts.stop?.(),
          () => relay.flush(),
          () => relay.stop(),
          () => {
            for (const client of clients) client.close();
            return Promise.resolve();
          },
          ...(options.ownsInfra === true ? [() => infra.close()] : []),
        ]);
        logger.info({ shutdownMs: clock.now() - startedAtMs }, 'service stopped');
      })();
      return stopping;
    },
  };
}

/** Waits for `work` at most `ms`; a failure or the timeout is logged, not thrown (shutdown goes on). */
async function settleWithin(work: Promise<void>, ms: number, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    const outcome = await Promise.race([work.then(() => 'done' as const), timeout]);
    if (outcome === 'timeout')
      logger.warn(
        { waitedMs: ms },
        'outbox flush before closing consumers took too long; going on',
      );
  } catch (error) {
    logger.warn({ err: error }, 'outbox flush before closing consumers failed; going on');
  } finally {
    clearTimeout(timer);
  }
}

async function subscribeConsumer(
  service: ServiceName,
  consumer: EventConsumer,
  deps: ConsumerDeps,
): Promise<Subscription> {
  const group = `${service}.${consumer.name}`;
  const handle: (event: EventEnvelope) => Promise<void> =
    'handleIdempotently' in consumer
      ? (event) => consumer.handleIdempotently(event)
      : async (event) => {
          const applied = await handleOnce(deps.sql, group, event, (tx) =>
            consumer.handle(event, tx),
          );
          if (!applied) deps.logger.debug({ eventId: event.id, group }, 'duplicate event skipped');
        };
  // A dead letter replayed for one group (`npm run dlq -- replay`) reaches every group of its
  // topic; the others acknowledge it without handling it.
  const apply = (event: EventEnvelope): Promise<void> => {
    const replayFor = event.headers[deadLetterHeaders.replayForGroup];
    return replayFor === undefined || replayFor === group ? handle(event) : Promise.resolve();
  };
  const handleBatch = consumer.handleBatchIdempotently;
  return deps.bus.subscribe({
    group,
    topics: consumer.topics,
    ...(consumer.maxAttempts === undefined ? {} : { maxAttempts: consumer.maxAttempts }),
    ...(handleBatch === undefined || !('handleIdempotently' in consumer)
      ? {}
      : {
          ...(consumer.batchMaxEvents === undefined
            ? {}
            : { batchMaxEvents: consumer.batchMaxEvents }),
          // A replayed dead letter meant for another group is acknowledged without handling.
          handleBatch: deps.health.wrapBatch(group, (events) =>
            handleBatch(
              events.filter((event) => {
                const replayFor = event.headers[deadLetterHeaders.replayForGroup];
                return replayFor === undefined || replayFor === group;
              }),
            ),
          ),
        }),
    onDeadLettered: (event) => deps.health.deadLettered(group, event),
    handler: deps.health.wrap(group, (event) =>
      withExtractedContext(
        event.headers,
        () =>
          runWithLogContext({ requestId: event.headers['request-id'] ?? event.id }, () =>
            apply(event),
          ),
        {
          spanName: `consume ${event.type}`,
          service,
          attributes: {
            'messaging.system': deps.bus.kind,
            'messaging.operation.type': 'process',
            'messaging.destination.name': event.topic,
            'messaging.consumer.group.name': group,
            'messaging.message.id': event.id,
          },
        },
      ),
    ),
  });
}

/** What subscribing a consumer needs. */
interface ConsumerDeps {
  readonly sql: Sql;
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly health: ConsumerHealth;
}

/** The service's consumers, subscribed now or, while the bus is unreachable, retried in the background. */
interface ConsumerSet {
  /** Settles once every consumer had one try (subscribed or scheduled for retry). */
  readonly firstAttempt: Promise<void>;
  /** Readiness: rejects while a consumer is not subscribed. */
  check(): Promise<void>;
  /** Stops retrying and closes every subscription (in-flight handlers finish first). */
  close(): Promise<void>;
}

/**
 * Subscribes every consumer. A bus that is down at start must not stop the service: its RPCs still
 * serve (a failing dependency degrades one feature, not the mesh), readiness says which consumers
 * are missing, and each is retried with backoff (0.2 s doubling to 10 s) until it subscribes.
 */
function createConsumerSet(
  service: ServiceName,
  consumers: readonly EventConsumer[],
  deps: ConsumerDeps,
): ConsumerSet {
  const subscriptions: Subscription[] = [];
  const missing = new Set(consumers.map((consumer) => consumer.name));
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const attempt = async (consumer: EventConsumer, delayMs: number): Promise<void> => {
    if (closed) return;
    try {
      const subscription = await subscribeConsumer(service, consumer, deps);
      if (closed) {
        await subscription.close();
        return;
      }
      subscriptions.push(subscription);
      missing.delete(consumer.name);
    } catch (error) {
      deps.logger.warn(
        { err: error, consumer: consumer.name, retryInMs: delayMs },
        'subscribing an event consumer failed; retrying',
      );
      const timer = setTimeout(() => {
        timers.delete(timer);
        void attempt(consumer, Math.min(delayMs * 2, 10_000));
      }, delayMs);
      timers.add(timer);
    }
  };

  return {
    firstAttempt: Promise.all(consumers.map((consumer) => attempt(consumer, 200))).then(() => {}),
    check: () =>
      missing.size === 0
        ? Promise.resolve()
        : Promise.reject(new Error(`not subscribed yet: ${[...missing].join(', ')}`)),
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all(subscriptions.splice(0).map((subscription) => subscription.close()));
    },
  };
}
