import type { DescService } from '@bufbuild/protobuf';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import { authInterceptor, type AccessPolicy } from '@streambet/platform/auth/auth-interceptor';
import { createUserTokenVerifier, type JwksSource } from '@streambet/platform/auth/tokens';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import { createRedisCache } from '@streambet/platform/cache/redis';
import type { Cache } from '@streambet/platform/cache/types';
import { createHealth } from '@streambet/platform/health/health';
import { createLogger, type Logger } from '@streambet/platform/log/logger';
import { createMetricsRegistry } from '@streambet/platform/obs/metrics';
import {
  createCircuitBreakerRegistry,
  type CircuitBreakerRegistry,
} from '@streambet/platform/rpc/circuit-breaker';
import { createServiceClient, type ServiceClient } from '@streambet/platform/rpc/client';
import { systemClock, type Clock } from '@streambet/platform/rpc/clock';
import { createRpcServer } from '@streambet/platform/rpc/server';
import { serviceUrl, type DownstreamName } from '@streambet/platform/runtime/platform-config';
import type { GatewayConfig } from './config.js';
import { createCors } from './cors.js';
import { createForwardingImpl } from './forward.js';
import { createSocketIoProxy, createWebhookPassthrough } from './proxy.js';
import { downstreamNames, publicRoutes } from './public-services.js';
import { createRateLimiter, type RateLimits } from './rate-limit.js';
import { createReflectionIndex, reflectionServices, registerReflection } from './reflection.js';
import { createStaticFiles, resolveWebDir } from './static-files.js';
import { statusRoute } from './status-page.js';
import { createDevMailboxRoute } from './dev-mailbox.js';

/** Options of {@link startGateway}. */
export interface StartGatewayOptions {
  readonly config: GatewayConfig;
  readonly logger?: Logger;
  readonly breakers?: CircuitBreakerRegistry;
  /** Overrides USER_JWKS_URL. */
  readonly userJwks?: JwksSource;
  /** The rate limits' store; default from CACHE (memory, or Redis under `streambet:gateway:`). */
  readonly cache?: Cache;
  /** The rate limits' clock; tests inject a manual one. Default: the wall clock. */
  readonly clock?: Clock;
}

/** A started gateway. */
export interface RunningGateway {
  readonly url: string;
  readonly port: number;
  /** Where GET /metrics is served: the internal METRICS_PORT, never the public port. */
  readonly metricsUrl: string;
  /** The web app folder served at `/`, or undefined (then the status page is at `/` as well as `/status`). */
  readonly webDir: string | undefined;
  /** Drains in-flight calls (SHUTDOWN_GRACE_MS), then closes downstream connections. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Every public method is open at the edge ('public'), because the owning service decides who may
 * call it. The gateway's part is authentication: a token, when sent, must be a valid user token
 * (signature, issuer, audience, expiry) — so forged or expired tokens stop here — and service
 * credentials are refused outright (no service-token verifier is configured). Server reflection is
 * open too: it describes only the public services.
 */
function edgePolicy(): AccessPolicy {
  const policy: Record<string, readonly ['public']> = {};
  for (const service of [...publicRoutes.map((route) => route.service), ...reflectionServices]) {
    for (const method of service.methods) policy[`${service.typeName}/${method.name}`] = ['public'];
  }
  return policy;
}

/** The rate limits of the config; a refill rate of 0 turns that limit off. */
export function rateLimitsOf(config: GatewayConfig): RateLimits {
  return {
    ...(config.RATE_LIMIT_IP_PER_SECOND > 0
      ? {
          perIp: {
            capacity: config.RATE_LIMIT_IP_BURST,
            refillPerSecond: config.RATE_LIMIT_IP_PER_SECOND,
          },
        }
      : {}),
    ...(config.RATE_LIMIT_USER_PER_SECOND > 0
      ? {
          perUser: {
            capacity: config.RATE_LIMIT_USER_BURST,
            refillPerSecond: config.RATE_LIMIT_USER_PER_SECOND,
          },
        }
      : {}),
  };
}

type NodeRequest = IncomingMessage | Http2ServerRequest;
type NodeResponse = ServerResponse | Http2ServerResponse;

/**
 * Starts the gateway: one port serving every public API over Connect, gRPC and gRPC-Web, forwarding
 * each call to the service that owns it with a deadline, a circuit breaker per service and retries
 * of idempotent calls. At the edge it limits calls per client address and per user, answers CORS
 * for the configured origins, and beside the RPCs serves provider webhooks (passed on raw),
 * socket.io (proxied to the realtime service), the web app's files and a status page (`/status`,
 * and `/` too when there is no web app; `/status.json` for scripts). gRPC server reflection describes
 * the public services (never the internal ones) to tools such as grpcurl and `buf curl`.
 */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  const registry = createMetricsRegistry({ service: 'gateway' });
  const breakers = options.breakers ?? createCircuitBreakerRegistry();
  const webDir = resolveWebDir(config.WEB_DIR);
  const urls = new Map<DownstreamName, string>(
    downstreamNames.map((name) => [name, serviceUrl(config, name)]),
  );
  const clock = options.clock ?? systemClock;
  const ownCache = options.cache === undefined;
  const cache: Cache =
    options.cache ??
    (config.CACHE === 'redis'
      ? createRedisCache({ url: config.REDIS_URL, keyPrefix: 'streambet:gateway:' })
      : // Bucket expiry on the limits' own clock, so a test's manual clock governs both.
        createMemoryCache({ now: () => clock.now() }));
  const limiter = createRateLimiter({
    cache,
    clock,
    limits: rateLimitsOf(config),
    trustedProxyHops: config.TRUSTED_PROXY_HOPS,
    logger,
    registry,
  });
  const clients: Array<ServiceClient<DescService>> = [];
  const impls = publicRoutes.map((route) => {
    const client = createServiceClient(route.service, {
      baseUrl: urls.get(route.downstream) ?? '',
      name: route.downstream,
      timeoutMs: config.RPC_TIMEOUT_MS,
      logger,
      registry,
      breakers,
    });
    clients.push(client);
    return {
      route,
      impl: createForwardingImpl(
        route.service,
        client.client,
        route.downstream,
        config.TRUSTED_PROXY_HOPS,
      ),
    };
  });
  // gRPC server reflection (v1, v1alpha) of the public services only: grpcurl / buf curl need no schema.
  const reflection = createReflectionIndex(publicRoutes.map((route) => route.service));
  const cors = createCors(config.CORS_ALLOWED_ORIGINS);
  const webhooks = createWebhookPassthrough({
    urls: {
      user: serviceUrl(config, 'user'),
      integration: serviceUrl(config, 'integration'),
      payment: serviceUrl(config, 'payment'),
    },
    maxBodyBytes: config.WEBHOOK_MAX_BODY_BYTES,
    timeoutMs: config.RPC_TIMEOUT_MS,
    logger,
    trustedProxyHops: config.TRUSTED_PROXY_HOPS,
  });
  const socketIo = createSocketIoProxy({
    target: serviceUrl(config, 'realtime'),
    logger,
    trustedProxyHops: config.TRUSTED_PROXY_HOPS,
  });
  const status = statusRoute(urls, webDir === undefined);
  const devMailbox =
    config.STREAMBET_MODE === 'embedded'
      ? createDevMailboxRoute({ userUrl: serviceUrl(config, 'user') })
      : () => false;
  const staticFiles = webDir === undefined ? undefined : createStaticFiles(webDir, logger);
  const http = (req: NodeRequest, res: NodeResponse): boolean =>
    cors(req, res) ||
    webhooks.route(req, res) ||
    socketIo.route(req, res) ||
    status(req, res) ||
    devMailbox(req, res) ||
    (staticFiles?.(req, res) ?? false);

