/**
 * The public status page: one round of readiness probes serves every request for a while (an
 * anonymous page must not fan out to every service per request), and what a downstream or the
 * network said never reaches the page.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DownstreamName } from '@streambet/platform/runtime/platform-config';
import { manualClock } from '@streambet/testkit/clock';
import { probeDownstreams, statusRoute, type DownstreamStatus } from '../src/status-page.js';

/** A downstream whose readiness probe answers 503 with text that must stay private. */
function startUnready(): Promise<{
  url: string;
  probes: () => number;
  close: () => Promise<void>;
}> {
  let probes = 0;
  const server = http.createServer((_req, res) => {
    probes += 1;
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('database postgres://admin:hunter2@10.0.0.5/pool refused');
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        probes: () => probes,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

describe('status page', () => {
  let unready: Awaited<ReturnType<typeof startUnready>>;
  beforeAll(async () => {
    unready = await startUnready();
  });
  afterAll(async () => {
    await unready.close();
  });

  it('given an unready and an unreachable downstream, then it says so in its own words only', async () => {
    const closed = http.createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', () => done()));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((done) => closed.close(() => done()));
    const statuses = await probeDownstreams(
      new Map<DownstreamName, string>([
        ['pool', unready.url],
        ['user', `http://127.0.0.1:${closedPort}`],
      ]),
    );
    expect(statuses).toEqual([
      { name: 'pool', ready: false, detail: 'HTTP 503' },
      { name: 'user', ready: false, detail: 'unreachable' },
    ]);
  });

  it('given many requests, then one probe round serves them until it is cacheMs old', async () => {
    const clock = manualClock();
    let rounds = 0;
    const probe = (urls: ReadonlyMap<DownstreamName, string>): Promise<DownstreamStatus[]> => {
      rounds += 1;
      return probeDownstreams(urls);
    };
    const urls = new Map<DownstreamName, string>([['pool', unready.url]]);
    const route = statusRoute(urls, true, { clock, cacheMs: 2000, probe });
    const server = http.createServer((req, res) => {
      if (!route(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const before = unready.probes();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => fetch(`${url}/status.json`).then((r) => r.json())),
      );
      expect(rounds).toBe(1);
      expect(unready.probes() - before).toBe(1);
      for (const answer of answers) {
        expect(answer).toEqual({ services: [{ name: 'pool', ready: false, detail: 'HTTP 503' }] });
      }
      expect(JSON.stringify(answers)).not.toContain('hunter2');
      clock.advance(1999);
      await (await fetch(`${url}/status`)).text();
      expect(rounds).toBe(1);
      clock.advance(1);
      await (await fetch(`${url}/status.json`)).json();
      expect(rounds).toBe(2);
    } finally {
      await new Promise((done) => server.close(done));
    }
  });
});
