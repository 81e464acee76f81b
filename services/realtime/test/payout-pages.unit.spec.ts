/**
 * PayoutsMade pages (issue 12: a settlement's payout rows, up to 2,000 per event) reach each user
 * as the PayoutMade push they received before pages: one push per row, to that row's user only;
 * a MarketPayoutsCredited page's per-account amounts reach only the owner of each account.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  PayoutMadeSchema,
  PayoutsMadeSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { MarketPayoutsCreditedSchema } from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import { PayoutKind } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { AccountKind } from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
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

  it('given a MarketPayoutsCredited page with amounts, then each owner gets only their own amount', () => {
    const wallet = (owner: string) => ({
      accountId: `wallet:${owner}:BRL`,
      kind: AccountKind.USER_WALLET,
      ownerId: owner,
      currency: 'BRL',
    });
    const message = create(MarketPayoutsCreditedSchema, {
      marketId: 'M1',
      creditedCount: 2,
      creditedAmountMinor: 30n,
      accounts: [wallet('U1'), wallet('U2'), { accountId: 'market:M1:escrow', currency: 'BRL' }],
      credits: [
        { accountId: 'wallet:U1:BRL', transferId: 'payout:S:wallet:U1:BRL', amountMinor: 10n },
        { accountId: 'wallet:U2:BRL', transferId: 'payout:S:wallet:U2:BRL', amountMinor: 20n },
      ],
    });
    const pushes = pushesOf({
      type: MarketPayoutsCreditedSchema.typeName,
      payload: toBinary(MarketPayoutsCreditedSchema, message),
    });
    expect(pushes.map((p) => p.room)).toEqual(['user:U1', 'user:U2']);
    const amounts = pushes.map(
      (p) => (p.payload as { credits: { accountId: string; amountMinor: string }[] }).credits,
    );
    expect(amounts).toEqual([
      [expect.objectContaining({ accountId: 'wallet:U1:BRL', amountMinor: '10' })],
      [expect.objectContaining({ accountId: 'wallet:U2:BRL', amountMinor: '20' })],
    ]);
  });
});
