import { fromBinary } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HoldExpiredSchema,
  HoldPlacedSchema,
  HoldPostedSchema,
  MarketHoldsAction,
  MarketHoldsResolvedSchema,
  TransferCommittedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import type { OutboxEvent } from '@streambet/platform/outbox/outbox';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { TransferCode, TransferKind } from '../../src/ledger/domain/types.js';
import { MARKET_HOLDS_ACCOUNTS_PER_EVENT, walletEvents } from '../../src/ledger/wallet-events.js';
import {
  command,
  escrow,
  house,
  manualClock,
  openLedger,
  ulid,
  wallet,
} from './ledger-fixtures.js';

const databases: SqlTestDatabase[] = [];
afterEach(async () => {
  for (const db of databases.splice(0)) await db.dispose();
});

// One target is enough: the mapping is the same whatever the engine.
const target = sqlTargets()[0]!;

describe('wallet events from ledger commits', () => {
  it('given a grant, a hold, a partial post and an expired hold, then each commit yields its wallet event, keyed so one hold stays in order', async () => {
    const db = await target.create();
    databases.push(db);
    const clock = manualClock();
    const emitted: OutboxEvent[] = [];
    let n = 0;
    const ledger = await openLedger(db.sql, {
      clock,
      onCommitted: async (_tx, effects) => {
        emitted.push(...walletEvents(effects, () => `evt-${(n += 1)}`).events);
        return Promise.resolve();
      },
    });
    const viewer = wallet(1);
    const market = escrow(1);
    await ledger.createAccounts([viewer, market, house()]);
    await ledger.submitTransfers([
      command({
        transferId: 'grant-1',
        debitAccountId: 'house:BRL',
        creditAccountId: viewer.accountId,
        amountMinor: 1_000n,
      }),
    ]);
    await ledger.submitTransfers([
      command({
        transferId: 'hold-1',
        kind: TransferKind.PENDING,
        debitAccountId: viewer.accountId,
        creditAccountId: market.accountId,
        amountMinor: 300n,
        timeoutSeconds: 600n,
      }),
      command({
        transferId: 'hold-2',
        kind: TransferKind.PENDING,
        debitAccountId: viewer.accountId,
        creditAccountId: market.accountId,
        amountMinor: 100n,
        timeoutSeconds: 60n,
      }),
    ]);
    await ledger.submitTransfers([
      command({
        transferId: 'post-1',
        kind: TransferKind.POST_PENDING,
        pendingId: 'hold-1',
        debitAccountId: viewer.accountId,
        creditAccountId: market.accountId,
        amountMinor: 200n,
      }),
    ]);
    clock.advance(61_000);
    expect(await ledger.expirePendingTransfers(clock.now())).toBe(1);

    expect(emitted.map((e) => [e.topic, e.type.split('.').pop(), e.key])).toEqual([
      ['wallet', 'TransferCommitted', 'grant-1'],
      ['wallet', 'HoldPlaced', 'hold-1'],
      ['wallet', 'HoldPlaced', 'hold-2'],
      ['wallet', 'HoldPosted', 'hold-1'],
      ['wallet', 'HoldExpired', 'hold-2'],
    ]);
    const grant = fromBinary(TransferCommittedSchema, emitted[0]!.payload);
    expect(grant.metadata?.eventId).toBe('evt-1');
    expect(grant.creditAccount?.ownerId).toBe(viewer.ownerId);
    expect(grant.creditAccount?.balance?.availableMinor).toBe(1_000n);
    const placed = fromBinary(HoldPlacedSchema, emitted[2]!.payload);
    expect(placed.debitAccount?.balance?.availableMinor).toBe(600n);
    const posted = fromBinary(HoldPostedSchema, emitted[3]!.payload);
    expect([posted.heldAmountMinor, posted.releasedAmountMinor]).toEqual([300n, 100n]);
    const expired = fromBinary(HoldExpiredSchema, emitted[4]!.payload);
    expect(expired.releasedAmountMinor).toBe(100n);
    expect(expired.debitAccount?.balance?.availableMinor).toBe(800n);
  });

  it('given bulk settlement in two pages, then each page yields one MarketHoldsResolved keyed by the market with every touched balance', async () => {
    const db = await target.create();
    databases.push(db);
    const emitted: OutboxEvent[] = [];
    let n = 0;
    const ledger = await openLedger(db.sql, {
      onCommitted: async (_tx, effects) => {
        emitted.push(...walletEvents(effects, () => `evt-${(n += 1)}`).events);
        return Promise.resolve();
      },
    });
    const viewers = [wallet(2), wallet(3)];
    const market = escrow(2);
    await ledger.createAccounts([...viewers, market, house()]);
    await ledger.submitTransfers(
      viewers.map((v, k) =>
        command({
          transferId: `grant-${k}`,
          debitAccountId: 'house:BRL',
          creditAccountId: v.accountId,
          amountMinor: 1_000n,
        }),
      ),
    );
    await ledger.submitTransfers(
      [10n, 20n, 30n, 40n, 50n].map((amountMinor, k) =>
        command({
          transferId: `bet:${ulid(50 + k)}:stake`,
          kind: TransferKind.PENDING,
          debitAccountId: viewers[k % 2]!.accountId,
          creditAccountId: market.accountId,
          amountMinor,
          code: TransferCode.BET_STAKE,
          marketId: market.ownerId,
          betId: ulid(50 + k),
        }),
      ),
    );
    const before = emitted.length;
    const first = await ledger.resolveMarketHolds({
      marketId: market.ownerId,
      action: 'post-in-full',
      settlementId: ulid(99),
      code: TransferCode.BET_STAKE,
      afterHoldId: '',
      limit: 3,
    });
    const second = await ledger.resolveMarketHolds({
      marketId: market.ownerId,
      action: 'post-in-full',
      settlementId: ulid(99),
      code: TransferCode.BET_STAKE,
      afterHoldId: first.nextAfterHoldId,
      limit: 3,
    });
    expect(second.nextAfterHoldId).toBe('');
    const pages = emitted.slice(before);
    expect(pages.map((e) => [e.type.split('.').pop(), e.key])).toEqual([
      ['MarketHoldsResolved', market.ownerId],
      ['MarketHoldsResolved', market.ownerId],
    ]);
    const [p1, p2] = pages.map((e) => fromBinary(MarketHoldsResolvedSchema, e.payload));
    expect(p1).toMatchObject({
      part: 1,
      partCount: 1,
      marketId: market.ownerId,
      action: MarketHoldsAction.POST_IN_FULL,
      settlementId: ulid(99),
      resolvedCount: 3,
      resolvedAmountMinor: 60n,
      firstHoldId: `bet:${ulid(50)}:stake`,
      lastHoldId: `bet:${ulid(52)}:stake`,
    });
    expect(p2).toMatchObject({ resolvedCount: 2, resolvedAmountMinor: 90n });
    expect(p2!.sequence).toBeGreaterThan(p1!.sequence);
    const balances = (event: typeof p1) =>
      Object.fromEntries(
        event!.accounts.map((a) => [
          a.accountId,
          [a.ownerId, a.balance?.availableMinor, a.balance?.creditsPostedMinor],
        ]),
      );
    // After page 1: viewer 2 posted 10 + 30 (50 still held), viewer 3 posted 20 (40 held).
    expect(balances(p1)).toEqual({
      [viewers[0]!.accountId]: [viewers[0]!.ownerId, 910n, 1_000n],
      [viewers[1]!.accountId]: [viewers[1]!.ownerId, 940n, 1_000n],
      [market.accountId]: ['', 60n, 60n],
    });
    expect(balances(p2)).toEqual({
      [viewers[0]!.accountId]: [viewers[0]!.ownerId, 910n, 1_000n],
      [viewers[1]!.accountId]: [viewers[1]!.ownerId, 940n, 1_000n],
      [market.accountId]: ['', 150n, 150n],
    });
  });
});

