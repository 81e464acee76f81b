// The three deployments that replace one service's credential key without refusing a single
// internal call (README, "Rotating a service key"), as shell exports:
// `npm run keys -- rotate-service-key <service>` with the SERVICE_TOKEN_PUBLIC_JWKS in use now in
// the environment. Every service verifies service tokens against SERVICE_TOKEN_PUBLIC_JWKS, so a
// key is accepted exactly while it is listed there: the new key is listed everywhere before the
// service signs with it, and the old one is dropped only after its last token has expired.
import type { JSONWebKeySet, JWK } from 'jose';
import {
  defaultServiceTokenTtlSeconds,
  keyIdBelongsTo,
  serviceKeyId,
  type SigningKeyPair,
} from '@streambet/platform/auth/tokens';

/** One deployment of the rotation: which deployables get which variables, and when. */
export interface ServiceKeyRotationStep {
  readonly when: string;
  /** `every service` or the rotated service's name. */
  readonly deployTo: string;
  readonly env: Readonly<
    Partial<Record<'SERVICE_TOKEN_PUBLIC_JWKS' | 'SERVICE_TOKEN_PRIVATE_JWK', string>>
  >;
}

/** The rotation of `service`'s key: its new key id and the three steps. */
export interface ServiceKeyRotation {
  /** `<service>:<n+1>`, n the highest version of the service's keys in the current JWKS. */
  readonly keyId: string;
  readonly steps: readonly ServiceKeyRotationStep[];
}

/**
 * The version the next key of `service` takes: one more than the highest `<service>:<n>` key in
 * `jwks`. Throws when the JWKS lists no key of the service (nothing to rotate: a wrong name or a
 * JWKS from another deployment).
 */
export function nextServiceKeyVersion(jwks: JSONWebKeySet, service: string): number {
  const versions = jwks.keys
    .filter((key) => keyIdBelongsTo(key.kid, service))
    .map((key) => Number((key.kid ?? '').slice(service.length + 1)))
    .filter((version) => Number.isSafeInteger(version) && version > 0);
  if (versions.length === 0) {
    throw new Error(
      `SERVICE_TOKEN_PUBLIC_JWKS lists no key of "${service}" (key id ${serviceKeyId(service, 'n')}): ` +
        'check the service name and that the JWKS is the one deployed now',
    );
  }
  return Math.max(...versions) + 1;
}

/**
 * Step 1 lists the new public key in every service's SERVICE_TOKEN_PUBLIC_JWKS while `service` still
 * signs with its current key; step 2 gives `service` the new private key (its kid is `next`'s, which
 * must be `<service>:<n+1>`, see {@link nextServiceKeyVersion}); step 3 drops the service's older
 * keys from every JWKS once no token they signed can still be valid.
 */
export function serviceKeyRotation(
  service: string,
  currentJwks: JSONWebKeySet,
  next: SigningKeyPair,
): ServiceKeyRotation {
  const keyId = serviceKeyId(service, nextServiceKeyVersion(currentJwks, service));
  if (next.privateJwk.kid !== keyId || next.publicJwk.kid !== keyId) {
    throw new Error(`the next key of ${service} must have key id ${keyId}`);
  }
  const jwks = (keys: readonly JWK[]): string => JSON.stringify({ keys });
  const others = currentJwks.keys.filter((key) => !keyIdBelongsTo(key.kid, service));
  return {
    keyId,
    steps: [
      {
        when: `deploy first, to every service: ${keyId} is accepted everywhere, ${service} still signs with its current key`,
        deployTo: 'every service',
        env: { SERVICE_TOKEN_PUBLIC_JWKS: jwks([...currentJwks.keys, next.publicJwk]) },
      },
      {
        when: `once step 1 is rolled out to every service: ${service} signs with ${keyId}`,
        deployTo: service,
        env: { SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify(next.privateJwk) },
      },
      {
        when: `once step 2 is rolled out and ${defaultServiceTokenTtlSeconds} s (a service token's lifetime) have passed: ${service}'s older keys are no longer accepted`,
        deployTo: 'every service',
        env: { SERVICE_TOKEN_PUBLIC_JWKS: jwks([...others, next.publicJwk]) },
      },
    ],
  };
}
