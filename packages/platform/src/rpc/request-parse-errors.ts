/**
 * A request body that is not a valid message is the client's mistake: INVALID_ARGUMENT with a
 * short message, never INTERNAL, and nothing logged as a server fault.
 *
 * connect-es 2.3 parses the request before any interceptor runs (unary calls) or while the
 * handler reads its input (streaming calls), and reports a protobuf binary it cannot parse as
 * INTERNAL "parse binary: illegal tag…" (JSON failures are already INVALID_ARGUMENT, but their
 * message may quote the input). The two halves below cover both paths for Connect, gRPC and
 * gRPC-Web alike; `createRpcServer` installs them.
 */
import {
  Code,
  ConnectError,
  createContextKey,
  type HandlerContext,
  type Interceptor,
} from '@connectrpc/connect';

/** Set once the interceptors run: the request message was parsed (unary) or is being read. */
const interceptorsEnteredKey = createContextKey(false, {
  description: 'the call reached the interceptors',
});

/** Longest message sent back for a request that could not be parsed, in characters. */
const maxParseMessageChars = 200;

/**
 * Whether `error` is connect's report of a request body it could not parse: binary parse failures
 * (INTERNAL "parse binary: …") and JSON ones (INVALID_ARGUMENT, raised by the JSON reader).
 */
function isRequestParseFailure(error: ConnectError): boolean {
  return (
    (error.code === Code.Internal && error.rawMessage.startsWith('parse binary:')) ||
    error.code === Code.InvalidArgument
  );
}

function clientMessage(error: ConnectError, typeName: string): string {
  const detail = error.rawMessage.replace(/^parse binary: /, 'protobuf binary: ');
  const message = `the request body is not a valid ${typeName} (${detail})`;
  return message.length <= maxParseMessageChars
    ? message
    : `${message.slice(0, maxParseMessageChars - 2)}…)`;
}

/**
 * For the router's request gate: when the call ends before reaching the interceptors because its
 * body could not be parsed, turns the error connect is about to send into INVALID_ARGUMENT with a
 * bounded message. connect aborts the call's context with that error object and serializes the
 * same object right after (all three protocols), so it is rewritten in place — the one point
 * between connect's parse and its answer. The platform's RPC tests pin this behaviour per protocol.
 */
export function watchRequestParseFailure(context: HandlerContext): void {
  context.signal.addEventListener(
    'abort',
    () => {
      const reason: unknown = context.signal.reason;
      if (!(reason instanceof ConnectError) || context.values.get(interceptorsEnteredKey)) return;
      if (reason.code === Code.InvalidArgument && reason.rawMessage.length <= maxParseMessageChars)
        return;
      if (!isRequestParseFailure(reason)) return;
      const rawMessage = clientMessage(reason, context.method.input.typeName);
      const writable = reason as { code: Code; rawMessage: string; message: string };
      writable.code = Code.InvalidArgument;
      writable.rawMessage = rawMessage;
      writable.message = `[invalid_argument] ${rawMessage}`;
    },
    { once: true },
  );
}

/**
 * The interceptor half: marks the call as having reached the interceptors (so the gate half
 * leaves handler errors alone), and for streaming calls — whose input is parsed as the handler
 * reads it — turns a parse failure of an input message into INVALID_ARGUMENT before the handler
 * sees it. Outermost in the platform's stack.
 */
export function requestParseErrorsInterceptor(): Interceptor {
  return (next) => async (req) => {
    req.contextValues.set(interceptorsEnteredKey, true);
    if (!req.stream) return next(req);
    const input = req.message;
    const typeName = req.method.input.typeName;
    return next({
      ...req,
      message: (async function* parsed() {
        try {
          yield* input;
        } catch (error) {
          if (error instanceof ConnectError && isRequestParseFailure(error)) {
            throw new ConnectError(
              clientMessage(error, typeName),
              Code.InvalidArgument,
              undefined,
              undefined,
              error,
            );
          }
          throw error;
        }
      })(),
    });
  };
}
