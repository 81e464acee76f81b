/**
 * Hostile input against the gateway on the embedded platform (every service in this process on
 * PGlite). Every public RPC is taken from the service descriptors the gateway routes
 * (`publicRoutes`), never from a hand list, and sent malformed protobuf, malformed JSON,
 * over-long ids and bad tokens; a forged X-Forwarded-For must not move the rate limit to another
 * address. Afterwards the platform still answers, its memory is under a stated bound and the
 * ledger balances (debits equal credits in every currency).
 */
import { ScalarType, type DescMessage, type DescMethod } from '@bufbuild/protobuf';
import { createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { PoolService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { LedgerInternalService } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import { generateSigningKeyPair } from '@streambet/platform/auth/tokens';
import { maxCharsOfField, maxTokenChars } from '@streambet/platform/rpc/input-limits';
import { serviceUrlVariable } from '@streambet/platform/runtime/platform-config';
import { rawCall, type RawAnswer, type WireProtocol } from '@streambet/testkit/raw-rpc';
import { pgliteTemplate } from '@streambet/testkit/sql';
import { testTokenAudience, testTokenIssuer } from '@streambet/testkit/tokens';
import { importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '../src/embedded-platform.js';
import { publicRoutes } from '../src/public-services.js';
import { manualClock, startTestGateway, stopGateways } from './harness.js';

/**
 * Resident memory the whole platform (eight services, gateway, PGlite) may use after the suite
 * (measured: about 630 MiB, from about 570 MiB before the hostile traffic).
 */
const rssBoundBytes = 1024 * 1024 * 1024;
/** How much the suite may grow resident memory (parsing and refusing must not accumulate). */
const rssGrowthBoundBytes = 192 * 1024 * 1024;

let platform: EmbeddedPlatform;
let userKey: JWK;
let rssBeforeBytes: number;

beforeAll(async () => {
  userKey = (await generateSigningKeyPair('hostile-suite-user-key')).privateJwk;
  platform = await startEmbeddedPlatform({
    ports: 'free',
    // Rate limits are off on this gateway (hundreds of calls from one address); the forged
    // X-Forwarded-For case runs on gateways of its own, with limits on.
    env: { LOG_LEVEL: 'silent', RATE_LIMIT_IP_PER_SECOND: '0', RATE_LIMIT_USER_PER_SECOND: '0' },
    template: await pgliteTemplate(),
    keys: { userTokenPrivateJwk: userKey },
  });
  // Some money moves before the hostile traffic: a new user gets the play-money signup grant.
  await users().register({
    email: 'before@example.com',
    password: 'correct horse battery staple',
    dateOfBirth: { year: 1990, month: 5, day: 17 },
    displayName: 'Before',
  });
  rssBeforeBytes = process.memoryUsage().rss;
}, 60_000);
afterAll(async () => {
  await stopGateways();
  await platform?.shutdown();
});

function users(): Client<typeof UserService> {
  return createClient(
    UserService,
    createConnectTransport({ baseUrl: platform.gatewayUrl, httpVersion: '1.1' }),
  );
}

/** Every public RPC, from the descriptors the gateway routes. */
const publicMethods: ReadonlyArray<{ readonly procedure: string; readonly method: DescMethod }> =
  publicRoutes.flatMap((route) =>
    route.service.methods.map((method) => ({
      procedure: `/${route.service.typeName}/${method.name}`,
      method,
    })),
  );
const protocols: readonly WireProtocol[] = ['connect', 'grpc', 'grpc-web'];

/** Runs `work` over `items`, at most `width` at a time (bounded load, bounded time). */
async function inBatches<T>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  for (let start = 0; start < items.length; start += width) {
    await Promise.all(items.slice(start, start + width).map(work));
  }
}

/** A refusal a client can act on: the expected code, a short message, no stack trace. */
function expectRefusal(answer: RawAnswer, code: string, what: string): void {
  expect({ what, code: answer.code }).toEqual({ what, code });
  expect(answer.message.length, what).toBeLessThanOrEqual(300);
  expect(answer.message, what).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
}

const malformedBinaries: readonly Uint8Array[] = [
  Uint8Array.of(0x0f, 0x01), // illegal tag (field 1, wire type 7)
  Uint8Array.of(0x0a, 0x05, 0x41), // length-delimited field cut short (premature EOF)
  Uint8Array.of(0x08, ...Array<number>(11).fill(0xff)), // varint that never ends
];
const malformedJson: readonly string[] = ['{"', '[1, 2]', '{"a": tru}', 'null x'];

describe('hostile input at the gateway, for every public RPC', () => {
  it('routes public RPCs taken from the descriptors', () => {
    expect(publicMethods.length).toBeGreaterThanOrEqual(50);
  });

  it('answers malformed protobuf with INVALID_ARGUMENT on Connect, gRPC and gRPC-Web', async () => {
    const cases = publicMethods.flatMap(({ procedure }, index) =>
      protocols.map((protocol) => ({
        procedure,
        protocol,
        body: malformedBinaries[index % malformedBinaries.length]!,
      })),
    );
    await inBatches(cases, 12, async ({ procedure, protocol, body }) => {
      const answer = await rawCall(platform.gatewayUrl, procedure, protocol, body);
      expectRefusal(answer, 'invalid_argument', `${protocol} ${procedure}`);
    });
  });

  it('answers malformed JSON with INVALID_ARGUMENT on Connect, gRPC and gRPC-Web', async () => {
    const cases = publicMethods.flatMap(({ procedure }, index) =>
      protocols.map((protocol) => ({
        procedure,
        protocol,
        json: malformedJson[index % malformedJson.length]!,
      })),
    );
    await inBatches(cases, 12, async ({ procedure, protocol, json }) => {
      const answer = await rawCall(
        platform.gatewayUrl,
        procedure,
        protocol,
        new TextEncoder().encode(json),
        { format: 'json' },
      );
      expectRefusal(answer, 'invalid_argument', `${protocol} ${procedure} ${json}`);
    });
  });

  it('refuses every over-long id, key or token field with INVALID_ARGUMENT and a short message', async () => {
    const cases = publicMethods
      .flatMap(({ procedure, method }) =>
        idFieldPaths(method.input).map((path) => ({ procedure, path })),
      )
      .map((item, index) => ({ ...item, protocol: protocols[index % protocols.length]! }));
    expect(cases.length).toBeGreaterThanOrEqual(40);
    const longId = '7'.repeat(10_000);
    await inBatches(cases, 12, async ({ procedure, path, protocol }) => {
      const body = jsonWith(path, longId);
      const answer = await rawCall(platform.gatewayUrl, procedure, protocol, body, {
        format: 'json',
      });
      const what = `${procedure} ${path.map((p) => p.name).join('.')}`;
      expectRefusal(answer, 'invalid_argument', what);
      expect(answer.message, what).toContain(path[path.length - 1]!.name);
      expect(answer.message, what).not.toContain('7'.repeat(50));
    });
  });

  it('answers UNAUTHENTICATED to expired, exp-less, unknown-key and alg:none tokens on every RPC', async () => {
    const tokens = await badTokens(userKey);
    const cases = publicMethods.flatMap(({ procedure }) =>
      Object.entries(tokens).map(([kind, token]) => ({ procedure, kind, token })),
    );
    await inBatches(cases, 12, async ({ procedure, kind, token }) => {
      const answer = await rawCall(
        platform.gatewayUrl,
        procedure,
        'connect',
        new TextEncoder().encode('{}'),
        { format: 'json', headers: { authorization: `Bearer ${token}` } },
      );
      expectRefusal(answer, 'unauthenticated', `${kind} token on ${procedure}`);
    });
  });

  it('limits by the address it trusts, whatever X-Forwarded-For a client writes', async () => {
    for (const hops of [0, 1]) {
      const gateway = await startTestGateway(
        {
          ...platformUrls(),
          METRICS_PORT: '0',
          RATE_LIMIT_IP_BURST: '5',
          RATE_LIMIT_IP_PER_SECOND: '1',
          TRUSTED_PROXY_HOPS: String(hops),
        },
        // The clock never moves: no token is refilled while the test runs.
        { clock: manualClock() },
      );
      const pool = createClient(PoolService, createGrpcTransport({ baseUrl: gateway.url }));
      // With no trusted proxy the TCP peer counts; behind one, the entry that proxy appended.
      const trusted = hops === 0 ? '' : ', 198.51.100.7';
      const codes: string[] = [];
      for (let call = 0; call < 7; call += 1) {
        const forged = `203.0.113.${call}, 10.0.0.${call}`;
        codes.push(
          await pool
            .listMarkets({}, { headers: { 'x-forwarded-for': `${forged}${trusted}` } })
            .then(
              () => 'ok',
              (error: unknown) => String((error as { code?: unknown }).code),
            ),
        );
      }
      // Five in the burst, then refused (8 = RESOURCE_EXHAUSTED), however the header was forged.
      expect({ hops, codes }).toEqual({ hops, codes: ['ok', 'ok', 'ok', 'ok', 'ok', '8', '8'] });
    }
  });

  it('afterwards answers a normal request, stays under its memory bound, and the ledger balances', async () => {
    const registered = await users().register({
      email: 'after@example.com',
      password: 'correct horse battery staple',
      dateOfBirth: { year: 1991, month: 6, day: 18 },
      displayName: 'After',
    });
    const login = await users().login({
      email: 'after@example.com',
      password: 'correct horse battery staple',
    });
    const profile = await users().getProfile(
      { userId: registered.user!.userId },
      { headers: { authorization: `Bearer ${login.tokens!.accessToken}` } },
    );
    expect(profile.user?.displayName).toBe('After');

    const rss = process.memoryUsage().rss;
    expect(rss).toBeLessThan(rssBoundBytes);
    expect(rss - rssBeforeBytes).toBeLessThan(rssGrowthBoundBytes);

    const ledger = createClient(
      LedgerInternalService,
      createGrpcTransport({ baseUrl: platform.serviceUrls.get('user')! }),
    );
    const { totals } = await ledger.getLedgerTotals(
      {},
      { headers: { authorization: `Bearer ${await platform.serviceToken('settlement')}` } },
    );
    expect(totals.length).toBeGreaterThan(0);
    for (const total of totals) {
      expect({ currency: total.currency, posted: total.debitsPostedMinor }).toEqual({
        currency: total.currency,
        posted: total.creditsPostedMinor,
      });
      expect({ currency: total.currency, pending: total.debitsPendingMinor }).toEqual({
        currency: total.currency,
        pending: total.creditsPendingMinor,
      });
    }
    // The signup grants moved play money: the check above covered real postings.
    expect(totals.some((total) => total.debitsPostedMinor > 0n)).toBe(true);
  });
});

/** The gateway variables pointing at the embedded platform's services. */
function platformUrls(): Record<string, string> {
  const env: Record<string, string> = {
    USER_JWKS_URL: `${platform.serviceUrls.get('user')!}/.well-known/jwks.json`,
  };
  for (const [name, url] of platform.serviceUrls) env[serviceUrlVariable(name)] = url;
  return env;
}

/** One string field of a request, reached through the fields before it. */
type FieldPath = ReadonlyArray<{ readonly name: string; readonly jsonName: string }>;

/**
 * The id, key and token fields of `message` (limit at most {@link maxTokenChars}), singular or
 * repeated, at the top level and inside singular message fields (two levels deep).
 */
function idFieldPaths(message: DescMessage, prefix: FieldPath = [], depth = 0): FieldPath[] {
  const paths: FieldPath[] = [];
  for (const field of message.fields) {
    const here = [...prefix, { name: field.name, jsonName: field.jsonName }];
    const isString =
      (field.fieldKind === 'scalar' ||
        (field.fieldKind === 'list' && field.listKind === 'scalar')) &&
      field.scalar === ScalarType.STRING;
    const max = maxCharsOfField(field.name);
    if (isString && max !== undefined && max <= maxTokenChars) paths.push(here);
    if (field.fieldKind === 'message' && depth < 2) {
      paths.push(...idFieldPaths(field.message, here, depth + 1));
    }
  }
  return paths;
}

/** A JSON request body with `value` at `path` (inside a list for repeated fields). */
function jsonWith(path: FieldPath, value: string): Uint8Array {
  let body: unknown = value;
  for (let index = path.length - 1; index >= 0; index -= 1) {
    body = { [path[index]!.jsonName]: body };
  }
  return new TextEncoder().encode(JSON.stringify(body));
}

/** User tokens the gateway must refuse, each wrong in one way only. */
async function badTokens(signingJwk: JWK): Promise<Record<string, string>> {
  const key = await importJWK(signingJwk, 'EdDSA');
  const nowSeconds = Math.floor(Date.now() / 1000);
  const claims = (): SignJWT =>
    new SignJWT({ role: 'viewer' })
      .setProtectedHeader({ alg: 'EdDSA', kid: signingJwk.kid ?? '' })
      .setIssuer(testTokenIssuer)
      .setAudience(testTokenAudience)
      .setSubject('01ARZ3NDEKTSV4RRFFQ69G5FAV');
  const stranger = await generateSigningKeyPair('not-a-platform-key');
  const strangerKey = await importJWK(stranger.privateJwk, 'EdDSA');
  const base64url = (value: object): string =>
    Buffer.from(JSON.stringify(value)).toString('base64url');
  return {
    expired: await claims()
      .setIssuedAt(nowSeconds - 3600)
      .setExpirationTime(nowSeconds - 1800)
      .sign(key),
    'without exp': await claims().setIssuedAt(nowSeconds).sign(key),
    'signed by an unknown key': await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'not-a-platform-key' })
      .setIssuer(testTokenIssuer)
      .setAudience(testTokenAudience)
      .setSubject('01ARZ3NDEKTSV4RRFFQ69G5FAV')
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + 900)
      .sign(strangerKey),
    'alg none': `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({
      iss: testTokenIssuer,
      aud: testTokenAudience,
      sub: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
      role: 'admin',
      iat: nowSeconds,
      exp: nowSeconds + 900,
    })}.`,
  };
}
