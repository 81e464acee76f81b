/** The audit log keeps one entry per PayoutsMade page (issue 12), every row in its details. */
import { create, toJson } from '@bufbuild/protobuf';
import { PayoutsMadeSchema } from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { describe, expect, it } from 'vitest';
import { auditDraftOf } from '../src/domain/audit.js';

describe('audit of payout pages', () => {
  it('given a PayoutsMade page, then one market entry lists every row', () => {
    const page = create(PayoutsMadeSchema, {
      metadata: { producer: 'settlement', aggregateId: 'M-1' },
      marketId: 'M-1',
      payouts: [
        { payoutId: 'p-1', userId: 'u-1', netMinor: 5n },
        { payoutId: 'p-2', userId: 'u-2', netMinor: -5n },
      ],
    });
    const entry = auditDraftOf({
      id: 'e-page',
      type: PayoutsMadeSchema.typeName,
      occurredAtMs: 9,
      json: toJson(PayoutsMadeSchema, page) as Record<string, unknown>,
    });
    expect(entry).toMatchObject({
      subjectType: 'market',
      subjectId: 'M-1',
      actorService: 'settlement',
      action: PayoutsMadeSchema.typeName,
    });
    const details = JSON.parse(entry!.detailsJson) as { payouts: { payoutId: string }[] };
    expect(details.payouts.map((p) => p.payoutId)).toEqual(['p-1', 'p-2']);
  });
});
