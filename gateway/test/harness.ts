/**
 * Helpers of the gateway tests: a gateway on a free port with test settings, a stand-in pool
 * service that records what reached it, a log capture, and a manual clock.
 */
import { create } from '@bufbuild/protobuf';
import type { Environment } from '@streambet/platform/config/load-config';
import {
  ListMarketsResponseSchema,
  PoolService,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { createHealth } from '@streambet/platform/health/health';
import { manualClock as testkitManualClock, type ManualClock } from '@streambet/testkit/clock';
import { createLogger, type Logger } from '@streambet/platform/log/logger';
import { createMetricsRegistry } from '@streambet/platform/obs/metrics';
import { createRpcServer } from '@streambet/platform/rpc/server';
import { loadGatewayConfig } from '../src/config.js';
import { startGateway, type RunningGateway, type StartGatewayOptions } from '../src/gateway.js';

export type { ManualClock } from '@streambet/testkit/clock';

/** 2026-11-24T00:00:00Z, then only moved by hand. */
export function manualClock(startMs = Date.UTC(2026, 10, 24)): ManualClock {
  return testkitManualClock(startMs);
}

/** Log lines written by a logger, parsed. */
export interface LogCapture {
  readonly logger: Logger;
  readonly lines: Array<Record<string, unknown>>;
}

/** A debug-level logger whose JSON lines are kept for assertions. */
export function captureLogs(): LogCapture {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service: 'gateway',
    level: 'debug',
    destination: {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  return { logger, lines };
}

/** Gateways started by {@link startTestGateway}, shut down by {@link stopGateways}. */
const started: RunningGateway[] = [];

/**
 * A gateway on 127.0.0.1 and a free port; every downstream points at port 1 (refused at once)
 * unless `env` says otherwise, and the web app is off unless WEB_DIR is given.
 */
export async function startTestGateway(
  env: Environment,
  options: Omit<StartGatewayOptions, 'config'> = {},
): Promise<RunningGateway> {
  const nowhere = 'http://127.0.0.1:1';
  const config = loadGatewayConfig({
    STREAMBET_MODE: 'embedded',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    RPC_TIMEOUT_MS: '3000',
    SHUTDOWN_GRACE_MS: '1000',
    WEB_DIR: 'none',
    USER_SERVICE_URL: nowhere,
    BET_ENGINE_SERVICE_URL: nowhere,
    POOL_SERVICE_URL: nowhere,
    SETTLEMENT_SERVICE_URL: nowhere,
    PAYMENT_SERVICE_URL: nowhere,
    INTEGRATION_SERVICE_URL: nowhere,
    REALTIME_SERVICE_URL: nowhere,
    ANALYTICS_SERVICE_URL: nowhere,
    ...env,
  });
  const gateway = await startGateway({ config, ...options });
  started.push(gateway);
  return gateway;
}

/** Shuts down every gateway the test started. */
export async function stopGateways(): Promise<void> {
  for (const gateway of started.splice(0)) await gateway.shutdown();
}

/** What reached the stand-in pool service. */
export interface PoolCall {
  readonly requestId: string | null;
  readonly authorization: string | null;
}

/** A stand-in pool service (ListMarkets answers empty) that records each call's headers. */
export async function startFakePool(): Promise<{
  url: string;
  calls: PoolCall[];
  shutdown(): Promise<void>;
}> {
  const calls: PoolCall[] = [];
  const server = createRpcServer({
    name: 'pool',
    routes(router) {
      router.service(PoolService, {
        listMarkets(_request, ctx) {
          calls.push({
            requestId: ctx.requestHeader.get('x-request-id'),
            authorization: ctx.requestHeader.get('authorization'),
          });
          return create(ListMarketsResponseSchema, {});
        },
      });
    },
    auth: 'none',
    logger: createLogger({ service: 'pool', level: 'silent' }),
    registry: createMetricsRegistry({ service: 'pool', collectDefaultMetrics: false }),
    health: createHealth(),
    host: '127.0.0.1',
    port: 0,
  });
  const { url } = await server.listen();
  return { url, calls, shutdown: () => server.shutdown(1000) };
}
