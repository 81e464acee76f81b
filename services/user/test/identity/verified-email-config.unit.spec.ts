import { describe, expect, it } from 'vitest';
import { loadUserConfig, requiresVerifiedEmail, type UserConfig } from '../../src/config.js';

const env = {
  STREAMBET_MODE: 'embedded',
  SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify({ kty: 'OKP', kid: 's' }),
  SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify({ keys: [{ kty: 'OKP', kid: 's' }] }),
  USER_TOKEN_PRIVATE_JWK: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'x', d: 'd', kid: 'k' }),
  KYC_WEBHOOK_SECRET: 'whsec_unit_0123456789',
  DEVICE_ID_HASH_KEY: 'device-key-unit-0123',
};

/** The same configuration as a cluster deployment would load it (only the mode differs). */
const inCluster = (config: UserConfig): UserConfig => ({ ...config, STREAMBET_MODE: 'cluster' });

describe('USER_REQUIRE_VERIFIED_EMAIL', () => {
  it('given auto (the default), then a cluster deployment requires a confirmed address for real money and the embedded demo does not', () => {
    const config = loadUserConfig(env);
    expect(config.USER_REQUIRE_VERIFIED_EMAIL).toBe('auto');
    expect(requiresVerifiedEmail(config)).toBe(false);
    expect(requiresVerifiedEmail(inCluster(config))).toBe(true);
  });

  it('given true or false, then that holds in either mode', () => {
    const on = loadUserConfig({ ...env, USER_REQUIRE_VERIFIED_EMAIL: 'true' });
    const off = loadUserConfig({ ...env, USER_REQUIRE_VERIFIED_EMAIL: 'false' });
    expect([requiresVerifiedEmail(on), requiresVerifiedEmail(inCluster(on))]).toEqual([true, true]);
    expect([requiresVerifiedEmail(off), requiresVerifiedEmail(inCluster(off))]).toEqual([
      false,
      false,
    ]);
  });

  it('given anything else, then the service refuses to start naming the variable', () => {
    expect(() => loadUserConfig({ ...env, USER_REQUIRE_VERIFIED_EMAIL: 'yes' })).toThrow(
      /USER_REQUIRE_VERIFIED_EMAIL/,
    );
  });
});
