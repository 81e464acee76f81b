/** Refusals name every eligibility reason in words the user can act on. */
import { create } from '@bufbuild/protobuf';
import {
  EligibilityResultSchema,
  IneligibilityReason,
} from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { describe, expect, it } from 'vitest';
import { IneligibleError } from '../src/downstreams.js';

describe('eligibility refusal text', () => {
  it('says what to do for every reason, including an unconfirmed email', () => {
    const reasons = Object.values(IneligibilityReason).filter(
      (r): r is IneligibilityReason =>
        typeof r === 'number' && r !== IneligibilityReason.UNSPECIFIED,
    );
    for (const reason of reasons) {
      const error = new IneligibleError(
        'withdrawal',
        create(EligibilityResultSchema, { allowed: false, reasons: [{ reason }] }),
      );
      expect(error.message, IneligibilityReason[reason]).not.toContain('not allowed now');
    }
    const email = new IneligibleError(
      'deposit',
      create(EligibilityResultSchema, {
        allowed: false,
        reasons: [{ reason: IneligibilityReason.EMAIL_NOT_VERIFIED }],
      }),
    );
    expect(email.message).toContain('confirmed email address');
  });
});
