/**
 * gRPC server reflection on the gateway, through a client nobody here wrote: `buf curl` with no
 * schema file lists the public services and their methods and calls one, over both reflection
 * versions (v1 and the v1alpha that older grpcurl builds use). Internal services are neither
 * listed, nor resolvable, nor left inside the file descriptors the gateway sends.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { createAsyncIterable } from '@connectrpc/connect/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ServerReflection,
  type ServerReflectionResponse,
} from '@streambet/contracts/gen/grpc/reflection/v1/reflection_pb';
import { repoPath } from '@streambet/testkit/process';
import type { RunningGateway } from '../src/gateway.js';
import { publicRoutes } from '../src/public-services.js';
import { startFakePool, startTestGateway, stopGateways } from './harness.js';

const run = promisify(execFile);
const bufBin = repoPath('node_modules/@bufbuild/buf/bin/buf');

/** Every internal service the contracts declare (architecture.md: never routable at the edge). */
const internalServices = [
  'streambet.betengine.v1.BetEngineInternalService',
  'streambet.pool.v1.PoolInternalService',
  'streambet.realtime.v1.RealtimeInternalService',
  'streambet.settlement.v1.SettlementInternalService',
  'streambet.user.v1.UserInternalService',
  'streambet.user.v1.LedgerInternalService',
];

/** Runs `buf curl` over gRPC (h2c) with server reflection and no schema; stdout lines. */
async function bufCurl(args: readonly string[]): Promise<string> {
  const { stdout } = await run(
    bufBin,
    ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args],
    { timeout: 60_000 },
  );
  return stdout;
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

let gateway: RunningGateway;
let pool: Awaited<ReturnType<typeof startFakePool>>;
beforeAll(async () => {
  pool = await startFakePool();
  gateway = await startTestGateway({ POOL_SERVICE_URL: pool.url });
});
afterAll(async () => {
  await stopGateways();
  await pool?.shutdown();
});

describe('gRPC server reflection on the gateway', () => {
  it.each(['grpc-v1', 'grpc-v1alpha'])(
    'given buf curl without a schema (%s), when it lists services, then it sees every public service and no internal one',
    async (reflectProtocol) => {
      const listed = lines(
        await bufCurl(['--reflect-protocol', reflectProtocol, '--list-services', gateway.url]),
      );
      const publicNames = publicRoutes.map((route) => route.service.typeName);
      expect(listed).toEqual(
        [
          ...publicNames,
          'grpc.reflection.v1.ServerReflection',
          'grpc.reflection.v1alpha.ServerReflection',
        ].sort(),
      );
      for (const internal of internalServices) expect(listed).not.toContain(internal);
    },
    120_000,
  );

  it('given buf curl without a schema, when it lists methods, then the pool shows its public RPCs only', async () => {
    const methods = lines(await bufCurl(['--list-methods', gateway.url]));
    expect(methods).toContain('streambet.pool.v1.PoolService/ListMarkets');
    expect(methods).toContain('streambet.betengine.v1.BetEngineService/PlaceBet');
    expect(methods.filter((method) => method.includes('Internal'))).toEqual([]);
  }, 120_000);

  it('given buf curl without a schema, when it calls ListMarkets, then the request is encoded from reflection and reaches the pool', async () => {
    const before = pool.calls.length;
    const out = await bufCurl([
      '--data',
      JSON.stringify({ channelId: 'ch-reflect' }),
      `${gateway.url}/streambet.pool.v1.PoolService/ListMarkets`,
    ]);
    expect(JSON.parse(out)).toEqual({});
    expect(pool.calls.length).toBe(before + 1);
  }, 120_000);

  it('given an internal service name, when buf curl calls it through reflection, then the schema is not found', async () => {
    const failure = await bufCurl([
      '--data',
      '{}',
      `${gateway.url}/streambet.pool.v1.PoolInternalService/GetMarketForSettlement`,
    ]).then(
      () => undefined,
      (error: unknown) => error as { stderr?: string },
    );
    expect(failure?.stderr ?? '').toMatch(/failed to find service named .*PoolInternalService/);
  }, 120_000);

  it('given a reflection stream, when a file with both kinds of service is fetched, then only the public service is in its descriptor; internal symbols and internal-only files are NOT_FOUND', async () => {
    const client = createClient(ServerReflection, createGrpcTransport({ baseUrl: gateway.url }));
    const requests = [
      {
        messageRequest: {
          case: 'fileContainingSymbol' as const,
          value: 'streambet.pool.v1.PoolService',
        },
      },
      {
        messageRequest: {
          case: 'fileContainingSymbol' as const,
          value: 'streambet.pool.v1.PoolInternalService',
        },
      },
      {
        messageRequest: { case: 'fileByFilename' as const, value: 'streambet/pool/v1/pool.proto' },
      },
      {
        messageRequest: {
          case: 'fileByFilename' as const,
          value: 'streambet/user/v1/ledger.proto',
        },
      },
    ];
    const answers: ServerReflectionResponse[] = [];
    for await (const answer of client.serverReflectionInfo(createAsyncIterable(requests)))
      answers.push(answer);
    expect(answers).toHaveLength(4);

    const [bySymbol, internal, byName, internalOnlyFile] = answers;
    if (bySymbol?.messageResponse.case !== 'fileDescriptorResponse') throw new Error('no file');
    const files = bySymbol.messageResponse.value.fileDescriptorProto.map((bytes) =>
      fromBinary(FileDescriptorProtoSchema, bytes),
    );
    expect(files[0]?.name).toBe('streambet/pool/v1/pool.proto');
    expect(files[0]?.service.map((service) => service.name)).toEqual(['PoolService']);
    // Its imports come along in the same answer, so a client can resolve every type.
    expect(files.length).toBeGreaterThan(1);

    expect(internal?.messageResponse).toMatchObject({
      case: 'errorResponse',
      value: { errorCode: 5 },
    });
    if (byName?.messageResponse.case !== 'fileDescriptorResponse') throw new Error('no file');
    // Asked by name again on the same stream: the file itself, not the imports already sent.
    expect(byName.messageResponse.value.fileDescriptorProto).toHaveLength(1);
    // A file that declares only an internal service (the ledger's) is not served at all.
    expect(internalOnlyFile?.messageResponse).toMatchObject({
      case: 'errorResponse',
      value: { errorCode: 5 },
    });
  }, 60_000);
});
