/**
 * Plain HTTP passthrough from the edge to a service: provider webhooks (raw body and signature
 * headers byte for byte, so the owning service can verify them) and socket.io (long-polling
 * requests and WebSocket upgrades to the realtime service).
 */
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Logger } from '@streambet/platform/log/logger';
import { requestIdHeader, resolveRequestId } from '@streambet/platform/rpc/request-context';
import { writeHead } from '@streambet/platform/rpc/http-response';
import { clientAddress } from './rate-limit.js';

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/** Headers that describe one hop's connection and must not be passed on (RFC 9110 §7.6.1). */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'host',
]);

/**
 * The end-to-end headers of a message: HTTP/2 pseudo-headers, hop-by-hop headers and any header
 * the `connection` header names are dropped; everything else (signatures included) is kept as is.
 */
function endToEndHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ''),
  );
  const kept: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || hopByHop.has(name) || named.has(name)) {
      continue;
    }
    kept[name] = value;
  }
  return kept;
}

/**
 * Request headers for the downstream: end-to-end ones plus who the client was and the request id.
 * X-Forwarded-For is replaced by the one address the gateway trusts (the TCP peer, or the entry
 * `trustedProxyHops` trusted proxies vouch for), as on the RPC path: entries a client wrote
 * itself would otherwise reach services that throttle or flag by address.
 */
function upstreamHeaders(
  req: Request | IncomingMessage,
  target: URL,
  requestId: string,
  trustedProxyHops: number,
): OutgoingHttpHeaders {
  const headers = endToEndHeaders(req.headers);
  const previous = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = clientAddress(
    req.socket.remoteAddress ?? '',
    typeof previous === 'string' ? previous : Array.isArray(previous) ? previous.join(', ') : null,
    trustedProxyHops,
  );
  headers['x-forwarded-proto'] ??= 'http';
  const authority = req.headers[':authority'] ?? req.headers.host;
  if (typeof authority === 'string') headers['x-forwarded-host'] ??= authority;
  headers.host = target.host;
  headers[requestIdHeader] = requestId;
  return headers;
}

/** The request id the RPC server assigned to this request (it set the response header). */
function requestIdOf(req: Request, res: Response): string {
  const assigned = res.getHeader(requestIdHeader);
  return typeof assigned === 'string' ? assigned : resolveRequestId(req.headers[requestIdHeader]);
}

function answer(res: Response, status: number, body: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  writeHead(res, status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

interface ForwardOptions {
  readonly target: URL;
  readonly agent: http.Agent;
  /** The whole body, already read; undefined = stream the request body through. */
  readonly body?: Buffer;
  /** No answer headers from the downstream within this time → 504. */
  readonly timeoutMs?: number;
  readonly downstream: string;
  readonly logger: Logger;
  /** See {@link upstreamHeaders}. */
  readonly trustedProxyHops: number;
  /** Called once the exchange ended (answered, failed or aborted). */
  readonly onDone?: (status: number) => void;
}

/** Sends `req` to the same path on `target` and streams the answer back unchanged. */
function forward(req: Request, res: Response, options: ForwardOptions): http.ClientRequest {
  const requestId = requestIdOf(req, res);
  const headers = upstreamHeaders(req, options.target, requestId, options.trustedProxyHops);
  if (options.body !== undefined) headers['content-length'] = String(options.body.length);
  const upstream = http.request({
    protocol: options.target.protocol,
    hostname: options.target.hostname,
    port: options.target.port,
    method: req.method,
    path: req.url,
    headers,
    agent: options.agent,
  });
  let finished = false;
  const done = (status: number): void => {
    if (finished) return;
    finished = true;
    options.onDone?.(status);
  };
  let timer: NodeJS.Timeout | undefined;
  if (options.timeoutMs !== undefined) {
    timer = setTimeout(() => {
      upstream.destroy(new Error('downstream answer timed out'));
    }, options.timeoutMs);
  }
  upstream.on('response', (answerFromDownstream) => {
    clearTimeout(timer);
    const status = answerFromDownstream.statusCode ?? 502;
    writeHead(res, status, endToEndHeaders(answerFromDownstream.headers));
    answerFromDownstream.pipe(res as NodeJS.WritableStream);
    answerFromDownstream.once('end', () => done(status));
    answerFromDownstream.once('error', () => {
      res.destroy();
      done(502);
    });
  });
  let clientGone = false;
  upstream.on('error', (error) => {
    clearTimeout(timer);
    if (clientGone) return;
    const timedOut = error.message === 'downstream answer timed out';
    options.logger.warn(
      { err: error, downstream: options.downstream, path: req.url },
      'passthrough to a service failed',
    );
    answer(res, timedOut ? 504 : 502, {
      error: `the ${options.downstream} service is temporarily unavailable; retry shortly`,
    });
    done(timedOut ? 504 : 502);
  });
  res.once('close', () => {
    if (!res.writableFinished) {
      // The client went away (a closed tab, a poll cut short): nothing to answer, nothing to log.
      clientGone = true;
      upstream.destroy();
    }
    done(499);
  });
  if (options.body !== undefined) {
    upstream.end(options.body);
  } else {
    req.pipe(upstream);
  }
  return upstream;
}

/** Reads a request body of at most `maxBytes`; resolves undefined (and stops reading) when bigger. */
function readBody(req: Request, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (size <= maxBytes) resolve(Buffer.concat(chunks, size));
    });
    req.once('error', reject);
  });
}

