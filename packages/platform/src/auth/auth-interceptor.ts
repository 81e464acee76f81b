import type { DescService } from '@bufbuild/protobuf';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { decodeJwt } from 'jose';
import { DomainError } from '../errors/domain-errors.js';
import { codeForDomainErrorKind } from '../errors/error-interceptor.js';
import { anonymousCaller, callerKey, type Caller } from './caller.js';
import { serviceTokenAudience, type TokenVerifier } from './tokens.js';

/**
 * Who may call a method: `public` (anyone, even without a token), a user role, `service:<name>`
 * (that StreamBet service, holding its own service credential; see {@link services}), or
 * `service` (any service: only for methods every service may call, e.g. a realtime push).
 */
export type AccessRule = 'public' | 'viewer' | 'streamer' | 'admin' | 'service' | ServiceRule;

/** One calling service allowed on an internal method: `service:bet-engine`. */
export type ServiceRule = `service:${string}`;

/**
 * The calling services allowed on an internal method, e.g. `services('bet-engine', 'settlement')`
 * for the ledger's SubmitTransfers: a service credential of any other service gets
 * PERMISSION_DENIED naming the method and the caller, so a compromised pod only reaches what its
 * own service needs.
 */
export function services(...names: readonly [string, ...string[]]): readonly ServiceRule[] {
  return names.map((name): ServiceRule => `service:${name}`);
}

/** Rules by fully-qualified method name (`streambet.bet.v1.BetService/PlaceBet`). */
export type AccessPolicy = Readonly<Record<string, readonly AccessRule[]>>;

/** Any signed-in user, whatever the role. */
export const anyUser: readonly AccessRule[] = ['viewer', 'streamer', 'admin'];

/**
 * Builds the policy of one service, keyed by its methods' local names. TypeScript requires a rule
 * for every method, so adding an RPC without deciding who may call it does not compile (and at
 * run time a method missing from the policy is denied anyway).
 */
export function definePolicy<T extends DescService>(
  service: T,
  rules: { readonly [K in keyof T['method']]: readonly AccessRule[] },
): AccessPolicy {
  const policy: Record<string, readonly AccessRule[]> = {};
  for (const method of service.methods) {
    const rule = (rules as Record<string, readonly AccessRule[] | undefined>)[method.localName];
    if (rule !== undefined) policy[`${service.typeName}/${method.name}`] = rule;
  }
  return policy;
}

/** Options of {@link authInterceptor}. */
export interface AuthInterceptorOptions {
  /** Verifies user JWTs; omit where users never call (then user tokens are rejected). */
  readonly verifyUserToken?: TokenVerifier;
  /** Verifies service credentials; omit where services never call. */
  readonly verifyServiceToken?: TokenVerifier;
  /** Who may call what; merge several with object spread. */
  readonly policy: AccessPolicy;
}

/**
 * Server interceptor enforcing the access policy on every call, before the handler runs:
 * - a method without a policy entry is denied (PERMISSION_DENIED), so forgetting one is safe;
 * - a non-public method without a valid bearer token fails UNAUTHENTICATED with the reason;
 * - a caller whose role (or service identity) is not allowed gets PERMISSION_DENIED naming the
 *   required roles; user tokens never pass `service`-only (internal) methods.
 * The verified caller is stored under `callerKey` for the handler.
 */
export function authInterceptor(options: AuthInterceptorOptions): Interceptor {
  return (next) => async (req) => {
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const rules = options.policy[procedure];
    if (rules === undefined || rules.length === 0) {
      throw new ConnectError(`method ${procedure} has no access policy`, Code.PermissionDenied);
    }
    const token = bearerToken(req.header.get('authorization'), procedure);
    if (token === undefined) {
      if (!rules.includes('public')) {
        throw new ConnectError(
          `method ${procedure} requires authentication: send "authorization: Bearer <token>"`,
          Code.Unauthenticated,
        );
      }
      req.contextValues.set(callerKey, anonymousCaller);
      return next(req);
    }
    const caller = await verify(token, options);
    checkAccess(caller, rules, procedure);
    req.contextValues.set(callerKey, caller);
    return next(req);
  };
}

function bearerToken(header: string | null, procedure: string): string | undefined {
  if (header === null || header.trim() === '') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match?.[1] === undefined) {
    throw new ConnectError(
      `method ${procedure}: authorization header must be "Bearer <token>"`,
      Code.Unauthenticated,
    );
  }
  return match[1];
}

async function verify(token: string, options: AuthInterceptorOptions): Promise<Caller> {
  let audience: unknown;
  try {
    audience = decodeJwt(token).aud;
  } catch {
    throw new ConnectError('bearer token is malformed (not a JWT)', Code.Unauthenticated);
  }
  const isServiceToken =
    audience === serviceTokenAudience ||
    (Array.isArray(audience) && audience.includes(serviceTokenAudience));
  const verifier = isServiceToken ? options.verifyServiceToken : options.verifyUserToken;
  if (verifier === undefined) {
    throw new ConnectError(
      `${isServiceToken ? 'service' : 'user'} tokens are not accepted by this service`,
      Code.Unauthenticated,
    );
  }
  try {
    return await verifier(token);
  } catch (error) {
    if (error instanceof DomainError) {
      throw new ConnectError(
        error.message,
        codeForDomainErrorKind[error.kind],
        undefined,
        undefined,
        error,
      );
    }
    throw error;
  }
}

function checkAccess(caller: Caller, rules: readonly AccessRule[], procedure: string): void {
  if (rules.includes('public')) return;
  const allowedServices = rules.filter(isServiceRule).map((rule) => rule.slice('service:'.length));
  const userRoles = rules.filter(
    (rule) => rule !== 'service' && rule !== 'public' && !isServiceRule(rule),
  );
  if (caller.kind === 'service') {
    if (rules.includes('service')) return;
    if (allowedServices.includes(caller.service)) return;
    if (allowedServices.length > 0) {
      throw new ConnectError(
        `method ${procedure} may be called only by service ${allowedServices.join(' or ')}; caller is service ${caller.service}`,
        Code.PermissionDenied,
      );
    }
    throw new ConnectError(
      `method ${procedure} requires a user with role ${userRoles.join(' or ')}; service credentials are not accepted`,
      Code.PermissionDenied,
    );
  }
  if (caller.kind === 'user') {
    if (rules.includes(caller.role)) return;
    if (userRoles.length === 0) {
      throw new ConnectError(
        `method ${procedure} is internal: only services may call it`,
        Code.PermissionDenied,
      );
    }
    throw new ConnectError(
      `method ${procedure} requires role ${userRoles.join(' or ')}; caller has role ${caller.role}`,
      Code.PermissionDenied,
    );
  }
  throw new ConnectError(`method ${procedure} requires authentication`, Code.Unauthenticated);
}

function isServiceRule(rule: AccessRule): rule is ServiceRule {
  return rule.startsWith('service:');
}
