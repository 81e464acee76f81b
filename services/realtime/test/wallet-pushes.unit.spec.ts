import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  MarketHoldsAction,
  MarketHoldsResolvedSchema,
  MarketPayoutsCreditedSchema,
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

describe('wallet pushes of market-level settlement (ResolveMarket, CreditMarketPayouts)', () => {
  const wallet = (owner: string, availableMinor: bigint) => ({
    accountId: `wallet:${owner}:BRL`,
    kind: AccountKind.USER_WALLET,
    ownerId: owner,
    currency: 'BRL',
    balance: { accountId: `wallet:${owner}:BRL`, availableMinor },
  });
  const escrow = (availableMinor: bigint) => ({
    accountId: 'market:M1:escrow',
    currency: 'BRL',
    balance: { accountId: 'market:M1:escrow', availableMinor },
  });

  it('given a MarketPayoutsCredited page, then each paid owner gets one push with their paid balance and the sequence, the escrow nobody', () => {
    const message = create(MarketPayoutsCreditedSchema, {
      marketId: 'M1',
      settlementId: 'S1',
      currency: 'BRL',
      creditedCount: 2,
      creditedAmountMinor: 300n,
      sequence: 42n,
      accounts: [wallet('U1', 1_100n), escrow(0n), wallet('U2', 1_040n)],
      part: 1,
      partCount: 1,
    });
    const pushes = pushesOf({
      type: MarketPayoutsCreditedSchema.typeName,
      payload: toBinary(MarketPayoutsCreditedSchema, message),
    });
    expect(pushes.map((p) => [p.room, p.event])).toEqual([
      ['user:U1', 'streambet.events.v1.MarketPayoutsCredited'],
      ['user:U2', 'streambet.events.v1.MarketPayoutsCredited'],
    ]);
    const payloads = pushes.map(
      (p) =>
        p.payload as {
          sequence: string;
          creditedCount: number;
          accounts: { accountId: string; balance: { availableMinor: string } }[];
        },
    );
    expect(payloads.map((p) => p.sequence)).toEqual(['42', '42']);
    expect(payloads.map((p) => p.creditedCount)).toEqual([2, 2]);
    expect(payloads.map((p) => p.accounts.map((a) => a.accountId))).toEqual([
      ['wallet:U1:BRL'],
      ['wallet:U2:BRL'],
    ]);
    expect(payloads.map((p) => p.accounts[0]!.balance.availableMinor)).toEqual(['1100', '1040']);
    // No conflation: a payout push is never held back or dropped by the snapshot conflator.
    expect(pushes.every((p) => p.conflation === undefined)).toBe(true);
  });

  it('given a payout page with no user wallet (only the escrow), then nobody gets a push', () => {
    const message = create(MarketPayoutsCreditedSchema, {
      marketId: 'M1',
      sequence: 7n,
      accounts: [escrow(0n)],
      part: 1,
      partCount: 1,
    });
    expect(
      pushesOf({
        type: MarketPayoutsCreditedSchema.typeName,
        payload: toBinary(MarketPayoutsCreditedSchema, message),
      }),
    ).toEqual([]);
  });

  it('given a whole-market MarketHoldsResolved then its payouts, then the winner ends on the paid balance when keeping the highest sequence', () => {
    const resolved = create(MarketHoldsResolvedSchema, {
      marketId: 'M1',
      action: MarketHoldsAction.POST_IN_FULL,
      resolvedCount: 2,
      resolvedAmountMinor: 200n,
      sequence: 10n,
      accounts: [wallet('U1', 900n), wallet('U2', 900n), escrow(200n)],
      part: 1,
      partCount: 1,
      wholeMarket: true,
    });
    const paid = create(MarketPayoutsCreditedSchema, {
      marketId: 'M1',
      currency: 'BRL',
      creditedCount: 1,
      creditedAmountMinor: 200n,
      sequence: 11n,
      accounts: [wallet('U1', 1_100n), escrow(0n)],
      part: 1,
      partCount: 1,
    });
    const resolvedPushes = pushesOf({
      type: MarketHoldsResolvedSchema.typeName,
      payload: toBinary(MarketHoldsResolvedSchema, resolved),
    });
    const paidPushes = pushesOf({
      type: MarketPayoutsCreditedSchema.typeName,
      payload: toBinary(MarketPayoutsCreditedSchema, paid),
    });
    expect(resolvedPushes.map((p) => p.room)).toEqual(['user:U1', 'user:U2']);
    const wholeMarket = resolvedPushes[0]!.payload as { wholeMarket: boolean; sequence: string };
    expect(wholeMarket).toMatchObject({ wholeMarket: true, sequence: '10' });
    expect(paidPushes.map((p) => p.room)).toEqual(['user:U1']);

    // A client applying pushes newer than what it holds (realtime.proto), in either arrival order.
    type Page = {
      sequence: string;
      accounts: { accountId: string; balance: { availableMinor: string } }[];
    };
    const screenOf = (pages: Page[]): Map<string, { seq: bigint; available: string }> => {
      const screen = new Map<string, { seq: bigint; available: string }>();
      for (const page of pages) {
        for (const account of page.accounts) {
          const held = screen.get(account.accountId);
          if (held !== undefined && held.seq >= BigInt(page.sequence)) continue;
          screen.set(account.accountId, {
            seq: BigInt(page.sequence),
            available: account.balance.availableMinor,
          });
        }
      }
      return screen;
    };
    const u1 = [resolvedPushes[0]!, paidPushes[0]!].map((p) => p.payload as Page);
    expect(screenOf(u1).get('wallet:U1:BRL')?.available).toBe('1100');
    expect(screenOf([...u1].reverse()).get('wallet:U1:BRL')?.available).toBe('1100');
  });
});

describe('owners of untagged accounts in a market page', () => {
  it("given a payout page crediting a streamer's revenue account (untagged, as the ledger sends it), then the streamer gets a push with it and the platform accounts go to nobody", () => {
    const untagged = (accountId: string, availableMinor: bigint) => ({
      accountId,
      currency: 'PTS',
      balance: { accountId, availableMinor },
    });
    const message = create(MarketPayoutsCreditedSchema, {
      marketId: 'M1',
      currency: 'PTS',
      creditedCount: 3,
      sequence: 9n,
      accounts: [
        untagged('streamer:S1:revenue:PTS', 75n),
        untagged('rake:PTS', 75n),
        untagged('house:PTS', -5n),
        untagged('market:M1:escrow', 0n),
        untagged('wallet:U1:PTS', 400n),
      ],
      part: 1,
      partCount: 1,
    });
    const pushes = pushesOf({
      type: MarketPayoutsCreditedSchema.typeName,
      payload: toBinary(MarketPayoutsCreditedSchema, message),
    });
    expect(
      pushes.map((p) => [
        p.room,
        (p.payload as { accounts: { accountId: string }[] }).accounts.map((a) => a.accountId),
      ]),
    ).toEqual([
      ['user:S1', ['streamer:S1:revenue:PTS']],
      ['user:U1', ['wallet:U1:PTS']],
    ]);
  });
});
