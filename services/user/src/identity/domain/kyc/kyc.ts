/**
 * KYC (identity verification) rules: NOT_STARTED → PENDING_REVIEW → VERIFIED or REJECTED(reason);
 * a rejected user may submit again; VERIFIED is final. Decisions come from an admin (ReviewKyc) or
 * from the provider's signed webhook; both go through {@link decideReview}.
 */
import {
  IllegalStateError,
  ValidationError,
  type FieldViolation,
} from '@streambet/platform/errors/domain-errors';

/** Where a user stands in KYC (names of the contract's KycStatus without prefix). */
export type KycStatusName = 'NOT_STARTED' | 'PENDING_REVIEW' | 'VERIFIED' | 'REJECTED';

/** Kind of identity document (the contract's KycDocumentType without prefix). */
export type KycDocumentTypeName = 'PASSPORT' | 'NATIONAL_ID' | 'DRIVERS_LICENSE' | 'TAX_ID';

/** A decision on a pending case. */
export type KycDecisionName = 'APPROVE' | 'REJECT';

/** Identity data a user submits with StartKyc. */
export interface KycSubmission {
  readonly legalName: string;
  readonly documentType: KycDocumentTypeName | undefined;
  readonly documentNumber: string;
  readonly documentCountry: string;
}

/** A KYC case as stored. */
export interface KycCaseState {
  readonly caseId: string;
  readonly userId: string;
  readonly status: Exclude<KycStatusName, 'NOT_STARTED'>;
  readonly legalName: string;
  readonly documentType: KycDocumentTypeName;
  readonly documentNumber: string;
  readonly documentCountry: string;
  readonly submittedAtMs: number;
  readonly reviewedAtMs: number;
  /** Admin user id, or empty when the provider (webhook) decided. */
  readonly reviewerUserId: string;
  readonly reviewReason: string;
}

/** True when `digits` is a Brazilian CPF (11 digits, both check digits valid, not all equal). */
export function isValidCpf(digits: string): boolean {
  if (!/^\d{11}$/.test(digits) || /^(\d)\1{10}$/.test(digits)) return false;
  const nums = [...digits].map(Number);
  const check = (length: number): number => {
    let sum = 0;
    for (let i = 0; i < length; i += 1) sum += nums[i]! * (length + 1 - i);
    const rest = (sum * 10) % 11;
    return rest === 10 ? 0 : rest;
  };
  return check(9) === nums[9] && check(10) === nums[10];
}

/** Checks a submission's format; throws one ValidationError naming every bad field. */
export function validateKycSubmission(submission: KycSubmission): Required<KycSubmission> & {
  readonly documentType: KycDocumentTypeName;
} {
  const violations: FieldViolation[] = [];
  const legalName = submission.legalName.trim();
  if (legalName.length < 2 || legalName.length > 200) {
    violations.push({ field: 'legal_name', description: 'must be 2–200 characters' });
  }
  if (submission.documentType === undefined) {
    violations.push({
      field: 'document_type',
      description: 'is required (PASSPORT, NATIONAL_ID, DRIVERS_LICENSE or TAX_ID)',
    });
  }
  const documentNumber = submission.documentNumber.trim();
  if (documentNumber.length < 1 || documentNumber.length > 64) {
    violations.push({ field: 'document_number', description: 'must be 1–64 characters' });
  } else if (submission.documentType === 'TAX_ID' && !isValidCpf(documentNumber)) {
    violations.push({
      field: 'document_number',
      description: 'a CPF must be exactly 11 digits with valid check digits',
    });
  }
  if (!/^[A-Z]{2}$/.test(submission.documentCountry)) {
    violations.push({
      field: 'document_country',
      description: 'must be an upper-case ISO 3166-1 alpha-2 code such as BR',
    });
  }
  if (violations.length > 0 || submission.documentType === undefined) {
    throw new ValidationError('KYC submission refused', violations);
  }
  return {
    legalName,
    documentType: submission.documentType,
    documentNumber,
    documentCountry: submission.documentCountry,
  };
}

/** Throws unless a user in `status` may submit a new case (NOT_STARTED or REJECTED). */
export function assertCanStartKyc(status: KycStatusName): void {
  if (status === 'PENDING_REVIEW') {
    throw new IllegalStateError(
      'a KYC case is already pending review; wait for its decision before submitting again',
    );
  }
  if (status === 'VERIFIED') {
    throw new IllegalStateError('identity is already verified; no new KYC case is needed');
  }
}

/** Result of {@link decideReview}: the case after the decision, and whether anything changed. */
export interface ReviewOutcome {
  readonly kase: KycCaseState;
  readonly changed: boolean;
}

/**
 * Applies a decision to a case at `nowMs`. The same decision again returns the case unchanged
 * (idempotent retries, duplicate webhooks); a different decision on a decided case is refused.
 */
export function decideReview(
  kase: KycCaseState,
  decision: KycDecisionName | undefined,
  reason: string,
  reviewerUserId: string,
  nowMs: number,
): ReviewOutcome {
  const trimmed = reason.trim();
  const violations: FieldViolation[] = [];
  if (decision === undefined) {
    violations.push({ field: 'decision', description: 'is required (APPROVE or REJECT)' });
  }
  if (decision === 'REJECT' && trimmed === '') {
    violations.push({
      field: 'reason',
      description: 'is required for a rejection (it is shown to the user)',
    });
  }
  if (trimmed.length > 500) {
    violations.push({ field: 'reason', description: 'must be at most 500 characters' });
  }
  if (violations.length > 0 || decision === undefined) {
    throw new ValidationError('KYC review refused', violations);
  }
  const target = decision === 'APPROVE' ? 'VERIFIED' : 'REJECTED';
  if (kase.status === target) return { kase, changed: false };
  if (kase.status !== 'PENDING_REVIEW') {
    throw new IllegalStateError(
      `KYC case ${kase.caseId} was already decided as ${kase.status}; a different decision is not allowed`,
    );
  }
  return {
    changed: true,
    kase: {
      ...kase,
      status: target,
      reviewedAtMs: nowMs,
      reviewerUserId,
      reviewReason: trimmed,
    },
  };
}

/** The document number as the owner sees it: last 4 characters, the rest `*`. */
export function maskDocumentNumber(documentNumber: string): string {
  const chars = [...documentNumber];
  const keep = Math.min(4, chars.length);
  return '*'.repeat(chars.length - keep) + chars.slice(chars.length - keep).join('');
}

/** Whether KYC blocks withdrawals and real money for a user (GetKycStatus's two flags). */
export interface KycRequirement {
  /** True unless verified: KYC is needed before any withdrawal. */
  readonly requiredForWithdrawal: boolean;
  /** True when lifetime deposits exceed the threshold and the user is not verified. */
  readonly requiredForRealMoney: boolean;
}

/** KYC requirements from the status and cumulative deposits (minor units of the real currency). */
export function kycRequirement(
  status: KycStatusName,
  lifetimeDepositsMinor: bigint,
  thresholdMinor: bigint,
): KycRequirement {
  const verified = status === 'VERIFIED';
  return {
    requiredForWithdrawal: !verified,
    requiredForRealMoney: !verified && lifetimeDepositsMinor > thresholdMinor,
  };
}
