import { randomUUID } from 'node:crypto';
import {
  SignJWT,
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import { UnauthenticatedError, UnavailableError } from '../errors/domain-errors.js';
import { systemClock, type Clock } from '../rpc/clock.js';
import type { Caller, UserRole } from './caller.js';
import { userRoles } from './caller.js';

/** Audience of service credentials; user tokens never carry it, so the two cannot be confused. */
export const serviceTokenAudience = 'streambet-internal';
/** Issuer of service credentials. */
export const serviceTokenIssuer = 'streambet-service';
/** Signing algorithm of service credentials (Ed25519). */
export const serviceTokenAlgorithm = 'EdDSA';

/** Where verification keys come from: a JWKS URL (cluster), a JWKS object, or a getter (embedded mode). */
export type JwksSource = URL | JSONWebKeySet | (() => Promise<JSONWebKeySet> | JSONWebKeySet);

/** Checks a bearer token and returns the caller it proves, or throws UnauthenticatedError. */
export type TokenVerifier<C extends Caller = Caller> = (token: string) => Promise<C>;

/** Options of {@link createUserTokenVerifier}. */
export interface UserTokenVerifierOptions {
  readonly jwks: JwksSource;
  /** Expected `iss` claim (the user service's issuer URL). */
  readonly issuer: string;
  /** Expected `aud` claim. */
  readonly audience: string;
  /** Allowed clock skew between issuer and verifier in seconds; default 5. */
  readonly clockToleranceSeconds?: number;
  /** Accepted algorithms; default asymmetric only: EdDSA, ES256, RS256. */
  readonly algorithms?: readonly string[];
  readonly clock?: Clock;
}

/**
 * Verifies user access tokens issued by the user service: signature against the JWKS, `iss`,
 * `aud`, `exp` (required: a token without one never expires) and `nbf` with a small tolerance, and a `sub` plus a known `role` claim. Failures throw
 * {@link UnauthenticatedError} with a reason a client can act on; an unreachable JWKS throws
 * {@link UnavailableError} (our fault, not the caller's).
 */
export function createUserTokenVerifier(
  options: UserTokenVerifierOptions,
): TokenVerifier<Extract<Caller, { kind: 'user' }>> {
  const getKey = keyResolver(options.jwks);
  const clock = options.clock ?? systemClock;
  const toleranceSeconds = options.clockToleranceSeconds ?? 5;
  return rememberVerified(clock, toleranceSeconds, async (token) => {
    const { payload } = await verifyOrExplain(() =>
      jwtVerify(token, getKey, {
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: toleranceSeconds,
        algorithms: [...(options.algorithms ?? ['EdDSA', 'ES256', 'RS256'])],
        // A token without `exp` would be valid forever: refuse it rather than trust the issuer.
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(clock.now()),
      }),
    );
    const role = payload.role;
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      throw new UnauthenticatedError('bearer token has no subject (sub) claim; sign in again');
    }
    if (typeof role !== 'string' || !(userRoles as readonly string[]).includes(role)) {
      throw new UnauthenticatedError('bearer token has no valid role claim; sign in again');
    }
    return {
      caller: {
        kind: 'user',
        userId: payload.sub,
        role: role as UserRole,
        ...(typeof payload.sid === 'string' ? { sessionId: payload.sid } : {}),
      },
      expiresAtSeconds: payload.exp,
    };
  });
}

/** Options of {@link createServiceTokenVerifier}. */
export interface ServiceTokenVerifierOptions {
  /** Public keys of service credentials (from config). */
  readonly publicJwks: JwksSource;
  /** Allowed clock skew in seconds; default 5. */
  readonly clockToleranceSeconds?: number;
  readonly clock?: Clock;
}

/** Verifies service credentials (EdDSA JWTs, audience `streambet-internal`) minted by {@link createServiceTokenIssuer}. */
export function createServiceTokenVerifier(
  options: ServiceTokenVerifierOptions,
): TokenVerifier<Extract<Caller, { kind: 'service' }>> {
  const getKey = keyResolver(options.publicJwks);
  const clock = options.clock ?? systemClock;
  const toleranceSeconds = options.clockToleranceSeconds ?? 5;
  return rememberVerified(clock, toleranceSeconds, async (token) => {
    const { payload, protectedHeader } = await verifyOrExplain(() =>
      jwtVerify(token, getKey, {
        issuer: serviceTokenIssuer,
        audience: serviceTokenAudience,
        clockTolerance: toleranceSeconds,
        algorithms: [serviceTokenAlgorithm],
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(clock.now()),
      }),
    );
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      throw new UnauthenticatedError('service token has no subject (sub) claim');
    }
    // The signature only proves the holder of *some* listed key signed it: without this, any
    // service's key could mint a token naming another service (`sub`) and gain its rights.
    if (!keyIdBelongsTo(protectedHeader.kid, payload.sub)) {
      throw new UnauthenticatedError(
        `service token for "${payload.sub}" is signed with key "${protectedHeader.kid ?? '(none)'}", ` +
          `which is not one of ${payload.sub}'s keys (${serviceKeyId(payload.sub, 'n')})`,
      );
    }
    return {
      caller: { kind: 'service', service: payload.sub },
      expiresAtSeconds: payload.exp,
    };
  });
}

