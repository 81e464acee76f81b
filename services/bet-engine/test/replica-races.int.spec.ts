/**
 * The two replica races of issue 12, on real PostgreSQL with two bet-engine instances on one
 * database (PGlite has one backend: transactions never overlap there). Each race is made to
 * happen every time: a transaction of the test holds `be_bets` in SHARE mode, which lets both
 * replicas read everything a batch reads but stops them at their first write; once both wait on
 * a lock, the test lets go and they finish together.
 * - max stake per user per market: the per-user total is read under a per-(market, user) lock,
 *   so of two bets that together exceed the cap, exactly one is accepted;
 * - one idempotency key at both replicas at once: the second answers the first's bet, and the
 *   other bets of its batch are placed as if nothing happened.
 */
import { Code } from '@connectrpc/connect';
import {
  BetRejectionReason,
  BetRejectionSchema,
  BetStatus,
  type PlaceBetResponse,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import type { Sql } from '@streambet/platform/sql/types';
import { realServers } from '@streambet/testkit/env';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { describe, expect, it, vi } from 'vitest';
import { createHarness, failure, newKey, type Harness, type TestMarket } from './harness.js';

const postgres = sqlTargets().filter((t) => t.name === 'postgres');

interface Placement {
  readonly userId: string;
  readonly key: string;
  readonly stakeMinor: bigint;
}

/** Places every bet on `engine` in ONE batch (the lane is held until all of them queued). */
async function oneBatch(
  engine: Harness,
  market: TestMarket,
  placements: readonly Placement[],
): Promise<Array<PromiseSettledResult<PlaceBetResponse>>> {
  let release = (): void => {};
  const held = engine.placement.runOnLane(
    () => new Promise<void>((resolve) => (release = resolve)),
  );
  const before = engine.placement.queuedPlacements();
  const calls = Promise.allSettled(
    placements.map(async (p) =>
      engine.betEngine.placeBet(
        {
          idempotencyKey: p.key,
          marketId: market.marketId,
          outcomeId: market.outcomeIds[0]!,
          currency: 'PTS',
          stakeMinor: p.stakeMinor,
        },
        await engine.as(p.userId),
      ),
    ),
  );
  await vi.waitFor(
    () => expect(engine.placement.queuedPlacements()).toBe(before + placements.length),
    { timeout: 20_000 },
  );
  release();
  await held;
  return calls;
}

/**
 * Runs `race` while a transaction of the test holds be_bets in SHARE mode (reads pass, writes
 * wait), and lets go once `waiters` backends wait on a lock.
 */
async function atOnce<T>(sql: Sql, waiters: number, race: () => Promise<T>): Promise<T> {
  let release = (): void => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked = (): void => {};
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holder = sql.transaction(async (tx) => {
    await tx.query('LOCK TABLE be_bets IN SHARE MODE');
    locked();
    await released;
  });
  await isLocked;
  const racing = race();
  try {
    await vi.waitFor(
      async () => {
        const waiting = await sql.query<{ n: bigint }>(
          `SELECT count(*)::bigint AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        expect(Number(waiting.rows[0]?.n ?? 0)).toBeGreaterThanOrEqual(waiters);
      },
      { timeout: 20_000, interval: 5 },
    );
  } finally {
    release();
    await holder;
  }
  return racing;
}

describe.each(postgres.map((t) => [t.name, t] as const))(
  'bet-engine replica races on %s',
  (_name, target) => {
    it('two replicas cannot together pass the max stake per user per market', async () => {
      const first = await createHarness(target);
      const second = await first.restart();
      try {
        const market = await first.addMarket({ maxStakePerUserMinor: 100n });
        const [user] = await first.addUsers(1, 10_000n);
        const results = await atOnce(first.betSql, 2, () =>
          Promise.all([
            oneBatch(first, market, [{ userId: user!, key: newKey(), stakeMinor: 60n }]),
            oneBatch(second, market, [{ userId: user!, key: newKey(), stakeMinor: 60n }]),
          ]),
        );
        const settled = results.flat();
        const accepted = settled.filter((r) => r.status === 'fulfilled');
        expect(accepted).toHaveLength(1);
        const refused = settled.find((r) => r.status === 'rejected');
        const error = await failure(Promise.reject(refused?.reason as Error));
        expect(error.code).toBe(Code.FailedPrecondition);
        expect(error.error.findDetails(BetRejectionSchema)[0]?.reason).toBe(
          BetRejectionReason.USER_MARKET_LIMIT,
        );
        const stake = await first.betSql.query<{ s: bigint }>(
          `SELECT coalesce(sum(stake_minor), 0)::bigint AS s FROM be_bets
           WHERE market_id = $1 AND status IN ('PENDING', 'ACCEPTED')`,
          [market.marketId],
        );
        expect(stake.rows[0]?.s).toBe(60n);
        expect(await first.pending(`wallet:${user}:PTS`)).toBe(60n);
      } finally {
        await second.placement.drain();
        await first.dispose();
      }
    });

    it('one idempotency key at both replicas at once answers the first bet and spares the rest of the batch', async () => {
      const first = await createHarness(target);
      const second = await first.restart();
      try {
        const market = await first.addMarket({ maxStakePerUserMinor: 10_000n });
        const [user, other1, other2] = await first.addUsers(3, 10_000n);
        const key = newKey();
        const results = await atOnce(first.betSql, 2, () =>
          Promise.all([
            oneBatch(first, market, [
              { userId: user!, key, stakeMinor: 100n },
              { userId: other1!, key: newKey(), stakeMinor: 100n },
            ]),
            oneBatch(second, market, [
              { userId: user!, key, stakeMinor: 100n },
              { userId: other2!, key: newKey(), stakeMinor: 100n },
            ]),
          ]),
        );
        const failures = results
          .flat()
          .flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
        expect(failures).toEqual([]);
        const [a, b] = results.map((batch) =>
          batch.map((r) => (r.status === 'fulfilled' ? r.value.bet : undefined)),
        );
        // Both answers name the one bet stored for the key; the others were placed.
        expect(a![0]?.betId).toBeDefined();
        expect(b![0]?.betId).toBe(a![0]?.betId);
        expect([a![1]?.status, b![1]?.status]).toEqual([BetStatus.ACCEPTED, BetStatus.ACCEPTED]);
        const stored = await first.betSql.query<{ n: bigint }>(
          'SELECT count(*)::bigint AS n FROM be_bets WHERE user_id = $1',
          [user!],
        );
        expect(stored.rows[0]?.n).toBe(1n);
        expect(await first.pending(`wallet:${user}:PTS`)).toBe(100n);
        // A retry now finds it accepted, at either replica.
        const again = await second.betEngine.placeBet(
          {
            idempotencyKey: key,
            marketId: market.marketId,
            outcomeId: market.outcomeIds[0]!,
            currency: 'PTS',
            stakeMinor: 100n,
          },
          await second.as(user!),
        );
        expect([again.bet?.betId, again.bet?.status]).toEqual([a![0]?.betId, BetStatus.ACCEPTED]);
        const placedEvents = (await first.outbox(market.marketId, 'bet')).filter((e) =>
          e.type.endsWith('BetPlaced'),
        );
        expect(placedEvents).toHaveLength(3);
      } finally {
        await second.placement.drain();
        await first.dispose();
      }
    });
  },
);

describe.skipIf(realServers.postgresUrl !== '')(
  `bet-engine replica races on postgres (${POSTGRES_SKIP_REASON})`,
  () => {
    it('is skipped without TEST_DATABASE_URL', () => {});
  },
);
