// Issue 13, item 8: a dependency's outage must open the breaker for that dependency only.
// Three real servers on port 0, named after the incident: gateway → bet-engine → user. The user
// service is stopped (connection refused), then started again on the same port; the breakers run
// on a manual clock, so "within the reset" is decided by the test, not by sleeping.
import { Code, ConnectError } from '@connectrpc/connect';
import { manualClock, type ManualClock } from '@streambet/testkit/clock';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealth } from '../../src/health/health.js';
import { createLogger } from '../../src/log/logger.js';
import { createMetricsRegistry } from '../../src/obs/metrics.js';
import { createCircuitBreakerRegistry } from '../../src/rpc/circuit-breaker.js';
import { createServiceClient, type ServiceClient } from '../../src/rpc/client.js';
import { createRpcServer, type RpcServer } from '../../src/rpc/server.js';
import { EchoService, startEchoServer, type EchoServer } from '../fixtures/echo-service.js';

const marker = 'x-streambet-failed-dependency';
const breakerOptions = { failureThreshold: 3, resetTimeoutMs: 1000, maxResetTimeoutMs: 2000 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A platform service client with a breaker on `clock` and one retry without backoff. */
function hopClient(
  baseUrl: string,
  name: string,
  clock: ManualClock,
  protocol: 'grpc' | 'connect',
): ServiceClient<typeof EchoService> {
  const created = createServiceClient(EchoService, {
    baseUrl,
    name,
    protocol,
    logger: createLogger({ service: `${name}-client`, level: 'silent' }),
    breakers: createCircuitBreakerRegistry(),
    breaker: breakerOptions,
    retries: { count: 1, backoffBaseMs: 1 },
    random: () => 0,
    clock,
    timeoutMs: 5000,
  });
  cleanups.push(() => created.close());
  return created;
}

/** A service whose Echo calls Echo on `downstream` with the platform's server and client. */
async function startRelay(
  name: string,
  downstream: ServiceClient<typeof EchoService>,
): Promise<{ server: RpcServer; url: string }> {
  const server = createRpcServer({
    name,
    routes: (router) =>
      router.service(EchoService, {
        echo: (req, ctx) => downstream.client.echo({ text: req.text }, { signal: ctx.signal }),
      }),
    auth: 'none',
    logger: createLogger({ service: name, level: 'silent' }),
    registry: createMetricsRegistry({ service: name, collectDefaultMetrics: false }),
    health: createHealth({ checks: {} }),
    host: '127.0.0.1',
    port: 0,
  });
  const address = await server.listen();
  cleanups.push(() => server.shutdown(1000));
  return { server, url: address.url };
}

async function startUser(port = 0): Promise<EchoServer> {
  const user = await startEchoServer({ port });
  cleanups.push(() => user.server.shutdown(1000));
  return user;
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error('call unexpectedly succeeded');
}

describe('a dependency outage (gateway → bet-engine → user)', () => {
  it.each(['grpc', 'connect'] as const)(
    'opens only the breaker for the failed service, names it, and recovers within its reset (%s)',
    async (protocol) => {
      const clock = manualClock();
      let user = await startUser();
      const userPort = user.address.port;
      const betEngineToUser = hopClient(user.address.url, 'user', clock, protocol);
      const betEngine = await startRelay('bet-engine', betEngineToUser);
      const gatewayToBetEngine = hopClient(betEngine.url, 'bet-engine', clock, protocol);
      const gateway = await startRelay('gateway', gatewayToBetEngine);
      const viewer = createServiceClient(EchoService, {
        baseUrl: gateway.url,
        protocol,
        logger: createLogger({ service: 'viewer', level: 'silent' }),
        breaker: false,
        retries: false,
      });
      cleanups.push(() => viewer.close());

      await expect(viewer.client.echo({ text: 'before' })).resolves.toMatchObject({
        text: 'before',
      });

      await user.server.shutdown(1000);
      for (let call = 0; call < 4; call += 1) {
        const error = await failure(viewer.client.echo({ text: `outage ${call}` }));
        expect(error.code).toBe(Code.Unavailable);
        expect(error.rawMessage).toBe('the user service is unavailable; retry shortly');
        expect(error.metadata.get(marker)).toBe('user');
      }
      expect(betEngineToUser.breaker?.state).toBe('open');
      expect(betEngineToUser.breaker?.rejectedCalls).toBeGreaterThan(0);
      expect(gatewayToBetEngine.breaker?.state).toBe('closed');
      expect(gatewayToBetEngine.breaker?.rejectedCalls).toBe(0);

      user = await startUser(userPort);
      // back, but the bet engine's breaker has not probed yet: fast failures, still naming user
      const early = await failure(viewer.client.echo({ text: 'too early' }));
      expect(early.rawMessage).toBe('the user service is unavailable; retry shortly');
      expect(user.state.attempts.get('Echo') ?? 0).toBe(0);

      clock.advance(breakerOptions.resetTimeoutMs);
      await expect(viewer.client.echo({ text: 'after' })).resolves.toMatchObject({
        text: 'after',
      });
      expect(betEngineToUser.breaker?.state).toBe('closed');
      expect(gatewayToBetEngine.breaker?.state).toBe('closed');
      expect(user.state.attempts.get('Echo')).toBe(1);
    },
  );

  it('still opens the breaker for a target that is down itself', async () => {
    const clock = manualClock();
    const user = await startUser();
    const betEngineToUser = hopClient(user.address.url, 'user', clock, 'grpc');
    const betEngine = await startRelay('bet-engine', betEngineToUser);
    const gatewayToBetEngine = hopClient(betEngine.url, 'bet-engine', clock, 'grpc');

    await betEngine.server.shutdown(1000);
    for (let call = 0; call < 2; call += 1) {
      const error = await failure(gatewayToBetEngine.client.echo({ text: 'down' }));
      expect(error.code).toBe(Code.Unavailable);
      expect(error.metadata.get(marker)).toBeNull();
    }
    expect(gatewayToBetEngine.breaker?.state).toBe('open');
  });
});
