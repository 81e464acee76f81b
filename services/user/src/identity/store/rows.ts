/**
 * Reading identity rows: the column lists and the mappers from SQL rows to the records the
 * routes use (users, KYC cases, limits).
 */
import { parseCalendarDate } from '../domain/accounts/age.js';
import { normalizeRoles } from '../domain/accounts/roles.js';
import type { KycCaseState, KycDocumentTypeName, KycStatusName } from '../domain/kyc/kyc.js';
import type { LimitState } from '../domain/limits/limits.js';
import type { SelfExclusionDurationName } from '../domain/limits/restrictions.js';
import type { UserRecord } from './users.js';

/** A SQL row as the driver returns it. */
export type Row = Record<string, unknown>;

/** Columns of a user row, in toUser's order. */
export const userColumns = `id, email, display_name, password_hash, date_of_birth, roles, status, frozen_reason,
  kyc_status, created_at_ms, cool_off_until_ms, self_exclusion_duration, self_exclusion_started_at_ms,
  self_exclusion_until_ms, lifetime_deposits_minor, email_verified_at_ms`;

/** Columns of a KYC case row. */
export const caseColumns = `id, user_id, status, legal_name, document_type, document_number, document_country,
  submitted_at_ms, reviewed_at_ms, reviewer_user_id, review_reason`;

/** A BIGINT ms column as a number. */
export function ms(value: unknown): number {
  return Number(value);
}

/** A nullable BIGINT ms column. */
export function msOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : ms(value);
}

/** The user of a users row. */
export function toUser(row: Row): UserRecord {
  const duration = row.self_exclusion_duration as SelfExclusionDurationName | null;
  return {
    userId: row.id as string,
    email: row.email as string,
    displayName: row.display_name as string,
    passwordHash: row.password_hash as string,
    dateOfBirth: parseCalendarDate(row.date_of_birth as string),
    roles: normalizeRoles(row.roles as string[]),
    status: row.status as 'active' | 'frozen',
    frozenReason: row.frozen_reason as string,
    kycStatus: row.kyc_status as KycStatusName,
    createdAtMs: ms(row.created_at_ms),
    coolOffUntilMs: ms(row.cool_off_until_ms),
    selfExclusion:
      duration === null
        ? null
        : {
            duration,
            startedAtMs: ms(row.self_exclusion_started_at_ms),
            untilMs: msOrNull(row.self_exclusion_until_ms),
          },
    lifetimeDepositsMinor: BigInt(row.lifetime_deposits_minor as bigint),
    emailVerifiedAtMs: msOrNull(row.email_verified_at_ms),
  };
}

/** The case of a kyc_cases row. */
export function toCase(row: Row): KycCaseState {
  return {
    caseId: row.id as string,
    userId: row.user_id as string,
    status: row.status as KycCaseState['status'],
    legalName: row.legal_name as string,
    documentType: row.document_type as KycDocumentTypeName,
    documentNumber: row.document_number as string,
    documentCountry: row.document_country as string,
    submittedAtMs: ms(row.submitted_at_ms),
    reviewedAtMs: ms(row.reviewed_at_ms),
    reviewerUserId: row.reviewer_user_id as string,
    reviewReason: row.review_reason as string,
  };
}

/** The limit of an rg_limits row. */
export function toLimit(row: Row): LimitState {
  const amount = row.amount_minor === null ? null : BigInt(row.amount_minor as bigint);
  if (row.pending_set !== true) return { amountMinor: amount, pending: null };
  return {
    amountMinor: amount,
    pending: {
      amountMinor:
        row.pending_amount_minor === null ? null : BigInt(row.pending_amount_minor as bigint),
      requestedAtMs: ms(row.pending_requested_at_ms),
      effectiveAtMs: ms(row.pending_effective_at_ms),
    },
  };
}

/** `text` with LIKE wildcards escaped. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
