import { SignJWT, importJWK, type JSONWebKeySet, type JWK } from 'jose';
import {
  generateServiceKeys,
  generateSigningKeyPair,
  createServiceTokenIssuer,
} from '@streambet/platform/auth/tokens';
import type { UserRole } from '@streambet/platform/auth/caller';
import { servicePorts } from '@streambet/platform/runtime/platform-config';

/** Issuer and audience the platform's default config expects (USER_TOKEN_ISSUER / _AUDIENCE). */
export const testTokenIssuer = 'streambet-user';
export const testTokenAudience = 'streambet';

/** Keys and token minting for tests: user access tokens and service credentials. */
export interface TestTokens {
  /** Public keys of user tokens: pass as `userJwks` to startService / startGateway. */
  readonly userJwks: JSONWebKeySet;
  /** Public keys of every service's credentials (key ids `<service>:1`). */
  readonly serviceJwks: JSONWebKeySet;
  /** SERVICE_TOKEN_PRIVATE_JWK (`service`'s own key) / SERVICE_TOKEN_PUBLIC_JWKS for a test config. */
  serviceEnv(service: string): {
    SERVICE_TOKEN_PRIVATE_JWK: string;
    SERVICE_TOKEN_PUBLIC_JWKS: string;
  };
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
  // One key per deployable, bound to its name, as in production: a test service signs with its own.
  const services = await generateServiceKeys(Object.keys(servicePorts));
  const privateJwkOf = (name: string): JWK => {
    const jwk = services.privateJwks[name];
    if (jwk === undefined) throw new Error(`no service key for "${name}" (not a deployable)`);
    return jwk;
  };
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
    serviceJwks: services.publicJwks,
    serviceEnv(name) {
      return {
        SERVICE_TOKEN_PRIVATE_JWK: JSON.stringify(privateJwkOf(name)),
        SERVICE_TOKEN_PUBLIC_JWKS: JSON.stringify(services.publicJwks),
      };
    },
    userToken,
    async serviceToken(name) {
      let issuer = serviceIssuers.get(name);
      if (issuer === undefined) {
        issuer = createServiceTokenIssuer({ privateJwk: privateJwkOf(name), service: name });
        serviceIssuers.set(name, issuer);
      }
      return issuer();
    },
    async userHeaders(userId, role) {
      return { authorization: `Bearer ${await userToken(userId, role)}` };
    },
  };
}
