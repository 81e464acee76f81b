import { fromBinary } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HoldExpiredSchema,
  HoldPlacedSchema,
  HoldPostedSchema,
  TransferCommittedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import type { OutboxEvent } from '@streambet/platform/outbox/outbox';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { TransferKind } from '../../src/domain/ledger/types.js';
import { walletEvents } from '../../src/wallet-events.js';
import { command, escrow, house, manualClock, openLedger, wallet } from './ledger-fixtures.js';

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
});
