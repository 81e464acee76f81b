import type { DescMethod, DescService } from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  type CallOptions,
  type HandlerContext,
  type ServiceImpl,
} from '@connectrpc/connect';
import {
  dependencyFailureMessage,
  failedDependencyHeader,
  failedDependencyOf,
} from '@streambet/platform/errors/dependency-failure';
import { peerKey, requestIdHeader, requestIdKey } from '@streambet/platform/rpc/request-context';
import { clientAddress } from './rate-limit.js';

type ForwardedCall = (request: unknown, options: CallOptions) => unknown;

/**
 * Headers the gateway passes on. The user's bearer token goes through unchanged: the gateway
 * verified it, and each service verifies it again and checks the role its policy demands
 * (defence in depth: a service never trusts the network it sits on).
 */
function forwardedHeaders(ctx: HandlerContext, trustedProxyHops: number): Headers {
  const headers = new Headers();
  const authorization = ctx.requestHeader.get('authorization');
  if (authorization !== null) headers.set('authorization', authorization);
  const requestId = ctx.values.get(requestIdKey);
  if (requestId !== '') headers.set(requestIdHeader, requestId);
  // The reader's languages, so the user service writes a new account's emails in one of them.
  const languages = ctx.requestHeader.get('accept-language');
  if (languages !== null) headers.set('accept-language', languages.slice(0, 200));
  // The client's address as the edge sees it (the same one its own limits use), so services can
  // apply their per-address rules (registration and login throttles). Whatever the client sent in
  // X-Forwarded-For is replaced: only the edge may speak for the network.
  const peer = ctx.values.get(peerKey);
  if (peer.remoteAddress !== '') {
    headers.set(
      'x-forwarded-for',
      clientAddress(peer.remoteAddress, ctx.requestHeader.get('x-forwarded-for'), trustedProxyHops),
    );
  }
  return headers;
}

function callOptions(ctx: HandlerContext, trustedProxyHops: number): CallOptions {
  const timeoutMs = ctx.timeoutMs();
  return {
    headers: forwardedHeaders(ctx, trustedProxyHops),
    signal: ctx.signal,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  };
}

/**
 * Downstream response metadata a client may see; the rest (content-type, grpc-status, …) belongs
 * to the hop. The failed-dependency marker names a service (never a host), as the message does.
 */
const passedMetadata = ['retry-after', failedDependencyHeader] as const;

/**
 * What a client may learn from a failed downstream call. Errors a service produced on purpose
 * (validation, permissions, state) keep their code, message and details; transport failures
 * (connection refused, reset, open circuit) carry internal host names, so they become a plain
 * "temporarily unavailable", naming the service that failed: the downstream itself, or the
 * dependency its `x-streambet-failed-dependency` marker names when the downstream is up but one
 * of its own dependencies failed (the bet engine answering for the user service). Only
 * end-to-end metadata (retry-after, the marker) is kept: the downstream hop's own headers (gRPC
 * content-type and status) must not leak into the client's protocol.
 */
export function toEdgeError(error: unknown, downstream: string): unknown {
  if (!(error instanceof ConnectError)) return error;
  const metadata = new Headers();
  for (const name of passedMetadata) {
    const value = error.metadata.get(name);
    if (value !== null) metadata.set(name, value);
  }
  const failedDependency = failedDependencyOf(error);
  if (failedDependency === undefined) metadata.delete(failedDependencyHeader);
  if (failedDependency !== undefined && error.code === Code.DeadlineExceeded) {
    return new ConnectError(
      dependencyFailureMessage(failedDependency, Code.DeadlineExceeded),
      Code.DeadlineExceeded,
      metadata,
      undefined,
      error,
    );
  }
  if (error.code === Code.Unavailable) {
    return new ConnectError(
      `the ${failedDependency ?? downstream} service is temporarily unavailable; retry shortly`,
      Code.Unavailable,
      metadata,
      undefined,
      error,
    );
  }
  if (
    (error.code === Code.Unknown || error.code === Code.Internal) &&
    !error.rawMessage.startsWith('internal error; reference')
  ) {
    return new ConnectError(
      `the ${downstream} service failed to answer`,
      Code.Internal,
      metadata,
      undefined,
      error,
    );
  }
  const edge = new ConnectError(error.rawMessage, error.code, metadata, undefined, error);
  edge.details.push(...error.details);
  return edge;
}

/**
 * An implementation of `service` that forwards every call to `client` (a typed client of the
 * service that owns it). Unary and server-streaming methods are supported — the only kinds our
 * public contracts use; anything else answers UNIMPLEMENTED.
 */
export function createForwardingImpl(
  service: DescService,
  client: unknown,
  downstream: string,
  trustedProxyHops = 0,
): Partial<ServiceImpl<DescService>> {
  const calls = client as Record<string, ForwardedCall>;
  const impl: Record<string, unknown> = {};
  for (const method of service.methods) {
    const call = calls[method.localName];
    if (call === undefined) continue;
    impl[method.localName] = forwarder(method, call, downstream, trustedProxyHops);
  }
  return impl as Partial<ServiceImpl<DescService>>;
}

function forwarder(
  method: DescMethod,
  call: ForwardedCall,
  downstream: string,
  trustedProxyHops: number,
): unknown {
  switch (method.methodKind) {
    case 'unary':
      return async (request: unknown, ctx: HandlerContext) => {
        try {
          return await (call(request, callOptions(ctx, trustedProxyHops)) as Promise<unknown>);
        } catch (error) {
          throw toEdgeError(error, downstream);
        }
      };
    case 'server_streaming':
      return async function* (request: unknown, ctx: HandlerContext) {
        try {
          yield* call(request, callOptions(ctx, trustedProxyHops)) as AsyncIterable<unknown>;
        } catch (error) {
          throw toEdgeError(error, downstream);
        }
      };
    default:
      return undefined;
  }
}
