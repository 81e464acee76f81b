/**
 * The gateway's public port is the world's, so it does not serve /metrics: Prometheus scrapes
 * METRICS_PORT, an internal port of its own (empty = PORT + 1000, a free port when PORT is 0).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../src/config.js';
import { startTestGateway, stopGateways } from './harness.js';

afterAll(async () => {
  await stopGateways();
});

describe('metrics on an internal port', () => {
  it('given a started gateway, then the public port answers /metrics with 404 and the metrics port serves them', async () => {
    const gateway = await startTestGateway({});
    const onPublic = await fetch(`${gateway.url}/metrics`);
    expect(onPublic.status).toBe(404);
    expect(await onPublic.text()).not.toContain('# HELP');
    expect(new URL(gateway.metricsUrl).port).not.toBe(String(gateway.port));
    const scraped = await fetch(gateway.metricsUrl);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('# HELP');
    // Only /metrics lives there: nothing of the public surface is reachable through it.
    expect((await fetch(new URL('/status.json', gateway.metricsUrl))).status).toBe(404);
  });

  it('given METRICS_PORT, then it is that port; empty means the default derived from PORT', () => {
    const embedded = { STREAMBET_MODE: 'embedded' };
    expect(loadGatewayConfig({ ...embedded, METRICS_PORT: '9464' }).METRICS_PORT).toBe(9464);
    expect(loadGatewayConfig(embedded).METRICS_PORT).toBeUndefined();
    expect(() => loadGatewayConfig({ ...embedded, METRICS_PORT: 'nine' })).toThrow(/METRICS_PORT/);
  });
});
