import { describe, expect, it } from 'vitest';
import { manualClock } from '@streambet/testkit/clock';
import {
  createFakeKycProvider,
  fakeKycKeptSubmissions,
  type KycProviderSubmission,
} from '../../src/identity/kyc-provider.js';

const submission = (n: number): KycProviderSubmission => ({
  caseId: `case-${n}`,
  userId: `user-${n}`,
  legalName: `Person ${n}`,
  documentType: 'TAX_ID',
  documentNumber: String(n),
  documentCountry: 'BR',
});

describe('the fake KYC provider', () => {
  it('given more submissions than it keeps, then it holds only the latest ones (personal data does not pile up)', async () => {
    const fake = createFakeKycProvider({ secret: 'whsec_unit_0123456789', clock: manualClock() });
    for (let n = 1; n <= fakeKycKeptSubmissions + 5; n += 1) await fake.submit(submission(n));
    expect(fake.submissions).toHaveLength(fakeKycKeptSubmissions);
    expect(fake.submissions[0]?.caseId).toBe('case-6');
    expect(fake.submissions.at(-1)?.caseId).toBe(`case-${fakeKycKeptSubmissions + 5}`);
  });

  it('given keepSubmissions 0 (the embedded platform), then it keeps no legal name at all but still answers', async () => {
    const fake = createFakeKycProvider({
      secret: 'whsec_unit_0123456789',
      clock: manualClock(),
      keepSubmissions: 0,
    });
    expect(await fake.submit(submission(1))).toEqual({ providerReference: 'fake-case-1' });
    expect(fake.submissions).toEqual([]);
  });
});
