/**
 * ReserveStakes (internal.proto): eligibility and the stake holds of a batch in one user-service
 * transaction, idempotent by hold id, and exact under concurrency — two bet-engine replicas
 * reserving for one user at once cannot together pass a loss limit (on real PostgreSQL, both
 * reservations are held at the same point by a lock the test takes, then released together).
 */
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import {
  ReservationOutcome,
  type UserInternalService,
} from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { TransferResultCode } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  AccountKind,
  TransferCode,
  TransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { IneligibilityReason } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import type { Sql } from '@streambet/platform/sql/types';
import { manualClock } from '@streambet/testkit/clock';
import { nextUlid } from '@streambet/testkit/ids';
import { asService, type CallOptions } from '@streambet/testkit/rpc';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserTestService, type UserTestService } from '../../src/testing.js';

interface Reservation {
  userId: string;
  holdTransferId: string;
  marketId: string;
  betId: string;
  stake: { amountMinor: bigint; currency: string };
  timeoutSeconds: bigint;
}

for (const target of sqlTargets()) {
  describe(`ReserveStakes on ${target.name}`, () => {
    let db: SqlTestDatabase;
    /** Two user-service instances on one database: two replicas. */
    let one: UserTestService;
    let two: UserTestService;
    let engine: CallOptions;
    let payment: CallOptions;
    const marketId = nextUlid();
    const clock = manualClock();

    beforeAll(async () => {
      db = await target.create();
      const tokens = await createTestTokens();
      one = await createUserTestService({ sql: db.sql, clock, tokens });
      two = await createUserTestService({ sql: db.sql, clock, tokens });
      engine = await asService(tokens, 'bet-engine');
      payment = await asService(tokens, 'payment');
      const created = await one.ledger.createAccounts(
        {
          accounts: [
            { accountId: 'house:BRL', kind: AccountKind.HOUSE, currency: 'BRL' },
            {
              accountId: `market:${marketId}:escrow`,
              kind: AccountKind.MARKET_ESCROW,
              currency: 'BRL',
              ownerId: marketId,
            },
          ],
        },
        engine,
      );
      expect(created.results.every((r) => r.account !== undefined)).toBe(true);
    });
    afterAll(async () => {
      await db?.dispose();
    });

    /** An adult viewer with a BRL wallet holding `fundedMinor` (null: no wallet). */
    async function addUser(fundedMinor: bigint | null = 10_000n): Promise<string> {
      const userId = nextUlid();
      await one.insertUser(userId);
      if (fundedMinor === null) return userId;
      const wallet = `wallet:${userId}:BRL`;
      await one.ledger.createAccounts(
        {
          accounts: [
            { accountId: wallet, kind: AccountKind.USER_WALLET, currency: 'BRL', ownerId: userId },
          ],
        },
        engine,
      );
      const granted = await one.ledger.submitTransfers(
        {
          commands: [
            {
              transferId: `fund:${userId}`,
              kind: TransferKind.SINGLE_PHASE,
              debitAccountId: 'house:BRL',
              creditAccountId: wallet,
              amountMinor: fundedMinor,
              currency: 'BRL',
              code: TransferCode.ADJUSTMENT,
              memo: 'test funds',
            },
          ],
        },
        engine,
      );
      expect(granted.results[0]?.code).toBe(TransferResultCode.OK);
      return userId;
    }

    async function setDailyLossLimit(sql: Sql, userId: string, amountMinor: bigint) {
      await sql.query(
        `INSERT INTO rg_limits (user_id, kind, period, amount_minor) VALUES ($1, 'loss', 'daily', $2)`,
        [userId, amountMinor],
      );
    }

    function reservation(userId: string, amountMinor: bigint): Reservation {
      const betId = nextUlid();
      return {
        userId,
        holdTransferId: `bet:${betId}:stake`,
        marketId,
        betId,
        stake: { amountMinor, currency: 'BRL' },
        timeoutSeconds: 3600n,
      };
    }

    async function pendingOf(userId: string): Promise<bigint> {
      const balances = await one.ledger.getAccountBalances(
        { accountIds: [`wallet:${userId}:BRL`] },
        engine,
      );
      return balances.balances[0]?.debitsPendingMinor ?? -1n;
    }

    function reserve(client: Client<typeof UserInternalService>, reservations: Reservation[]) {
      return client.reserveStakes({ reservations }, engine);
    }

    it('holds each eligible stake and answers every refusal with its reason, in order', async () => {
      const rich = await addUser(10_000n);
      const poor = await addUser(50n);
      const walletless = await addUser(null);
      const excluded = await addUser(10_000n);
      await db.sql.query(
        `UPDATE users SET self_exclusion_duration = 'SIX_MONTHS', self_exclusion_started_at_ms = $2,
           self_exclusion_until_ms = $3 WHERE id = $1`,
        [excluded, BigInt(clock.now()), BigInt(clock.now() + 86_400_000)],
      );
      const limited = await addUser(10_000n);
      await setDailyLossLimit(db.sql, limited, 300n);
      const answer = await reserve(one.internal, [
        reservation(rich, 400n),
        reservation(poor, 100n),
        reservation(walletless, 100n),
        reservation(nextUlid(), 100n),
        reservation(excluded, 100n),
        reservation(limited, 200n),
        // the batch's earlier bet counts against the same user's loss limit
        reservation(limited, 200n),
      ]);
      expect(answer.results.map((r) => ReservationOutcome[r.outcome])).toEqual([
        'RESERVED',
        'INSUFFICIENT_FUNDS',
        'INSUFFICIENT_FUNDS',
        'USER_NOT_FOUND',
        'INELIGIBLE',
        'RESERVED',
        'INELIGIBLE',
      ]);
      expect(answer.results[0]?.holdCode).toBe(TransferResultCode.OK);
      expect(answer.results[1]).toMatchObject({ availableMinor: 50n });
      expect(answer.results[1]?.detail).toMatch(/does not cover a stake of 100/);
      expect(answer.results[4]?.eligibility?.reasons[0]?.reason).toBe(
        IneligibilityReason.SELF_EXCLUDED,
      );
      expect(answer.results[6]?.eligibility?.reasons[0]?.reason).toBe(
        IneligibilityReason.LOSS_LIMIT_EXCEEDED,
      );
      expect(await pendingOf(rich)).toBe(400n);
      expect(await pendingOf(poor)).toBe(0n);
      expect(await pendingOf(excluded)).toBe(0n);
      expect(await pendingOf(limited)).toBe(200n);
    });

    it('answers a retried batch with the first result and holds once', async () => {
      const userId = await addUser(10_000n);
      await setDailyLossLimit(db.sql, userId, 500n);
      const batch = [reservation(userId, 300n), reservation(userId, 200n)];
      const first = await reserve(one.internal, batch);
      expect(first.results.map((r) => r.holdCode)).toEqual([
        TransferResultCode.OK,
        TransferResultCode.OK,
      ]);
      // The retry comes to the other replica; the limit is used up, by these very holds.
      const again = await reserve(two.internal, batch);
      expect(again.results.map((r) => [r.outcome, r.holdCode])).toEqual([
        [ReservationOutcome.RESERVED, TransferResultCode.ALREADY_EXISTS_SAME],
        [ReservationOutcome.RESERVED, TransferResultCode.ALREADY_EXISTS_SAME],
      ]);
      expect(await pendingOf(userId)).toBe(500n);
      const more = await reserve(one.internal, [reservation(userId, 1n)]);
      expect(more.results[0]?.outcome).toBe(ReservationOutcome.INELIGIBLE);
      // Same hold id, other content: refused, nothing moves.
      const changed = await reserve(one.internal, [
        { ...batch[0]!, stake: { amountMinor: 1n, currency: 'BRL' } },
      ]);
      expect(changed.results[0]).toMatchObject({
        outcome: ReservationOutcome.HOLD_REFUSED,
        holdCode: TransferResultCode.ID_REUSED_DIFFERENT_CONTENT,
      });
      expect(await pendingOf(userId)).toBe(500n);
    });

    it('lets two replicas reserving for one user at once pass the loss limit only once', async () => {
      const userId = await addUser(10_000n);
      await setDailyLossLimit(db.sql, userId, 150n);
      const race = () =>
        Promise.all([
          reserve(one.internal, [reservation(userId, 100n)]),
          reserve(two.internal, [reservation(userId, 100n)]),
        ]);
      let answers;
      if (target.name === 'postgres') {
        // Both reservations run until they need the market's escrow row, which the test holds:
        // without the per-user lock both would have read the limit's facts by then.
        answers = await holdingEscrow(db.sql, `market:${marketId}:escrow`, race);
      } else {
        answers = await race();
      }
      const outcomes = answers.map((a) => a.results[0]?.outcome).sort();
      expect(outcomes).toEqual([ReservationOutcome.RESERVED, ReservationOutcome.INELIGIBLE]);
      expect(await pendingOf(userId)).toBe(100n);
    });

    it('validates the request and lets only the bet engine call it', async () => {
      const userId = await addUser(10_000n);
      const bad = reservation(userId, 0n);
      const error = await reserve(one.internal, [bad, { ...bad, userId: 'nope' }]).catch(
        (e: unknown) => ConnectError.from(e),
      );
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.InvalidArgument);
      expect((error as ConnectError).message).toMatch(/reservations\[0\]\.stake\.amount_minor/);
      const denied = await one.internal
        .reserveStakes({ reservations: [reservation(userId, 1n)] }, payment)
        .catch((e: unknown) => ConnectError.from(e));
      expect((denied as ConnectError).code).toBe(Code.PermissionDenied);
    });
  });
}

/**
 * Runs `race` while another transaction holds `accountId`'s ledger row, and lets go once two
 * backends wait for a lock (both calls got as far as they can), so they proceed together.
 */
async function holdingEscrow<T>(sql: Sql, accountId: string, race: () => Promise<T>): Promise<T> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const holder = sql.transaction(async (tx) => {
    await tx.query('SELECT 1 FROM ledger_accounts WHERE id = $1 FOR UPDATE', [accountId]);
    locked();
    await released;
  });
  await isLocked;
  const racing = race();
  for (let tries = 0; ; tries += 1) {
    const waiting = await sql.query<{ n: bigint }>(
      `SELECT count(*)::bigint AS n FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (BigInt(waiting.rows[0]?.n ?? 0n) >= 2n) break;
    if (tries > 2000) throw new Error('the two reservations never both waited');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  release();
  await holder;
  return racing;
}
