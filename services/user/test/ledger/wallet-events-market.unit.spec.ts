/**
 * The wallet events of market-level settlement: a market resolution is one MarketHoldsResolved
 * (whole_market) keyed by the market, a payout page one MarketPayoutsCredited (with each credited
 * account's amount), each split in parts of 2000 accounts that together list every changed account
 * once.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  MarketHoldsAction,
  MarketHoldsResolvedSchema,
  MarketPayoutsCreditedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import { AccountKind } from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { TransferCode } from '../../src/ledger/domain/index.js';
import type { BalanceSnapshot } from '../../src/ledger/store/index.js';
import { walletEvents } from '../../src/ledger/wallet-events.js';

const marketId = '01JMARKET00000000000000000';
const snapshot = (accountId: string, creditsPosted: bigint): BalanceSnapshot => ({
  accountId,
  currency: 'BRL',
  balance: { debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted },
});
const wallets = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    snapshot(`wallet:01JUSER${String(i).padStart(19, '0')}:BRL`, BigInt(i)),
  );
let counter = 0;
const ids = () => `event-${(counter += 1)}`;

describe('wallet events of market-level settlement', () => {
  it('given a market resolution, then one MarketHoldsResolved per 2000 accounts, whole_market', () => {
    const accounts = [...wallets(2500), snapshot(`market:${marketId}:escrow`, 99n)];
    const { events } = walletEvents(
      [
        {
          type: 'market-resolution',
          resolution: {
            marketId,
            settlementId: '01JSETTLEMENT0000000000000',
            action: 'void',
            code: TransferCode.BET_STAKE,
            expectedOpenAmountMinor: 0n,
            resolvedCount: 7000,
            resolvedAmountMinor: 70_000n,
            expiredCount: 2,
            expiredAmountMinor: 20n,
            accountCount: accounts.length,
            sequence: 42n,
            resolvedAtMs: 1_800_000_000_000,
          },
          accounts,
        },
      ],
      ids,
    );
    const messages = events.map((e) => fromBinary(MarketHoldsResolvedSchema, e.payload));
    expect(events.map((e) => [e.topic, e.key])).toEqual([
      ['wallet', marketId],
      ['wallet', marketId],
    ]);
    expect(messages.map((m) => [m.part, m.partCount, m.accounts.length])).toEqual([
      [1, 2, 2000],
      [2, 2, 501],
    ]);
    expect(messages[0]).toMatchObject({
      marketId,
      action: MarketHoldsAction.VOID,
      wholeMarket: true,
      resolvedCount: 7000,
      expiredAmountMinor: 20n,
      sequence: 42n,
      firstHoldId: '',
    });
    expect(messages[0]!.accounts[0]).toMatchObject({
      kind: AccountKind.USER_WALLET,
      ownerId: '01JUSER0000000000000000000',
    });
    expect(new Set(messages.flatMap((m) => m.accounts.map((a) => a.accountId))).size).toBe(
      accounts.length,
    );
  });

  it('given a payout page, then one MarketPayoutsCredited with every credited account', () => {
    const accounts = [...wallets(3), snapshot(`market:${marketId}:escrow`, 0n)];
    const { events, ids: used } = walletEvents(
      [
        {
          type: 'market-payouts',
          marketId,
          settlementId: '01JSETTLEMENT0000000000000',
          currency: 'BRL',
          creditedCount: 3,
          creditedAmountMinor: 3n,
          sequence: 77n,
          committedAtMs: 1_800_000_000_000,
          accounts,
          credits: accounts.slice(0, 3).map((a, i) => ({
            accountId: a.accountId,
            transferId: `payout:01JSETTLEMENT0000000000000:${a.accountId}`,
            amountMinor: BigInt(i + 1),
          })),
        },
      ],
      ids,
    );
    expect(used).toHaveLength(1);
    const message = fromBinary(MarketPayoutsCreditedSchema, events[0]!.payload);
    expect(events[0]!.type).toBe(MarketPayoutsCreditedSchema.typeName);
    expect(message).toMatchObject({
      marketId,
      currency: 'BRL',
      creditedCount: 3,
      creditedAmountMinor: 3n,
      sequence: 77n,
      part: 1,
      partCount: 1,
    });
    expect(message.accounts.map((a) => a.accountId)).toEqual(accounts.map((a) => a.accountId));
    // The amount each wallet received, not only its balance after (the escrow has none).
    expect(message.credits.map((c) => [c.accountId, c.amountMinor])).toEqual(
      accounts.slice(0, 3).map((a, i) => [a.accountId, BigInt(i + 1)]),
    );
    expect(message.metadata?.aggregateId).toBe(marketId);
  });
});
