import { createClient, Code, ConnectError } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { afterEach, describe, expect, it } from 'vitest';
import { PoolService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { loadGatewayConfig } from '../src/config.js';
import { startGateway, type RunningGateway } from '../src/gateway.js';

const started: RunningGateway[] = [];
afterEach(async () => {
  for (const gateway of started.splice(0)) await gateway.shutdown();
});

async function gatewayWithPoolAt(poolUrl: string): Promise<RunningGateway> {
  const config = loadGatewayConfig({
    STREAMBET_MODE: 'embedded',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    POOL_SERVICE_URL: poolUrl,
    RPC_TIMEOUT_MS: '2000',
  });
  const gateway = await startGateway({ config });
  started.push(gateway);
  return gateway;
}

describe('gateway', () => {
  it('given a service that is down, when a client calls it, then UNAVAILABLE says which service without leaking internal addresses', async () => {
    // Port 1 on loopback: nothing listens there, connections are refused at once.
    const gateway = await gatewayWithPoolAt('http://127.0.0.1:1');
    const pool = createClient(
      PoolService,
      createConnectTransport({ baseUrl: gateway.url, httpVersion: '1.1' }),
    );
    let error: ConnectError | undefined;
    try {
      await pool.getMarket({ marketId: 'm-1' });
    } catch (e) {
      error = ConnectError.from(e);
    }
    expect(error?.code).toBe(Code.Unavailable);
    expect(error?.rawMessage).toBe('the pool service is temporarily unavailable; retry shortly');
    expect(error?.rawMessage).not.toContain('127.0.0.1');
  });

  it('given a bad variable, when the gateway config is read, then the error names it', () => {
    expect(() => loadGatewayConfig({ PORT: 'eighty', POOL_SERVICE_URL: 'not a url' })).toThrow(
      /PORT: "eighty" is invalid[\s\S]*POOL_SERVICE_URL: "not a url" is invalid/,
    );
  });
});