/** Which service receives which provider's webhook (`POST /webhooks/<provider>`). */
export const webhookRoutes = {
  kyc: 'user',
  twitch: 'integration',
  kick: 'integration',
  stripe: 'payment',
  mercadopago: 'payment',
} as const;

/** A service that receives webhooks. */
export type WebhookDownstream = (typeof webhookRoutes)[keyof typeof webhookRoutes];

/** Options of {@link createWebhookPassthrough}. */
export interface WebhookPassthroughOptions {
  /** Base URL of each service that receives webhooks. */
  readonly urls: Readonly<Record<WebhookDownstream, string>>;
  /** Bigger bodies are refused with 413 and never reach the service. */
  readonly maxBodyBytes: number;
  /** The service must start answering within this time, else 504 (the provider retries). */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Reverse proxies whose X-Forwarded-For entries are trusted (TRUSTED_PROXY_HOPS). */
  readonly trustedProxyHops: number;
}

/** The webhook routes with their shared connection pool; `close()` drops idle connections. */
export interface WebhookPassthrough {
  readonly route: (req: Request, res: Response) => boolean;
  close(): void;
}

/**
 * Passes `POST /webhooks/<provider>` to the owning service at the same path: the body is read
 * whole (bounded by `maxBodyBytes`) and sent byte for byte with the provider's headers, so an
 * HMAC over the raw body still verifies there; the service's answer (status and body) goes back to
 * the provider unchanged, so its retry logic sees the real verdict.
 */
export function createWebhookPassthrough(options: WebhookPassthroughOptions): WebhookPassthrough {
  const agent = new http.Agent({ keepAlive: true });
  const route = (req: Request, res: Response): boolean => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const match = /^\/webhooks\/([a-z]+)\/?$/.exec(path);
    if (match === null) return false;
    const downstream = (webhookRoutes as Record<string, WebhookDownstream | undefined>)[
      match[1] ?? ''
    ];
    if (downstream === undefined) {
      answer(res, 404, { error: `no webhook is received at ${path}` });
      return true;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      answer(res, 405, { error: 'webhooks are delivered with POST' });
      return true;
    }
    const startedAt = performance.now();
    void readBody(req, options.maxBodyBytes).then(
      (body) => {
        if (body === undefined) {
          options.logger.warn(
            { path, maxBodyBytes: options.maxBodyBytes },
            'webhook body too large',
          );
          res.setHeader('connection', 'close');
          answer(res, 413, {
            error: `webhook body exceeds ${options.maxBodyBytes} bytes`,
          });
          return;
        }
        forward(req, res, {
          target: new URL(options.urls[downstream]),
          agent,
          body,
          timeoutMs: options.timeoutMs,
          downstream,
          logger: options.logger,
          trustedProxyHops: options.trustedProxyHops,
          onDone: (status) =>
            options.logger.info(
              {
                path,
                downstream,
                status,
                bytes: body.length,
                duration_ms: Math.round((performance.now() - startedAt) * 1000) / 1000,
              },
              'webhook',
            ),
        });
      },
      (error: unknown) => {
        options.logger.info({ err: error, path }, 'webhook body could not be read');
        answer(res, 400, { error: 'the request body could not be read' });
      },
    );
    return true;
  };
  return { route, close: () => agent.destroy() };
}

/** The path socket.io clients use by default; the realtime service serves the same path. */
const socketIoPath = '/socket.io/';

function isSocketIoPath(url: string | undefined): boolean {
  const path = (url ?? '').split('?')[0] ?? '';
  return path === '/socket.io' || path.startsWith(socketIoPath);
}