/** Most verified tokens remembered per verifier (oldest forgotten first). */
const VERIFIED_TOKENS_MAX = 10_000;
/** Longest a verification is reused: bounds how long a key removed from the JWKS still counts. */
const VERIFIED_TOKEN_REUSE_MS = 60_000;

/**
 * Reuses a successful verification of the same token string (signature included, so only the very
 * token that was checked can hit) until the token expires — tolerance included, exactly when a
 * fresh check would refuse it — and for at most a minute. Every call on the hot path carries the
 * same token as the caller's previous one, and an EdDSA check costs more than the rest of the
 * authentication together. Failures are never remembered.
 */
function rememberVerified<C extends Caller>(
  clock: Clock,
  toleranceSeconds: number,
  verify: (token: string) => Promise<{ caller: C; expiresAtSeconds: number | undefined }>,
): TokenVerifier<C> {
  const verified = new Map<string, { readonly caller: C; readonly validUntilMs: number }>();
  return async (token) => {
    const nowMs = clock.now();
    const hit = verified.get(token);
    if (hit !== undefined) {
      if (nowMs < hit.validUntilMs) return hit.caller;
      verified.delete(token);
    }
    const { caller, expiresAtSeconds } = await verify(token);
    const expiresAtMs =
      expiresAtSeconds === undefined ? nowMs : (expiresAtSeconds + toleranceSeconds) * 1000;
    const validUntilMs = Math.min(expiresAtMs, nowMs + VERIFIED_TOKEN_REUSE_MS);
    if (validUntilMs > nowMs) {
      if (verified.size >= VERIFIED_TOKENS_MAX) {
        const oldest = verified.keys().next();
        if (oldest.done !== true) verified.delete(oldest.value);
      }
      verified.set(token, { caller, validUntilMs });
    }
    return caller;
  };
}

/**
 * Lifetime of a service token unless its issuer says otherwise: a key dropped from
 * SERVICE_TOKEN_PUBLIC_JWKS this long after its service stopped signing with it refuses no live token.
 */
export const defaultServiceTokenTtlSeconds = 300;

/** Options of {@link createServiceTokenIssuer}. */
export interface ServiceTokenIssuerOptions {
  /** Private Ed25519 JWK (with `kid`) from config; see {@link generateSigningKeyPair}. */
  readonly privateJwk: JWK;
  /** Name of the calling service; becomes the token's `sub`. */
  readonly service: string;
  /** Lifetime of each token in seconds; default {@link defaultServiceTokenTtlSeconds}. Short, so a leaked token expires soon. */
  readonly ttlSeconds?: number;
  readonly clock?: Clock;
}

/**
 * Returns a function producing this service's bearer token for internal calls (pass it as
 * `credentials` to `createServiceClient`). The token is cached and re-minted once less than a
 * fifth of its lifetime is left, so calls never carry a token about to expire.
 */
export function createServiceTokenIssuer(
  options: ServiceTokenIssuerOptions,
): () => Promise<string> {
  if (!keyIdBelongsTo(options.privateJwk.kid, options.service)) {
    throw new Error(
      `SERVICE_TOKEN_PRIVATE_JWK has key id "${options.privateJwk.kid ?? '(none)'}", not one of ` +
        `${options.service}'s (${serviceKeyId(options.service, 'n')}): each service signs with its ` +
        'own key (npm run keys)',
    );
  }
  const ttlSeconds = options.ttlSeconds ?? defaultServiceTokenTtlSeconds;
  const clock = options.clock ?? systemClock;
  const keyPromise = importJWK(options.privateJwk, serviceTokenAlgorithm);
  let cached: { token: string; refreshAtMs: number } | undefined;
  let pending: Promise<string> | undefined;

  const mint = async (): Promise<string> => {
    const nowSeconds = Math.floor(clock.now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({
        alg: serviceTokenAlgorithm,
        typ: 'JWT',
        ...(options.privateJwk.kid === undefined ? {} : { kid: options.privateJwk.kid }),
      })
      .setIssuer(serviceTokenIssuer)
      .setAudience(serviceTokenAudience)
      .setSubject(options.service)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + ttlSeconds)
      .setJti(randomUUID())
      .sign(await keyPromise);
    cached = { token, refreshAtMs: (nowSeconds + ttlSeconds * 0.8) * 1000 };
    return token;
  };

  return async () => {
    if (cached !== undefined && clock.now() < cached.refreshAtMs) return cached.token;
    pending ??= mint().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}

/** A signing key pair as JWKs, ready to be put in config or served as a JWKS. */
export interface SigningKeyPair {
  /** Keep secret: signs tokens. */
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
  /** `{ keys: [publicJwk] }`, what verifiers take. */
  readonly publicJwks: JSONWebKeySet;
}

/** Generates an Ed25519 (EdDSA) key pair with a random `kid`, for embedded mode and tests. */
export async function generateSigningKeyPair(kid: string = randomUUID()): Promise<SigningKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(serviceTokenAlgorithm, {
    crv: 'Ed25519',
    extractable: true,
  });
  const common = { kid, alg: serviceTokenAlgorithm, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), ...common };
  const publicJwk = { ...(await exportJWK(publicKey)), ...common };
  return { privateJwk, publicJwk, publicJwks: { keys: [publicJwk] } };
}