  const server = createRpcServer({
    name: 'gateway',
    routes(router) {
      for (const { route, impl } of impls) router.service(route.service, impl);
      registerReflection(router, reflection);
    },
    // Per-address limits ran in the request gate, before token checks (floods of bad tokens
    // count); per-user limits run after them.
    auth: authInterceptor({
      verifyUserToken: createUserTokenVerifier({
        jwks: options.userJwks ?? new URL(config.USER_JWKS_URL),
        issuer: config.USER_TOKEN_ISSUER,
        audience: config.USER_TOKEN_AUDIENCE,
      }),
      policy: edgePolicy(),
    }),
    interceptors: [limiter.perUser],
    logger,
    registry,
    health: createHealth(),
    host: config.HOST,
    port: config.PORT,
    // The public port is the world's: metrics go to their own port, for Prometheus only.
    // Derived from PORT unless set; a free one when PORT is 0 or too high to add 1000 (tests).
    metricsPort:
      config.METRICS_PORT ??
      (config.PORT === 0 || config.PORT + 1000 > 65535 ? 0 : config.PORT + 1000),
    maxTimeoutMs: 60_000,
    readMaxBytes: config.RPC_MAX_BODY_BYTES,
    // Per-address limits run before the body is read (floods of large bodies count too).
    requestGate: limiter.perIpGate,
    http,
    attachHttpServer(http1) {
      http1.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
        if (!socketIo.upgrade(req, socket, head)) {
          socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        }
      });
    },
  });
  let address: Awaited<ReturnType<typeof server.listen>>;
  try {
    address = await server.listen();
  } catch (error) {
    socketIo.close();
    webhooks.close();
    for (const client of clients) client.close();
    if (ownCache) await cache.close();
    throw error;
  }
  logger.info(
    { webDir: webDir ?? 'none', statusPage: webDir === undefined ? '/ and /status' : '/status' },
    'gateway edge routes ready',
  );
  let stopping: Promise<void> | undefined;
  return {
    url: address.url,
    port: address.port,
    metricsUrl: address.metricsUrl ?? `${address.url}/metrics`,
    webDir,
    shutdown() {
      stopping ??= (async () => {
        // Live connections first: socket.io clients reconnect to another gateway at once.
        socketIo.close();
        await server.shutdown(config.SHUTDOWN_GRACE_MS);
        // Calls are drained: closing the rest cannot lose work, so a failure there (a downstream
        // that went away at the same moment) is logged, and the other connections still close.
        const closing: Array<[string, () => unknown]> = [
          ['webhook pass-through', () => webhooks.close()],
          ...clients.map((client, index): [string, () => unknown] => [
            `downstream client ${index}`,
            () => client.close(),
          ]),
          ...(ownCache ? [['cache', () => cache.close()] as [string, () => unknown]] : []),
        ];
        for (const [what, close] of closing) {
          try {
            await close();
          } catch (error) {
            logger.warn({ err: error, what }, 'closing after the drain failed');
          }
        }
      })();
      return stopping;
    },
  };
}
