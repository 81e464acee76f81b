/**
 * Clients nobody here wrote, against a running gateway and the real user service: `buf curl`
 * (Connect and gRPC over h2c, schema compiled from proto/) and `@grpc/grpc-js` with
 * `@grpc/proto-loader` reading the same .proto files. Plus: a provider's signed KYC webhook passed
 * through the gateway still verifies at the user service, and internal RPCs are unreachable
 * through the gateway over every protocol even with a valid service credential.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import { generateSigningKeyPair, type SigningKeyPair } from '@streambet/platform/auth/tokens';
import { createMemoryBus } from '@streambet/platform/bus/memory';
import { createMemoryCache } from '@streambet/platform/cache/memory';
import { createLogger } from '@streambet/platform/log/logger';
import { startService, type RunningService } from '@streambet/platform/runtime/service-host';
import { repoPath } from '@streambet/testkit/process';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { createTestTokens, type TestTokens } from '@streambet/testkit/tokens';
import { userService } from '@streambet/user/app';
import { loadUserConfig } from '@streambet/user/config';
import { signKycWebhook } from '@streambet/user/testing';
import type { RunningGateway } from '../src/gateway.js';
import { manualClock, startTestGateway, stopGateways } from './harness.js';

const run = promisify(execFile);
const bufBin = repoPath('node_modules/@bufbuild/buf/bin/buf');
const protoDir = repoPath('proto');
const kycSecret = 'whsec_gateway_e2e_0123456789';

/** The schema `buf curl` reads: compiled once by `buf build` from proto/ (saves a compile per call). */
let schemaImage = protoDir;
let imageDir: string | undefined;
beforeAll(async () => {
  imageDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'sbtest-buf-'));
  const image = path.join(imageDir, 'streambet.binpb');
  await run(bufBin, ['build', protoDir, '-o', image], { timeout: 120_000 });
  schemaImage = image;
});
afterAll(async () => {
  if (imageDir !== undefined) await fs.promises.rm(imageDir, { recursive: true, force: true });
});

/** Generous: each step spawns buf or hashes a password (scrypt), on 2 busy cores. */
const flowTimeoutMs = 180_000;

/** What `buf curl` printed and how it exited. */
interface BufResult {
  readonly ok: boolean;
  readonly json: Record<string, unknown>;
}

/** Runs `buf curl` (asynchronously: the servers live in this process) and parses its JSON. */
async function bufCurl(
  protocol: 'connect' | 'grpc',
  url: string,
  body: object,
  headers: Record<string, string> = {},
): Promise<BufResult> {
  const args = [
    'curl',
    '--schema',
    schemaImage,
    '--protocol',
    protocol,
    ...(protocol === 'grpc' ? ['--http2-prior-knowledge'] : []),
    ...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
    '--data',
    JSON.stringify(body),
    url,
  ];
  try {
    const { stdout } = await run(bufBin, args, { timeout: 60_000 });
    return { ok: true, json: JSON.parse(stdout) as Record<string, unknown> };
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    const text = (stderr ?? '') + (stdout ?? '');
    const start = text.indexOf('{');
    if (start < 0) throw error;
    return { ok: false, json: JSON.parse(text.slice(start)) as Record<string, unknown> };
  }
}

type Callback = (error: grpc.ServiceError | null, response: Record<string, unknown>) => void;
type GrpcJsClient = grpc.Client &
  Record<string, (request: object, metadata: grpc.Metadata, callback: Callback) => void>;

/** A @grpc/grpc-js client of `service` (e.g. `streambet.user.v1.UserService`) from proto/. */
function grpcJsClient(file: string, service: string, baseUrl: string): GrpcJsClient {
  const definition = protoLoader.loadSync(file, {
    includeDirs: [protoDir],
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition);
  const Client = service
    .split('.')
    .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], loaded) as new (
    address: string,
    credentials: grpc.ChannelCredentials,
  ) => GrpcJsClient;
  return new Client(new URL(baseUrl).host, grpc.credentials.createInsecure());
}

/** Calls a unary method of a grpc-js client; resolves with the response or the ServiceError. */
function grpcJsCall(
  client: GrpcJsClient,
  method: string,
  request: object,
  metadata: Record<string, string> = {},
): Promise<{ response?: Record<string, unknown>; error?: grpc.ServiceError }> {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(metadata)) md.set(key, value);
  return new Promise((resolve) => {
    client[method]!(request, md, (error, response) =>
      resolve(error === null ? { response } : { error }),
    );
  });
}

