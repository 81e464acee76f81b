import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { SignJWT, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authInterceptor,
  definePolicy,
  type AccessPolicy,
} from '../../src/auth/auth-interceptor.js';
import {
  createServiceTokenIssuer,
  createServiceTokenVerifier,
  createUserTokenVerifier,
  generateServiceKeys,
  generateSigningKeyPair,
  serviceTokenAudience,
  serviceTokenIssuer,
  type ServiceKeys,
  type SigningKeyPair,
} from '../../src/auth/tokens.js';
import { EchoService, startEchoServer, type EchoServer } from '../fixtures/echo-service.js';

const issuer = 'https://user.streambet.test';
const audience = 'streambet-api';

let userKeys: SigningKeyPair;
let serviceKeys: ServiceKeys;
let jwksServer: http.Server;
let jwksUrl: URL;
let echo: EchoServer;
let client: Client<typeof EchoService>;

async function userToken(
  claims: { sub?: string; role?: string },
  options: { key?: JWK; iss?: string; aud?: string; expiresInSeconds?: number } = {},
): Promise<string> {
  const key = options.key ?? userKeys.privateJwk;
  const nowSeconds = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: claims.role })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
    .setSubject(claims.sub ?? 'user-1')
    .setIssuer(options.iss ?? issuer)
    .setAudience(options.aud ?? audience)
    .setIssuedAt(nowSeconds - 60)
    .setExpirationTime(nowSeconds + (options.expiresInSeconds ?? 300))
    .sign(await importJWK(key, 'EdDSA'));
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function failure(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    return { code: connectError.code, message: connectError.rawMessage };
  }
  throw new Error('call unexpectedly succeeded');
}

beforeAll(async () => {
  userKeys = await generateSigningKeyPair('user-key-1');
  serviceKeys = await generateServiceKeys(['bet-engine', 'pool', 'payment', 'realtime', 'user']);
  jwksServer = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(userKeys.publicJwks));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = new URL(
    `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`,
  );

  const fullPolicy = definePolicy(EchoService, {
    echo: ['public'],
    mutate: ['streamer', 'admin'],
    slow: ['service'],
    fail: ['admin', 'service'],
    count: ['viewer'],
  });
  const { ['streambet.testing.v1.EchoService/Count']: _withoutCount, ...policy } = fullPolicy;
  expect(Object.keys(policy)).toHaveLength(4);

  echo = await startEchoServer({
    auth: authInterceptor({
      verifyUserToken: createUserTokenVerifier({ jwks: jwksUrl, issuer, audience }),
      verifyServiceToken: createServiceTokenVerifier({ publicJwks: serviceKeys.publicJwks }),
      policy: policy satisfies AccessPolicy,
    }),
  });
  client = createClient(
    EchoService,
    createConnectTransport({ baseUrl: echo.address.url, httpVersion: '1.1' }),
  );
});

afterAll(async () => {
  await echo.server.shutdown(1000);
  await new Promise((resolve) => jwksServer.close(resolve));
});

