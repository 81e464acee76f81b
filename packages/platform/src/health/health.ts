import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { writeHead } from '../rpc/http-response.js';

/** A readiness check: resolves when the dependency is usable, rejects (or times out) when not. */
export type HealthCheck = () => Promise<void>;

/** An HTTP answer for a probe: status 200 or 503 and a JSON body saying why. */
export interface ProbeResult {
  readonly status: 200 | 503;
  readonly body: {
    readonly status: 'ok' | 'failing' | 'shutting-down';
    /** Names of failing checks with the reason each failed (readiness only). */
    readonly failing?: Readonly<Record<string, string>>;
  };
}

/** Options of {@link createHealth}. */
export interface CreateHealthOptions {
  /** Named readiness checks (database, cache, …); all must pass for the service to be ready. */
  readonly checks?: Readonly<Record<string, HealthCheck>>;
  /** Time each check may take before it counts as failing; default 2000 ms (below k8s' probe timeout). */
  readonly checkTimeoutMs?: number;
}

/**
 * Liveness and readiness of one service, as k8s probes see them.
 * Liveness says "the process is running and not shutting down"; readiness says "send me traffic":
 * every check passes and the service is not draining.
 */
export interface Health {
  /** GET /health/live: 200 while running, 503 once shutdown began. */
  liveness(): ProbeResult;
  /** GET /health/ready: 200 only if every check passes within the timeout and not draining. */
  readiness(): Promise<ProbeResult>;
  /** Flips both probes to 503 for good; called first thing in graceful shutdown. */
  markShuttingDown(): void;
  /** True once {@link markShuttingDown} was called. */
  readonly shuttingDown: boolean;
  /**
   * Serves `/health/live` and `/health/ready` on a Node HTTP/1.1 or HTTP/2 request.
   * Returns false (and leaves the response untouched) for any other path.
   */
  handleHttp(
    req: IncomingMessage | Http2ServerRequest,
    res: ServerResponse | Http2ServerResponse,
  ): boolean;
}

/** Paths the probes answer on; identical in every service so k8s manifests can share them. */
export const healthPaths = { live: '/health/live', ready: '/health/ready' } as const;

/** Creates the probes of one service; see {@link Health}. */
export function createHealth(options: CreateHealthOptions = {}): Health {
  const checks = Object.entries(options.checks ?? {});
  const checkTimeoutMs = options.checkTimeoutMs ?? 2000;
  let shuttingDown = false;

  const liveness = (): ProbeResult =>
    shuttingDown
      ? { status: 503, body: { status: 'shutting-down' } }
      : { status: 200, body: { status: 'ok' } };

  const readiness = async (): Promise<ProbeResult> => {
    if (shuttingDown) return { status: 503, body: { status: 'shutting-down' } };
    const outcomes = await Promise.all(
      checks.map(async ([name, check]) => [name, await runCheck(check, checkTimeoutMs)] as const),
    );
    const failing = Object.fromEntries(
      outcomes.filter(([, reason]) => reason !== undefined),
    ) as Record<string, string>;
    return Object.keys(failing).length === 0
      ? { status: 200, body: { status: 'ok' } }
      : { status: 503, body: { status: 'failing', failing } };
  };

  return {
    liveness,
    readiness,
    markShuttingDown() {
      shuttingDown = true;
    },
    get shuttingDown() {
      return shuttingDown;
    },
    handleHttp(req, res) {
      const path = (req.url ?? '').split('?')[0];
      if (path !== healthPaths.live && path !== healthPaths.ready) return false;
      const respond = (result: ProbeResult): void => {
        const payload = JSON.stringify(result.body);
        writeHead(res, result.status, {
          'content-type': 'application/json',
          'cache-control': 'no-store',
        });
        res.end(payload);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        writeHead(res, 405, { allow: 'GET, HEAD' });
        res.end();
      } else if (path === healthPaths.live) {
        respond(liveness());
      } else {
        readiness().then(respond, (error: unknown) =>
          respond({
            status: 503,
            body: { status: 'failing', failing: { readiness: describe(error) } },
          }),
        );
      }
      return true;
    },
  };
}

/** Undefined when the check passed in time, otherwise why it failed. */
async function runCheck(check: HealthCheck, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`timed out after ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([check().then(() => undefined, describe), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