describe.each(sqlTargets())(
  'foreign clients against the gateway and the user service on $name',
  (target) => {
    let db: SqlTestDatabase;
    let userKeys: SigningKeyPair;
    let tokens: TestTokens;
    let user: RunningService;
    let gateway: RunningGateway;
    const grpcClients: grpc.Client[] = [];

    beforeAll(async () => {
      db = await target.create();
      userKeys = await generateSigningKeyPair('gateway-e2e-user');
      tokens = await createTestTokens();
      const logger = createLogger({ service: 'user', level: 'silent' });
      const cache = createMemoryCache();
      const bus = createMemoryBus({ logger });
      user = await startService(userService, {
        config: loadUserConfig({
          STREAMBET_MODE: 'embedded',
          HOST: '127.0.0.1',
          PORT: '0',
          LOG_LEVEL: 'silent',
          USER_TOKEN_PRIVATE_JWK: JSON.stringify(userKeys.privateJwk),
          KYC_WEBHOOK_SECRET: kycSecret,
          DEVICE_ID_HASH_KEY: 'device-key-gateway-e2e',
          ...tokens.serviceEnv('user'),
        }),
        infra: {
          sql: db.sql,
          bus,
          cache,
          async close() {
            await bus.close();
            await cache.close();
          },
        },
        ownsInfra: true,
        logger,
        userJwks: userKeys.publicJwks,
      });
      gateway = await startTestGateway(
        // Registration hashes a password (scrypt): give it room on a busy machine.
        { USER_SERVICE_URL: user.url, RPC_TIMEOUT_MS: '30000' },
        { userJwks: userKeys.publicJwks },
      );
    });
    afterAll(async () => {
      for (const client of grpcClients) client.close();
      await stopGateways();
      await user?.shutdown();
      await db?.dispose();
    });

    function userClient(): GrpcJsClient {
      const client = grpcJsClient(
        'streambet/user/v1/user.proto',
        'streambet.user.v1.UserService',
        gateway.url,
      );
      grpcClients.push(client);
      return client;
    }

    it(
      'given buf curl and grpc-js, when a viewer registers (Connect), logs in (gRPC), reads their profile and passes KYC through the signed webhook, then every step is served',
      async () => {
        const register = await bufCurl(
          'connect',
          `${gateway.url}/streambet.user.v1.UserService/Register`,
          {
            email: 'carla@example.com',
            password: 'a long enough passphrase',
            dateOfBirth: { year: 1991, month: 3, day: 9 },
            displayName: 'Carla',
          },
        );
        expect(register).toMatchObject({ ok: true });
        const userId = (register.json.user as { userId: string }).userId;
        expect(userId).toMatch(/^[0-9A-Z]{26}$/);

        const login = await bufCurl('grpc', `${gateway.url}/streambet.user.v1.UserService/Login`, {
          email: 'carla@example.com',
          password: 'a long enough passphrase',
        });
        expect(login).toMatchObject({ ok: true });
        const accessToken = (login.json.tokens as { accessToken: string }).accessToken;
        const bearer = `Bearer ${accessToken}`;

        const profile = await bufCurl(
          'grpc',
          `${gateway.url}/streambet.user.v1.UserService/GetProfile`,
          { userId },
          { Authorization: bearer },
        );
        expect(profile.json).toMatchObject({ user: { userId, displayName: 'Carla' } });

        const users = userClient();
        const grpcLogin = await grpcJsCall(users, 'Login', {
          email: 'carla@example.com',
          password: 'a long enough passphrase',
        });
        expect(grpcLogin.error).toBeUndefined();
        expect((grpcLogin.response?.user as { userId: string }).userId).toBe(userId);
        const grpcProfile = await grpcJsCall(
          users,
          'GetProfile',
          { userId },
          { authorization: bearer },
        );
        expect((grpcProfile.response?.user as { displayName: string }).displayName).toBe('Carla');
        const someoneElse = await grpcJsCall(
          users,
          'GetProfile',
          { userId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' },
          { authorization: bearer },
        );
        expect(someoneElse.error?.code).toBe(grpc.status.PERMISSION_DENIED);
        const anonymous = await grpcJsCall(users, 'GetProfile', { userId });
        expect(anonymous.error?.code).toBe(grpc.status.UNAUTHENTICATED);
        expect(anonymous.error?.details).not.toContain('at ');

        const started = await grpcJsCall(
          users,
          'StartKyc',
          {
            legalName: 'Carla Lima',
            documentType: 'KYC_DOCUMENT_TYPE_TAX_ID',
            documentNumber: '52998224725',
            documentCountry: 'BR',
          },
          { authorization: bearer },
        );
        expect(started.error).toBeUndefined();
        const caseId = (started.response?.kycCase as { kycCaseId: string }).kycCaseId;

        // The provider's decision, signed over the exact bytes sent (odd spacing kept on purpose).
        const rawBody = Buffer.from(
          `{"event_id": "evt-${caseId}",  "case_id":"${caseId}", "decision":"approved"}`,
        );
        const timestamp = Math.floor(Date.now() / 1000);
        const signature = signKycWebhook(kycSecret, timestamp, rawBody);
        const tampered = await fetch(`${gateway.url}/webhooks/kyc`, {
          method: 'POST',
          headers: { 'x-kyc-timestamp': String(timestamp), 'x-kyc-signature': signature },
          body: Buffer.from(rawBody.toString().replace('  ', ' ')),
        });
        expect(tampered.status).toBe(401);
        const delivered = await fetch(`${gateway.url}/webhooks/kyc`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-kyc-timestamp': String(timestamp),
            'x-kyc-signature': signature,
          },
          body: rawBody,
        });
        expect(delivered.status).toBe(200);
        // The user service's verdict comes back as it wrote it (today JSON-encoded twice by its own
        // webhook route: `"{\"status\":\"applied\"}"`; the gateway passes bytes, not opinions).
        expect(await delivered.text()).toContain('applied');

        const kyc = await bufCurl(
          'connect',
          `${gateway.url}/streambet.user.v1.UserService/GetKycStatus`,
          {},
          { Authorization: bearer },
        );
        expect(kyc.json.status).toBe('KYC_STATUS_VERIFIED');
      },
      flowTimeoutMs,
    );

    it(
      'given a valid service credential, when an internal RPC (LedgerInternalService/SubmitTransfers) is called through the gateway over Connect, gRPC and gRPC-Web by every client, then it is unreachable; on the service itself the same credential is served',
      async () => {
        const headers = { authorization: `Bearer ${await tokens.serviceToken('settlement')}` };
        const path = `/${LedgerInternalService.typeName}/SubmitTransfers`;

        for (const protocol of ['connect', 'grpc'] as const) {
          const result = await bufCurl(
            protocol,
            `${gateway.url}${path}`,
            { commands: [] },
            headers,
          );
          expect({ protocol, ok: result.ok, code: result.json.code }).toEqual({
            protocol,
            ok: false,
            code: 'unimplemented',
          });
        }

        const ledger = grpcJsClient(
          'streambet/user/v1/ledger.proto',
          'streambet.user.v1.LedgerInternalService',
          gateway.url,
        );
        grpcClients.push(ledger);
        const viaGrpcJs = await grpcJsCall(ledger, 'SubmitTransfers', { commands: [] }, headers);
        expect(viaGrpcJs.error?.code).toBe(grpc.status.UNIMPLEMENTED);

        const transports: Record<string, Transport> = {
          Connect: createConnectTransport({ baseUrl: gateway.url, httpVersion: '1.1' }),
          'Connect h2c': createConnectTransport({ baseUrl: gateway.url, httpVersion: '2' }),
          gRPC: createGrpcTransport({ baseUrl: gateway.url }),
          'gRPC-Web': createGrpcWebTransport({ baseUrl: gateway.url, httpVersion: '1.1' }),
        };
        for (const [protocol, transport] of Object.entries(transports)) {
          const code = await createClient(LedgerInternalService, transport)
            .submitTransfers({ commands: [] }, { headers })
            .then(
              () => 'served',
              (error: unknown) => Code[ConnectError.from(error).code],
            );
          expect({ protocol, code }).toEqual({ protocol, code: 'Unimplemented' });
        }
        // Plain HTTP (what a script would try): 404, and nothing the static or status routes made up.
        const plain = await fetch(`${gateway.url}${path}`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: '{"commands":[]}',
        });
        expect(plain.status).toBe(404);

        // Control: on the service itself the same credential passes authentication and the call
        // reaches the ledger's own validation; only the route is missing at the edge.
        const direct = await createClient(
          LedgerInternalService,
          createGrpcTransport({ baseUrl: user.url }),
        )
          .submitTransfers({ commands: [] }, { headers })
          .then(
            () => 'served',
            (error: unknown) => ConnectError.from(error),
          );
        expect(direct).toBeInstanceOf(ConnectError);
        expect((direct as ConnectError).code).toBe(Code.InvalidArgument);
        expect((direct as ConnectError).rawMessage).toContain('must hold 1–1000 commands');
      },
      flowTimeoutMs,
    );

    it(
      'given grpc-js over the limit, then it gets RESOURCE_EXHAUSTED with retry-after metadata, and is served after the wait on the gateway clock',
      async () => {
        const clock = manualClock();
        const limited = await startTestGateway(
          { USER_SERVICE_URL: user.url, RATE_LIMIT_IP_BURST: '2', RATE_LIMIT_IP_PER_SECOND: '1' },
          { userJwks: userKeys.publicJwks, clock },
        );
        const users = grpcJsClient(
          'streambet/user/v1/user.proto',
          'streambet.user.v1.UserService',
          limited.url,
        );
        grpcClients.push(users);
        expect((await grpcJsCall(users, 'GetJwks', {})).error).toBeUndefined();
        expect((await grpcJsCall(users, 'GetJwks', {})).error).toBeUndefined();
        const refused = await grpcJsCall(users, 'GetJwks', {});
        expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
        expect(refused.error?.details).toMatch(/retry in 1 s$/);
        expect(refused.error?.metadata.get('retry-after')).toEqual(['1']);
        const viaBuf = await bufCurl(
          'grpc',
          `${limited.url}/streambet.user.v1.UserService/GetJwks`,
          {},
        );
        expect(viaBuf).toMatchObject({ ok: false, json: { code: 'resource_exhausted' } });
        clock.advance(1000);
        expect((await grpcJsCall(users, 'GetJwks', {})).error).toBeUndefined();
      },
      flowTimeoutMs,
    );
  },
);
