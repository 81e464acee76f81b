import { describe, expect, it } from 'vitest';
import { ConfigError } from '@streambet/platform/config/load-config';
import { acceptedPublicKeys, loadUserConfig } from '../../src/config.js';

/** Key shapes only: nothing is signed here. */
const signing = { kty: 'OKP', crv: 'Ed25519', x: 'x1', d: 'd1', kid: 'key-1' };
const next = { kty: 'OKP', crv: 'Ed25519', x: 'x2', kid: 'key-2' };
const env = {
  STREAMBET_MODE: 'embedded',
  SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify({ kty: 'OKP', kid: 's' }),
  SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify({ keys: [{ kty: 'OKP', kid: 's' }] }),
  USER_TOKEN_PRIVATE_JWK: JSON.stringify(signing),
  KYC_WEBHOOK_SECRET: 'whsec_unit_0123456789',
  DEVICE_ID_HASH_KEY: 'device-key-unit-0123',
};

function problemsOf(accepted: string): string[] {
  try {
    loadUserConfig({ ...env, USER_TOKEN_ACCEPTED_PUBLIC_JWKS: accepted });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => `${p.name}: ${p.problem}`);
  }
}

describe('USER_TOKEN_ACCEPTED_PUBLIC_JWKS', () => {
  it('given nothing (or an empty value), then only the signing key is published', () => {
    expect(acceptedPublicKeys(loadUserConfig(env))).toEqual([]);
    expect(
      acceptedPublicKeys(loadUserConfig({ ...env, USER_TOKEN_ACCEPTED_PUBLIC_JWKS: '' })),
    ).toEqual([]);
  });

  it('given a JWKS of other public keys, then they are published beside the signing key', () => {
    const config = loadUserConfig({
      ...env,
      USER_TOKEN_ACCEPTED_PUBLIC_JWKS: JSON.stringify({ keys: [next] }),
    });
    expect(acceptedPublicKeys(config)).toEqual([next]);
  });

  it('given a private key, then a ConfigError names the variable without echoing the key', () => {
    const problems = problemsOf(JSON.stringify({ keys: [{ ...next, d: 'secret-part' }] }));
    expect(problems).toEqual([
      expect.stringMatching(/^USER_TOKEN_ACCEPTED_PUBLIC_JWKS: .*public keys only/),
    ]);
    expect(problems.join('\n')).not.toContain('secret-part');
  });

  it("given the signing key's kid or one kid twice, then a ConfigError names the variable and the kid", () => {
    expect(problemsOf(JSON.stringify({ keys: [{ ...next, kid: 'key-1' }] }))).toEqual([
      'USER_TOKEN_ACCEPTED_PUBLIC_JWKS: lists kid "key-1" of the signing key (USER_TOKEN_PRIVATE_JWK)',
    ]);
    expect(problemsOf(JSON.stringify({ keys: [next, next] }))).toEqual([
      'USER_TOKEN_ACCEPTED_PUBLIC_JWKS: lists kid "key-2" twice',
    ]);
  });

  it('given keys without a kid or text that is not a JWKS, then a ConfigError names the variable', () => {
    expect(problemsOf(JSON.stringify({ keys: [{ kty: 'OKP' }] }))).toEqual([
      expect.stringMatching(/^USER_TOKEN_ACCEPTED_PUBLIC_JWKS: .* is invalid/),
    ]);
    expect(problemsOf('{not json')).toEqual([
      'USER_TOKEN_ACCEPTED_PUBLIC_JWKS: (value hidden) is invalid (must be valid JSON)',
    ]);
  });
});
