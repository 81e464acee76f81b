import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  MarketHoldsAction,
  MarketHoldsResolvedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import { AccountKind } from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { pushesOf } from '../src/events.js';

describe('wallet pushes of a bulk-settlement page', () => {
  it('given a MarketHoldsResolved page, then each wallet owner gets one push with only their own balances', () => {
    const wallet = (owner: string, availableMinor: bigint) => ({
      accountId: `wallet:${owner}:BRL`,
      kind: AccountKind.USER_WALLET,
      ownerId: owner,
      currency: 'BRL',
      balance: { accountId: `wallet:${owner}:BRL`, availableMinor },
    });
    const message = create(MarketHoldsResolvedSchema, {
      marketId: 'M1',
      action: MarketHoldsAction.POST_IN_FULL,
      resolvedCount: 3,
      resolvedAmountMinor: 60n,
      accounts: [
        wallet('U1', 910n),
        wallet('U2', 940n),
        { accountId: 'market:M1:escrow', currency: 'BRL', balance: { availableMinor: 60n } },
      ],
    });
    const pushes = pushesOf({
      type: MarketHoldsResolvedSchema.typeName,
      payload: toBinary(MarketHoldsResolvedSchema, message),
    });
    expect(pushes.map((p) => p.room)).toEqual(['user:U1', 'user:U2']);
    expect(pushes.every((p) => p.event === 'streambet.events.v1.MarketHoldsResolved')).toBe(true);
    const first = pushes[0]!.payload as {
      accounts: { accountId: string }[];
      resolvedCount: number;
    };
    expect(first.resolvedCount).toBe(3);
    expect(first.accounts.map((a) => a.accountId)).toEqual(['wallet:U1:BRL']);
    const second = pushes[1]!.payload as { accounts: { balance: { availableMinor: string } }[] };
    expect(second.accounts.map((a) => a.balance.availableMinor)).toEqual(['940']);
  });
});
