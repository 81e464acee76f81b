import { createContextKey } from '@connectrpc/connect';

/** Roles a user can hold; set by the user service and carried in the `role` claim of its JWTs. */
export type UserRole = 'viewer' | 'streamer' | 'admin';

/** Every user role, e.g. for policies that admit any signed-in user. */
export const userRoles: readonly UserRole[] = ['viewer', 'streamer', 'admin'];

/**
 * Who is calling, as established by the auth interceptor from a verified token.
 * - `user`: an end user (via the gateway) with one role;
 * - `service`: another StreamBet service with a service credential;
 * - `anonymous`: no token, only possible on methods whose policy includes `public`.
 */
export type Caller =
  | {
      readonly kind: 'user';
      readonly userId: string;
      readonly role: UserRole;
      readonly sessionId?: string;
    }
  | { readonly kind: 'service'; readonly service: string }
  | { readonly kind: 'anonymous' };

/** The anonymous caller (the default when no token was presented). */
export const anonymousCaller: Caller = Object.freeze({ kind: 'anonymous' });

/**
 * Connect context key holding the verified {@link Caller}; handlers read it with
 * `ctx.values.get(callerKey)`. Defaults to anonymous, so a missing interceptor never grants access.
 */
export const callerKey = createContextKey<Caller>(anonymousCaller, {
  description: 'authenticated caller',
});
