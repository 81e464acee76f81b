/**
 * Live totals and odds: the per-outcome and per-user totals every accepted or voided bet moves, the
 * market's totals as stored (the source of truth of its odds), and OddsChanged.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { MarketKind } from '../domain/bet.js';
import { oddsSnapshot, type MarketTotals, type OddsSnapshot } from '../domain/odds.js';
import { encodeOddsChanged, type BetRecord } from '../proto-codec.js';
import type { BetEngineStoreDeps } from './index.js';
import { loadMarket } from './markets.js';
import { appendEvents, oddsTopic } from './events.js';

/**
 * Adds (`sign` 1) or removes (`sign` -1) bets from the live totals of their markets (T, P_o,
 * bet counts, bettor count) and bumps each touched market's odds version.
 */
export async function applyLiveDelta(
  tx: SqlExecutor,
  bets: readonly BetRecord[],
  sign: 1n | -1n,
  nowMs: number,
): Promise<Set<string>> {
  if (bets.length === 0) return new Set();
  const perOutcome = new Map<
    string,
    { marketId: string; outcomeId: string; stake: bigint; n: bigint }
  >();
  const perUser = new Map<string, { marketId: string; userId: string; stake: bigint; n: bigint }>();
  for (const bet of bets) {
    const o = perOutcome.get(`${bet.marketId} ${bet.outcomeId}`) ?? {
      marketId: bet.marketId,
      outcomeId: bet.outcomeId,
      stake: 0n,
      n: 0n,
    };
    o.stake += bet.stakeMinor * sign;
    o.n += sign;
    perOutcome.set(`${bet.marketId} ${bet.outcomeId}`, o);
    const u = perUser.get(`${bet.marketId} ${bet.userId}`) ?? {
      marketId: bet.marketId,
      userId: bet.userId,
      stake: 0n,
      n: 0n,
    };
    u.stake += bet.stakeMinor * sign;
    u.n += sign;
    perUser.set(`${bet.marketId} ${bet.userId}`, u);
  }
  const outcomes = [...perOutcome.values()];
  await tx.query(
    `UPDATE be_outcome_totals t SET staked_minor = t.staked_minor + d.stake, bet_count = t.bet_count + d.n
     FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS d(market_id, outcome_id, stake, n)
     WHERE t.market_id = d.market_id AND t.outcome_id = d.outcome_id`,
    [
      outcomes.map((o) => o.marketId),
      outcomes.map((o) => o.outcomeId),
      outcomes.map((o) => o.stake.toString()),
      outcomes.map((o) => o.n.toString()),
    ],
  );
  const users = [...perUser.values()];
  const userRows = await tx.query<{ market_id: string; user_id: string; live_bet_count: bigint }>(
    `INSERT INTO be_user_market AS u (market_id, user_id, live_stake_minor, live_bet_count)
     SELECT d.market_id, d.user_id, d.stake, d.n
     FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS d(market_id, user_id, stake, n)
     ON CONFLICT (market_id, user_id) DO UPDATE
       SET live_stake_minor = u.live_stake_minor + EXCLUDED.live_stake_minor,
           live_bet_count = u.live_bet_count + EXCLUDED.live_bet_count
     RETURNING u.market_id, u.user_id, u.live_bet_count`,
    [
      users.map((u) => u.marketId),
      users.map((u) => u.userId),
      users.map((u) => u.stake.toString()),
      users.map((u) => u.n.toString()),
    ],
  );
  const bettorDelta = new Map<string, bigint>();
  const stakeDelta = new Map<string, bigint>();
  for (const o of outcomes)
    stakeDelta.set(o.marketId, (stakeDelta.get(o.marketId) ?? 0n) + o.stake);
  for (const row of userRows.rows) {
    const after = BigInt(row.live_bet_count);
    const before = after - (perUser.get(`${row.market_id} ${row.user_id}`)?.n ?? 0n);
    const change = before === 0n && after > 0n ? 1n : before > 0n && after === 0n ? -1n : 0n;
    bettorDelta.set(row.market_id, (bettorDelta.get(row.market_id) ?? 0n) + change);
  }
  const marketIds = [...stakeDelta.keys()].sort();
  await tx.query(
    `UPDATE be_markets m SET total_staked_minor = m.total_staked_minor + d.stake,
       bettor_count = m.bettor_count + d.bettors, odds_version = m.odds_version + 1, updated_at_ms = $4
     FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS d(market_id, stake, bettors)
     WHERE m.market_id = d.market_id`,
    [
      marketIds,
      marketIds.map((id) => (stakeDelta.get(id) ?? 0n).toString()),
      marketIds.map((id) => (bettorDelta.get(id) ?? 0n).toString()),
      BigInt(nowMs),
    ],
  );
  return new Set(marketIds);
}

/**
 * Adds (`sign` 1) or removes (`sign` -1) bets from the stakes awaiting their market's resolution
 * (`be_user_outcome_stakes`, migration 0020), one row per (market, user, outcome), in one
 * statement. Called where a bet becomes ACCEPTED (+1) and where a held bet stops being held:
 * a retroactive void (-1). A void with a canceled market keeps the stake held (its refund is the
 * resolution's); a void after resolution rebuilds the market's rows ({@link rebuildHeldStakes}).
 * Rows are written in key order so two transactions never wait on each other in a cycle.
 */
