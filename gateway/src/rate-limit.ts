/**
 * Rate limits at the edge: a token bucket per client address and one per signed-in user, kept in
 * the cache port (in-process in embedded mode, Redis in the cluster so every gateway replica draws
 * from the same buckets). A refused call answers RESOURCE_EXHAUSTED with when to retry, in words
 * and in `retry-after` (seconds) / `retry-after-ms` metadata.
 */
import { Code, ConnectError, type HandlerContext, type Interceptor } from '@connectrpc/connect';
import { Counter, type Registry } from 'prom-client';
import { callerKey } from '@streambet/platform/auth/caller';
import type { Cache, TokenBucketSpec } from '@streambet/platform/cache/types';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import { peerKey } from '@streambet/platform/rpc/request-context';

/** Metadata key with the wait in whole seconds (HTTP Retry-After semantics, at least 1). */
export const retryAfterHeader = 'retry-after';
/** Metadata key with the exact wait in milliseconds, for clients that back off precisely. */
export const retryAfterMsHeader = 'retry-after-ms';

/** Bucket sizes and refill rates; a limit of `undefined` is off. */
export interface RateLimits {
  readonly perIp?: TokenBucketSpec;
  readonly perUser?: TokenBucketSpec;
}

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  readonly cache: Cache;
  /** The buckets' clock; tests inject a manual one, production passes the wall clock. */
  readonly clock: Clock;
  readonly limits: RateLimits;
  /** How many reverse proxies' X-Forwarded-For entries to trust when finding the client address. */
  readonly trustedProxyHops: number;
  readonly logger: Logger;
  readonly registry: Registry;
}

/** The two limits: per address (a request gate, before the body and the token) and per user. */
export interface RateLimiter {
  /**
   * Runs before the request body is read and before authentication, so floods of large bodies
   * and of bad tokens are limited too (the RPC server's `requestGate`).
   */
  readonly perIpGate: (context: HandlerContext) => Promise<void>;
  /** Runs after authentication, keyed by the verified JWT subject; anonymous calls pass. */
  readonly perUser: Interceptor;
}

/**
 * The address a call is limited by: the TCP peer, or with `trustedProxyHops` = n > 0 the entry n
 * places from the right of X-Forwarded-For (each trusted proxy appends the address it saw; entries
 * further left are the client's to forge). IPv6 addresses are grouped by their /64 prefix, the
 * unit one subscriber gets, so rotating addresses within it gains nothing.
 */
export function clientAddress(
  remoteAddress: string,
  forwardedFor: string | null,
  trustedProxyHops: number,
): string {
  let address = remoteAddress;
  if (trustedProxyHops > 0 && forwardedFor !== null) {
    const hops = forwardedFor
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    const chosen = hops[hops.length - trustedProxyHops];
    if (chosen !== undefined) address = chosen;
  }
  return addressBucket(address);
}

function addressBucket(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!address.includes(':')) return address;
  const groups = expandIpv6(address);
  return groups === undefined ? address : `${groups.slice(0, 4).join(':')}::/64`;
}

/** `2001:db8::1` → eight 16-bit groups as lowercase hex; undefined for anything else. */
function expandIpv6(address: string): string[] | undefined {
  const bare = address.split('%')[0] ?? '';
  const halves = bare.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined): string[] =>
    part === undefined || part === '' ? [] : part.split(':');
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return groups.map((g) => Number.parseInt(g, 16).toString(16));
}

/** "0.4 s", "3 s", "2 min": a wait a person reads. */
function describeWait(ms: number): string {
  if (ms < 10_000) return `${Math.max(0.1, Math.ceil(ms / 100) / 10)} s`;
  if (ms < 120_000) return `${Math.ceil(ms / 1000)} s`;
  return `${Math.ceil(ms / 60_000)} min`;
}

/**
 * Creates the per-address and per-user limiters. When the cache fails (Redis down) calls are let
 * through and the failure is logged and counted: an outage of the limiter's store must not become
 * an outage of the API.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const refused = new Counter({
    name: 'gateway_rate_limited_total',
    help: 'Calls refused with RESOURCE_EXHAUSTED by the edge rate limits, by scope',
    labelNames: ['scope'],
    registers: [options.registry],
  });
  const failedOpen = new Counter({
    name: 'gateway_rate_limit_errors_total',
    help: 'Rate-limit checks that failed (cache unreachable) and let the call through',
    registers: [options.registry],
  });

  async function check(
    scope: 'address' | 'user',
    key: string,
    spec: TokenBucketSpec,
  ): Promise<void> {
    let retryAfterMs: number;
    try {
      const decision = await options.cache.takeTokens(
        `ratelimit:${scope}:${key}`,
        spec,
        options.clock.now(),
      );
      if (decision.allowed) return;
      retryAfterMs = decision.retryAfterMs;
    } catch (error) {
      failedOpen.inc();
      options.logger.warn(
        { err: error, scope },
        'rate limit check failed; letting the call through',
      );
      return;
    }
    refused.inc({ scope });
    const metadata = new Headers({
      [retryAfterHeader]: String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
      [retryAfterMsHeader]: String(retryAfterMs),
    });
    const who = scope === 'user' ? 'this account' : 'this address';
    throw new ConnectError(
      `too many requests from ${who} (limit: ${spec.capacity} at once, ${spec.refillPerSecond} per second); retry in ${describeWait(retryAfterMs)}`,
      Code.ResourceExhausted,
      metadata,
    );
  }

  const { perIp, perUser } = options.limits;
  return {
    /**
     * The per-address limit as a request gate: it runs before the request body is read, so a
     * client over its limit costs no body read, decompression or parse.
     */
    perIpGate: async (context: HandlerContext): Promise<void> => {
      if (perIp === undefined) return;
      const peer = context.values.get(peerKey);
      const address = clientAddress(
        peer.remoteAddress,
        context.requestHeader.get('x-forwarded-for'),
        options.trustedProxyHops,
      );
      await check('address', address, perIp);
    },
    perUser: (next) => async (req) => {
      const caller = req.contextValues.get(callerKey);
      if (perUser !== undefined && caller.kind === 'user') {
        await check('user', caller.userId, perUser);
      }
      return next(req);
    },
  };
}