describe('authInterceptor with user JWTs from a remote JWKS', () => {
  it('accepts a valid user token and hands the caller to the handler', async () => {
    const res = await client.mutate(
      { text: 'x' },
      bearer(await userToken({ sub: 'u-42', role: 'streamer' })),
    );
    expect(JSON.parse(res.caller)).toEqual({ kind: 'user', userId: 'u-42', role: 'streamer' });
  });

  it('lets anyone call a public method, anonymously without a token', async () => {
    expect(JSON.parse((await client.echo({ text: 'x' })).caller)).toEqual({ kind: 'anonymous' });
    const res = await client.echo({ text: 'x' }, bearer(await userToken({ role: 'viewer' })));
    expect(JSON.parse(res.caller)).toMatchObject({ kind: 'user', role: 'viewer' });
  });

  it('rejects a missing token on a non-public method with UNAUTHENTICATED saying what to send', async () => {
    expect(await failure(client.mutate({ text: 'x' }))).toEqual({
      code: Code.Unauthenticated,
      message:
        'method streambet.testing.v1.EchoService/Mutate requires authentication: send "authorization: Bearer <token>"',
    });
    expect(
      (await failure(client.mutate({ text: 'x' }, { headers: { authorization: 'Basic abc' } })))
        .code,
    ).toBe(Code.Unauthenticated);
  });

  it('rejects an expired token', async () => {
    const token = await userToken({ role: 'admin' }, { expiresInSeconds: -120 });
    expect(await failure(client.mutate({ text: 'x' }, bearer(token)))).toEqual({
      code: Code.Unauthenticated,
      message: 'bearer token expired; obtain a new token (sign in again)',
    });
  });

  it('rejects a token without an expiry (exp), which would otherwise be valid forever', async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const forever = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'EdDSA', kid: userKeys.privateJwk.kid })
      .setSubject('user-1')
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(nowSeconds - 60)
      .sign(await importJWK(userKeys.privateJwk, 'EdDSA'));
    expect(await failure(client.mutate({ text: 'x' }, bearer(forever)))).toEqual({
      code: Code.Unauthenticated,
      message: 'bearer token rejected: missing required "exp" claim (claim "exp")',
    });
  });

  it('rejects an unsigned token (alg none)', async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'user-1', role: 'admin', iss: issuer, aud: audience, exp: nowSeconds + 300 })}.`;
    const answer = await failure(client.mutate({ text: 'x' }, bearer(unsigned)));
    expect(answer.code).toBe(Code.Unauthenticated);
  });

  it('rejects a token from the wrong issuer or for the wrong audience', async () => {
    const wrongIssuer = await failure(
      client.mutate(
        { text: 'x' },
        bearer(await userToken({ role: 'admin' }, { iss: 'https://evil.test' })),
      ),
    );
    expect(wrongIssuer.code).toBe(Code.Unauthenticated);
    expect(wrongIssuer.message).toMatch(/claim "iss"/);
    const wrongAudience = await failure(
      client.mutate(
        { text: 'x' },
        bearer(await userToken({ role: 'admin' }, { aud: 'other-api' })),
      ),
    );
    expect(wrongAudience.code).toBe(Code.Unauthenticated);
    expect(wrongAudience.message).toMatch(/claim "aud"/);
  });

  it('rejects a tampered token (role raised after signing) and one signed by an unknown key', async () => {
    const [header, payload, signature] = (await userToken({ role: 'viewer' })).split('.');
    const raised = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload!, 'base64url').toString()),
        role: 'admin',
      }),
    ).toString('base64url');
    expect(
      await failure(client.mutate({ text: 'x' }, bearer(`${header}.${raised}.${signature}`))),
    ).toEqual({
      code: Code.Unauthenticated,
      message: 'bearer token signature is invalid',
    });

    const stranger = await generateSigningKeyPair('user-key-1');
    const forged = await userToken({ role: 'admin' }, { key: stranger.privateJwk });
    expect(await failure(client.mutate({ text: 'x' }, bearer(forged)))).toEqual({
      code: Code.Unauthenticated,
      message: 'bearer token signature is invalid',
    });
    expect((await failure(client.mutate({ text: 'x' }, bearer('not-a-jwt')))).code).toBe(
      Code.Unauthenticated,
    );
  });

  it('checks the role against the policy, naming the required roles', async () => {
    expect(
      await failure(client.mutate({ text: 'x' }, bearer(await userToken({ role: 'viewer' })))),
    ).toEqual({
      code: Code.PermissionDenied,
      message:
        'method streambet.testing.v1.EchoService/Mutate requires role streamer or admin; caller has role viewer',
    });
    await expect(
      client.mutate({ text: 'x' }, bearer(await userToken({ role: 'admin' }))),
    ).resolves.toBeDefined();
  });

  it('denies a method that has no access policy, whoever calls', async () => {
    const denied = {
      code: Code.PermissionDenied,
      message: 'method streambet.testing.v1.EchoService/Count has no access policy',
    };
    const drain = async (options = {}) => {
      for await (const _ of client.count({ count: 1 }, options)) void _;
    };
    expect(await failure(drain())).toEqual(denied);
    expect(await failure(drain(bearer(await userToken({ role: 'viewer' }))))).toEqual(denied);
    expect(echo.state.attempts.get('Count')).toBeUndefined();
  });
});

describe('authInterceptor with service credentials', () => {
  it('accepts a service token on a service method, over gRPC too', async () => {
    const credentials = createServiceTokenIssuer({
      privateJwk: serviceKeys.privateJwks['bet-engine']!,
      service: 'bet-engine',
    });
    const res = await client.slow({ text: 'x', delayMs: 1 }, bearer(await credentials()));
    expect(JSON.parse(res.caller)).toEqual({ kind: 'service', service: 'bet-engine' });

    const grpc = createClient(EchoService, createGrpcTransport({ baseUrl: echo.address.url }));
    const viaGrpc = await grpc.slow({ text: 'x', delayMs: 1 }, bearer(await credentials()));
    expect(JSON.parse(viaGrpc.caller)).toEqual({ kind: 'service', service: 'bet-engine' });
  });

  it('refuses user tokens on service methods, even an admin one', async () => {
    expect(
      await failure(
        client.slow({ text: 'x', delayMs: 1 }, bearer(await userToken({ role: 'admin' }))),
      ),
    ).toEqual({
      code: Code.PermissionDenied,
      message:
        'method streambet.testing.v1.EchoService/Slow is internal: only services may call it',
    });
  });

  it('refuses service tokens on user-only methods', async () => {
    const credentials = createServiceTokenIssuer({
      privateJwk: serviceKeys.privateJwks['pool']!,
      service: 'pool',
    });
    expect(await failure(client.mutate({ text: 'x' }, bearer(await credentials())))).toEqual({
      code: Code.PermissionDenied,
      message:
        'method streambet.testing.v1.EchoService/Mutate requires a user with role streamer or admin; service credentials are not accepted',
    });
  });

  it('refuses service tokens signed with another key, or expired', async () => {
    const rogue = await generateSigningKeyPair('payment:1');
    const forged = await createServiceTokenIssuer({
      privateJwk: rogue.privateJwk,
      service: 'payment',
    })();
    expect((await failure(client.slow({ text: 'x', delayMs: 1 }, bearer(forged)))).code).toBe(
      Code.Unauthenticated,
    );

    const past = { now: () => Date.now() - 3_600_000 };
    const stale = await createServiceTokenIssuer({
      privateJwk: serviceKeys.privateJwks['payment']!,
      service: 'payment',
      clock: past,
    })();
    expect(await failure(client.slow({ text: 'x', delayMs: 1 }, bearer(stale)))).toEqual({
      code: Code.Unauthenticated,
      message: 'bearer token expired; obtain a new token (sign in again)',
    });
  });

  it("refuses a token naming one service signed with another service's key", async () => {
    // A stolen realtime key must not speak for payment, whatever `sub` it writes.
    const realtimeKey = serviceKeys.privateJwks.realtime!;
    const impostor = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: realtimeKey.kid })
      .setSubject('payment')
      .setIssuer(serviceTokenIssuer)
      .setAudience(serviceTokenAudience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(await importJWK(realtimeKey, 'EdDSA'));
    expect(await failure(client.slow({ text: 'x', delayMs: 1 }, bearer(impostor)))).toEqual({
      code: Code.Unauthenticated,
      message:
        'service token for "payment" is signed with key "realtime:1", which is not one of payment\'s keys (payment:n)',
    });
    expect(() => createServiceTokenIssuer({ privateJwk: realtimeKey, service: 'payment' })).toThrow(
      /not one of payment's/,
    );
  });

  it('refuses a service token without an expiry (exp)', async () => {
    const forever = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: serviceKeys.privateJwks.payment!.kid })
      .setSubject('payment')
      .setIssuer(serviceTokenIssuer)
      .setAudience(serviceTokenAudience)
      .setIssuedAt()
      .sign(await importJWK(serviceKeys.privateJwks.payment!, 'EdDSA'));
    expect(await failure(client.slow({ text: 'x', delayMs: 1 }, bearer(forever)))).toEqual({
      code: Code.Unauthenticated,
      message: 'bearer token rejected: missing required "exp" claim (claim "exp")',
    });
  });
});

describe('service token issuer', () => {
  it('caches its token until a fifth of the lifetime is left', async () => {
    let nowMs = Date.UTC(2030, 0, 1);
    const clock = { now: () => nowMs };
    const issue = createServiceTokenIssuer({
      privateJwk: serviceKeys.privateJwks['user']!,
      service: 'user',
      ttlSeconds: 100,
      clock,
    });
    const first = await issue();
    nowMs += 79_000;
    expect(await issue()).toBe(first);
    nowMs += 2_000;
    const second = await issue();
    expect(second).not.toBe(first);
    const verify = createServiceTokenVerifier({ publicJwks: serviceKeys.publicJwks, clock });
    await expect(verify(second)).resolves.toEqual({ kind: 'service', service: 'user' });
  });

  it('reuses a verification only for the same token and only until it expires; never a failure', async () => {
    let nowMs = Date.UTC(2030, 0, 1);
    const clock = { now: () => nowMs };
    const verify = createUserTokenVerifier({
      jwks: () => Promise.resolve(userKeys.publicJwks),
      issuer,
      audience,
      clock,
    });
    const nowSeconds = Math.floor(nowMs / 1000);
    const sign = async (notBeforeSeconds: number) =>
      new SignJWT({ role: 'viewer' })
        .setProtectedHeader({ alg: 'EdDSA', kid: userKeys.privateJwk.kid })
        .setSubject('u-9')
        .setIssuer(issuer)
        .setAudience(audience)
        .setNotBefore(notBeforeSeconds)
        .setExpirationTime(nowSeconds + 100)
        .sign(await importJWK(userKeys.privateJwk, 'EdDSA'));
    const token = await sign(nowSeconds - 10);
    await expect(verify(token)).resolves.toMatchObject({ userId: 'u-9' });
    // The same claims with another signature is another token: checked, and refused.
    const [head, body, signature] = token.split('.') as [string, string, string];
    const forged = `${head}.${body}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    await expect(verify(forged)).rejects.toThrow(/signature/);
    nowMs += 50_000;
    await expect(verify(token)).resolves.toMatchObject({ userId: 'u-9' });
    // Past exp plus the 5 s tolerance the remembered verification no longer counts.
    nowMs = (nowSeconds + 105) * 1000;
    await expect(verify(token)).rejects.toThrow(/expired/);
    // A refusal is not remembered: a token not yet valid passes once its time comes.
    nowMs = Date.UTC(2030, 0, 1);
    const early = await sign(nowSeconds + 30);
    await expect(verify(early)).rejects.toThrow();
    nowMs += 30_000;
    await expect(verify(early)).resolves.toMatchObject({ userId: 'u-9' });
  });

  it('verifies user tokens against a local JWKS getter (embedded mode)', async () => {
    const verify = createUserTokenVerifier({
      jwks: () => Promise.resolve(userKeys.publicJwks),
      issuer,
      audience,
    });
    await expect(verify(await userToken({ sub: 'u-1', role: 'viewer' }))).resolves.toEqual({
      kind: 'user',
      userId: 'u-1',
      role: 'viewer',
    });
    await expect(verify(await userToken({ sub: 'u-1', role: 'superuser' }))).rejects.toThrow(
      /no valid role claim/,
    );
  });
});
