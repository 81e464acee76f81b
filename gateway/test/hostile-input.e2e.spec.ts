/**
 * Hostile input against the gateway on the embedded platform (every service in this process on
 * PGlite). Every public RPC is taken from the service descriptors the gateway routes
 * (`publicRoutes`), never from a hand list, and sent over-sized bodies, compression bombs,
 * malformed protobuf, malformed JSON, over-long ids and bad tokens (expired, without exp, an
 * unknown key, another service's key, alg none); a forged X-Forwarded-For must not move the rate
 * limit to another address; the socket.io path is flooded with connections, events, room joins,
 * unknown events and an over-sized frame. Afterwards the platform still answers RPCs and sockets,
 * its memory is under a stated bound and the ledger balances (debits equal credits in every
 * currency, no wallet below zero).
 */
import { once } from 'node:events';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createGzip } from 'node:zlib';
import { ScalarType, type DescMessage, type DescMethod } from '@bufbuild/protobuf';
import { io, type Socket } from 'socket.io-client';
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
 * Resident memory the whole platform (eight services, gateway, PGlite) may use after the suite.
 * Measured (three runs): 583–610 MiB before the hostile traffic, 705–739 MiB after it.
 */
const rssBoundBytes = 1024 * 1024 * 1024;
/**
 * How much the suite may grow resident memory. RSS keeps pages V8 and zlib no longer use, so this
 * bound is loose (measured growth 110–130 MiB); the live-heap bound below is the tight one.
 */
const rssGrowthBoundBytes = 256 * 1024 * 1024;
/**
 * How much live JavaScript heap (after a full collection) the suite may leave behind: refused
 * bodies, bombs and sockets must all be collectable. Measured: 6.3–7.0 MiB (token caches,
 * rate-limit and metric entries); RSS alone cannot show this, as V8 keeps freed pages.
 */
const heapGrowthBoundBytes = 48 * 1024 * 1024;

