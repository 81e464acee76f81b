/**
 * PayoutsMade pages (issue 12: a settlement's payout rows, up to 2,000 per event) reach each user
 * as the PayoutMade push they received before pages: one push per row, to that row's user only.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  PayoutMadeSchema,
  PayoutsMadeSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { PayoutKind } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { pushesOf } from '../src/events.js';

describe('payout pushes of a PayoutsMade page', () => {
  it('given a page of three rows, then each user gets one PayoutMade push with only their row', () => {
    const payout = (userId: string, netMinor: bigint) => ({
      payoutId: `P-${userId}`,
      marketId: 'M1',
      userId,
      kind: PayoutKind.SETTLEMENT,
      currency: 'BRL',
      stakeMinor: 100n,
      payoutMinor: 100n + netMinor,
      netMinor,
    });
    const page = create(PayoutsMadeSchema, {
      metadata: { eventId: 'E1', aggregateId: 'M1', producer: 'settlement' },
      marketId: 'M1',
      payouts: [payout('U1', 50n), payout('U2', -100n), payout('', 7n)],
    });
    const pushes = pushesOf({
      type: PayoutsMadeSchema.typeName,
      payload: toBinary(PayoutsMadeSchema, page),
    });
    expect(pushes.map((p) => [p.room, p.event])).toEqual([
      ['user:U1', PayoutMadeSchema.typeName],
      ['user:U2', PayoutMadeSchema.typeName],
    ]);
    const first = pushes[0]!.payload as { payout: { userId: string; netMinor: string } };
    expect(first.payout).toMatchObject({ userId: 'U1', netMinor: '50' });
    expect(JSON.stringify(pushes[0]!.payload)).not.toContain('U2');
  });
});
