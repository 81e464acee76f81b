/**
 * Placement: bets by idempotency key, the intents (PENDING bets) written before their holds go to
 * the ledger, finishing them once the ledger answered (finalizeHolds), and the PENDING bets the
 * reconciliation finishes after a crash.
 *
 * Money safety rests on two rules kept here:
 * - a bet row exists (status PENDING, the "intent") before its hold is submitted to the ledger,
 *   so a crash can never leave a hold without a bet;
 * - every status change is a conditional update (`WHERE status = …`), so two finishers (a batch
 *   and a reconciliation, two replicas) apply it once, and the totals, odds version and events
 *   move only with the rows that actually changed, in the same transaction.
 */
import {
  decideBatch,
  holdTransferId,
  samePlacement,
  type Ineligibility,
  type PlacementRequest,
  type Rejection,
} from '../domain/bet.js';
import type { MarketTotals } from '../domain/odds.js';
import { encodeBetPlaced, type BetRecord, type ClientContext } from '../proto-codec.js';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { BetEngineStoreDeps } from './index.js';
import { loadMarkets, marketFacts } from './markets.js';
import { betFromRow, type createBetQueries } from './bets.js';
import { applyHeldDelta, applyLiveDelta, appendOddsChanged, type createOddsStore } from './odds.js';
import { appendEvents, appendVoidedEvents, betTopic } from './events.js';
import { voidBetsIn } from './voids.js';

/** One placement queued for the group commit (shape, market and idempotency pre-checked). */
export interface IntentRequest extends PlacementRequest {
  readonly betId: string;
  readonly idempotencyKey: string;
  readonly client: ClientContext;
}

/** What writing one intent came to. */
export type IntentOutcome =
  | { readonly kind: 'intent'; readonly bet: BetRecord }
  | { readonly kind: 'existing'; readonly bet: BetRecord }
  | { readonly kind: 'conflict'; readonly bet: BetRecord }
  | { readonly kind: 'rejected'; readonly rejection: Rejection };

/** What the user service said about one bet's stake reservation (eligibility and hold). */
export type HoldOutcome =
  /** Committed (now or earlier with the same content). */
  | { readonly betId: string; readonly result: 'held' }
  /** The wallet lacks funds or does not exist; `availableMinor` what it had, when known. */
  | { readonly betId: string; readonly result: 'no-funds'; readonly availableMinor?: bigint }
  /** The user may not bet this now (limits, exclusion, freeze, …); nothing was held. */
  | {
      readonly betId: string;
      readonly result: 'ineligible';
      readonly reasons: readonly Ineligibility[];
    }
  /** Any other refusal: the hold will never exist. */
  | { readonly betId: string; readonly result: 'failed' };

/** Result of {@link BetEngineStore.finalizeHolds}. */
export interface FinalizeResult {
  /** Each bet after the call; absent when its intent was withdrawn (no funds, a caller waiting). */
  readonly bets: ReadonlyMap<string, BetRecord>;
  /** Markets whose totals changed (odds to refresh and publish). */
  readonly changedMarkets: ReadonlySet<string>;
  /** Markets where a bet placed after the fixed lock instant was accepted: run the late void. */
  readonly lateVoidMarkets: ReadonlySet<string>;
  /** Totals of each changed market as this transaction left them (the odds cache's input). */
  readonly totals: ReadonlyMap<string, MarketTotals>;
  /** Changed markets whose OddsChanged went into the outbox with this transaction. */
  readonly oddsPublished: ReadonlySet<string>;
}

/**
 * Advisory lock per (market, user) of a batch, for the rest of its transaction: the keys are
 * sorted by the caller and the volatile lock function runs after the ORDER BY, so two batches
 * take their common locks in the same order. 0x62657473 ("bets") keeps these keys apart from any
 * other advisory lock of the database.
 */
const LOCK_MARKET_USERS = `SELECT pg_advisory_xact_lock(hashtextextended(k, 1650816115))
  FROM unnest($1::text[]) AS k ORDER BY k`;