/**
 * Key id of a service's signing key: `<service>:<version>`. The verifier accepts a service token
 * only when its `kid` is one of the `sub` service's key ids, so one service's key cannot speak for
 * another.
 */
export function serviceKeyId(service: string, version: number | string = 1): string {
  return `${service}:${version}`;
}

/** True when `kid` is one of `service`'s key ids (`<service>:<version>`). */
export function keyIdBelongsTo(kid: string | undefined, service: string): boolean {
  return (
    kid !== undefined &&
    kid.startsWith(`${service}:`) &&
    kid.length > service.length + 1 &&
    !kid.slice(service.length + 1).includes(':')
  );
}

/** One signing key per service, and the public JWKS listing all of them. */
export interface ServiceKeys {
  /** Each service's private JWK (kid `<service>:<version>`): give a service only its own. */
  readonly privateJwks: Readonly<Record<string, JWK>>;
  /** Every service's public key: what every verifier takes (SERVICE_TOKEN_PUBLIC_JWKS). */
  readonly publicJwks: JSONWebKeySet;
}

/** Generates a key pair per service, each with key id `<service>:<version>`. */
export async function generateServiceKeys(
  services: readonly string[],
  version: number | string = 1,
): Promise<ServiceKeys> {
  const pairs = await Promise.all(
    services.map(async (service) => ({
      service,
      pair: await generateSigningKeyPair(serviceKeyId(service, version)),
    })),
  );
  return {
    privateJwks: Object.fromEntries(pairs.map(({ service, pair }) => [service, pair.privateJwk])),
    publicJwks: { keys: pairs.map(({ pair }) => pair.publicJwk) },
  };
}

function keyResolver(source: JwksSource): JWTVerifyGetKey {
  if (source instanceof URL) {
    const remote = createRemoteJWKSet(source);
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        if (error instanceof joseErrors.JOSEError) throw error;
        throw new UnavailableError(
          `cannot fetch token signing keys from ${source.origin}; try again shortly`,
          {
            cause: error,
          },
        );
      }
    };
  }
  if (typeof source !== 'function') return createLocalJWKSet(source);
  let last: { jwks: JSONWebKeySet; resolve: JWTVerifyGetKey } | undefined;
  return async (header, token) => {
    const jwks = await source();
    if (last?.jwks !== jwks) last = { jwks, resolve: createLocalJWKSet(jwks) };
    return last.resolve(header, token);
  };
}

async function verifyOrExplain<T>(verify: () => Promise<T>): Promise<T> {
  try {
    return await verify();
  } catch (error) {
    throw explain(error);
  }
}

function explain(error: unknown): Error {
  if (error instanceof joseErrors.JWTExpired) {
    return new UnauthenticatedError('bearer token expired; obtain a new token (sign in again)', {
      cause: error,
    });
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return new UnauthenticatedError(
      `bearer token rejected: ${error.message} (claim "${error.claim}")`,
      {
        cause: error,
      },
    );
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new UnauthenticatedError('bearer token signature is invalid', { cause: error });
  }
  if (
    error instanceof joseErrors.JWKSNoMatchingKey ||
    error instanceof joseErrors.JWKSMultipleMatchingKeys
  ) {
    return new UnauthenticatedError(
      'bearer token is signed with an unknown key (kid); sign in again',
      {
        cause: error,
      },
    );
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) {
    return new UnauthenticatedError('bearer token uses a signing algorithm that is not accepted', {
      cause: error,
    });
  }
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) {
    return new UnavailableError('cannot load the keys to verify bearer tokens; try again shortly', {
      cause: error,
    });
  }
  if (error instanceof joseErrors.JOSEError) {
    return new UnauthenticatedError('bearer token is malformed', { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}
