import { randomUUID } from 'node:crypto';
import { createContextKey } from '@connectrpc/connect';

/** Header carrying the request id across hops and back to the client. */
export const requestIdHeader = 'x-request-id';

/**
 * Connect context key holding the current request's id. Handlers read it with
 * `ctx.values.get(requestIdKey)`; the error interceptor quotes it in INTERNAL messages so a
 * client's report can be matched to the logged cause.
 */
export const requestIdKey = createContextKey<string>('', { description: 'request id' });

const acceptableRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Returns the caller's request id when it is safe to echo and log (short, no spaces or control
 * characters), otherwise a fresh UUID. Never trust a header to be log-safe.
 */
export function resolveRequestId(headerValue: string | string[] | null | undefined): string {
  const candidate = Array.isArray(headerValue) ? headerValue[0] : headerValue;
  return candidate !== undefined && candidate !== null && acceptableRequestId.test(candidate)
    ? candidate
    : randomUUID();
}

/** How a call reached this server, for rate limiting, audit and diagnostics. */
export interface Peer {
  /** `1.1` or `2.0`. */
  readonly httpVersion: string;
  /** The TCP peer's address (the gateway or a load balancer in the cluster); empty if unknown. */
  readonly remoteAddress: string;
}

/** Connect context key holding the {@link Peer} of the current call. */
export const peerKey = createContextKey<Peer>(
  { httpVersion: '', remoteAddress: '' },
  { description: 'peer' },
);
