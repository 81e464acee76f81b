/**
 * Field rules of the identity RPCs (user.proto), checked in one place so every entry point gives the
 * same INVALID_ARGUMENT with every broken field listed at once.
 */
import { ValidationError, type FieldViolation } from '@streambet/platform/errors/domain-errors';
import { isRealDate, type CalendarDate } from './age.js';

const emailPattern = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const displayNamePattern = /^[A-Za-z0-9_]{3,25}$/;

/** Lower-cased, trimmed email: the form stored and compared. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Violation of the email field, if any (3–254 chars, one `@`, a dotted domain, no spaces). */
export function emailViolation(email: string): FieldViolation | undefined {
  const normalized = normalizeEmail(email);
  if (normalized === '') return { field: 'email', description: 'is required' };
  if (normalized.length < 3 || normalized.length > 254) {
    return { field: 'email', description: 'must be 3–254 characters' };
  }
  if (!emailPattern.test(normalized)) {
    return { field: 'email', description: 'must be an email address like name@example.com' };
  }
  return undefined;
}

/** Violation of a new password (8–128 code points, not the email), if any. */
export function passwordViolation(password: string, email: string): FieldViolation | undefined {
  const length = [...password].length;
  if (length < 8 || length > 128) {
    return { field: 'password', description: 'must be 8–128 characters' };
  }
  if (normalizeEmail(password) === normalizeEmail(email)) {
    return { field: 'password', description: 'must not be the same as the email' };
  }
  return undefined;
}

/** Violation of a display name (3–25 chars of [A-Za-z0-9_]), if any. */
export function displayNameViolation(displayName: string): FieldViolation | undefined {
  if (!displayNamePattern.test(displayName)) {
    return {
      field: 'display_name',
      description: 'must be 3–25 characters of letters, digits and underscore',
    };
  }
  return undefined;
}

/** Violation of an optional device id (1–128 chars when present), if any. */
function deviceIdViolation(deviceId: string): FieldViolation | undefined {
  if (deviceId.length > 128) {
    return { field: 'device_id', description: 'must be at most 128 characters' };
  }
  return undefined;
}

/** Violation of a date of birth (a real past date, year 1900–9999), if any. */
function dateOfBirthViolation(
  dateOfBirth: CalendarDate | undefined,
  nowMs: number,
): FieldViolation | undefined {
  if (dateOfBirth === undefined) return { field: 'date_of_birth', description: 'is required' };
  const { year, month, day } = dateOfBirth;
  if (year < 1900 || year > 9999 || !isRealDate(dateOfBirth)) {
    return {
      field: 'date_of_birth',
      description: `must be a real calendar date with year 1900–9999 (got ${year}-${month}-${day})`,
    };
  }
  if (Date.UTC(year, month - 1, day) >= nowMs) {
    return { field: 'date_of_birth', description: 'must be in the past' };
  }
  return undefined;
}

/** What Register asks for, as received. */
export interface RegistrationInput {
  readonly email: string;
  readonly password: string;
  readonly dateOfBirth: CalendarDate | undefined;
  readonly displayName: string;
  readonly deviceId: string;
}

/** A registration that passed every field rule, normalized for storage. */
export interface ValidRegistration {
  readonly email: string;
  readonly password: string;
  readonly dateOfBirth: CalendarDate;
  readonly displayName: string;
  readonly deviceId: string;
}

/** Checks every Register field at `nowMs`; throws one ValidationError listing all violations. */
export function validateRegistration(input: RegistrationInput, nowMs: number): ValidRegistration {
  const violations = [
    emailViolation(input.email),
    passwordViolation(input.password, input.email),
    dateOfBirthViolation(input.dateOfBirth, nowMs),
    displayNameViolation(input.displayName),
    deviceIdViolation(input.deviceId),
  ].filter((v): v is FieldViolation => v !== undefined);
  if (violations.length > 0 || input.dateOfBirth === undefined) {
    throw new ValidationError('registration refused', violations);
  }
  return {
    email: normalizeEmail(input.email),
    password: input.password,
    dateOfBirth: input.dateOfBirth,
    displayName: input.displayName,
    deviceId: input.deviceId,
  };
}

/** Throws a ValidationError when any of `violations` is set. */
export function throwIfViolations(
  message: string,
  violations: ReadonlyArray<FieldViolation | undefined>,
): void {
  const present = violations.filter((v): v is FieldViolation => v !== undefined);
  if (present.length > 0) throw new ValidationError(message, present);
}
