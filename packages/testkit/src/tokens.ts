import { SignJWT, importJWK, type JSONWebKeySet } from 'jose';
import { generateSigningKeyPair, createServiceTokenIssuer } from '@streambet/platform/auth/tokens';
import type { UserRole } from '@streambet/platform/auth/caller';

/** Issuer and audience the platform's default config expects (USER_TOKEN_ISSUER / _AUDIENCE). */
export const testTokenIssuer = 'streambet-user';
export const testTokenAudience = 'streambet';

/** Keys and token minting for tests: user access tokens and service credentials. */
export interface TestTokens {
  /** Public keys of user tokens: pass as `userJwks` to startService / startGateway. */
  readonly userJwks: JSONWebKeySet;
  /** SERVICE_TOKEN_PRIVATE_JWK / SERVICE_TOKEN_PUBLIC_JWKS values for a test config. */
  readonly serviceEnv: { SERVICE_TOKEN_PRIVATE_JWK: string; SERVICE_TOKEN_PUBLIC_JWKS: string };
  /** A user access token as the user service issues it (EdDSA, iss, aud, sub, role, 15 min). */
  userToken(userId: string, role: UserRole): Promise<string>;
  /** A service credential for internal RPCs, as service `service` would send it. */
  serviceToken(service: string): Promise<string>;
  /** `{ authorization: 'Bearer …' }` for a user, for Connect call options. */
  userHeaders(userId: string, role: UserRole): Promise<{ authorization: string }>;
}

/**
 * Fresh keys per call. Tokens are signed for real (no verifier is bypassed), so a test exercises
 * the same verification path as production.
 */
export async function createTestTokens(): Promise<TestTokens> {
  const user = await generateSigningKeyPair('test-user-key');
  const service = await generateSigningKeyPair('test-service-key');
  const userKey = await importJWK(user.privateJwk, 'EdDSA');
  const serviceIssuers = new Map<string, () => Promise<string>>();
  const userToken = async (userId: string, role: UserRole): Promise<string> =>
    new SignJWT({ role })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'test-user-key' })
      .setIssuer(testTokenIssuer)
      .setAudience(testTokenAudience)
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(userKey);
  return {
    userJwks: user.publicJwks,
    serviceEnv: {
      SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify(service.privateJwk),
      SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify(service.publicJwks),
    },
    userToken,
    async serviceToken(name) {
      let issuer = serviceIssuers.get(name);
      if (issuer === undefined) {
        issuer = createServiceTokenIssuer({ privateJwk: service.privateJwk, service: name });
        serviceIssuers.set(name, issuer);
      }
      return issuer();
    },
    async userHeaders(userId, role) {
      return { authorization: `Bearer ${await userToken(userId, role)}` };
    },
  };
}
