import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '@streambet/platform/auth/tokens';
import { acceptedPublicKeys, loadUserConfig } from '@streambet/user/config';
import { userKeyRotation } from '../user-key-rotation.js';

const base = {
  STREAMBET_MODE: 'embedded',
  SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify({ kty: 'OKP', kid: 's' }),
  SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify({ keys: [{ kty: 'OKP', kid: 's' }] }),
  KYC_WEBHOOK_SECRET: 'whsec_unit_0123456789',
  DEVICE_ID_HASH_KEY: 'device-key-unit-0123',
};

describe('npm run keys -- rotate-user-token', () => {
  it('given the current key, then the three steps publish the next key, sign with it keeping the old one, then drop the old one, each a valid user config', async () => {
    const current = await generateSigningKeyPair('current');
    const next = await generateSigningKeyPair('next');
    const steps = userKeyRotation(current.privateJwk, next);
    const published = steps.map((step) => {
      const config = loadUserConfig({ ...base, ...step.env });
      return {
        signs: config.USER_TOKEN_PRIVATE_JWK.kid,
        alsoPublished: acceptedPublicKeys(config),
      };
    });
    expect(published).toEqual([
      { signs: 'current', alsoPublished: [next.publicJwk] },
      { signs: 'next', alsoPublished: [{ ...current.publicJwk }] },
      { signs: 'next', alsoPublished: [] },
    ]);
  });
});
