// The three deployments of a user-token key rotation that invalidates no token (README, "Rotating
// the user-token key"), as shell exports: `npm run keys -- rotate-user-token` with the current
// USER_TOKEN_PRIVATE_JWK in the environment.
import type { JWK } from 'jose';
import type { SigningKeyPair } from '@streambet/platform/auth/tokens';

/** One deployment of the rotation: what to set, and when it may go out. */
export interface RotationStep {
  readonly when: string;
  readonly env: Readonly<
    Record<'USER_TOKEN_PRIVATE_JWK' | 'USER_TOKEN_ACCEPTED_PUBLIC_JWKS', string>
  >;
}

function publicHalf(jwk: JWK): JWK {
  const { d: _d, ...rest } = jwk;
  return rest;
}

/**
 * Step 1 publishes the next key while the current one still signs, so every replica and every
 * verifier knows it before any token carries it; step 2 signs with it and keeps the current key
 * published; step 3 drops the old key once its last token has expired.
 */
export function userKeyRotation(currentPrivateJwk: JWK, next: SigningKeyPair): RotationStep[] {
  const jwks = (...keys: JWK[]): string => JSON.stringify({ keys });
  return [
    {
      when: 'deploy first: the next key is published, the current one still signs',
      env: {
        USER_TOKEN_PRIVATE_JWK: JSON.stringify(currentPrivateJwk),
        USER_TOKEN_ACCEPTED_PUBLIC_JWKS: jwks(next.publicJwk),
      },
    },
    {
      when: 'once step 1 is rolled out and the JWKS max-age (300 s) has passed: the next key signs, the old one stays published',
      env: {
        USER_TOKEN_PRIVATE_JWK: JSON.stringify(next.privateJwk),
        USER_TOKEN_ACCEPTED_PUBLIC_JWKS: jwks(publicHalf(currentPrivateJwk)),
      },
    },
    {
      when: 'once step 2 is rolled out and USER_ACCESS_TOKEN_TTL_SECONDS has passed: the old key is gone',
      env: {
        USER_TOKEN_PRIVATE_JWK: JSON.stringify(next.privateJwk),
        USER_TOKEN_ACCEPTED_PUBLIC_JWKS: '',
      },
    },
  ];
}
