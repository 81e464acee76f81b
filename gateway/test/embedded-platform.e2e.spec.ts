import { createClient, Code, ConnectError, type Transport } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import type { DescService } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PoolService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { IntegrationService } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  AccountKind,
  TransferCode,
  TransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { createServiceTokenIssuer, generateServiceKeys } from '@streambet/platform/auth/tokens';
import { servicePorts } from '@streambet/platform/runtime/platform-config';
import { pgliteTemplate } from '@streambet/testkit/sql';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '../src/embedded-platform.js';
import { publicRoutes } from '../src/public-services.js';
import { allContractServices } from './contract-services.js';

let platform: EmbeddedPlatform;
let serviceToken: () => Promise<string>;

beforeAll(async () => {
  const pair = await generateServiceKeys(Object.keys(servicePorts));
  serviceToken = createServiceTokenIssuer({
    privateJwk: pair.privateJwks.settlement!,
    service: 'settlement',
  });
  platform = await startEmbeddedPlatform({
    ports: 'free',
    env: { LOG_LEVEL: 'silent' },
    template: await pgliteTemplate(),
    keys: { servicePrivateJwks: pair.privateJwks, servicePublicJwks: pair.publicJwks },
  });
});
afterAll(async () => {
  await platform?.shutdown();
});

async function codeOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error('call unexpectedly succeeded');
}

const transports: Record<string, (baseUrl: string) => Transport> = {
  Connect: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: '1.1' }),
  gRPC: (baseUrl) => createGrpcTransport({ baseUrl }),
  'gRPC-Web': (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: '1.1' }),
};

