import { createUserTokenVerifier, generateSigningKeyPair } from '@streambet/platform/auth/tokens';
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { createPasswordHasher, testScryptCost } from '../../src/identity/password-hasher.js';
import {
  createTokenIssuer,
  hashRefreshToken,
  isWellFormedRefreshToken,
  newRefreshToken,
} from '../../src/identity/token-issuer.js';

describe('password hasher (scrypt)', () => {
  const hasher = createPasswordHasher(testScryptCost);

  it('verifies the right password only, with a fresh salt each time', async () => {
    const a = await hasher.hash('correct horse');
    const b = await hasher.hash('correct horse');
    expect(a).toMatch(/^scrypt\$10\$8\$1\$[\w-]+\$[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(await hasher.verify('correct horse', a)).toBe(true);
    expect(await hasher.verify('correct horsf', a)).toBe(false);
    expect(await hasher.verify('correct horse', 'garbage')).toBe(false);
  });

  it('says when a hash was made with other parameters (upgrade on login)', async () => {
    const stored = await hasher.hash('pw-123456');
    expect(hasher.needsRehash(stored)).toBe(false);
    expect(createPasswordHasher({ logN: 11, r: 8, p: 1 }).needsRehash(stored)).toBe(true);
    expect(await createPasswordHasher({ logN: 11, r: 8, p: 1 }).verify('pw-123456', stored)).toBe(
      true,
    );
  });
});

describe('token issuer', () => {
  it('issues EdDSA access tokens the platform verifier accepts, and publishes only public keys', async () => {
    const current = await generateSigningKeyPair('k2');
    const previous = await generateSigningKeyPair('k1');
    const clock = { now: () => Date.UTC(2026, 0, 1) };
    const issuer = createTokenIssuer({
      signingKey: current.privateJwk,
      additionalPublicKeys: [previous.publicJwk],
      issuer: 'https://user.test',
      audience: 'api',
      accessTokenTtlSeconds: 60,
      clock,
    });
    const { token, expiresAtMs } = await issuer.issueAccessToken({
      userId: 'U1',
      roles: ['viewer', 'admin'],
      sessionId: 'S1',
    });
    expect(expiresAtMs).toBe(clock.now() + 60_000);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'EdDSA', kid: 'k2' });
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual(['k2', 'k1']);
    expect(issuer.jwksJson()).not.toContain('"d"');
    const verify = createUserTokenVerifier({
      jwks: JSON.parse(issuer.jwksJson()) as never,
      issuer: 'https://user.test',
      audience: 'api',
      clock,
    });
    await expect(verify(token)).resolves.toEqual({
      kind: 'user',
      userId: 'U1',
      role: 'admin',
      sessionId: 'S1',
    });
    const later = createUserTokenVerifier({
      jwks: issuer.jwks(),
      issuer: 'https://user.test',
      audience: 'api',
      clock: { now: () => clock.now() + 66_000 },
    });
    await expect(later(token)).rejects.toThrow(/expired/);
  });

  it('refuses a public or kid-less signing key', async () => {
    const keys = await generateSigningKeyPair('k');
    const base = { issuer: 'i', audience: 'a', clock: { now: () => 0 } };
    expect(() => createTokenIssuer({ ...base, signingKey: keys.publicJwk })).toThrow(
      /private Ed25519/,
    );
    expect(() =>
      createTokenIssuer({ ...base, signingKey: { ...keys.privateJwk, kid: undefined } }),
    ).toThrow(/kid/);
  });

  it('makes opaque 256-bit refresh tokens stored as SHA-256', () => {
    const token = newRefreshToken();
    expect(isWellFormedRefreshToken(token)).toBe(true);
    expect(newRefreshToken()).not.toBe(token);
    expect(hashRefreshToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(isWellFormedRefreshToken('sbrt_short')).toBe(false);
  });
});