/**
 * After an insert that skipped some intents (their key was stored by another transaction since
 * the batch read the keys): each skipped placement answers with the stored bet — `existing` for
 * the same content, `conflict` otherwise — and every other outcome stands.
 */
async function answerKeysTakenMeanwhile(
  tx: SqlExecutor,
  outcomes: readonly IntentOutcome[],
  insertedIds: ReadonlySet<string>,
): Promise<IntentOutcome[]> {
  const skipped = outcomes.flatMap((o) =>
    o.kind === 'intent' && !insertedIds.has(o.bet.betId) ? [o.bet] : [],
  );
  const stored = await tx.query(
    `SELECT b.* FROM be_bets_resolved b
       JOIN unnest($1::text[], $2::text[]) AS k(user_id, idempotency_key)
         ON b.user_id = k.user_id AND b.idempotency_key = k.idempotency_key`,
    [skipped.map((b) => b.userId), skipped.map((b) => b.idempotencyKey)],
  );
  const byKey = new Map(
    stored.rows.map((row) => [
      `${row.user_id as string} ${row.idempotency_key as string}`,
      betFromRow(row),
    ]),
  );
  const skippedIds = new Set(skipped.map((b) => b.betId));
  // A repeat of a skipped key later in the batch answered with the skipped bet: it too gets
  // the stored one.
  return outcomes.map((outcome): IntentOutcome => {
    if (outcome.kind === 'rejected' || !skippedIds.has(outcome.bet.betId)) return outcome;
    const bet = byKey.get(`${outcome.bet.userId} ${outcome.bet.idempotencyKey}`);
    if (bet === undefined)
      throw new Error(`bet key of ${outcome.bet.betId} neither inserted nor found`);
    return { kind: samePlacement(bet, outcome.bet) ? 'existing' : 'conflict', bet };
  });
}

