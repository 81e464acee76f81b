/**
 * Checks every identity route makes before deciding: who the caller is and whose data they may
 * read, id and page-token formats, the client IP the edge forwarded, and reading a user that must
 * exist.
 */
import { quoteInput } from '@streambet/platform/errors/quote-input';
import type { HandlerContext } from '@connectrpc/connect';
import { callerKey } from '@streambet/platform/auth/caller';
import {
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { RoleName } from './domain/accounts/roles.js';
import { isUlid } from '@streambet/platform/ids/ulid';
import type { EventActor, IdentityStore, UserRecord } from './store/index.js';

import { roleProto } from './proto-codec.js';

/**
 * The client's IP as the edge forwarded it: the first (client-most) `x-forwarded-for` entry, or
 * `x-real-ip`; empty when neither is present (in-cluster callers).
 */
export function clientIpOf(headers: Headers): string {
  const forwarded = headers.get('x-forwarded-for');
  const first = forwarded?.split(',')[0]?.trim() ?? '';
  if (first !== '') return first.slice(0, 64);
  return (headers.get('x-real-ip') ?? '').trim().slice(0, 64);
}

/** The signed-in user calling a route. */
export interface UserCaller {
  readonly userId: string;
  readonly role: RoleName;
  readonly sessionId: string | undefined;
}

/** The calling user; UNAUTHENTICATED for anonymous or service callers. */
export function userCaller(ctx: HandlerContext): UserCaller {
  const caller = ctx.values.get(callerKey);
  if (caller.kind !== 'user') {
    throw new UnauthenticatedError(
      'this method needs a signed-in user (Authorization: Bearer <access token>)',
    );
  }
  return { userId: caller.userId, role: caller.role, sessionId: caller.sessionId };
}

/** The actor of an event the caller caused. */
export function actorOf(caller: UserCaller): EventActor {
  return { userId: caller.userId, role: roleProto(caller.role) };
}

/** Throws INVALID_ARGUMENT unless `value` is a ULID; names the field. */
export function requireUlid(field: string, value: string): string {
  if (!isUlid(value)) {
    throw new ValidationError('malformed id', [
      {
        field,
        description: `must be a ULID (26 characters of Crockford base32), got "${value.slice(0, 40)}"`,
      },
    ]);
  }
  return value;
}

/**
 * The user a read is about: the caller when `requested` is empty; another user only for admins
 * (PERMISSION_DENIED otherwise, before revealing whether that user exists).
 */
export function targetUser(caller: UserCaller, requested: string, what: string): string {
  if (requested === '' || requested === caller.userId) return caller.userId;
  requireUlid('user_id', requested);
  if (caller.role !== 'admin') {
    throw new PermissionDeniedError(
      `only admins may read another user's ${what}; leave user_id empty to read your own`,
    );
  }
  return requested;
}

/** Reads a user that must exist (NOT_FOUND otherwise); `forUpdate` locks the row. */
export async function existingUser(
  store: IdentityStore,
  db: SqlExecutor,
  userId: string,
  lock: { forUpdate?: boolean } = {},
): Promise<UserRecord> {
  const user = await store.getUser(db, userId, lock);
  if (user === undefined) throw new NotFoundError(`no user with id ${quoteInput(userId)}`);
  return user;
}

const defaultPageSize = 50;
const maxPageSize = 200;

/** Page size and cursor of a PageRequest; INVALID_ARGUMENT for a bad size or token. */
export function readPage(page: { pageSize: number; pageToken: string } | undefined): {
  readonly size: number;
  readonly cursor: string | undefined;
} {
  const pageSize = page?.pageSize ?? 0;
  if (pageSize < 0 || pageSize > maxPageSize) {
    throw new ValidationError('bad page', [
      {
        field: 'page.page_size',
        description: `must be 1–${maxPageSize} (0 means ${defaultPageSize})`,
      },
    ]);
  }
  const token = page?.pageToken ?? '';
  let cursor: string | undefined;
  if (token !== '') {
    cursor = Buffer.from(token, 'base64url').toString('utf8');
    if (!isUlid(cursor)) {
      throw new ValidationError('bad page', [
        {
          field: 'page.page_token',
          description: 'is not a token from a previous response; omit it for the first page',
        },
      ]);
    }
  }
  return { size: pageSize === 0 ? defaultPageSize : pageSize, cursor };
}

/** The next page token after `size` of `ids` (one more was read to know there is more). */
export function nextPageToken(ids: readonly string[], size: number): string {
  const last = ids[size - 1];
  return ids.length > size && last !== undefined
    ? Buffer.from(last, 'utf8').toString('base64url')
    : '';
}

/** The field violation of a freeze/unfreeze reason outside 1–500 characters. */
export function reasonViolation(reason: string) {
  const trimmed = reason.trim();
  return trimmed.length < 1 || trimmed.length > 500
    ? { field: 'reason', description: 'is required, 1–500 characters' }
    : undefined;
}

// ---------------------------------------------------------------------------------------------
// Shared decisions (also used by the KYC webhook and the limit sweeper)