/** The socket.io passthrough; `close()` ends every proxied connection (on shutdown). */
export interface SocketIoProxy {
  /** Long-polling (and the first handshake request): plain HTTP to the realtime service. */
  readonly route: (req: Request, res: Response) => boolean;
  /** WebSocket upgrades on `/socket.io/`; returns false for other paths. */
  readonly upgrade: (req: IncomingMessage, socket: Socket, head: Buffer) => boolean;
  /** Ends proxied polls and WebSockets, so clients reconnect to another gateway. */
  close(): void;
}

function rawHeaderBlock(statusLine: string, headers: OutgoingHttpHeaders): string {
  const lines = [statusLine];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${item}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Proxies socket.io to the realtime service: long-polling requests are forwarded as they come
 * (no timeout: a poll is held open by design), WebSocket upgrades are forwarded and, once the
 * service switched protocols, the two sockets are piped into each other. The client sees one
 * origin, the gateway's, so the web app needs no CORS for its live updates.
 */
export function createSocketIoProxy(options: {
  readonly target: string;
  readonly logger: Logger;
  /** Reverse proxies whose X-Forwarded-For entries are trusted (TRUSTED_PROXY_HOPS). */
  readonly trustedProxyHops: number;
}): SocketIoProxy {
  const target = new URL(options.target);
  const agent = new http.Agent({ keepAlive: true });
  const open = new Set<{ destroy(): void }>();
  const track = <T extends { destroy(): void; once(event: 'close', fn: () => void): unknown }>(
    item: T,
  ): T => {
    open.add(item);
    item.once('close', () => open.delete(item));
    return item;
  };

  let closed = false;
  const route = (req: Request, res: Response): boolean => {
    if (!isSocketIoPath(req.url)) return false;
    if (closed) {
      answer(res, 503, { error: 'this gateway is shutting down; reconnect' });
      return true;
    }
    track(
      forward(req, res, {
        target,
        agent,
        downstream: 'realtime',
        logger: options.logger,
        trustedProxyHops: options.trustedProxyHops,
      }),
    );
    return true;
  };

  const upgrade = (req: IncomingMessage, socket: Socket, head: Buffer): boolean => {
    if (!isSocketIoPath(req.url)) return false;
    if (closed) {
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n',
      );
      return true;
    }
    track(socket);
    socket.on('error', () => socket.destroy());
    const requestId = resolveRequestId(req.headers[requestIdHeader]);
    const headers = upstreamHeaders(req, target, requestId, options.trustedProxyHops);
    headers.connection = 'Upgrade';
    headers.upgrade = req.headers.upgrade ?? 'websocket';
    const upstream = http.request({
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
    });
    upstream.on('upgrade', (answerFromDownstream, upstreamSocket, upstreamHead) => {
      track(upstreamSocket);
      upstreamSocket.on('error', () => upstreamSocket.destroy());
      upstreamSocket.once('close', () => socket.destroy());
      socket.once('close', () => upstreamSocket.destroy());
      socket.setNoDelay(true);
      upstreamSocket.setNoDelay(true);
      socket.setTimeout(0);
      socket.write(
        rawHeaderBlock('HTTP/1.1 101 Switching Protocols', {
          ...endToEndHeaders(answerFromDownstream.headers),
          connection: 'Upgrade',
          upgrade: answerFromDownstream.headers.upgrade ?? 'websocket',
          [requestIdHeader]: requestId,
        }),
      );
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      upstreamSocket.pipe(socket);
      socket.pipe(upstreamSocket);
      options.logger.debug({ path: req.url }, 'websocket proxied to realtime');
    });
    upstream.on('response', (refusal) => {
      // The service refused the upgrade (bad handshake, unknown session): pass its answer on.
      const status = refusal.statusCode ?? 502;
      const chunks: Buffer[] = [];
      refusal.on('data', (chunk: Buffer) => chunks.push(chunk));
      refusal.once('end', () => {
        const body = Buffer.concat(chunks);
        socket.end(
          rawHeaderBlock(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`, {
            ...endToEndHeaders(refusal.headers),
            'content-length': String(body.length),
            connection: 'close',
          }) + body.toString('latin1'),
          'latin1',
        );
      });
    });
    upstream.on('error', (error) => {
      options.logger.warn(
        { err: error, path: req.url },
        'websocket passthrough to realtime failed',
      );
      if (socket.writable) {
        socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      }
    });
    upstream.end();
    return true;
  };

  return {
    route,
    upgrade,
    close() {
      closed = true;
      for (const item of open) item.destroy();
      open.clear();
      agent.destroy();
    },
  };
}