/** Creates the placement path; reads bets and totals through the other parts. */
export function createPlacementStore(
  deps: BetEngineStoreDeps,
  parts: {
    readonly bets: ReturnType<typeof createBetQueries>;
    readonly odds: ReturnType<typeof createOddsStore>;
  },
) {
  const { sql } = deps;
  const { bets: betQueries, odds } = parts;
  return {
    /**
     * Bets by (user, idempotency key), keyed `${userId} ${key}`: one query for many placements.
     * Through `be_bets_resolved`: a repeat after the market's resolution answers WON / LOST /
     * REFUNDED with the payout, as every other read does.
     */
    async findBetsByKeys(
      keys: ReadonlyArray<{ readonly userId: string; readonly idempotencyKey: string }>,
    ): Promise<Map<string, BetRecord>> {
      if (keys.length === 0) return new Map();
      const result = await sql.query(
        `SELECT b.* FROM be_bets_resolved b
           JOIN unnest($1::text[], $2::text[]) AS k(user_id, idempotency_key)
             ON b.user_id = k.user_id AND b.idempotency_key = k.idempotency_key`,
        [keys.map((k) => k.userId), keys.map((k) => k.idempotencyKey)],
      );
      return new Map(
        result.rows.map((row) => [
          `${row.user_id as string} ${row.idempotency_key as string}`,
          betFromRow(row),
        ]),
      );
    },

    /** The bet the user placed with `idempotencyKey`, if any. */
    async findBetByKey(userId: string, idempotencyKey: string): Promise<BetRecord | undefined> {
      const result = await sql.query(
        'SELECT * FROM be_bets_resolved WHERE user_id = $1 AND idempotency_key = $2',
        [userId, idempotencyKey],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : betFromRow(row);
    },

    /**
     * Step 1 of the group commit, in ONE transaction for the whole batch: reads the markets (row
     * locks), the bets already stored for the keys and each user's stake at risk, lets the domain
     * decide the batch (`decideBatch`: state, lock instant, window, limits, the per-user cap
     * including earlier requests of this batch, idempotency) and writes the new bets as PENDING
     * intents with one statement. Results come back in request order.
     *
     * Exact across replicas: after the market rows, the transaction takes an advisory lock per
     * (market, user) of the batch (one statement, sorted), so two replicas placing for one user on
     * one market serialize there and the later one reads the earlier one's bets — its stake
     * against the per-user cap, its idempotency key as used. The insert skips a key another
     * transaction stored meanwhile (`ON CONFLICT DO NOTHING`, e.g. the same key on another
     * market at another replica): that placement answers with the stored bet (or conflicts) and
     * the rest of the batch is written as decided.
     */
    async insertIntents(
      requests: readonly IntentRequest[],
      nowMs: number,
      holdTimeoutSeconds: number,
    ): Promise<IntentOutcome[]> {
      return sql.transaction(async (tx) => {
        const markets = await loadMarkets(
          tx,
          requests.map((r) => r.marketId),
          ' FOR SHARE',
        );
        await tx.query(LOCK_MARKET_USERS, [
          [...new Set(requests.map((r) => `${r.marketId} ${r.userId}`))].sort(),
        ]);
        const existing = await tx.query(
          `SELECT b.* FROM be_bets_resolved b
           JOIN unnest($1::text[], $2::text[]) AS k(user_id, idempotency_key)
             ON b.user_id = k.user_id AND b.idempotency_key = k.idempotency_key`,
          [requests.map((r) => r.userId), requests.map((r) => r.idempotencyKey)],
        );
        const betsByKey = new Map(
          existing.rows.map((row) => [
            `${row.user_id as string} ${row.idempotency_key as string}`,
            betFromRow(row),
          ]),
        );
        const totals = await tx.query<{ market_id: string; user_id: string; stake: bigint }>(
          `SELECT b.market_id, b.user_id, sum(b.stake_minor)::bigint AS stake FROM be_bets b
           JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS k(market_id, user_id)
             ON b.market_id = k.market_id AND b.user_id = k.user_id
           WHERE b.status IN ('PENDING', 'ACCEPTED')
           GROUP BY b.market_id, b.user_id`,
          [requests.map((r) => r.marketId), requests.map((r) => r.userId)],
        );
        const stakeMinorByMarketUser = new Map(
          totals.rows.map((row) => [`${row.market_id} ${row.user_id}`, BigInt(row.stake)]),
        );
        const outcomes: IntentOutcome[] = decideBatch(
          requests,
          { markets, betsByKey, stakeMinorByMarketUser },
          nowMs,
          (request): BetRecord => ({
            betId: request.betId,
            userId: request.userId,
            idempotencyKey: request.idempotencyKey,
            marketId: request.marketId,
            outcomeId: request.outcomeId,
            currency: request.currency,
            stakeMinor: request.stakeMinor,
            status: 'PENDING',
            voidReason: undefined,
            holdTransferId: holdTransferId(request.betId),
            holdTimeoutSeconds,
            heldMinor: 0n,
            voidedStakeMinor: 0n,
            payoutMinor: 0n,
            netProfitMinor: 0n,
            placedAtMs: nowMs,
            updatedAtMs: nowMs,
            settledAtMs: 0,
            client: request.client,
          }),
        );
        const fresh = outcomes.flatMap((outcome) =>
          outcome.kind === 'intent' ? [outcome.bet] : [],
        );
        if (fresh.length > 0) {
          const inserted = await tx.query<{ bet_id: string }>(
            `INSERT INTO be_bets (bet_id, user_id, idempotency_key, market_id, outcome_id, currency, stake_minor,
               status, hold_transfer_id, hold_timeout_seconds, placed_at_ms, updated_at_ms, client)
             SELECT d.bet_id, d.user_id, d.idempotency_key, d.market_id, d.outcome_id, d.currency, d.stake,
               'PENDING', d.hold_id, $8, $9, $9, d.client
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
               $10::text[], $11::jsonb[]) AS d(bet_id, user_id, idempotency_key, market_id, outcome_id, currency,
               stake, hold_id, client)
             ON CONFLICT (user_id, idempotency_key) DO NOTHING
             RETURNING bet_id`,
            [
              fresh.map((b) => b.betId),
              fresh.map((b) => b.userId),
              fresh.map((b) => b.idempotencyKey),
              fresh.map((b) => b.marketId),
              fresh.map((b) => b.outcomeId),
              fresh.map((b) => b.currency),
              fresh.map((b) => b.stakeMinor.toString()),
              BigInt(holdTimeoutSeconds),
              BigInt(nowMs),
              fresh.map((b) => b.holdTransferId),
              fresh.map((b) => JSON.stringify(b.client)),
            ],
          );
          if (inserted.rowCount < fresh.length) {
            return answerKeysTakenMeanwhile(
              tx,
              outcomes,
              new Set(inserted.rows.map((r) => r.bet_id)),
            );
          }
        }
        return outcomes;
      });
    },

    /**
     * Step 3 of the group commit (and of the reconciliation), in ONE transaction: PENDING bets
     * whose hold is confirmed become ACCEPTED (totals, odds version, BetPlaced); on a canceled
     * market they are voided at once (MARKET_CANCELED, settlement releases the hold). A hold refused
     * for lack of funds withdraws the intent when a caller is waiting (`withdrawNoFunds`: nothing
     * was placed, a retry re-evaluates) and otherwise voids it (HOLD_FAILED), like any other
     * refusal. Rows no longer PENDING are left alone (someone else finished them).
     */
    async finalizeHolds(
      outcomes: readonly HoldOutcome[],
      nowMs: number,
      options: {
        readonly withdrawNoFunds: boolean;
        /**
         * Asked once per changed market: true appends its OddsChanged to this same transaction
         * (the odds conflation allows a publication now), saving a transaction of its own.
         */
        readonly publishOddsNow?: (marketId: string) => boolean;
      },
    ): Promise<FinalizeResult> {
      const ids = outcomes.map((o) => o.betId);
      const held = outcomes.filter((o) => o.result === 'held').map((o) => o.betId);
      const refused = (o: HoldOutcome) => o.result === 'no-funds' || o.result === 'ineligible';
      const failed = outcomes
        .filter((o) => o.result === 'failed' || (refused(o) && !options.withdrawNoFunds))
        .map((o) => o.betId);
      const withdrawn = outcomes
        .filter((o) => refused(o) && options.withdrawNoFunds)
        .map((o) => o.betId);
      const result = await sql.transaction(async (tx) => {
        const marketIds = await tx.query<{ market_id: string }>(
          'SELECT DISTINCT market_id FROM be_bets WHERE bet_id = ANY($1::text[])',
          [ids],
        );
        // FOR UPDATE, not FOR SHARE: the transaction updates the market row (totals, odds
        // version) further down, and two finalizes of one market each holding a share lock and
        // each upgrading it deadlock (batches in flight together, or two bet-engine replicas).
        const markets = await loadMarkets(
          tx,
          marketIds.rows.map((r) => r.market_id),
          ' FOR UPDATE',
        );
        const accepted = (
          await tx.query(
            `UPDATE be_bets SET status = 'ACCEPTED', held_minor = stake_minor, updated_at_ms = $2
             WHERE bet_id = ANY($1::text[]) AND status = 'PENDING' RETURNING *`,
            [held, BigInt(nowMs)],
          )
        ).rows
          .map(betFromRow)
          .sort((a, b) => (a.betId < b.betId ? -1 : 1));
        if (withdrawn.length > 0) {
          await tx.query(
            `DELETE FROM be_bets WHERE bet_id = ANY($1::text[]) AND status = 'PENDING'`,
            [withdrawn],
          );
        }
        // Most batches have every hold confirmed: no UPDATE that cannot match a row then.
        const holdFailed =
          failed.length === 0
            ? []
            : await voidBetsIn(tx, `bet_id = ANY($1::text[]) AND status = 'PENDING'`, [failed], {
                reason: 'HOLD_FAILED',
                releasedByEngine: true,
                lockEffectiveAtMs: 0,
                nowMs,
                stakeReturned: false,
              });
        const changed = await applyLiveDelta(tx, accepted, 1n, nowMs);
        await applyHeldDelta(tx, accepted, 1n);
        await appendEvents(
          tx,
          nowMs,
          accepted.map((bet) => ({
            topic: betTopic,
            key: bet.marketId,
            actorUserId: bet.userId,
            encode: (meta) => encodeBetPlaced(bet, marketFacts(markets.get(bet.marketId)!), meta),
          })),
        );
        await appendVoidedEvents(
          tx,
          holdFailed.map((bet) => ({ bet, previousStatus: 'PENDING' })),
          markets,
          { reason: 'HOLD_FAILED', releasedByEngine: false, lockEffectiveAtMs: 0, nowMs },
        );
        const canceledIds = accepted
          .filter((bet) => markets.get(bet.marketId)?.state === 'CANCELED')
          .map((bet) => bet.betId);
        if (canceledIds.length > 0) {
          const canceled = await voidBetsIn(
            tx,
            `bet_id = ANY($1::text[]) AND status = 'ACCEPTED'`,
            [canceledIds],
            {
              reason: 'MARKET_CANCELED',
              releasedByEngine: false,
              lockEffectiveAtMs: 0,
              nowMs,
              stakeReturned: false,
            },
          );
          await applyLiveDelta(tx, canceled, -1n, nowMs);
          await appendVoidedEvents(
            tx,
            canceled.map((bet) => ({ bet, previousStatus: 'ACCEPTED' })),
            markets,
            { reason: 'MARKET_CANCELED', releasedByEngine: false, lockEffectiveAtMs: 0, nowMs },
          );
        }
        const lateVoid = new Set<string>();
        for (const bet of accepted) {
          const market = markets.get(bet.marketId);
          if (
            market?.lockEffectiveAtMs !== undefined &&
            market.state !== 'CANCELED' &&
            bet.placedAtMs > market.lockEffectiveAtMs
          ) {
            lateVoid.add(bet.marketId);
          }
        }
        if (lateVoid.size > 0) {
          await tx.query(
            'UPDATE be_markets SET late_void_pending = true WHERE market_id = ANY($1::text[])',
            [[...lateVoid]],
          );
        }
        const totals = new Map<string, MarketTotals>();
        const oddsPublished = new Set<string>();
        for (const marketId of changed) {
          const current = await odds.marketTotals(marketId, tx);
          if (current === undefined) continue;
          totals.set(marketId, current);
          const market = markets.get(marketId);
          if (market === undefined || options.publishOddsNow?.(marketId) !== true) continue;
          await appendOddsChanged(tx, market.channelId, current, nowMs);
          oddsPublished.add(marketId);
        }
        const bets = await betQueries.getBets(ids, tx);
        return { bets, changedMarkets: changed, lateVoidMarkets: lateVoid, totals, oddsPublished };
      });
      if (result.changedMarkets.size > 0) deps.onCommitted?.();
      return result;
    },

    /** PENDING bets placed at or before `placedAtOrBeforeMs` (optionally of one market), oldest first. */
    async pendingBets(
      placedAtOrBeforeMs: number,
      marketId: string | undefined,
      limit: number,
    ): Promise<BetRecord[]> {
      const result = await sql.query(
        `SELECT * FROM be_bets WHERE status = 'PENDING' AND placed_at_ms <= $1
           AND ($2::text IS NULL OR market_id = $2) ORDER BY placed_at_ms, bet_id LIMIT $3`,
        [BigInt(placedAtOrBeforeMs), marketId ?? null, limit],
      );
      return result.rows.map(betFromRow);
    },

    /** True while any bet of the market waits for its hold to be confirmed. */
    async hasPendingBets(marketId: string): Promise<boolean> {
      const result = await sql.query(
        `SELECT 1 FROM be_bets WHERE market_id = $1 AND status = 'PENDING' LIMIT 1`,
        [marketId],
      );
      return result.rowCount > 0;
    },
  };
}

/** True when a repeat of a placement carries the same content as the stored bet. */
export { samePlacement } from '../domain/bet.js';