describe('the embedded platform (npm start)', () => {
  it('given every service started, then each is live and ready (database and bus checked) and serves /metrics', async () => {
    expect(platform.serviceUrls.size).toBe(8);
    for (const [name, url] of platform.serviceUrls) {
      const ready = await fetch(`${url}/health/ready`);
      expect({ name, status: ready.status, body: await ready.json() }).toEqual({
        name,
        status: 200,
        body: { status: 'ok' },
      });
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain(`service="${name}"`);
    }
  });

  it('given the gateway, when a person opens /status, then it lists every public API and its service state', async () => {
    const page = await fetch(`${platform.gatewayUrl}/status`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    for (const route of publicRoutes) expect(html).toContain(route.service.typeName);
    const status = (await (await fetch(`${platform.gatewayUrl}/status.json`)).json()) as {
      services: Array<{ name: string; ready: boolean }>;
    };
    expect(status.services.map((s) => s.ready)).toEqual(Array(8).fill(true));
  });

  for (const [protocol, transport] of Object.entries(transports)) {
    it(`given a public RPC called with a malformed id through the gateway over ${protocol}, then the service's INVALID_ARGUMENT comes back whole`, async () => {
      const integration = createClient(IntegrationService, transport(platform.gatewayUrl));
      const error = await codeOf(integration.getChannel({ channelId: 'c-1' }));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toMatch(/channel_id/);
    });
  }

  it('given every service in the contracts, then the gateway routes exactly the public ones', () => {
    const routed = publicRoutes.map((r) => r.service.typeName).sort();
    const expected = allContractServices()
      .filter((s) => !s.typeName.endsWith('InternalService'))
      .map((s) => s.typeName)
      .sort();
    expect(routed).toEqual(expected);
  });

  it('given a valid service credential, when an internal RPC is called through the gateway, then it is not routable (UNIMPLEMENTED) for every internal service', async () => {
    const internal: DescService[] = allContractServices().filter((s) =>
      s.typeName.endsWith('InternalService'),
    );
    expect(internal.length).toBeGreaterThanOrEqual(6);
    const headers = { authorization: `Bearer ${await serviceToken()}` };
    for (const service of internal) {
      const client = createClient(service, createGrpcTransport({ baseUrl: platform.gatewayUrl }));
      const first = service.methods.find((m) => m.methodKind === 'unary')!;
      const call = (client as Record<string, (req: object, opts: object) => Promise<unknown>>)[
        first.localName
      ]!;
      const error = await codeOf(call({}, { headers }));
      expect({ service: service.typeName, code: Code[error.code] }).toEqual({
        service: service.typeName,
        code: 'Unimplemented',
      });
    }
  });

  it('given an internal RPC called on the service itself, then it needs a service credential: none is UNAUTHENTICATED, a valid one is served', async () => {
    const ledger = createClient(
      LedgerInternalService,
      createGrpcTransport({ baseUrl: platform.serviceUrls.get('user')! }),
    );
    const anonymous = await codeOf(ledger.getLedgerTotals({}));
    expect(anonymous.code).toBe(Code.Unauthenticated);
    const totals = await ledger.getLedgerTotals(
      { currency: 'PTS' },
      { headers: { authorization: `Bearer ${await serviceToken()}` } },
    );
    expect(totals).toBeDefined();
  });

  it('given a forged or a service token, when sent to the gateway, then it stops there with UNAUTHENTICATED', async () => {
    const pool = createClient(PoolService, createGrpcTransport({ baseUrl: platform.gatewayUrl }));
    const forged = await codeOf(
      pool.listMarkets({}, { headers: { authorization: 'Bearer not.a.jwt' } }),
    );
    expect(forged.code).toBe(Code.Unauthenticated);
    const service = await codeOf(
      pool.listMarkets({}, { headers: { authorization: `Bearer ${await serviceToken()}` } }),
    );
    expect(service.code).toBe(Code.Unauthenticated);
  });

  it('given a new viewer, when they register, log in and read their profile through the gateway, then the access token from the user service is verified at the edge and by the service', async () => {
    const users = createClient(
      UserService,
      createConnectTransport({ baseUrl: platform.gatewayUrl, httpVersion: '1.1' }),
    );
    const registered = await users.register({
      email: 'ana@example.com',
      password: 'correct horse battery staple',
      dateOfBirth: { year: 1990, month: 5, day: 17 },
      displayName: 'Ana',
    });
    const userId = registered.user!.userId;
    expect(userId).not.toBe('');
    const login = await users.login({
      email: 'ana@example.com',
      password: 'correct horse battery staple',
    });
    const headers = { authorization: `Bearer ${login.tokens!.accessToken}` };
    const profile = await users.getProfile({ userId }, { headers });
    expect(profile.user?.displayName).toBe('Ana');
    // The house grants play money through the internal ledger API (a service credential, straight
    // to the user service); the viewer sees it in their wallet through the gateway.
    const ledger = createClient(
      LedgerInternalService,
      createGrpcTransport({ baseUrl: platform.serviceUrls.get('user')! }),
    );
    const asService = { headers: { authorization: `Bearer ${await serviceToken()}` } };
    const wallet = `wallet:${userId}:PTS`;
    // New accounts may start with a play-money welcome grant: measure from what is there.
    const startingPoints =
      (await users.getWallet({}, { headers })).balances.find((b) => b.currency === 'PTS')
        ?.availableMinor ?? 0n;
    await ledger.createAccounts(
      {
        accounts: [
          { accountId: wallet, kind: AccountKind.USER_WALLET, currency: 'PTS', ownerId: userId },
          { accountId: 'house:PTS', kind: AccountKind.HOUSE, currency: 'PTS' },
        ],
      },
      asService,
    );
    const grant = {
      transferId: `grant-${userId}`,
      kind: TransferKind.SINGLE_PHASE,
      debitAccountId: 'house:PTS',
      creditAccountId: wallet,
      amountMinor: 50_000n,
      currency: 'PTS',
      code: TransferCode.PLAY_MONEY_GRANT,
    };
    await ledger.submitTransfers({ commands: [grant] }, asService);
    // A retry with the same id moves nothing.
    await ledger.submitTransfers({ commands: [grant] }, asService);
    const balances = (await users.getWallet({}, { headers })).balances;
    expect(balances.map((b) => [b.currency, b.availableMinor])).toEqual([
      ['BRL', 0n],
      ['PTS', startingPoints + 50_000n],
    ]);
    const otherUsersWallet = await codeOf(
      users.getWallet({ userId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }, { headers }),
    );
    expect(otherUsersWallet.code).toBe(Code.PermissionDenied);

    const wrongPassword = await codeOf(
      users.login({ email: 'ana@example.com', password: 'not the password at all' }),
    );
    expect(wrongPassword.code).toBe(Code.Unauthenticated);
  });
});
