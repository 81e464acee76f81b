import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { HttpRoute } from '@streambet/platform/rpc/server';
import type { DownstreamName } from '@streambet/platform/runtime/platform-config';
import { publicRoutes } from './public-services.js';
import { writeHead } from '@streambet/platform/rpc/http-response';
import { systemClock, type Clock } from '@streambet/platform/rpc/clock';

/** One downstream's readiness as the gateway sees it. */
export interface DownstreamStatus {
  readonly name: DownstreamName;
  readonly ready: boolean;
  /**
   * Why it is not ready, in the gateway's words (`unreachable`, `timed out`, `HTTP 503`): the page
   * is public, so nothing a downstream or the network stack said is passed on.
   */
  readonly detail?: string;
}

const probeTimeoutMs = 1500;

/** Asks every downstream's /health/ready, in parallel, each bounded by a short timeout. */
export async function probeDownstreams(
  urls: ReadonlyMap<DownstreamName, string>,
): Promise<DownstreamStatus[]> {
  return Promise.all(
    [...urls].map(async ([name, url]): Promise<DownstreamStatus> => {
      try {
        const res = await fetch(`${url}/health/ready`, {
          signal: AbortSignal.timeout(probeTimeoutMs),
        });
        await res.body?.cancel();
        if (res.ok) return { name, ready: true };
        return { name, ready: false, detail: `HTTP ${res.status}` };
      } catch (error) {
        const timedOut = error instanceof Error && error.name === 'TimeoutError';
        return { name, ready: false, detail: timedOut ? 'timed out' : 'unreachable' };
      }
    }),
  );
}

/** Options of {@link statusRoute}. */
export interface StatusRouteOptions {
  /**
   * How long one round of probes answers every request, in ms; default 2000. The page is public
   * and anonymous: without this, each request fanned out to every service's readiness probe.
   */
  readonly cacheMs?: number;
  readonly clock?: Clock;
  /** The probe round; tests replace it to count rounds. */
  readonly probe?: (urls: ReadonlyMap<DownstreamName, string>) => Promise<DownstreamStatus[]>;
}

/**
 * One probe round shared by every request within `cacheMs` of its start, including requests that
 * arrive while it runs (they wait for it instead of starting their own).
 */
function cachedProbe(
  urls: ReadonlyMap<DownstreamName, string>,
  options: StatusRouteOptions,
): () => Promise<DownstreamStatus[]> {
  const cacheMs = options.cacheMs ?? 2000;
  const clock = options.clock ?? systemClock;
  const probe = options.probe ?? probeDownstreams;
  let last:
    { readonly startedAtMs: number; readonly round: Promise<DownstreamStatus[]> } | undefined;
  return () => {
    const nowMs = clock.now();
    if (last === undefined || nowMs - last.startedAtMs >= cacheMs) {
      last = { startedAtMs: nowMs, round: probe(urls) };
    }
    return last.round;
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderPage(statuses: readonly DownstreamStatus[]): string {
  const rows = publicRoutes
    .map((route) => {
      const status = statuses.find((s) => s.name === route.downstream);
      const state = status?.ready === true ? 'ready' : 'not ready';
      const methods = route.service.methods.map((m) => m.name).join(', ');
      return `<tr><td><code>${escapeHtml(route.service.typeName)}</code></td><td>${escapeHtml(route.downstream)}</td><td class="${status?.ready === true ? 'ok' : 'bad'}">${state}</td><td>${escapeHtml(methods)}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StreamBet gateway</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}.ok{color:#0a0}.bad{color:#c00}code{font-size:.9em}</style>
</head><body>
<h1>StreamBet</h1>
<p>Betting on live streams. This is the gateway: every public API below is served here over Connect, gRPC and gRPC-Web
(POST <code>/&lt;service&gt;/&lt;Method&gt;</code>). Internal services are not reachable from here.</p>
<table><thead><tr><th>API</th><th>service</th><th>state</th><th>methods</th></tr></thead><tbody>
${rows}
</tbody></table>
<p>Machine-readable: <a href="/status.json">/status.json</a> · probes: <a href="/health/ready">/health/ready</a> · metrics: on the internal METRICS_PORT, not here</p>
</body></html>`;
}

/**
 * Serves a human status page at `/status` (and at `/` too unless the web app takes it, `atRoot`)
 * and `GET /status.json` (the same, for scripts).
 */
export function statusRoute(
  urls: ReadonlyMap<DownstreamName, string>,
  atRoot = true,
  options: StatusRouteOptions = {},
): HttpRoute {
  const statuses = cachedProbe(urls, options);
  return (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    const page = path === '/status' || (atRoot && path === '/');
    if (req.method !== 'GET' || (!page && path !== '/status.json')) return false;
    void statuses().then((statuses) => {
      if (path === '/status.json') {
        writeHead(res, 200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ services: statuses }));
      } else {
        writeHead(res, 200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
        });
        res.end(renderPage(statuses));
      }
    });
    return true;
  };
}
