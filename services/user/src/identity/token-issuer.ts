/**
 * Access tokens: short-lived JWTs signed with Ed25519 (EdDSA) that the platform's
 * `createUserTokenVerifier` accepts (claims `sub`, `role`, plus `roles`, `sid`, `iat`, `exp`, `iss`,
 * `aud`, `jti`), and the JWKS that publishes their public keys. Refresh tokens are opaque random
 * strings; only their SHA-256 is stored.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, importJWK, type JSONWebKeySet, type JWK } from 'jose';
import type { Clock } from '@streambet/platform/rpc/clock';
import { primaryRole, type RoleName } from './domain/accounts/roles.js';

/** Options of {@link createTokenIssuer}. */
export interface TokenIssuerOptions {
  /** Private Ed25519 JWK with a `kid` that signs new tokens (config: USER_JWT_SIGNING_KEY). */
  readonly signingKey: JWK;
  /**
   * Extra public JWKs kept published: the previous key until its tokens expire, or the next key
   * before it signs anything (rotation, user.proto GetJwks).
   */
  readonly additionalPublicKeys?: readonly JWK[];
  /** `iss` claim; verifiers must expect the same (config: USER_JWT_ISSUER). */
  readonly issuer: string;
  /** `aud` claim; verifiers must expect the same (config: USER_JWT_AUDIENCE). */
  readonly audience: string;
  /** Access-token lifetime in seconds; default 900 (15 min). */
  readonly accessTokenTtlSeconds?: number;
  /** How long verifiers may cache the JWKS, in seconds; default 300. */
  readonly jwksMaxAgeSeconds?: number;
  readonly clock: Clock;
}

/** What goes into an access token. */
export interface AccessTokenSubject {
  readonly userId: string;
  readonly roles: readonly RoleName[];
  readonly sessionId: string;
}

/** Signs access tokens and publishes the keys that verify them. */
export interface TokenIssuer {
  /** A signed access token and when it expires (ms since epoch). */
  issueAccessToken(subject: AccessTokenSubject): Promise<{ token: string; expiresAtMs: number }>;
  /** The public key set (what /.well-known/jwks.json serves). */
  jwks(): JSONWebKeySet;
  /** {@link jwks} as JSON text. */
  jwksJson(): string;
  /** How long the JWKS may be cached, in seconds. */
  readonly jwksMaxAgeSeconds: number;
  readonly issuer: string;
  readonly audience: string;
}

const algorithm = 'EdDSA';

function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest } = jwk;
  return { ...rest, alg: jwk.alg ?? algorithm, use: 'sig' };
}

/** Creates the issuer; throws when the signing key is not a private Ed25519 JWK with a kid. */
export function createTokenIssuer(options: TokenIssuerOptions): TokenIssuer {
  const { signingKey } = options;
  if (
    signingKey.kty !== 'OKP' ||
    signingKey.crv !== 'Ed25519' ||
    typeof signingKey.d !== 'string'
  ) {
    throw new TypeError(
      'the JWT signing key must be a private Ed25519 JWK (kty OKP, crv Ed25519, d)',
    );
  }
  if (typeof signingKey.kid !== 'string' || signingKey.kid === '') {
    throw new TypeError(
      'the JWT signing key needs a kid, so verifiers can pick it during rotation',
    );
  }
  const kid = signingKey.kid;
  const ttlSeconds = options.accessTokenTtlSeconds ?? 900;
  const keyPromise = importJWK(signingKey, algorithm);
  const keys = [publicPart(signingKey), ...(options.additionalPublicKeys ?? []).map(publicPart)];
  const jwks: JSONWebKeySet = { keys };
  const jwksText = JSON.stringify(jwks);
  return {
    issuer: options.issuer,
    audience: options.audience,
    jwksMaxAgeSeconds: options.jwksMaxAgeSeconds ?? 300,
    async issueAccessToken(subject) {
      const nowSeconds = Math.floor(options.clock.now() / 1000);
      const expSeconds = nowSeconds + ttlSeconds;
      const token = await new SignJWT({
        role: primaryRole(subject.roles),
        roles: [...subject.roles],
        sid: subject.sessionId,
      })
        .setProtectedHeader({ alg: algorithm, typ: 'JWT', kid })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(subject.userId)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(expSeconds)
        .setJti(randomUUID())
        .sign(await keyPromise);
      return { token, expiresAtMs: expSeconds * 1000 };
    },
    jwks: () => jwks,
    jwksJson: () => jwksText,
  };
}

/** A new opaque refresh token: 256 random bits, base64url, prefixed so leaks are recognisable. */
export function newRefreshToken(): string {
  return `sbrt_${randomBytes(32).toString('base64url')}`;
}

/** What is stored for a refresh token: its SHA-256 (hex). The token has 256 bits, so no salt or slow hash is needed. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** True when `token` has the shape {@link newRefreshToken} produces. */
export function isWellFormedRefreshToken(token: string): boolean {
  return /^sbrt_[A-Za-z0-9_-]{43}$/.test(token);
}
