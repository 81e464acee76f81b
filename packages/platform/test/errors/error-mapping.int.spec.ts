import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EchoService,
  secretInternalMessage,
  startEchoServer,
  type EchoServer,
} from '../fixtures/echo-service.js';

let echo: EchoServer;
let connect: Client<typeof EchoService>;
let grpc: Client<typeof EchoService>;

beforeAll(async () => {
  echo = await startEchoServer();
  connect = createClient(
    EchoService,
    createConnectTransport({ baseUrl: echo.address.url, httpVersion: '1.1' }),
  );
  grpc = createClient(EchoService, createGrpcTransport({ baseUrl: echo.address.url }));
});
afterAll(async () => {
  await echo.server.shutdown(1000);
});

async function failure(
  client: Client<typeof EchoService>,
  kind: string,
  requestId?: string,
): Promise<ConnectError> {
  try {
    await client.fail(
      { kind },
      requestId === undefined ? {} : { headers: { 'x-request-id': requestId } },
    );
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error(`Fail(${kind}) unexpectedly succeeded`);
}

describe('errorInterceptor: domain errors become Connect codes with their message', () => {
  it.each([
    [
      'validation',
      Code.InvalidArgument,
      'bet request is invalid: stake_minor: must be at least 100; market_id: is required',
    ],
    ['not-found', Code.NotFound, 'market m-1 does not exist'],
    ['illegal-state', Code.FailedPrecondition, 'market m-1 is locked; bets are closed'],
    ['already-exists', Code.AlreadyExists, 'bet b-1 already exists'],
    ['concurrency', Code.Aborted, 'wallet w-1 changed concurrently; retry'],
    [
      'permission-denied',
      Code.PermissionDenied,
      'only the streamer of channel c-1 may lock its markets',
    ],
    ['unauthenticated', Code.Unauthenticated, 'session expired; sign in again'],
    ['resource-exhausted', Code.ResourceExhausted, 'bet rate limit reached (retry after 3s)'],
    ['unavailable', Code.Unavailable, 'ledger is unavailable (retry after 1s)'],
    ['connect', Code.OutOfRange, 'already a connect error'],
  ] as const)('%s → %s', async (kind, code, message) => {
    for (const client of [connect, grpc]) {
      const error = await failure(client, kind);
      expect(error.code).toBe(code);
      expect(error.rawMessage).toBe(message);
    }
  });

  it('sends retry-after in seconds with RESOURCE_EXHAUSTED over Connect (header) and gRPC (trailer)', async () => {
    expect((await failure(connect, 'resource-exhausted')).metadata.get('retry-after')).toBe('3');
    expect((await failure(grpc, 'resource-exhausted')).metadata.get('retry-after')).toBe('3');
  });

  it('turns an unknown error into INTERNAL with a reference, logging the original with its stack', async () => {
    for (const [client, requestId] of [
      [connect, 'ref-connect-1'],
      [grpc, 'ref-grpc-1'],
    ] as const) {
      const error = await failure(client, 'boom', requestId);
      expect(error.code).toBe(Code.Internal);
      expect(error.rawMessage).toBe(`internal error; reference ${requestId}`);
      expect(error.details).toEqual([]);
      expect(
        JSON.stringify({ message: error.message, metadata: [...error.metadata] }),
      ).not.toContain('hunter2');

      const logged = echo.logs
        .lines()
        .find((l) => l.msg === 'unhandled error in handler' && l.requestId === requestId);
      expect(logged).toBeDefined();
      const err = logged!.err as { message: string; stack: string };
      expect(err.message).toBe(secretInternalMessage);
      expect(err.stack).toContain('echo-service.ts');
      expect(logged!.procedure).toBe('streambet.testing.v1.EchoService/Fail');
    }
  });
});
