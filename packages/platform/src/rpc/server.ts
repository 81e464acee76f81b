import {
  createServer as createHttp1Server,
  type Server as Http1Server,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import {
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import { setMaxListeners } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import {
  Code,
  ConnectError,
  createContextValues,
  type ConnectRouter,
  type HandlerContext,
  type Interceptor,
} from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { Counter, type Registry } from 'prom-client';
import type { Health } from '../health/health.js';
import { runWithLogContext } from '../log/log-context.js';
import type { Logger } from '../log/logger.js';
import { initTracing } from '../obs/tracing.js';
import { createServerInterceptors } from './interceptors.js';
import { createProtocolSniffingListener } from './protocol-sniffing-listener.js';
import { watchRequestParseFailure } from './request-parse-errors.js';
import { peerKey, requestIdHeader, requestIdKey, resolveRequestId } from './request-context.js';
import { writeHead } from './http-response.js';

/** Options of {@link createRpcServer}. */
export interface RpcServerOptions {
  /** Deployable name (`user`, `bet-engine`); names the logger and the tracing resource. */
  readonly name: string;
  /** Registers the service implementations: `(router) => router.service(BetService, impl)`. */
  readonly routes: (router: ConnectRouter) => void;
  /** The auth interceptor for this service's access policy, or `'none'` (tests, public-only edges). */
  readonly auth: Interceptor | 'none';
  /** Service-specific interceptors, run innermost (after auth). */
  readonly interceptors?: readonly Interceptor[];
  readonly logger: Logger;
  /** This service's metrics registry, served on GET /metrics. */
  readonly registry: Registry;
  /**
   * Serve GET /metrics on its own listener at `host:metricsPort` (0 picks a free port) instead of
   * on `port`, which then answers /metrics like any unknown path (404): a public edge must not
   * hand its metrics to the world, and Prometheus scrapes the internal port. Default: on `port`.
   */
  readonly metricsPort?: number;
  /** This service's probes, served on /health/live and /health/ready. */
  readonly health: Health;
  /** Interface to bind: `0.0.0.0` in containers, `127.0.0.1` in embedded mode and tests. */
  readonly host: string;
  /** TCP port; 0 picks a free one (tests), see the `port` returned by `listen()`. */
  readonly port: number;
  /** Largest deadline a client may ask for, in ms; longer ones are capped. Default: no cap. */
  readonly maxTimeoutMs?: number;
  /**
   * Largest request message accepted, in bytes, counted after decompression too (zlib stops at
   * it, so a compression bomb costs at most this much memory). A bigger one is refused with
   * RESOURCE_EXHAUSTED before it is parsed, and counted in `rpc_server_requests_too_large_total`.
   * Default 4 MiB (between services); the gateway sets tens of KiB (RPC_MAX_BODY_BYTES).
   */
  readonly readMaxBytes?: number;
  /**
   * Runs for every call before its body is read, decompressed or parsed (connect's request
   * gate): what throws here (a per-address rate limit) costs the server no body at all.
   */
  readonly requestGate?: (context: HandlerContext) => void | Promise<void>;
  /**
   * Plain HTTP routes served on the same port before Connect (webhooks that need the raw body,
   * a JWKS document, a status page). Returns true when it took the request.
   */
  readonly http?: HttpRoute;
  /**
   * Called once with the HTTP/1.1 server (before `listen`) so a protocol that needs its `upgrade`
   * event or its own request handling (socket.io's `attach`) can hook in. Connections it takes
   * over are not counted as in-flight calls; shutdown ends them like other HTTP/1.1 connections.
   */
  readonly attachHttpServer?: (server: Http1Server) => void;
}

/** The node HTTP/1.1 server type handed to {@link RpcServerOptions.attachHttpServer}. */
export type { Http1Server };

/** A plain HTTP handler; returns false (leaving the response untouched) for paths it does not serve. */
export type HttpRoute = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) => boolean;

/** Where a started server listens. */
export interface ListeningAddress {
  readonly port: number;
  /** Base URL for clients, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** With `metricsPort`: where /metrics is served, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly metricsUrl?: string;
}

/** A service's network endpoint: Connect, gRPC and gRPC-Web plus /metrics and probes on one port. */
export interface RpcServer {
  /** Starts accepting connections; resolves once bound. */
  listen(): Promise<ListeningAddress>;
  /**
   * Graceful shutdown: readiness turns 503, no new connections are accepted, new calls on open
   * connections are refused with UNAVAILABLE (HTTP/2 sessions get GOAWAY), in-flight calls get up
   * to `graceMs` to finish; then remaining handlers are aborted and connections closed.
   * Resolves when every connection is closed. Calling it again returns the same promise.
   */
  shutdown(graceMs: number): Promise<void>;
  /** Calls currently being served (all routes, including /metrics and probes). */
  readonly inFlight: number;
}

/** Time aborted handlers get to send their error response before connections are cut. */
const abortedCallsGraceMs = 1000;

type NodeRequest = IncomingMessage | Http2ServerRequest;
type NodeResponse = ServerResponse | Http2ServerResponse;

/**
 * Creates the RPC server of one service. It speaks HTTP/2 cleartext (prior knowledge, used by gRPC
 * and Connect clients between services) and HTTP/1.1 (Connect and gRPC-Web from browsers, curl,
 * probes) on the same port, and serves every call through the platform interceptor stack
 * (request id, tracing, metrics, logging, error mapping, auth; see `createServerInterceptors`).
 * Every response carries `x-request-id`, taken from the request when sane or generated.
 */
export function createRpcServer(options: RpcServerOptions): RpcServer {
  initTracing({ serviceName: options.name });
  const logger = options.logger;
  const shutdownController = new AbortController();
  // Every in-flight call links its own signal to this one; the default limit of 10 would warn.
  setMaxListeners(0, shutdownController.signal);
  let draining = false;
  let shutdownPromise: Promise<void> | undefined;

  const requestIds = new WeakMap<NodeRequest, string>();
  const tooLarge =
    (options.registry.getSingleMetric('rpc_server_requests_too_large_total') as
      Counter<'rpc_service' | 'rpc_method'> | undefined) ??
    new Counter({
      name: 'rpc_server_requests_too_large_total',
      help: 'RPC requests refused unread (RESOURCE_EXHAUSTED) because their body, or its decompressed size, exceeded readMaxBytes',
      labelNames: ['rpc_service', 'rpc_method'] as const,
      registers: [options.registry],
    });
  const connectHandler = connectNodeAdapter({
    readMaxBytes: options.readMaxBytes ?? 4 * 1024 * 1024,
    async requestGate(context) {
      // Connect aborts the call's context with the error it answers: an over-sized body is seen
      // there, since it is refused before any interceptor runs.
      context.signal.addEventListener(
        'abort',
        () => {
          const reason: unknown = context.signal.reason;
          if (
            reason instanceof ConnectError &&
            reason.code === Code.ResourceExhausted &&
            reason.rawMessage.includes('readMaxBytes')
          ) {
            tooLarge.inc({
              rpc_service: context.service.typeName,
              rpc_method: context.method.name,
            });
          }
        },
        { once: true },
      );
      // A body that cannot be parsed is the client's mistake (INVALID_ARGUMENT), not INTERNAL.
      watchRequestParseFailure(context);
      await options.requestGate?.(context);
    },
    routes: options.routes,
    interceptors: createServerInterceptors({
      service: options.name,
      logger,
      registry: options.registry,
      auth: options.auth,
      interceptors: options.interceptors,
      isDraining: () => draining,
    }),
    shutdownSignal: shutdownController.signal,
    ...(options.maxTimeoutMs === undefined ? {} : { maxTimeoutMs: options.maxTimeoutMs }),
    contextValues: (req) =>
      createContextValues()
        .set(requestIdKey, requestIds.get(req) ?? '')
        .set(peerKey, {
          httpVersion: req.httpVersion,
          remoteAddress: req.socket.remoteAddress ?? '',
        }),
  });

  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  const http1Sockets = new Map<Socket, number>();
  const http2Sessions = new Set<ServerHttp2Session>();

  const handleRequest = (req: NodeRequest, res: NodeResponse): void => {
    const requestId = resolveRequestId(req.headers[requestIdHeader]);
    requestIds.set(req, requestId);
    res.setHeader(requestIdHeader, requestId);
    inFlight += 1;
    const socket = 'stream' in req ? undefined : req.socket;
    if (socket !== undefined) http1Sockets.set(socket, (http1Sockets.get(socket) ?? 0) + 1);
    res.once('close', () => {
      inFlight -= 1;
      if (socket !== undefined) {
        const active = (http1Sockets.get(socket) ?? 1) - 1;
        if (http1Sockets.has(socket)) http1Sockets.set(socket, active);
        if (draining && active === 0) socket.end();
      }
      if (inFlight === 0) onIdle?.();
    });
    if (draining && socket !== undefined && !res.headersSent) res.setHeader('connection', 'close');
    runWithLogContext({ requestId }, () => {
      const path = (req.url ?? '').split('?')[0];
      if (path === '/metrics' && req.method === 'GET' && options.metricsPort === undefined) {
        serveMetrics(options.registry, res, logger);
      } else if (!options.health.handleHttp(req, res) && options.http?.(req, res) !== true) {
        connectHandler(req, res);
      }
    });
  };

  const http1 = createHttp1Server(handleRequest);
  options.attachHttpServer?.(http1);
  const http2 = createHttp2Server({}, handleRequest);
  http2.on('session', (session: ServerHttp2Session) => {
    http2Sessions.add(session);
    session.once('close', () => http2Sessions.delete(session));
    if (draining) session.close();
  });
  http2.on('sessionError', (error: Error) => logger.debug({ err: error }, 'http2 session error'));
  const listener = createProtocolSniffingListener({
    http1,
    http2,
    onClassified: (socket, protocol) => {
      if (draining) {
        socket.destroy();
      } else if (protocol === 'http1') {
        http1Sockets.set(socket, 0);
        socket.once('close', () => http1Sockets.delete(socket));
      }
    },
  });

  /** Resolves once no request is in flight, or after `ms`. */
  const waitForIdle = async (ms: number): Promise<void> => {
    if (inFlight === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        onIdle = resolve;
      }),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
    onIdle = undefined;
  };

  const closeListener = new Promise<void>((resolve) => listener.once('close', () => resolve()));
  const metricsServer =
    options.metricsPort === undefined
      ? undefined
      : createHttp1Server((req, res) => {
          if ((req.url ?? '').split('?')[0] === '/metrics' && req.method === 'GET') {
            serveMetrics(options.registry, res, logger);
          } else {
            writeHead(res, 404, { 'content-type': 'text/plain' });
            res.end('not found; metrics are at GET /metrics');
          }
        });
  const listenMetrics = (): Promise<string | undefined> =>
    new Promise((resolve, reject) => {
      if (metricsServer === undefined) {
        resolve(undefined);
        return;
      }
      metricsServer.once('error', reject);
      metricsServer.listen({ host: options.host, port: options.metricsPort }, () => {
        metricsServer.off('error', reject);
        const { port } = metricsServer.address() as AddressInfo;
        const metricsUrl = `http://${urlHost(options.host)}:${port}/metrics`;
        logger.info({ port, url: metricsUrl }, 'metrics listening');
        resolve(metricsUrl);
      });
    });

  return {
    get inFlight() {
      return inFlight;
    },
    async listen() {
      const metricsUrl = await listenMetrics();
      try {
        return await new Promise<ListeningAddress>((resolve, reject) => {
          listener.once('error', reject);
          listener.listen({ host: options.host, port: options.port }, () => {
            listener.off('error', reject);
            const { port } = listener.address() as AddressInfo;
            const url = `http://${urlHost(options.host)}:${port}`;
            logger.info({ port, url }, 'rpc server listening');
            resolve({ port, url, ...(metricsUrl === undefined ? {} : { metricsUrl }) });
          });
        });
      } catch (error) {
        metricsServer?.close();
        throw error;
      }
    },
    shutdown(graceMs) {
      shutdownPromise ??= (async () => {
        draining = true;
        options.health.markShuttingDown();
        logger.info({ inFlight, graceMs }, 'rpc server draining');
        const wasListening = listener.listening;
        if (wasListening) listener.close();
        for (const session of http2Sessions) session.close();
        for (const [socket, active] of http1Sockets) if (active === 0) socket.end();

        await waitForIdle(graceMs);
        if (inFlight > 0) {
          logger.warn({ inFlight }, 'grace period over; aborting in-flight calls');
          shutdownController.abort(
            new ConnectError('server shut down before the call finished; retry', Code.Unavailable),
          );
          await waitForIdle(abortedCallsGraceMs);
        }
        for (const session of http2Sessions) session.destroy();
        for (const socket of http1Sockets.keys()) socket.destroy();
        // net.Server emits 'close' once it stopped listening and every accepted socket is gone.
        if (wasListening) await closeListener;
        if (metricsServer?.listening === true) {
          const metricsClosed = new Promise<void>((resolve) =>
            metricsServer.close(() => resolve()),
          );
          metricsServer.closeAllConnections();
          await metricsClosed;
        }
        logger.info('rpc server stopped');
      })();
      return shutdownPromise;
    },
  };
}

function serveMetrics(registry: Registry, res: NodeResponse, logger: Logger): void {
  registry.metrics().then(
    (text) => {
      writeHead(res, 200, { 'content-type': registry.contentType });
      res.end(text);
    },
    (error: unknown) => {
      logger.error({ err: error }, 'collecting metrics failed');
      writeHead(res, 500, { 'content-type': 'text/plain' });
      res.end('collecting metrics failed');
    },
  );
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
