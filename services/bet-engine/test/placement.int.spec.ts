/**
 * PlaceBet end to end against the real ledger and eligibility of the user service, per SQL
 * target: the happy path (hold, totals, BetPlaced, ListMyBets), idempotency, every rejection
 * reason (each changes nothing: no bet row, no hold), group commit (N concurrent placements = one
 * ReserveStakes call, two bet-engine commits) and insufficient funds inside a batch.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import {
  BetRejectionReason,
  BetRejectionSchema,
  BetSide,
  BetStatus,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { BetPlacedSchema } from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import { MarketLockedSchema } from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { realServers } from '@streambet/testkit/env';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createHarness,
  failure,
  newKey,
  testSettings,
  type Harness,
  type TestMarket,
} from './harness.js';

const targets = sqlTargets();

async function rejection(call: Promise<unknown>) {
  const failed = await failure(call);
  const detail = failed.error.findDetails(BetRejectionSchema)[0];
  return { code: failed.code, message: failed.message, reason: detail?.reason, detail };
}

async function betCount(h: Harness): Promise<number> {
  const result = await h.betSql.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM be_bets');
  return Number(result.rows[0]!.n);
}

describe.each(targets.map((t) => [t.name, t] as const))('PlaceBet on %s', (_name, target) => {
  let h: Harness;
  let market: TestMarket;

  beforeAll(async () => {
    h = await createHarness(target);
    market = await h.addMarket();
  }, 180_000);
  afterAll(async () => {
    await h?.dispose();
  });

  function place(userId: string, overrides: Record<string, unknown> = {}, key = newKey()) {
    return h.as(userId).then((options) =>
      h.betEngine.placeBet(
        {
          idempotencyKey: key,
          marketId: market.marketId,
          outcomeId: market.outcomeIds[0]!,
          currency: 'PTS',
          stakeMinor: 100n,
          ...overrides,
        },
        options,
      ),
    );
  }

  it('accepts a bet only with its stake held, publishes BetPlaced and lists it newest first', async () => {
    const user = await h.addUser(1_000n);
    const first = await place(user, { stakeMinor: 300n });
    expect(first.bet).toMatchObject({
      status: BetStatus.ACCEPTED,
      stakeMinor: 300n,
      heldMinor: 300n,
      matchedStakeMinor: 300n,
      outcomeTitle: 'Outcome 0',
      side: BetSide.BACK,
      kind: MarketKind.POOL,
    });
    expect(first.bet?.marketTitle).toMatch(/^Market /);
    expect(first.indicativeDecimalOdds).toBe('1.00');
    expect(await h.available(`wallet:${user}:PTS`)).toBe(700n);
    expect(await h.pending(`wallet:${user}:PTS`)).toBe(300n);
    const transfers = await h.ledger.lookupTransfers(
      { transferIds: [`bet:${first.bet!.betId}:stake`] },
      await h.service('settlement'),
    );
    expect(transfers.transfers[0]).toMatchObject({
      debitAccountId: `wallet:${user}:PTS`,
      creditAccountId: `market:${market.marketId}:escrow`,
      amountMinor: 300n,
      betId: first.bet!.betId,
      marketId: market.marketId,
    });
    expect(transfers.transfers[0]!.timeoutSeconds).toBeGreaterThan(0n);

    const other = await h.addUser(1_000n);
    const second = await place(other, { stakeMinor: 100n, outcomeId: market.outcomeIds[1]! });
    // T = 400, P_1 = 100, r = 5%: 1 + 300 × 0.95 / 100 = 3.85
    expect(second.indicativeDecimalOdds).toBe('3.85');

    const events = (await h.outbox(market.marketId, 'bet')).filter(
      (e) => e.type === BetPlacedSchema.typeName,
    );
    const placed = events.map((e) => fromBinary(BetPlacedSchema, e.payload));
    expect(placed.find((e) => e.betId === first.bet!.betId)).toMatchObject({
      userId: user,
      stakeMinor: 300n,
      heldMinor: 300n,
      holdTransferId: `bet:${first.bet!.betId}:stake`,
      channelId: market.channelId,
    });

    h.clock.advance(1000);
    const later = await place(user, { stakeMinor: 50n });
    const listed = await h.betEngine.listMyBets({ page: { pageSize: 1 } }, await h.as(user));
    expect(listed.bets.map((b) => b.betId)).toEqual([later.bet!.betId]);
    const next = await h.betEngine.listMyBets(
      { page: { pageSize: 1, pageToken: listed.page!.nextPageToken } },
      await h.as(user),
    );
    expect(next.bets.map((b) => b.betId)).toEqual([first.bet!.betId]);
    expect(next.page?.nextPageToken).toBe('');
    const others = await h.betEngine.listMyBets({}, await h.as(other));
    expect(others.bets).toHaveLength(1);
    expect((await failure(h.betEngine.listMyBets({ userId: other }, await h.as(user)))).code).toBe(
      Code.PermissionDenied,
    );
    const asAdmin = await h.betEngine.listMyBets({ userId: other }, await h.as(user, 'admin'));
    expect(asAdmin.bets).toHaveLength(1);

    const odds = await h.betEngine.getOdds({ marketId: market.marketId });
    expect(odds.odds).toMatchObject({ totalStakedMinor: 450n, bettorCount: 2n });
  });

  it('is idempotent on (caller, key): a repeat moves nothing, other content is ALREADY_EXISTS', async () => {
    const user = await h.addUser(1_000n);
    const key = newKey();
    const first = await place(user, { stakeMinor: 200n }, key);
    const again = await place(user, { stakeMinor: 200n }, key);
    expect(again.bet?.betId).toBe(first.bet?.betId);
    expect(await h.available(`wallet:${user}:PTS`)).toBe(800n);
    const conflict = await failure(place(user, { stakeMinor: 201n }, key));
    expect(conflict.code).toBe(Code.AlreadyExists);
    // Concurrent repeats in one batch resolve to one bet.
    const key2 = newKey();
    const both = await Promise.all([place(user, {}, key2), place(user, {}, key2)]);
    expect(both[0].bet?.betId).toBe(both[1].bet?.betId);
    expect(await h.available(`wallet:${user}:PTS`)).toBe(700n);
    // Another user may use the same key.
    const other = await h.addUser(1_000n);
    const theirs = await place(other, { stakeMinor: 200n }, key);
    expect(theirs.bet?.betId).not.toBe(first.bet?.betId);
  });

  it('answers a repeat with its first result even once the bet could no longer be placed', async () => {
    const closing = await h.addMarket({ bettingWindowMs: 1_000 });
    const on = { marketId: closing.marketId, outcomeId: closing.outcomeIds[0]!, stakeMinor: 100n };
    const user = await h.addUser(1_000n);
    const key = newKey();
    const first = await place(user, on, key);
    // The user cools off: a new bet is refused, the repeat still returns the first bet.
    await h.identity.setCoolOff(h.userSql, user, h.clock.now() + 3_600_000);
    expect((await rejection(place(user, on))).reason).toBe(BetRejectionReason.COOL_OFF);
    expect((await place(user, on, key)).bet?.betId).toBe(first.bet?.betId);
    // Betting closes: same, and other content under the key is still ALREADY_EXISTS.
    h.clock.advance(1_000);
    expect((await rejection(place(user, on))).reason).toBe(BetRejectionReason.BETTING_CLOSED);
    const repeat = await place(user, on, key);
    expect([repeat.bet?.betId, repeat.bet?.stakeMinor]).toEqual([first.bet?.betId, 100n]);
    expect((await failure(place(user, { ...on, stakeMinor: 101n }, key))).code).toBe(
      Code.AlreadyExists,
    );
    expect(await h.available(`wallet:${user}:PTS`)).toBe(900n);
  });

  it('rejects every invalid placement with its reason and changes nothing', async () => {
    const user = await h.addUser(1_000n);
    const before = await betCount(h);
    const wallet = `wallet:${user}:PTS`;
    const cases: Array<[() => Promise<unknown>, Code, BetRejectionReason | undefined]> = [
      [() => place(user, {}, ''), Code.InvalidArgument, BetRejectionReason.INVALID_REQUEST],
      [
        () => place(user, { stakeMinor: 0n }),
        Code.InvalidArgument,
        BetRejectionReason.INVALID_REQUEST,
      ],
      [
        () => place(user, { side: BetSide.LAY }),
        Code.InvalidArgument,
        BetRejectionReason.INVALID_REQUEST,
      ],
      [
        () => place(user, { decimalOdds: '2.00' }),
        Code.InvalidArgument,
        BetRejectionReason.INVALID_REQUEST,
      ],
      [
        () => place(user, { outcomeId: 'nope' }),
        Code.InvalidArgument,
        BetRejectionReason.UNKNOWN_OUTCOME,
      ],
      [
        () => place(user, { currency: 'BRL' }),
        Code.InvalidArgument,
        BetRejectionReason.CURRENCY_MISMATCH,
      ],
      [
        () => place(user, { stakeMinor: 9n }),
        Code.InvalidArgument,
        BetRejectionReason.STAKE_BELOW_MIN,
      ],
      [
        () => place(user, { stakeMinor: 5_001n }),
        Code.InvalidArgument,
        BetRejectionReason.STAKE_ABOVE_MAX,
      ],
      [() => place(user, { marketId: '01JUNKNOWNMARKET0000000000' }), Code.NotFound, undefined],
      [
        () => place(user, { stakeMinor: 1_001n }),
        Code.FailedPrecondition,
        BetRejectionReason.INSUFFICIENT_FUNDS,
      ],
      [() => place(market.ownerUserId), Code.PermissionDenied, BetRejectionReason.OWN_CHANNEL],
    ];
    for (const [call, code, reason] of cases) {
      const result = await rejection(call());
      expect([result.code, result.reason, result.message]).toEqual([code, reason, result.message]);
    }
    const funds = await rejection(place(user, { stakeMinor: 1_001n }));
    expect(funds.detail).toMatchObject({ availableMinor: 1_000n, currency: 'PTS' });
    const stake = await rejection(place(user, { stakeMinor: 9n }));
    expect(stake.detail).toMatchObject({ limitMinor: 10n, currency: 'PTS' });

    // Admins can resolve every market: the conflict-of-interest rule keeps them from betting.
    const admin = await h.addUser();
    const asAdmin = await rejection(
      h.betEngine.placeBet(
        {
          idempotencyKey: newKey(),
          marketId: market.marketId,
          outcomeId: market.outcomeIds[0]!,
          currency: 'PTS',
          stakeMinor: 100n,
        },
        await h.as(admin, 'admin'),
      ),
    );
    expect([asAdmin.code, asAdmin.reason]).toEqual([
      Code.PermissionDenied,
      BetRejectionReason.CONFLICT_OF_INTEREST,
    ]);
    expect(await h.pending(`wallet:${admin}:PTS`)).toBe(0n);

    const noWallet = await h.addUser(null);
    expect((await rejection(place(noWallet))).reason).toBe(BetRejectionReason.INSUFFICIENT_FUNDS);
    const unknownUser = '01JZZZZZZZZZZZZZZZZZZZZZZZ';
    expect((await rejection(place(unknownUser))).code).toBe(Code.PermissionDenied);

    const frozen = await h.addUser();
    await h.identity.setStatus(h.userSql, frozen, 'frozen', 'test');
    expect((await rejection(place(frozen))).reason).toBe(BetRejectionReason.ACCOUNT_FROZEN);
    const coolingOff = await h.addUser();
    await h.identity.setCoolOff(h.userSql, coolingOff, h.clock.now() + 3_600_000);
    const cool = await rejection(place(coolingOff));
    expect([cool.code, cool.reason, cool.detail?.untilMs]).toEqual([
      Code.PermissionDenied,
      BetRejectionReason.COOL_OFF,
      BigInt(h.clock.now() + 3_600_000),
    ]);
    const excluded = await h.addUser();
    await h.identity.setSelfExclusion(h.userSql, excluded, {
      duration: 'PERMANENT',
      startedAtMs: h.clock.now(),
      untilMs: null,
    });
    expect((await rejection(place(excluded))).reason).toBe(BetRejectionReason.SELF_EXCLUDED);

    // The per-user cap counts the user's earlier bets (cap 8,000; max per bet 5,000).
    const whale = await h.addUser(20_000n);
    await place(whale, { stakeMinor: 5_000n });
    const capped = await rejection(place(whale, { stakeMinor: 3_001n }));
    expect([capped.code, capped.reason, capped.detail?.availableMinor]).toEqual([
      Code.FailedPrecondition,
      BetRejectionReason.USER_MARKET_LIMIT,
      3_000n,
    ]);
    // … and concurrent bets of the same batch.
    const racer = await h.addUser(20_000n);
    const raced = await Promise.allSettled([
      place(racer, { stakeMinor: 5_000n }),
      place(racer, { stakeMinor: 5_000n }),
    ]);
    expect(raced.filter((r) => r.status === 'fulfilled')).toHaveLength(1);

    expect(await betCount(h)).toBe(before + 2);
    expect(await h.available(wallet)).toBe(1_000n);
    expect(await h.pending(wallet)).toBe(0n);

    const exchange = await h.addMarket({ kind: MarketKind.EXCHANGE });
    const ex = await failure(
      h.betEngine.placeBet(
        {
          idempotencyKey: newKey(),
          marketId: exchange.marketId,
          outcomeId: exchange.outcomeIds[0]!,
          currency: 'PTS',
          stakeMinor: 100n,
          side: BetSide.UNSPECIFIED,
          decimalOdds: '2.00',
        },
        await h.as(user),
      ),
    );
    // An EXCHANGE order needs a side (exchange.int.spec.ts covers EXCHANGE placement).
    expect([ex.code, ex.message]).toEqual([
      Code.InvalidArgument,
      'side is required for an EXCHANGE market: BACK or LAY',
    ]);

    const draft = await h.addMarket({ draft: true });
    expect(
      (await rejection(place(user, { marketId: draft.marketId, outcomeId: draft.outcomeIds[0]! })))
        .code,
    ).toBe(Code.NotFound);

    const closing = await h.addMarket({ bettingWindowMs: 1_000 });
    h.clock.advance(1_000);
    const closed = await rejection(
      place(user, { marketId: closing.marketId, outcomeId: closing.outcomeIds[0]! }),
    );
    expect([closed.code, closed.reason]).toEqual([
      Code.FailedPrecondition,
      BetRejectionReason.BETTING_CLOSED,
    ]);
    await h.marketEvent(MarketLockedSchema, {
      marketId: closing.marketId,
      channelId: closing.channelId,
      lockedAtMs: BigInt(h.clock.now()),
      lockEffectiveAtMs: BigInt(closing.bettingClosesAtMs),
      version: 3n,
    });
    const locked = await rejection(
      place(user, { marketId: closing.marketId, outcomeId: closing.outcomeIds[0]! }),
    );
    expect([locked.code, locked.reason]).toEqual([
      Code.FailedPrecondition,
      BetRejectionReason.MARKET_NOT_OPEN,
    ]);
    expect(await h.available(wallet)).toBe(1_000n);
  });

  it('rejects real-money bets of a minor (UNDER_AGE) through the batched eligibility check', async () => {
    const brl = await h.addMarket({ currency: 'BRL' });
    const minor = await h.addUser(null);
    await h.userSql.query("UPDATE users SET date_of_birth = '2015-01-01' WHERE id = $1", [minor]);
    const result = await rejection(
      h.as(minor).then((options) =>
        h.betEngine.placeBet(
          {
            idempotencyKey: newKey(),
            marketId: brl.marketId,
            outcomeId: brl.outcomeIds[0]!,
            currency: 'BRL',
            stakeMinor: 100n,
          },
          options,
        ),
      ),
    );
    expect([result.code, result.reason]).toEqual([
      Code.PermissionDenied,
      BetRejectionReason.UNDER_AGE,
    ]);
  });

  it('group-commits concurrent placements: one ReserveStakes call, two bet-engine commits', async () => {
    const users = await h.addUsers(40, 500n);
    const poor = await h.addUser(50n);
    await place(users[0]!, { stakeMinor: 10n }); // warm-up (escrow exists, lane idle)
    const options = await Promise.all([...users, poor].map((u) => h.as(u)));
    // Hold the lane as an in-flight batch would: every call arriving meanwhile gathers.
    let release = (): void => {};
    const held = h.placement.runOnLane(() => new Promise<void>((resolve) => (release = resolve)));
    const calls = new Map(h.userCalls);
    const betCommits = h.betCommits.count;
    const userCommits = h.userCommits.count;
    const settled = Promise.allSettled(
      [...users, poor].map((user, i) =>
        h.betEngine.placeBet(
          {
            idempotencyKey: newKey(),
            marketId: market.marketId,
            outcomeId: market.outcomeIds[i % 2]!,
            currency: 'PTS',
            stakeMinor: 100n,
          },
          options[i],
        ),
      ),
    );
    await vi.waitFor(() => expect(h.placement.queuedPlacements()).toBe(41), { timeout: 20_000 });
    release();
    await held;
    const results = await settled;
    const accepted = results.filter((r) => r.status === 'fulfilled');
    expect(accepted).toHaveLength(40);
    const refused = results[40]!;
    if (refused.status !== 'rejected') throw new Error('the poor bettor was accepted');
    expect(
      (
        await rejection(
          Promise.reject(refused.reason instanceof Error ? refused.reason : new Error()),
        )
      ).reason,
    ).toBe(BetRejectionReason.INSUFFICIENT_FUNDS);
    const callsOf = (method: string) => (h.userCalls.get(method) ?? 0) - (calls.get(method) ?? 0);
    // Eligibility and holds in one user-service call (and one transaction); no other hop.
    expect(callsOf('ReserveStakes')).toBe(1);
    expect(callsOf('SubmitTransfers')).toBe(0);
    expect(callsOf('CheckEligibility')).toBe(0);
    // bet engine: intents + finalize; user service: the reservation.
    const commits = h.betCommits.count - betCommits + (h.userCommits.count - userCommits);
    expect(commits).toBeLessThanOrEqual(4);
    expect(commits / 40).toBeLessThanOrEqual(0.1);
    expect(await h.available(`wallet:${poor}:PTS`)).toBe(50n);
    expect(await h.pending(`wallet:${poor}:PTS`)).toBe(0n);
    expect(h.placement.stats.largestBatch).toBeGreaterThanOrEqual(41);
    // The batch reported its size and the time of every step it ran (for /metrics).
    const timing = h.batches.at(-1)!;
    expect(timing.size).toBe(41);
    expect(Object.keys(timing.stepsMs)).toEqual(['intents', 'holds', 'finalize', 'odds']);
    expect(Object.values(timing.stepsMs).every((ms) => ms >= 0)).toBe(true);
    expect(timing.queueWaitMs).toBeGreaterThanOrEqual(0);
  });

  it('sheds load: refuses new bets while the queue is too old, and writes nothing for callers gone', async () => {
    const users = await h.addUsers(3, 500n);
    const options = await Promise.all(users.map((u) => h.as(u)));
    const bet = (i: number, signal?: AbortSignal) =>
      h.betEngine.placeBet(
        {
          idempotencyKey: newKey(),
          marketId: market.marketId,
          outcomeId: market.outcomeIds[0]!,
          currency: 'PTS',
          stakeMinor: 100n,
        },
        { ...options[i], ...(signal === undefined ? {} : { signal }) },
      );
    await bet(0); // warm-up: the lane is idle and the escrow exists
    let release = (): void => {};
    const held = h.placement.runOnLane(() => new Promise<void>((resolve) => (release = resolve)));
    const waiting = bet(0);
    const leaving = new AbortController();
    const gone = failure(bet(1, leaving.signal));
    await vi.waitFor(() => expect(h.placement.queuedPlacements()).toBe(2), { timeout: 20_000 });
    leaving.abort();
    // The oldest placement has waited longer than maxQueueWaitMs: a newcomer is turned away.
    h.clock.advance(testSettings.maxQueueWaitMs + 1);
    const shed = await failure(bet(2));
    expect(shed.code).toBe(Code.ResourceExhausted);
    expect(shed.message).toMatch(/at capacity.*nothing was placed/);
    expect(h.placement.stats.shed).toBe(1);
    release();
    await held;
    expect((await waiting).bet?.status).toBe(BetStatus.ACCEPTED);
    expect((await gone).code).toBe(Code.Canceled);
    expect(h.placement.stats.abandoned).toBe(1);
    // Nothing was held for the shed or the abandoned caller.
    expect(await h.available(`wallet:${users[1]}:PTS`)).toBe(500n);
    expect(await h.available(`wallet:${users[2]}:PTS`)).toBe(500n);
    expect(await h.available(`wallet:${users[0]}:PTS`)).toBe(300n);
    // Once the queue drains, bets are taken again.
    expect((await bet(2)).bet?.status).toBe(BetStatus.ACCEPTED);
  });

  it('keeps SQL commits per accepted bet at or below 0.1 with 200 concurrent clients', async () => {
    const clients = await h.addUsers(200, 10_000n);
    const load = await h.addMarket({ maxStakePerUserMinor: 100_000n });
    const options = await Promise.all(clients.map((u) => h.as(u)));
    const betCommits = h.betCommits.count;
    const userCommits = h.userCommits.count;
    const holdCalls = h.userCalls.get('ReserveStakes') ?? 0;
    const rounds = 3;
    const startedAt = performance.now();
    await Promise.all(
      clients.map(async (_, i) => {
        for (let round = 0; round < rounds; round += 1) {
          await h.betEngine.placeBet(
            {
              idempotencyKey: newKey(),
              marketId: load.marketId,
              outcomeId: load.outcomeIds[(i + round) % 2]!,
              currency: 'PTS',
              stakeMinor: 100n,
            },
            options[i],
          );
        }
      }),
    );
    const elapsedMs = performance.now() - startedAt;
    const accepted = clients.length * rounds;
    const commits = h.betCommits.count - betCommits + (h.userCommits.count - userCommits);
    const ledgerCalls = (h.userCalls.get('ReserveStakes') ?? 0) - holdCalls;
    console.info(
      `[${target.name}] ${accepted} bets from 200 concurrent clients: ${commits} SQL commits ` +
        `(${(commits / accepted).toFixed(3)} per bet), ${ledgerCalls} ReserveStakes calls, ` +
        `${Math.round(accepted / (elapsedMs / 1000))} bets/s`,
    );
    expect(commits / accepted).toBeLessThanOrEqual(0.1);
    const odds = await h.betEngine.getOdds({ marketId: load.marketId });
    expect(odds.odds).toMatchObject({
      totalStakedMinor: 100n * BigInt(accepted),
      bettorCount: 200n,
    });
  });
});

describe.each(targets.filter((t) => t.name === 'postgres').map((t) => [t.name, t] as const))(
  'two bet-engine replicas on %s',
  (_name, target) => {
    it('place bets on one market at once without deadlocking each other (every bet accepted)', async () => {
      const first = await createHarness(target);
      const second = await first.restart();
      try {
        const market = await first.addMarket({ maxStakePerUserMinor: 100_000n });
        const users = await first.addUsers(100, 10_000n);
        const options = await Promise.all(users.map((u) => first.as(u)));
        const rounds = 8;
        const results = await Promise.allSettled(
          users.map(async (_, i) => {
            const engine = i % 2 === 0 ? first : second;
            for (let round = 0; round < rounds; round += 1) {
              const placed = await engine.betEngine.placeBet(
                {
                  idempotencyKey: newKey(),
                  marketId: market.marketId,
                  outcomeId: market.outcomeIds[(i + round) % 2]!,
                  currency: 'PTS',
                  stakeMinor: 10n,
                },
                options[i],
              );
              expect(placed.bet?.status).toBe(BetStatus.ACCEPTED);
            }
          }),
        );
        const failures = results.flatMap((r) =>
          r.status === 'rejected' ? [String((r.reason as Error).message)] : [],
        );
        expect(failures).toEqual([]);
        // SQL, not GetOdds: each test replica has its own in-process odds cache (Redis in a cluster)
        const totals = await first.betSql.query<{ staked: bigint }>(
          'SELECT sum(staked_minor)::bigint AS staked FROM be_outcome_totals WHERE market_id = $1',
          [market.marketId],
        );
        expect(totals.rows[0]?.staked).toBe(10n * BigInt(users.length * rounds));
      } finally {
        await second.placement.drain();
        await first.dispose();
      }
    });
  },
);

describe.skipIf(realServers.postgresUrl !== '')(
  `PlaceBet on postgres (${POSTGRES_SKIP_REASON})`,
  () => {
    it('is skipped without TEST_DATABASE_URL', () => {});
  },
);
