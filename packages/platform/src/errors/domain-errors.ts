/**
 * Typed domain errors. Domain code throws these; one interceptor at the RPC edge
 * (`errors/error-interceptor.ts`) translates them to Connect codes. This file must stay free of
 * Connect, Node and I/O imports so pure domain modules can depend on it.
 *
 * Every message is sent to the client as-is: write it for the person who has to act on it
 * ("stake must be at least 100 minor units", not "bad input").
 */

/**
 * A structured detail sent with the error (google.rpc `details`): a message schema and its value
 * as the service's codec built them (protobuf-es `DescMessage` and message init). Typed opaquely
 * so this file, and the domain code that imports it, stay free of protobuf imports: an error that
 * carries details is built outside `domain/` (see e.g. the user service's `IneligibleError`).
 */
export interface ErrorDetail {
  readonly desc: object;
  readonly value: object;
}

/** Options every domain error accepts. */
export interface DomainErrorOptions {
  readonly cause?: unknown;
  /** Structured details the edge attaches to the status (see {@link ErrorDetail}). */
  readonly details?: readonly ErrorDetail[];
}

/** Base class of every error the edge maps to a specific status code instead of INTERNAL. */
export abstract class DomainError extends Error {
  /** Stable machine-readable kind; the interceptor maps it to a status code. */
  abstract readonly kind: DomainErrorKind;
  /** Structured details sent with the status, in order; usually none. */
  readonly details: readonly ErrorDetail[];

  constructor(message: string, options?: DomainErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.details = options?.details ?? [];
  }
}

/** Every domain error kind, one per status code the edge may answer with. */
export type DomainErrorKind =
  | 'validation'
  | 'not-found'
  | 'illegal-state'
  | 'already-exists'
  | 'concurrency'
  | 'permission-denied'
  | 'unauthenticated'
  | 'resource-exhausted'
  | 'unavailable';

/** One invalid field of a request: which field, and what a valid value looks like. */
export interface FieldViolation {
  /** Field path as named in the contract, e.g. `stake_minor` or `legs[2].market_id`. */
  readonly field: string;
  /** What is wrong and what is expected, e.g. `must be at least 100`. */
  readonly description: string;
}

/**
 * The request itself is wrong and retrying it unchanged cannot succeed (INVALID_ARGUMENT).
 * Field violations are listed in the message so a client can fix all of them at once.
 */
export class ValidationError extends DomainError {
  readonly kind = 'validation';
  /** The individual invalid fields; may be empty when the problem spans fields. */
  readonly violations: readonly FieldViolation[];

  constructor(
    message: string,
    violations: readonly FieldViolation[] = [],
    options?: DomainErrorOptions,
  ) {
    super(formatViolations(message, violations), options);
    this.violations = violations;
  }
}

/** The addressed entity does not exist, or the caller may not know it exists (NOT_FOUND). */
export class NotFoundError extends DomainError {
  readonly kind = 'not-found';
}

/**
 * The entity is in a state that forbids the operation (FAILED_PRECONDITION), e.g. betting on a
 * locked market. Retrying is pointless until the state changes.
 */
export class IllegalStateError extends DomainError {
  readonly kind = 'illegal-state';
}

/** An entity with the caller-chosen id or unique key already exists (ALREADY_EXISTS). */
export class AlreadyExistsError extends DomainError {
  readonly kind = 'already-exists';
}

/**
 * A concurrent change won (optimistic version mismatch, serialization failure) (ABORTED).
 * The caller should re-read and retry the whole read-modify-write.
 */
export class ConcurrencyError extends DomainError {
  readonly kind = 'concurrency';
}

/** The caller is known but not allowed to do this (PERMISSION_DENIED). */
export class PermissionDeniedError extends DomainError {
  readonly kind = 'permission-denied';
}

/** The caller's identity is missing or invalid (UNAUTHENTICATED). */
export class UnauthenticatedError extends DomainError {
  readonly kind = 'unauthenticated';
}

/**
 * A quota or rate limit is used up (RESOURCE_EXHAUSTED). `retryAfterMs`, when known, is appended
 * to the message and sent as a `retry-after` header (seconds) so clients can back off precisely.
 */
export class ResourceExhaustedError extends DomainError {
  readonly kind = 'resource-exhausted';
  /** How long the caller should wait before trying again, in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options?: DomainErrorOptions & { retryAfterMs?: number }) {
    super(withRetryHint(message, options?.retryAfterMs), options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * A dependency this operation needs is down or overloaded (UNAVAILABLE); the same call may
 * succeed later. `retryAfterMs` works as for {@link ResourceExhaustedError}.
 */
export class UnavailableError extends DomainError {
  readonly kind = 'unavailable';
  /** How long the caller should wait before trying again, in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options?: DomainErrorOptions & { retryAfterMs?: number }) {
    super(withRetryHint(message, options?.retryAfterMs), options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** Whole seconds a client should wait, rounded up so it never retries too early. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}

function withRetryHint(message: string, retryAfterMs: number | undefined): string {
  return retryAfterMs === undefined
    ? message
    : `${message} (retry after ${retryAfterSeconds(retryAfterMs)}s)`;
}

function formatViolations(message: string, violations: readonly FieldViolation[]): string {
  if (violations.length === 0) return message;
  return `${message}: ${violations.map((v) => `${v.field}: ${v.description}`).join('; ')}`;
}