export async function applyHeldDelta(
  tx: SqlExecutor,
  bets: readonly BetRecord[],
  sign: 1n | -1n,
): Promise<void> {
  if (bets.length === 0) return;
  const rows = new Map<
    string,
    { marketId: string; userId: string; outcomeId: string; stake: bigint; n: bigint }
  >();
  for (const bet of bets) {
    const key = `${bet.marketId}\u0000${bet.userId}\u0000${bet.outcomeId}`;
    const row = rows.get(key) ?? {
      marketId: bet.marketId,
      userId: bet.userId,
      outcomeId: bet.outcomeId,
      stake: 0n,
      n: 0n,
    };
    row.stake += bet.stakeMinor * sign;
    row.n += sign;
    rows.set(key, row);
  }
  const ordered = [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const values = ordered.map(([, row]) => row);
  await tx.query(
    `INSERT INTO be_user_outcome_stakes AS a (market_id, user_id, outcome_id, bet_count, staked_minor)
     SELECT d.market_id, d.user_id, d.outcome_id, d.n, d.stake
     FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
       AS d(market_id, user_id, outcome_id, n, stake)
     ON CONFLICT (market_id, user_id, outcome_id) DO UPDATE
       SET bet_count = a.bet_count + EXCLUDED.bet_count,
           staked_minor = a.staked_minor + EXCLUDED.staked_minor`,
    [
      values.map((r) => r.marketId),
      values.map((r) => r.userId),
      values.map((r) => r.outcomeId),
      values.map((r) => r.n.toString()),
      values.map((r) => r.stake.toString()),
    ],
  );
}

/**
 * Recomputes one market's held stakes from its bets in `tx` (the caller holds the market row's
 * lock): for the rare change that moves many bets of every status at once (a void after
 * resolution), where a delta would need each bet's stored status before the change.
 */
export async function rebuildHeldStakes(tx: SqlExecutor, marketId: string): Promise<void> {
  await tx.query('DELETE FROM be_user_outcome_stakes WHERE market_id = $1', [marketId]);
  await tx.query(
    `INSERT INTO be_user_outcome_stakes (market_id, user_id, outcome_id, bet_count, staked_minor)
     SELECT market_id, user_id, outcome_id, count(*), sum(stake_minor)::bigint
     FROM be_bets
     WHERE market_id = $1 AND (status = 'ACCEPTED'
       OR (status = 'VOIDED' AND void_reason = 'MARKET_CANCELED' AND payout_minor = 0))
     GROUP BY market_id, user_id, outcome_id`,
    [marketId],
  );
}

/** Appends OddsChanged with the snapshot of `totals` to the outbox in `tx`. */
export async function appendOddsChanged(
  tx: SqlExecutor,
  channelId: string,
  totals: MarketTotals,
  nowMs: number,
): Promise<OddsSnapshot> {
  const odds = oddsSnapshot(totals, nowMs);
  await appendEvents(tx, nowMs, [
    {
      topic: oddsTopic,
      key: totals.marketId,
      actorUserId: '',
      encode: (meta) => encodeOddsChanged(odds, channelId, meta),
    },
  ]);
  return odds;
}

/** Creates the odds reads and OddsChanged publication. */
export function createOddsStore(deps: BetEngineStoreDeps) {
  const { sql } = deps;
  const odds = {
    /** The market's totals as stored (the source of truth of its odds), or undefined. */
    async marketTotals(marketId: string, db: SqlExecutor = sql): Promise<MarketTotals | undefined> {
      // One statement: outside a transaction it is one autocommit, and it runs after every batch.
      const result = await db.query<{
        kind: string;
        currency: string;
        commission_bps: number;
        bettor_count: bigint;
        odds_version: bigint;
        outcomes: Array<[string, string, string]>;
      }>(
        `SELECT m.kind, m.currency, m.commission_bps, m.bettor_count, m.odds_version,
           coalesce((SELECT json_agg(json_build_array(o.outcome_id, o.staked_minor::text, o.bet_count::text)
                       ORDER BY o.position)
                     FROM be_outcome_totals o WHERE o.market_id = m.market_id), '[]'::json) AS outcomes
         FROM be_markets m WHERE m.market_id = $1`,
        [marketId],
      );
      const row = result.rows[0];
      if (row === undefined) return undefined;
      const outcomes: Array<[string, string, string]> =
        typeof row.outcomes === 'string'
          ? (JSON.parse(row.outcomes) as Array<[string, string, string]>)
          : row.outcomes;
      return {
        marketId,
        kind: row.kind as MarketKind,
        currency: row.currency,
        commissionBps: Number(row.commission_bps),
        bettorCount: BigInt(row.bettor_count),
        version: BigInt(row.odds_version),
        outcomes: outcomes.map(([outcomeId, staked, count]) => ({
          outcomeId,
          stakedMinor: BigInt(staked),
          betCount: BigInt(count),
        })),
      };
    },

    /** Appends OddsChanged with the market's current snapshot (one small transaction). */
    async publishOdds(marketId: string, nowMs: number): Promise<OddsSnapshot | undefined> {
      const snapshot = await sql.transaction(async (tx) => {
        const market = await loadMarket(tx, marketId, ' FOR SHARE');
        const totals = await odds.marketTotals(marketId, tx);
        if (market === undefined || totals === undefined) return undefined;
        return appendOddsChanged(tx, market.channelId, totals, nowMs);
      });
      if (snapshot !== undefined) deps.onCommitted?.();
      return snapshot;
    },
  };
  return odds;
}