describe('bulk-settlement page events', () => {
  it('given a page that changed more accounts than fit one event, then it is split into numbered parts listing each account once', () => {
    const accounts = Array.from({ length: MARKET_HOLDS_ACCOUNTS_PER_EVENT * 2 + 1 }, (_, i) => ({
      accountId: `wallet:${ulid(10_000 + i)}:BRL`,
      currency: 'BRL',
      balance: { debitsPending: 0n, debitsPosted: 5n, creditsPending: 0n, creditsPosted: 10n },
    }));
    let n = 0;
    const { ids, events } = walletEvents(
      [
        {
          type: 'market-holds',
          marketId: ulid(7),
          action: 'void',
          settlementId: '',
          code: TransferCode.BET_STAKE,
          resolvedCount: accounts.length,
          resolvedAmountMinor: 99n,
          expiredCount: 0,
          expiredAmountMinor: 0n,
          firstHoldId: 'h1',
          lastHoldId: 'h9',
          sequence: 42n,
          committedAtMs: 1,
          accounts,
        },
      ],
      () => `evt-${(n += 1)}`,
    );
    expect(ids).toEqual(['evt-1', 'evt-2', 'evt-3']);
    const parts = events.map((e) => fromBinary(MarketHoldsResolvedSchema, e.payload));
    expect(parts.map((p) => [p.part, p.partCount, p.accounts.length, p.resolvedCount])).toEqual([
      [1, 3, MARKET_HOLDS_ACCOUNTS_PER_EVENT, accounts.length],
      [2, 3, MARKET_HOLDS_ACCOUNTS_PER_EVENT, accounts.length],
      [3, 3, 1, accounts.length],
    ]);
    expect(parts.every((p) => p.action === MarketHoldsAction.VOID)).toBe(true);
    expect(new Set(parts.flatMap((p) => p.accounts.map((a) => a.accountId))).size).toBe(
      accounts.length,
    );
    expect(Math.max(...events.map((e) => e.payload.length))).toBeLessThan(512 * 1024);
  });
});
