/** Which subject each audited event names, from the protobuf JSON the consumer hands over. */
import { create, toJson, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import { PayoutMadeSchema } from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import {
  LimitChangedSchema,
  UserRegisteredSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import {
  HoldExpiredSchema,
  HoldPlacedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import { WithdrawalFailedSchema } from '@streambet/contracts/gen/streambet/events/v1/payment_pb';
import { describe, expect, it } from 'vitest';
import { envelope } from '@streambet/testkit/events';
import { auditDraftOf } from '../src/domain/audit.js';
import { toWarehouseRows } from '../src/domain/facts.js';

function draft<D extends DescMessage>(schema: D, init: MessageInitShape<D>) {
  return auditDraftOf({
    id: 'e-1',
    type: schema.typeName,
    occurredAtMs: 5,
    json: toJson(schema, create(schema, init)) as Record<string, unknown>,
  });
}

describe('auditDraftOf', () => {
  it('names the subject of wallet, payout, limit and payment events', () => {
    expect(draft(HoldPlacedSchema, { transfer: { transferId: 'bet:b1:stake' } })).toMatchObject({
      subjectType: 'transfer',
      subjectId: 'bet:b1:stake',
    });
    expect(
      draft(HoldExpiredSchema, { pendingTransfer: { transferId: 'bet:b2:stake' } }),
    ).toMatchObject({ subjectType: 'transfer', subjectId: 'bet:b2:stake' });
    expect(
      draft(PayoutMadeSchema, { payout: { payoutId: 'p-1', transferId: 't-1' } }),
    ).toMatchObject({ subjectType: 'transfer', subjectId: 't-1' });
    expect(draft(PayoutMadeSchema, { payout: { payoutId: 'p-2' } })).toMatchObject({
      subjectId: 'p-2',
    });
    expect(
      draft(LimitChangedSchema, {
        metadata: { actorUserId: 'u-1', actorRole: Role.VIEWER, producer: 'user' },
        userId: 'u-1',
      }),
    ).toMatchObject({
      subjectType: 'limit',
      subjectId: 'u-1',
      actorType: 'user',
      actorRole: Role.VIEWER,
      actorService: 'user',
    });
    expect(
      draft(WithdrawalFailedSchema, { paymentId: 'pay-1', failureMessage: 'card declined' }),
    ).toMatchObject({ subjectType: 'payment', subjectId: 'pay-1', reason: 'card declined' });
  });

  it('does not audit derived odds', () => {
    expect(draft(OddsChangedSchema, { channelId: 'c' })).toBeUndefined();
  });
});

describe('the warehouse copy of an event', () => {
  it('keeps no email address', () => {
    const rows = toWarehouseRows(
      envelope('user', 'u-1', UserRegisteredSchema, { userId: 'u-1', email: 'a@example.com' }),
    );
    expect(rows.event.payloadJson).not.toContain('a@example.com');
    expect(JSON.parse(rows.event.payloadJson)).toMatchObject({
      userId: 'u-1',
      email: '[redacted]',
    });
  });
});
