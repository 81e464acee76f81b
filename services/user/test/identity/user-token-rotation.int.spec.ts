import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { createUserTokenVerifier, generateSigningKeyPair } from '@streambet/platform/auth/tokens';
import type { SigningKeyPair } from '@streambet/platform/auth/tokens';
import { createLogger } from '@streambet/platform/log/logger';
import { createServiceClient } from '@streambet/platform/rpc/client';
import type { RunningService } from '@streambet/platform/runtime/service-host';
import { manualClock } from '@streambet/testkit/clock';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { decodeProtectedHeader } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { servedJwks, startWholeUserService } from '../whole-service.js';

const startMs = Date.UTC(2026, 10, 20, 12, 0, 0);
const credentials = { email: 'rotation@example.com', password: 'correct horse battery staple' };
/** Past the verifier's one-minute reuse of a verified token, well within the 15-minute TTL. */
const pastReuseMs = 61_000;

/**
 * Rotation as the README prescribes, one deployment per step: old key K1 → publish K2 → sign with
 * K2, keep K1 published → drop K1 once its last token has expired.
 */
describe.each(sqlTargets().slice(0, 1))('user-token key rotation on $name', (target) => {
  const clock = manualClock(startMs);
  let db: SqlTestDatabase;
  let serviceEnv: Record<string, string>;
  let k1: SigningKeyPair;
  let k2: SigningKeyPair;
  const running: RunningService[] = [];

  beforeAll(async () => {
    db = await target.create();
    serviceEnv = { STREAMBET_MODE: 'embedded', ...(await createTestTokens()).serviceEnv('user') };
    k1 = await generateSigningKeyPair('user-key-1');
    k2 = await generateSigningKeyPair('user-key-2');
    return async () => {
      await db.dispose();
    };
  });
  afterEach(async () => {
    for (const service of running.splice(0)) await service.shutdown();
  });

  /** A deployment signing with `signing` and also publishing `accepted`. */
  async function deploy(signing: SigningKeyPair, accepted: SigningKeyPair[] = []) {
    const service = await startWholeUserService(
      db.sql,
      {
        ...serviceEnv,
        USER_TOKEN_PRIVATE_JWK: JSON.stringify(signing.privateJwk),
        ...(accepted.length === 0
          ? {}
          : {
              USER_TOKEN_ACCEPTED_PUBLIC_JWKS: JSON.stringify({
                keys: accepted.map((pair) => pair.publicJwk),
              }),
            }),
      },
      clock,
    );
    running.push(service);
    const { client } = createServiceClient(UserService, {
      baseUrl: service.url,
      logger: createLogger({ service: 'test', level: 'silent' }),
      timeoutMs: 30_000,
      retries: false,
      breaker: false,
    });
    return { service, client };
  }

  /** A gateway-style verifier: keys by kid from the JWKS a user-service deployment serves. */
  function verifierOf(service: RunningService) {
    return createUserTokenVerifier({
      jwks: () => servedJwks(service.url),
      issuer: 'streambet-user',
      audience: 'streambet',
      clock,
    });
  }

  /** 'ok', or the error the verifier throws (the gateway maps it to UNAUTHENTICATED). */
  const code = (verify: Promise<unknown>) =>
    verify.then(
      () => 'ok',
      (error: unknown) => `${(error as Error).name}: ${(error as Error).message}`,
    );

  it('given the previous key kept in the JWKS, then its tokens verify after rotation, also on replicas mid-rollout; once it is removed they stop', async () => {
    // Before: K1 signs.
    const before = await deploy(k1);
    const registered = await before.client.register({
      ...credentials,
      displayName: 'rotation',
      dateOfBirth: { year: 1990, month: 5, day: 17 },
    });
    const tokenK1 = registered.tokens!.accessToken;
    expect(decodeProtectedHeader(tokenK1).kid).toBe('user-key-1');
    await before.service.shutdown();

    // Step 1: K2 published, K1 still signs. Step 2 (rolling out beside step-1 replicas): K2 signs,
    // K1 stays published.
    const step1 = await deploy(k1, [k2]);
    const step2 = await deploy(k2, [k1]);
    expect((await servedJwks(step2.service.url)).keys.map((key) => key.kid)).toEqual([
      'user-key-2',
      'user-key-1',
    ]);
    const tokenK2 = (await step2.client.login(credentials)).tokens!.accessToken;
    expect(decodeProtectedHeader(tokenK2).kid).toBe('user-key-2');

    // Whichever replica a verifier fetched its keys from, both tokens verify.
    for (const replica of [step1, step2]) {
      const verify = verifierOf(replica.service);
      expect(await code(verify(tokenK1))).toBe('ok');
      expect(await code(verify(tokenK2))).toBe('ok');
    }
    // The gateway fetches the keys from whichever deployment USER_JWKS_URL reaches now. A caller
    // keeps using its K1 token past the verifier's one-minute reuse: it is checked again against the
    // served keys, and still passes.
    let current = step2.service;
    const gateway = createUserTokenVerifier({
      jwks: () => servedJwks(current.url),
      issuer: 'streambet-user',
      audience: 'streambet',
      clock,
    });
    expect(await code(gateway(tokenK1))).toBe('ok');
    clock.advance(pastReuseMs);
    expect(await code(gateway(tokenK1))).toBe('ok');
    await step1.service.shutdown();
    await step2.service.shutdown();

    // Step 3: K1 removed. The gateway may reuse its last verification of the K1 token for at most
    // a minute (rememberVerified); after that the token is refused. K2 tokens are untouched.
    const step3 = await deploy(k2);
    current = step3.service;
    expect(await code(gateway(tokenK2))).toBe('ok');
    expect(await code(gateway(tokenK1))).toBe('ok');
    clock.advance(pastReuseMs);
    expect(await code(gateway(tokenK1))).toBe(
      'UnauthenticatedError: bearer token is signed with an unknown key (kid); sign in again',
    );
    expect(await code(verifierOf(step3.service)(tokenK1))).toBe(
      'UnauthenticatedError: bearer token is signed with an unknown key (kid); sign in again',
    );
    expect(await code(gateway(tokenK2))).toBe('ok');
  });
});
