import { describe, expect, it } from 'vitest';
import {
  assertCanStartKyc,
  decideReview,
  isValidCpf,
  kycRequirement,
  maskDocumentNumber,
  validateKycSubmission,
  type KycCaseState,
} from '../../src/identity/domain/kyc/kyc.js';

const pending: KycCaseState = {
  caseId: 'C1',
  userId: 'U1',
  status: 'PENDING_REVIEW',
  legalName: 'Ana Souza',
  documentType: 'TAX_ID',
  documentNumber: '52998224725',
  documentCountry: 'BR',
  submittedAtMs: 1,
  reviewedAtMs: 0,
  reviewerUserId: '',
  reviewReason: '',
};

describe('KYC submission', () => {
  it('checks CPF check digits', () => {
    expect(isValidCpf('52998224725')).toBe(true);
    expect(isValidCpf('52998224724')).toBe(false);
    expect(isValidCpf('11111111111')).toBe(false);
    expect(isValidCpf('5299822472')).toBe(false);
  });

  it('lists every bad field', () => {
    expect(() =>
      validateKycSubmission({
        legalName: 'A',
        documentType: undefined,
        documentNumber: '',
        documentCountry: 'br',
      }),
    ).toThrow(
      /legal_name: .*; document_type: is required.*; document_number: .*; document_country: /,
    );
    expect(() =>
      validateKycSubmission({
        legalName: 'Ana',
        documentType: 'TAX_ID',
        documentNumber: '123',
        documentCountry: 'BR',
      }),
    ).toThrow(/CPF must be exactly 11 digits/);
  });

  it('allows a new case only from NOT_STARTED or REJECTED', () => {
    expect(() => assertCanStartKyc('NOT_STARTED')).not.toThrow();
    expect(() => assertCanStartKyc('REJECTED')).not.toThrow();
    expect(() => assertCanStartKyc('PENDING_REVIEW')).toThrow(/already pending/);
    expect(() => assertCanStartKyc('VERIFIED')).toThrow(/already verified/);
  });
});

describe('KYC review', () => {
  it('approves or rejects a pending case; the same decision again changes nothing', () => {
    const approved = decideReview(pending, 'APPROVE', '', 'ADMIN', 5);
    expect(approved).toEqual({
      changed: true,
      kase: { ...pending, status: 'VERIFIED', reviewedAtMs: 5, reviewerUserId: 'ADMIN' },
    });
    expect(decideReview(approved.kase, 'APPROVE', '', 'OTHER', 9)).toEqual({
      changed: false,
      kase: approved.kase,
    });
    expect(() => decideReview(approved.kase, 'REJECT', 'blurry', 'ADMIN', 9)).toThrow(
      /already decided as VERIFIED/,
    );
    expect(decideReview(pending, 'REJECT', ' blurry photo ', 'ADMIN', 5).kase).toMatchObject({
      status: 'REJECTED',
      reviewReason: 'blurry photo',
    });
  });

  it('needs a decision, and a reason to reject', () => {
    expect(() => decideReview(pending, undefined, '', 'A', 1)).toThrow(/decision: is required/);
    expect(() => decideReview(pending, 'REJECT', '  ', 'A', 1)).toThrow(
      /reason: is required for a rejection/,
    );
    expect(() => decideReview(pending, 'APPROVE', 'x'.repeat(501), 'A', 1)).toThrow(/at most 500/);
  });

  it('masks document numbers for owners', () => {
    expect(maskDocumentNumber('52998224725')).toBe('*******4725');
    expect(maskDocumentNumber('AB1')).toBe('AB1');
  });

  it('requires KYC before any withdrawal, and for real money above the threshold', () => {
    expect(kycRequirement('NOT_STARTED', 0n, 100n)).toEqual({
      requiredForWithdrawal: true,
      requiredForRealMoney: false,
    });
    expect(kycRequirement('PENDING_REVIEW', 101n, 100n)).toEqual({
      requiredForWithdrawal: true,
      requiredForRealMoney: true,
    });
    expect(kycRequirement('VERIFIED', 1_000n, 100n)).toEqual({
      requiredForWithdrawal: false,
      requiredForRealMoney: false,
    });
  });
});