// A full collection on demand, without a runner flag: V8 exposes `gc` to contexts made after this.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;
/** Live heap after a full collection. */
function liveHeapBytes(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** The body cap of public RPCs at the gateway (RPC_MAX_BODY_BYTES, its default). */
const gatewayBodyCapBytes = 64 * 1024;
/** socket.io limits of the realtime service behind the gateway, lowered so floods stay small. */
const socketLimits = { connectionsPerAddress: 10, joinBurst: 20, joinsPerSecond: 1 };

let platform: EmbeddedPlatform;
let userKey: JWK;
let rssBeforeBytes: number;
let heapBeforeBytes: number;

beforeAll(async () => {
  userKey = (await generateSigningKeyPair('hostile-suite-user-key')).privateJwk;
  platform = await startEmbeddedPlatform({
    ports: 'free',
    // Rate limits are off on this gateway (hundreds of calls from one address); the forged
    // X-Forwarded-For case runs on gateways of its own, with limits on.
    env: {
      LOG_LEVEL: 'silent',
      RATE_LIMIT_IP_PER_SECOND: '0',
      RATE_LIMIT_USER_PER_SECOND: '0',
      REALTIME_MAX_CONNECTIONS_PER_ADDRESS: String(socketLimits.connectionsPerAddress),
      REALTIME_ROOM_JOIN_BURST_PER_ADDRESS: String(socketLimits.joinBurst),
      REALTIME_ROOM_JOINS_PER_SECOND_PER_ADDRESS: String(socketLimits.joinsPerSecond),
    },
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
  heapBeforeBytes = liveHeapBytes();
  rssBeforeBytes = process.memoryUsage().rss;
}, 60_000);
afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
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

  it('refuses a body over the cap with RESOURCE_EXHAUSTED on every RPC and protocol, unparsed', async () => {
    // Valid JSON of a field no request has: only the size can refuse it.
    const oversized = new TextEncoder().encode(
      JSON.stringify({ padding: 'x'.repeat(gatewayBodyCapBytes + 36 * 1024) }),
    );
    const cases = publicMethods.flatMap(({ procedure }) =>
      protocols.map((protocol) => ({ procedure, protocol })),
    );
    await inBatches(cases, 12, async ({ procedure, protocol }) => {
      const answer = await rawCall(platform.gatewayUrl, procedure, protocol, oversized, {
        format: 'json',
      });
      expectRefusal(answer, 'resource_exhausted', `${protocol} ${procedure} over the cap`);
      expect(answer.message).toContain(String(gatewayBodyCapBytes));
    });
  });

  it('refuses a gzip bomb (256 KiB inflating to 256 MiB) with RESOURCE_EXHAUSTED on every RPC, each protocol in turn', async () => {
    const bomb = await gzipBomb(256 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(300 * 1024);
    const cases = publicMethods.map(({ procedure }, index) => ({
      procedure,
      protocol: protocols[index % protocols.length]!,
    }));
    await inBatches(cases, 6, async ({ procedure, protocol }) => {
      const answer = await rawCall(platform.gatewayUrl, procedure, protocol, bomb, {
        format: 'json',
        gzipped: true,
      });
      expectRefusal(answer, 'resource_exhausted', `${protocol} ${procedure} gzip bomb`);
    });
  });

  it('floods the socket.io path: connections past the per-address cap are refused whatever X-Forwarded-For says', async () => {
    const attempts = socketLimits.connectionsPerAddress + 15;
    const outcomes = await Promise.all(
      Array.from({ length: attempts }, (_, i) =>
        // Each forges its own address; the gateway replaces the header with the one it trusts.
        outcome(openSocket({ 'x-forwarded-for': `203.0.113.${i}` })),
      ),
    );
    const connected = outcomes.filter((o) => o === 'connected').length;
    const refused = outcomes.filter((o) => o !== 'connected');
    expect({ connected, refused: refused.length }).toEqual({
      connected: socketLimits.connectionsPerAddress,
      refused: attempts - socketLimits.connectionsPerAddress,
    });
    for (const refusal of refused) {
      expect(refusal).toEqual({
        code: 'RESOURCE_EXHAUSTED',
        message: `too many connections from this address (at most ${socketLimits.connectionsPerAddress}); close one first`,
      });
    }
    // Free every slot again for the floods below; the server learns of closes asynchronously.
    for (const socket of sockets.splice(0)) socket.disconnect();
    await eventually(async () => {
      const probe = openSocket();
      const result = await outcome(probe);
      probe.disconnect();
      return result === 'connected';
    }, 'a connection slot freed');
  });

  it('floods one socket with events, unknown events, room joins and an over-sized frame: each refused with a reason, the frame closes only that socket', async () => {
    const [flooder, joiner, bystander] = await Promise.all([
      connectedSocket(),
      connectedSocket(),
      connectedSocket(),
    ]);
    // 200 events at once: the per-socket bucket (burst 20, 10/s) lets a burst through.
    const startedMs = Date.now();
    const acks = await Promise.all(
      Array.from({ length: 200 }, () =>
        ack(flooder, 'room:leave', { room: 'market:01ARZ3NDEKTSV4RRFFQ69G5FAV' }),
      ),
    );
    const elapsedSeconds = (Date.now() - startedMs) / 1000;
    const allowed = acks.filter((a) => a.ok === true).length;
    expect(allowed).toBeGreaterThanOrEqual(20);
    expect(allowed).toBeLessThanOrEqual(20 + Math.ceil(10 * (elapsedSeconds + 1)));
    for (const refusal of acks.filter((a) => a.ok !== true)) {
      expect(refusal).toMatchObject({
        ok: false,
        code: 'RESOURCE_EXHAUSTED',
        message: expect.stringContaining('too many events on this socket') as unknown,
      });
    }

    // Unknown events are refused, not dispatched; they cost no room lookups.
    for (let i = 0; i < 20; i += 1) {
      expect(await ack(joiner, `admin:drop-tables-${i}`, {})).toMatchObject({
        ok: false,
        code: 'INVALID_ARGUMENT',
      });
    }

    // Room joins of unknown markets from one address, across sockets: the join budget (burst 20,
    // 1/s per address) refuses the rest before any lookup.
    const joiners = [joiner, bystander, ...(await Promise.all([1, 2, 3].map(connectedSocket)))];
    const joinedAtMs = Date.now();
    const joins = await Promise.all(
      joiners.flatMap((socket) =>
        Array.from({ length: 8 }, (_, i) =>
          ack(socket, 'room:join', {
            room: `market:01ARZ3NDEKTSV4RRFFQ69G5F${String(i).padStart(2, 'A')}`,
          }),
        ),
      ),
    );
    const joinSeconds = (Date.now() - joinedAtMs) / 1000;
    const looked = joins.filter((j) => j.code === 'NOT_FOUND').length;
    const budgetRefused = joins.filter(
      (j) => j.code === 'RESOURCE_EXHAUSTED' && /room joins/.test(String(j.message)),
    ).length;
    expect(looked + budgetRefused).toBe(joins.length);
    expect(looked).toBeLessThanOrEqual(
      socketLimits.joinBurst + Math.ceil(socketLimits.joinsPerSecond * (joinSeconds + 1)),
    );
    expect(budgetRefused).toBeGreaterThan(0);

    // A frame over the 16 KiB limit closes that connection (engine.io), and only that one.
    const closed = new Promise<string>((resolve) => flooder.once('disconnect', resolve));
    flooder.emit(
      'chat:send',
      { channelId: 'c', text: 'x'.repeat(64 * 1024), clientMessageId: 'm' },
      () => undefined,
    );
    expect(await closed).toBe('transport close');
    expect(flooder.connected).toBe(false);
    expect(
      await ack(bystander, 'room:leave', { room: 'market:01ARZ3NDEKTSV4RRFFQ69G5FAV' }),
    ).toMatchObject({ ok: true });
    for (const socket of sockets.splice(0)) socket.disconnect();
  });

  it("refuses a service credential (another service's key) as a user token on every RPC", async () => {
    const token = await platform.serviceToken('settlement');
    await inBatches(publicMethods, 12, async ({ procedure }) => {
      const answer = await rawCall(
        platform.gatewayUrl,
        procedure,
        'connect',
        new TextEncoder().encode('{}'),
        { format: 'json', headers: { authorization: `Bearer ${token}` } },
      );
      expectRefusal(answer, 'unauthenticated', `service token on ${procedure}`);
    });
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
    // And the socket path: a new connection is accepted once the flood's connections are gone.
    await eventually(async () => {
      const probe = openSocket();
      const result = await outcome(probe);
      probe.disconnect();
      return result === 'connected';
    }, 'a socket connection after the floods');

    const heapGrowth = liveHeapBytes() - heapBeforeBytes;
    const rss = process.memoryUsage().rss;
    if (process.env.HOSTILE_MEMORY_LOG === '1') {
      process.stderr.write(
        `hostile suite: live heap +${(heapGrowth / 2 ** 20).toFixed(1)} MiB, RSS ${(rss / 2 ** 20).toFixed(0)} MiB (before ${(rssBeforeBytes / 2 ** 20).toFixed(0)} MiB)\n`,
      );
    }
    expect(heapGrowth).toBeLessThan(heapGrowthBoundBytes);
    expect(rss).toBeLessThan(rssBoundBytes);
    expect(rss - rssBeforeBytes).toBeLessThan(rssGrowthBoundBytes);

    // No wallet below zero: the suite's only users are the two it registered.
    for (const email of ['before@example.com', 'after@example.com']) {
      const session = await users().login({ email, password: 'correct horse battery staple' });
      const { balances } = await users().getWallet(
        {},
        { headers: { authorization: `Bearer ${session.tokens!.accessToken}` } },
      );
      expect(balances.length, email).toBeGreaterThan(0);
      for (const balance of balances) {
        expect(balance.postedMinor, `${email} ${balance.currency}`).toBeGreaterThanOrEqual(0n);
        expect(balance.availableMinor, `${email} ${balance.currency}`).toBeGreaterThanOrEqual(0n);
      }
    }

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

/** Sockets the suite opened (closed after each flood and at the end). */
const sockets: Socket[] = [];

/** A socket.io client through the gateway, over WebSocket, with `headers` on its handshake. */
function openSocket(headers: Record<string, string> = {}): Socket {
  const socket = io(platform.gatewayUrl, {
    path: '/socket.io/',
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: headers,
  });
  sockets.push(socket);
  return socket;
}

/** 'connected', or the connect_error's data (code, message). */
function outcome(socket: Socket): Promise<'connected' | { code: string; message: string }> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (error: Error & { data?: { code: string; message: string } }) =>
      resolve(error.data ?? { code: 'NONE', message: error.message }),
    );
  });
}

/** A connected socket; retried while the slots of closed sockets are still being released. */
async function connectedSocket(): Promise<Socket> {
  let socket: Socket | undefined;
  await eventually(async () => {
    const attempt = openSocket();
    if ((await outcome(attempt)) === 'connected') socket = attempt;
    else attempt.disconnect();
    return socket !== undefined;
  }, 'a socket connection');
  return socket!;
}

/** Emits `event` and resolves with its acknowledgement. */
function ack(socket: Socket, event: string, payload: unknown): Promise<Record<string, unknown>> {
  return socket.timeout(10_000).emitWithAck(event, payload) as Promise<Record<string, unknown>>;
}

/** Polls `condition` until it holds (a close reaches the server asynchronously), at most 10 s. */
async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

/** gzip of `inflatedBytes` spaces, made in 1 MiB steps (the test never holds the inflated body). */
async function gzipBomb(inflatedBytes: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = once(gzip, 'end');
  const step = Buffer.alloc(1024 * 1024, 0x20);
  for (let written = 0; written < inflatedBytes; written += step.length) {
    if (!gzip.write(step)) await once(gzip, 'drain');
  }
  gzip.end();
  await ended;
  return Buffer.concat(chunks);
}
