import type { DescService } from '@bufbuild/protobuf';
import { authInterceptor, type AccessPolicy } from '@streambet/platform/auth/auth-interceptor';
import { createUserTokenVerifier, type JwksSource } from '@streambet/platform/auth/tokens';
import { createHealth } from '@streambet/platform/health/health';
import { createLogger, type Logger } from '@streambet/platform/log/logger';
import { createMetricsRegistry } from '@streambet/platform/obs/metrics';
import {
  createCircuitBreakerRegistry,
  type CircuitBreakerRegistry,
} from '@streambet/platform/rpc/circuit-breaker';
import { createServiceClient, type ServiceClient } from '@streambet/platform/rpc/client';
import { createRpcServer } from '@streambet/platform/rpc/server';
import { serviceUrl, type DownstreamName } from '@streambet/platform/runtime/platform-config';
import type { GatewayConfig } from './config.js';
import { createForwardingImpl } from './forward.js';
import { downstreamNames, publicRoutes } from './public-services.js';
import { statusRoute } from './status-page.js';

/** Options of {@link startGateway}. */
export interface StartGatewayOptions {
  readonly config: GatewayConfig;
  readonly logger?: Logger;
  readonly breakers?: CircuitBreakerRegistry;
  /** Overrides USER_JWKS_URL. */
  readonly userJwks?: JwksSource;
}

/** A started gateway. */
export interface RunningGateway {
  readonly url: string;
  readonly port: number;
  /** Drains in-flight calls (SHUTDOWN_GRACE_MS), then closes downstream connections. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Every public method is open at the edge ('public'), because the owning service decides who may
 * call it. The gateway's part is authentication: a token, when sent, must be a valid user token
 * (signature, issuer, audience, expiry) — so forged or expired tokens stop here — and service
 * credentials are refused outright (no service-token verifier is configured).
 */
function edgePolicy(): AccessPolicy {
  const policy: Record<string, readonly ['public']> = {};
  for (const { service } of publicRoutes) {
    for (const method of service.methods) policy[`${service.typeName}/${method.name}`] = ['public'];
  }
  return policy;
}

/**
 * Starts the gateway: one port serving every public API over Connect, gRPC and gRPC-Web, forwarding
 * each call to the service that owns it with a deadline, a circuit breaker per service and retries
 * of idempotent calls; plus a status page at `/`.
 */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  const registry = createMetricsRegistry({ service: 'gateway' });
  const breakers = options.breakers ?? createCircuitBreakerRegistry();
  const urls = new Map<DownstreamName, string>(
    downstreamNames.map((name) => [name, serviceUrl(config, name)]),
  );
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
    return { route, impl: createForwardingImpl(route.service, client.client, route.downstream) };
  });
  const server = createRpcServer({
    name: 'gateway',
    routes(router) {
      for (const { route, impl } of impls) router.service(route.service, impl);
    },
    auth: authInterceptor({
      verifyUserToken: createUserTokenVerifier({
        jwks: options.userJwks ?? new URL(config.USER_JWKS_URL),
        issuer: config.USER_TOKEN_ISSUER,
        audience: config.USER_TOKEN_AUDIENCE,
      }),
      policy: edgePolicy(),
    }),
    logger,
    registry,
    health: createHealth(),
    host: config.HOST,
    port: config.PORT,
    maxTimeoutMs: 60_000,
    http: statusRoute(urls),
  });
  const address = await server.listen();
  let stopping: Promise<void> | undefined;
  return {
    url: address.url,
    port: address.port,
    shutdown() {
      stopping ??= (async () => {
        await server.shutdown(config.SHUTDOWN_GRACE_MS);
        for (const client of clients) client.close();
      })();
      return stopping;
    },
  };
}
