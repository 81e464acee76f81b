/**
 * CORS for browsers calling the API from another origin (the web app in development, a partner's
 * site). Connect-Web and gRPC-Web need their protocol headers allowed on the way in and their
 * status headers exposed on the way out; the lists come from `cors` in @connectrpc/connect, as
 * connect-es documents, plus our own (authorization, x-request-id, retry-after).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { cors as connectCors } from '@connectrpc/connect';
import { requestIdHeader } from '@streambet/platform/rpc/request-context';
import { retryAfterHeader, retryAfterMsHeader } from './rate-limit.js';
import { writeHead } from '@streambet/platform/rpc/http-response';

/** Headers a browser script may send. */
const corsAllowedHeaders: readonly string[] = [
  ...connectCors.allowedHeaders.map((name) => name.toLowerCase()),
  'authorization',
  requestIdHeader,
];

/** Headers a browser script may read. */
const corsExposedHeaders: readonly string[] = [
  ...connectCors.exposedHeaders.map((name) => name.toLowerCase()),
  requestIdHeader,
  retryAfterHeader,
  retryAfterMsHeader,
];

/** How long a browser may cache a preflight answer, in seconds. */
const preflightMaxAgeSeconds = 7200;

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/**
 * Returns a handler that adds CORS headers for allowed origins and answers preflight requests
 * (204) itself; returns true when it answered. Requests from origins not on the list get no CORS
 * headers at all, so the browser blocks the page from reading the answer.
 */
export function createCors(
  allowedOrigins: readonly string[],
): (req: Request, res: Response) => boolean {
  const anyOrigin = allowedOrigins.includes('*');
  const origins = new Set(allowedOrigins);
  return (req, res) => {
    const origin = req.headers.origin;
    const preflight =
      req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (typeof origin !== 'string' || (!anyOrigin && !origins.has(origin))) {
      if (preflight) {
        writeHead(res, 204, { vary: 'Origin' });
        res.end();
        return true;
      }
      return false;
    }
    res.setHeader('access-control-allow-origin', anyOrigin ? '*' : origin);
    res.setHeader('vary', 'Origin');
    if (!preflight) {
      res.setHeader('access-control-expose-headers', corsExposedHeaders.join(', '));
      return false;
    }
    writeHead(res, 204, {
      'access-control-allow-methods': connectCors.allowedMethods.join(', '),
      'access-control-allow-headers': corsAllowedHeaders.join(', '),
      'access-control-max-age': String(preflightMaxAgeSeconds),
    });
    res.end();
    return true;
  };
}
