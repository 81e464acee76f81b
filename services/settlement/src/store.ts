/**
 * The settlement service's storage: market terms, one settlement run per market (status, phase,
 * cursors, lease, figures) and the payout rows, in SQL. Every change that others must hear about
 * appends its settlement.* events to the outbox in the same transaction (SettlementStarted with
 * the claim of an attempt; SettlementCompleted or MarketRefunded plus every payout row in PayoutsMade pages with the
 * final state; SettlementReversed plus every PayoutReversed with the reversal).
 *
 * A run's lease is fenced: each claim takes the next lease_token, and every write an attempt makes
 * afterwards (terms, cursors and lease renewals, the plan, the phase, the final state with its
 * events, a failure) names its {@link RunLease} and happens only while the row still carries that
 * token. Once a successor has claimed the run, the old attempt's writes change nothing and throw
 * {@link LeaseLostError}.
 */
import { ConcurrencyError } from '@streambet/platform/errors/domain-errors';
import { appendToOutbox, type OutboxEvent } from '@streambet/platform/outbox/outbox';
import { newEventId } from '@streambet/platform/outbox/event-id';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql, SqlExecutor, SqlValue } from '@streambet/platform/sql/types';
import type { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { RefundReason, SettlementPhase, SettlementStatus } from './domain/settlement.js';
import {
  encodeCompleted,
  encodePayoutsMade,
  encodePayoutReversed,
  encodeRefunded,
  encodeReversed,
  encodeStarted,
  payoutKindNumber,
  refundReasonFromNumber,
  refundReasonNumber,
  statusFromNumber,
  statusNumber,
  type EncodedEvent,
  type EventMeta,
  type PayoutKindName,
  type PayoutRecord,
  type SettlementFigures,
  type SettlementRecord,
} from './proto-codec.js';
import {
  listPayouts,
  payoutsOf,
  PAYOUT_COLUMNS,
  PAYOUTS_WITH_RUN,
  toPayout,
  type PayoutQuery,
} from './payout-rows.js';

/** Topic of every event the settlement service publishes. */
const settlementTopic = 'settlement';

/** A market's terms as MarketCreated or GetMarketForSettlement give them. */
export interface MarketTerms {
  readonly marketId: string;
  readonly channelId: string;
  readonly kind: MarketKind;
  readonly currency: string;
  readonly outcomeIds: readonly string[];
  readonly commissionBps: number;
  readonly streamerShareBps: number;
  readonly streamerUserId: string;
}

/** A resolved or canceled market to settle. */
export interface NewRun {
  readonly marketId: string;
  readonly settlementId: string;
  readonly channelId: string;
  /** UNSPECIFIED when not known yet (a cancel of a market whose creation was not seen). */
  readonly kind: MarketKind;
  readonly currency: string;
  readonly canceled: boolean;
  readonly winningOutcomeId: string;
  readonly commissionBps: number;
  readonly streamerShareBps: number;
  readonly streamerUserId: string;
  readonly marketEventAtMs: number;
}

/** A user's planned row, written when the amounts are known (before anything is paid). */
export interface PlannedPayout {
  readonly userId: string;
  readonly kind: PayoutKindName;
  readonly stakeMinor: bigint;
  readonly payoutMinor: bigint;
  readonly netMinor: bigint;
  readonly transferId: string;
}

/**
 * What an attempt holds after claiming a run: the fencing token its claim took. Every write of the
 * attempt passes it; the store refuses the write once another claim took a newer token.
 */
export interface RunLease {
  readonly marketId: string;
  readonly token: number;
}

/**
 * A write of an attempt whose lease was taken over (the run's lease_token is no longer the
 * attempt's): nothing was written, and the attempt must stop without writing anything else.
 */
export class LeaseLostError extends ConcurrencyError {
  constructor(
    readonly lease: RunLease,
    what: string,
  ) {
    super(
      `the settlement of market ${lease.marketId} was taken over by another runner (lease token ${lease.token} is stale): ${what} refused`,
    );
  }
}

/** Result of {@link SettlementStore.claim}. */
export type ClaimResult =
  | {
      readonly claimed: true;
      readonly record: SettlementRecord;
      readonly lease: RunLease;
      /** The run was RUNNING under an expired lease: a runner died or stalled, this one took over. */
      readonly takeover: boolean;
    }
  | {
      readonly claimed: false;
      /** Undefined when the market has no settlement. */
      readonly record: SettlementRecord | undefined;
      /** 'final': nothing left to do; 'leased': another runner holds it. */
      readonly reason: 'final' | 'leased' | 'missing';
    };

export type { PayoutQuery } from './payout-rows.js';

/** Filters of ListSettlements. */
export interface SettlementQuery {
  readonly statuses: readonly SettlementStatus[];
  readonly channelId?: string;
  readonly limit: number;
  readonly after?: { readonly marketEventAtMs: number; readonly marketId: string };
}

/** Dependencies of {@link createSettlementStore}. */
export interface SettlementStoreDeps {
  readonly sql: Sql;
  readonly clock: Clock;
  /** Wakes the outbox relay after a commit that appended events. */
  readonly onCommitted?: () => void;
}

const COLUMNS = `market_id, settlement_id, channel_id, kind, currency, canceled, winning_outcome_id,
  outcome_ids, commission_bps, streamer_share_bps, streamer_user_id, status, phase, holds_cursor,
  payouts_cursor, refund_reason, total_staked_minor, winning_staked_minor, losing_staked_minor,
  commission_minor, streamer_share_minor, rake_minor, distributable_minor, breakage_minor,
  payout_total_minor, payout_count, winner_count, bet_count, market_event_at_ms, due_at_ms,
  leased_until_ms, lease_token, attempt_count, started_at_ms, completed_at_ms, reversed_at_ms, reversal_reason,
  reversed_by_user_id, last_error, market_resolved, reversal_round`;

type Row = Record<string, unknown>;

const big = (value: unknown): bigint => BigInt(value as bigint | number | string);
const num = (value: unknown): number => Number(value);

function toRecord(row: Row): SettlementRecord {
  const figures: SettlementFigures = {
    totalStakedMinor: big(row.total_staked_minor),
    winningStakedMinor: big(row.winning_staked_minor),
    losingStakedMinor: big(row.losing_staked_minor),
    commissionMinor: big(row.commission_minor),
    streamerShareMinor: big(row.streamer_share_minor),
    rakeMinor: big(row.rake_minor),
    distributableMinor: big(row.distributable_minor),
    breakageMinor: big(row.breakage_minor),
    payoutTotalMinor: big(row.payout_total_minor),
    payoutCount: big(row.payout_count),
    winnerCount: big(row.winner_count),
    betCount: big(row.bet_count),
  };
  return {
    marketId: row.market_id as string,
    settlementId: row.settlement_id as string,
    channelId: row.channel_id as string,
    kind: num(row.kind),
    currency: row.currency as string,
    canceled: row.canceled === true,
    winningOutcomeId: row.winning_outcome_id as string,
    outcomeIds: (row.outcome_ids as string[] | null) ?? null,
    commissionBps: num(row.commission_bps),
    streamerShareBps: num(row.streamer_share_bps),
    streamerUserId: row.streamer_user_id as string,
    status: statusFromNumber(num(row.status)),
    phase: row.phase as SettlementPhase,
    holdsCursor: row.holds_cursor as string,
    payoutsCursor: row.payouts_cursor as string,
    marketResolved: row.market_resolved === true,
    reversalRound: num(row.reversal_round),
    refundReason: refundReasonFromNumber(num(row.refund_reason)),
    figures,
    marketEventAtMs: num(row.market_event_at_ms),
    dueAtMs: num(row.due_at_ms),
    leasedUntilMs: num(row.leased_until_ms),
    leaseToken: num(row.lease_token),
    attemptCount: num(row.attempt_count),
    startedAtMs: num(row.started_at_ms),
    completedAtMs: num(row.completed_at_ms),
    reversedAtMs: num(row.reversed_at_ms),
    reversalReason: row.reversal_reason as string,
    reversedByUserId: row.reversed_by_user_id as string,
    lastError: row.last_error as string,
  };
}

const RUNNABLE = [statusNumber('PENDING'), statusNumber('RUNNING'), statusNumber('FAILED')];

/** Throws {@link LeaseLostError} unless the locked row still carries the lease's token. */
function requireLease(
  row: SettlementRecord | undefined,
  lease: RunLease,
  what: string,
): asserts row is SettlementRecord {
  if (row === undefined || row.leaseToken !== lease.token) throw new LeaseLostError(lease, what);
}

/** Events per outbox INSERT when a change appends one per payout row. */
const APPEND_CHUNK = 5000;

/**
 * Payout rows per PayoutsMade event (issue 12): a market of 100,000 bettors is 50 outbox rows
 * instead of 100,000, each well under a megabyte; the size MarketPayoutsCredited pages use.
 */
export const PAYOUTS_PER_EVENT = 2000;

/** The outbox event of an encoded settlement event of `marketId`. */
function toOutboxEvent(marketId: string): (event: EncodedEvent) => OutboxEvent {
  return (event) => ({
    topic: settlementTopic,
    key: marketId,
    type: event.type,
    payload: event.payload,
  });
}

/** Whether the market's stored rows are `rows` by count and sums (the check of an early write). */
async function rowsMatch(
  tx: SqlExecutor,
  marketId: string,
  rows: readonly PlannedPayout[],
): Promise<boolean> {
  let stake = 0n;
  let payout = 0n;
  let net = 0n;
  for (const row of rows) {
    stake += row.stakeMinor;
    payout += row.payoutMinor;
    net += row.netMinor;
  }
  const result = await tx.query<Row>(
    `SELECT count(*) AS n, coalesce(sum(stake_minor), 0) AS stake,
       coalesce(sum(payout_minor), 0) AS payout, coalesce(sum(net_minor), 0) AS net
     FROM settlement_payouts WHERE market_id = $1`,
    [marketId],
  );
  const row = result.rows[0]!;
  return (
    num(row.n) === rows.length &&
    big(row.stake) === stake &&
    big(row.payout) === payout &&
    big(row.net) === net
  );
}

/** Planned rows per INSERT statement. */
const PLAN_CHUNK = 10_000;

/**
 * Inserts planned rows (a row already there is kept), {@link PLAN_CHUNK} per statement. With `fence`,
 * each statement writes only while the run is in HOLDS under that lease, and a statement that finds
 * otherwise throws {@link LeaseLostError}.
 */
async function insertPayoutRows(
  tx: SqlExecutor,
  run: { readonly marketId: string; readonly channelId: string; readonly currency: string },
  rows: readonly PlannedPayout[],
  fence?: RunLease,
): Promise<void> {
  for (let start = 0; start < rows.length; start += PLAN_CHUNK) {
    const part = rows.slice(start, start + PLAN_CHUNK);
    const params: SqlValue[] = [
      run.marketId,
      run.channelId,
      run.currency,
      part.map((r) => r.userId),
      part.map((r) => payoutKindNumber(r.kind)),
      part.map((r) => r.stakeMinor),
      part.map((r) => r.payoutMinor),
      part.map((r) => r.netMinor),
      part.map((r) => r.transferId),
    ] as SqlValue[];
    const insert = `INSERT INTO settlement_payouts (market_id, channel_id, currency, user_id, kind,
         stake_minor, payout_minor, net_minor, transfer_id)
       SELECT $1, $2, $3, u, k, s, p, n, t FROM unnest($4::text[], $5::smallint[],
         $6::bigint[], $7::bigint[], $8::bigint[], $9::text[]) AS x(u, k, s, p, n, t)`;
    if (fence === undefined) {
      await tx.query(`${insert} ON CONFLICT DO NOTHING`, params);
      continue;
    }
    // One statement: the fence is checked with the insert, and reported by the row it returns.
    const result = await tx.query<Row>(
      `WITH live AS (
         SELECT 1 FROM settlements WHERE market_id = $1 AND lease_token = $10 AND phase = 'HOLDS'
       ), ins AS (
         ${insert} WHERE EXISTS (SELECT 1 FROM live) ON CONFLICT DO NOTHING
       )
       SELECT count(*) AS live FROM live`,
      [...params, fence.token],
    );
    if (num(result.rows[0]?.live) === 0)
      throw new LeaseLostError(fence, 'writing the planned rows');
  }
}

/** The settlement service's storage (see the file comment). */
export type SettlementStore = ReturnType<typeof createSettlementStore>;

/** Builds the store over the service's database. */
export function createSettlementStore(deps: SettlementStoreDeps) {
  const { sql, clock } = deps;

  /** Appends events built with fresh ids (metadata.event_id = the envelope id) to the outbox. */
  async function append(
    tx: SqlExecutor,
    marketId: string,
    build: (meta: () => EventMeta) => EncodedEvent[],
    actorUserId?: string,
  ): Promise<void> {
    const nowMs = clock.now();
    const ids: string[] = [];
    const events = build(() => {
      const eventId = newEventId();
      ids.push(eventId);
      return { eventId, occurredAtMs: nowMs, marketId, actorUserId };
    });
    let next = 0;
    await appendToOutbox(tx, events.map(toOutboxEvent(marketId)), {
      clock: () => nowMs,
      newId: () => ids[next++]!,
    });
  }

  /**
   * Appends `head` and then one event per row, like {@link append}, in chunks of
   * {@link APPEND_CHUNK} (one INSERT each): the next chunk is encoded while the database inserts
   * the one before, and each insert starts only after the previous one finished, so `seq` keeps
   * the order head, rows[0], rows[1], …
   */
  async function appendPerRow<T>(
    tx: SqlExecutor,
    marketId: string,
    head: (meta: EventMeta) => EncodedEvent,
    rows: readonly T[],
    encodeRow: (row: T, meta: EventMeta) => EncodedEvent,
    actorUserId?: string,
  ): Promise<void> {
    const nowMs = clock.now();
    const outboxEvent = toOutboxEvent(marketId);
    const total = rows.length + 1;
    let inserting: Promise<unknown> = Promise.resolve();
    try {
      for (let start = 0; start < total; start += APPEND_CHUNK) {
        const end = Math.min(start + APPEND_CHUNK, total);
        const ids = new Array<string>(end - start);
        const events = new Array<OutboxEvent>(end - start);
        for (let i = start; i < end; i++) {
          const meta: EventMeta = {
            eventId: newEventId(),
            occurredAtMs: nowMs,
            marketId,
            actorUserId,
          };
          ids[i - start] = meta.eventId;
          events[i - start] = outboxEvent(i === 0 ? head(meta) : encodeRow(rows[i - 1]!, meta));
        }
        await inserting;
        let next = 0;
        const insert = appendToOutbox(tx, events, {
          clock: () => nowMs,
          newId: () => ids[next++]!,
        });
        // Awaited below (next chunk or the end); meanwhile a failure must not go unhandled.
        insert.catch(() => undefined);
        inserting = insert;
      }
      await inserting;
    } catch (error) {
      // Let a statement still running finish before the transaction rolls back.
      await inserting.catch(() => undefined);
      throw error;
    }
  }

  async function lockRow(tx: SqlExecutor, marketId: string): Promise<SettlementRecord | undefined> {
    const result = await tx.query<Row>(
      `SELECT ${COLUMNS} FROM settlements WHERE market_id = $1 FOR UPDATE`,
      [marketId],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toRecord(row);
  }

  return {
    sql,

    /** Keeps a market's terms from MarketCreated (first one wins; terms never change). */
    async recordMarketTerms(tx: SqlExecutor, terms: MarketTerms): Promise<void> {
      await tx.query(
        `INSERT INTO settlement_markets (market_id, channel_id, kind, currency, outcome_ids,
           commission_bps, streamer_share_bps, streamer_user_id)
         VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8) ON CONFLICT (market_id) DO NOTHING`,
        [
          terms.marketId,
          terms.channelId,
          terms.kind,
          terms.currency,
          [...terms.outcomeIds],
          terms.commissionBps,
          terms.streamerShareBps,
          terms.streamerUserId,
        ],
      );
    },

    /** The terms MarketCreated gave for a market, if it was seen. */
    async marketTerms(tx: SqlExecutor, marketId: string): Promise<MarketTerms | undefined> {
      const result = await tx.query<Row>('SELECT * FROM settlement_markets WHERE market_id = $1', [
        marketId,
      ]);
      const row = result.rows[0];
      if (row === undefined) return undefined;
      return {
        marketId,
        channelId: row.channel_id as string,
        kind: num(row.kind) as MarketKind,
        currency: row.currency as string,
        outcomeIds: row.outcome_ids as string[],
        commissionBps: num(row.commission_bps),
        streamerShareBps: num(row.streamer_share_bps),
        streamerUserId: row.streamer_user_id as string,
      };
    },

    /**
     * Records the run of a resolved or canceled market, due now; a second record for the same
     * market (the event delivered again, or resolved then voided) changes nothing. True if new.
     */
    async recordRun(
      tx: SqlExecutor,
      run: NewRun,
      outcomeIds: readonly string[] | null,
    ): Promise<boolean> {
      const nowMs = clock.now();
      const result = await tx.query(
        `INSERT INTO settlements (market_id, settlement_id, channel_id, kind, currency, canceled,
           winning_outcome_id, outcome_ids, commission_bps, streamer_share_bps, streamer_user_id,
           status, market_event_at_ms, due_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[], $9, $10, $11, $12, $13, $14)
         ON CONFLICT (market_id) DO NOTHING`,
        [
          run.marketId,
          run.settlementId,
          run.channelId,
          run.kind,
          run.currency,
          run.canceled,
          run.winningOutcomeId,
          outcomeIds === null ? null : [...outcomeIds],
          run.commissionBps,
          run.streamerShareBps,
          run.streamerUserId,
          statusNumber('PENDING'),
          run.marketEventAtMs,
          nowMs,
        ],
      );
      return result.rowCount > 0;
    },

    /** One market's settlement. */
    async get(marketId: string): Promise<SettlementRecord | undefined> {
      const result = await sql.query<Row>(
        `SELECT ${COLUMNS} FROM settlements WHERE market_id = $1`,
        [marketId],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : toRecord(row);
    },

    /** Which of `marketIds` have a settlement run (in any status). */
    async marketsWithRuns(marketIds: readonly string[]): Promise<Set<string>> {
      if (marketIds.length === 0) return new Set();
      const result = await sql.query<{ market_id: string }>(
        'SELECT market_id FROM settlements WHERE market_id = ANY($1::text[])',
        [[...marketIds]],
      );
      return new Set(result.rows.map((row) => row.market_id));
    },

    /** Markets whose run is due (PENDING, RUNNING with an expired lease, or FAILED past backoff). */
    async dueMarketIds(limit: number): Promise<string[]> {
      const nowMs = clock.now();
      const result = await sql.query<{ market_id: string }>(
        `SELECT market_id FROM settlements
         WHERE status = ANY($1::smallint[]) AND due_at_ms <= $2 AND leased_until_ms <= $2
         ORDER BY due_at_ms, market_id LIMIT $3`,
        [RUNNABLE, nowMs, limit],
      );
      return result.rows.map((row) => row.market_id);
    },

    /**
     * Starts an attempt: if the run is not final and nobody holds its lease, marks it RUNNING,
     * counts the attempt, takes the lease until now + leaseMs with the next fencing token and
     * appends SettlementStarted. A RUNNING run whose lease expired (its runner died or stalled) is
     * taken over the same way; the old runner's token is stale from then on. `force` (an admin
     * retry) ignores the backoff, never a live lease.
     */
    async claim(marketId: string, leaseMs: number, force: boolean): Promise<ClaimResult> {
      const nowMs = clock.now();
      const outcome = await sql.transaction(async (tx) => {
        const record = await lockRow(tx, marketId);
        if (record === undefined) return { claimed: false, record, reason: 'missing' } as const;
        if (!RUNNABLE.includes(statusNumber(record.status))) {
          return { claimed: false, record, reason: 'final' } as const;
        }
        if (record.leasedUntilMs > nowMs || (!force && record.dueAtMs > nowMs)) {
          return { claimed: false, record, reason: 'leased' } as const;
        }
        const updated = await tx.query<Row>(
          `UPDATE settlements SET status = $2, attempt_count = attempt_count + 1,
             started_at_ms = CASE WHEN started_at_ms = 0 THEN $3 ELSE started_at_ms END,
             leased_until_ms = $4, lease_token = lease_token + 1
           WHERE market_id = $1 RETURNING ${COLUMNS}`,
          [marketId, statusNumber('RUNNING'), nowMs, nowMs + leaseMs],
        );
        const claimed = toRecord(updated.rows[0]!);
        await append(tx, marketId, (meta) => [encodeStarted(claimed, meta())]);
        return {
          claimed: true,
          record: claimed,
          lease: { marketId, token: claimed.leaseToken },
          takeover: record.status === 'RUNNING',
        } as const;
      });
      if (outcome.claimed) deps.onCommitted?.();
      return outcome;
    },

    /** Fills in terms fetched from the pool (a run recorded without them); fenced. */
    async saveTerms(lease: RunLease, terms: MarketTerms): Promise<void> {
      const result = await sql.query(
        `UPDATE settlements SET kind = $2, outcome_ids = $3::text[], commission_bps = $4,
           streamer_share_bps = $5, streamer_user_id = $6, channel_id = $7
         WHERE market_id = $1 AND lease_token = $8`,
        [
          lease.marketId,
          terms.kind,
          [...terms.outcomeIds],
          terms.commissionBps,
          terms.streamerShareBps,
          terms.streamerUserId,
          terms.channelId,
          lease.token,
        ],
      );
      if (result.rowCount === 0) throw new LeaseLostError(lease, 'saving the terms');
    },

    /**
     * Extends the attempt's lease to now + leaseMs (the heartbeat, and a long step's renewal);
     * fenced, and only while the run is RUNNING (a finished or failed run is not leased again).
     */
    async renewLease(lease: RunLease, leaseMs: number): Promise<void> {
      const result = await sql.query(
        `UPDATE settlements SET leased_until_ms = $3
         WHERE market_id = $1 AND lease_token = $2 AND status = $4`,
        [lease.marketId, lease.token, clock.now() + leaseMs, statusNumber('RUNNING')],
      );
      if (result.rowCount === 0) throw new LeaseLostError(lease, 'renewing the lease');
    },

    /**
     * Saves progress of the HOLDS phase (the ledger's last hold resolved) and renews the lease;
     * fenced.
     */
    async saveHoldsCursor(lease: RunLease, lastHoldId: string, leaseMs: number): Promise<void> {
      const result = await sql.query(
        `UPDATE settlements SET holds_cursor = $3, leased_until_ms = $4
         WHERE market_id = $1 AND lease_token = $2`,
        [lease.marketId, lease.token, lastHoldId, clock.now() + leaseMs],
      );
      if (result.rowCount === 0) throw new LeaseLostError(lease, 'saving the holds cursor');
    },

    /** Saves progress of the PAYOUTS phase (the last user paid) and renews the lease; fenced. */
    async savePayoutsCursor(lease: RunLease, lastUserId: string, leaseMs: number): Promise<void> {
      const result = await sql.query(
        `UPDATE settlements SET payouts_cursor = $3, leased_until_ms = $4
         WHERE market_id = $1 AND lease_token = $2`,
        [lease.marketId, lease.token, lastUserId, clock.now() + leaseMs],
      );
      if (result.rowCount === 0) throw new LeaseLostError(lease, 'saving the payouts cursor');
    },

    /**
     * Writes a run's planned rows ahead of {@link savePlan}, while the ledger resolves the holds
     * (the rows are the bet engine's recorded resolution). Not in one transaction: rows an earlier
     * attempt left are deleted, then statements of up to {@link PLAN_CHUNK} rows insert these, each
     * only while the run is in HOLDS under this lease (fenced). Nothing reads the rows of a run in
     * HOLDS, and savePlan checks them (count and sums) or replaces them before the phase moves.
     */
    async insertRows(lease: RunLease, payouts: readonly PlannedPayout[]): Promise<void> {
      const head = await sql.query<Row>(
        `SELECT channel_id, currency FROM settlements
         WHERE market_id = $1 AND lease_token = $2 AND phase = 'HOLDS'`,
        [lease.marketId, lease.token],
      );
      const run = head.rows[0];
      if (run === undefined) throw new LeaseLostError(lease, 'writing the planned rows');
      const target = {
        marketId: lease.marketId,
        channelId: run.channel_id as string,
        currency: run.currency as string,
      };
      // Rows of an earlier attempt go: the run's rows are exactly this attempt's plan.
      await sql.query(
        `DELETE FROM settlement_payouts WHERE market_id = $1 AND EXISTS (
           SELECT 1 FROM settlements WHERE market_id = $1 AND lease_token = $2 AND phase = 'HOLDS')`,
        [lease.marketId, lease.token],
      );
      await insertPayoutRows(sql, target, payouts, lease);
    },

    /**
     * Ends the HOLDS phase: stores the figures and every user's planned row in one transaction and
     * moves to `next` (PAYOUTS, or FINISH for a refund). Once the phase moved the call changes
     * nothing (a crash after this commit cannot plan twice). Fenced.
     */
    async savePlan(
      lease: RunLease,
      plan: {
        readonly figures: SettlementFigures;
        readonly refundReason: RefundReason | null;
        readonly payouts: readonly PlannedPayout[];
        readonly next: SettlementPhase;
        /** The holds were resolved by one ledger resolution record (ResolveMarket). */
        readonly marketResolved: boolean;
        /**
         * Every row of `payouts` was written by {@link insertRows} during this attempt (they are
         * not written again); otherwise the market's rows are replaced by `payouts`.
         */
        readonly rowsWritten?: boolean;
      },
    ): Promise<void> {
      const { marketId } = lease;
      await sql.transaction(async (tx) => {
        const record = await lockRow(tx, marketId);
        requireLease(record, lease, 'saving the plan');
        if (record.phase !== 'HOLDS') return;
        if (!plan.rowsWritten || !(await rowsMatch(tx, marketId, plan.payouts))) {
          // Rows written early (insertRows) are for the ResolveMarket path, or were changed by
          // another attempt since; nothing of the run is paid yet (phase HOLDS): replace them.
          await tx.query('DELETE FROM settlement_payouts WHERE market_id = $1', [marketId]);
          await insertPayoutRows(tx, record, plan.payouts);
        }
        const f = plan.figures;
        await tx.query(
          `UPDATE settlements SET phase = $2, refund_reason = $3, total_staked_minor = $4,
             winning_staked_minor = $5, losing_staked_minor = $6, commission_minor = $7,
             streamer_share_minor = $8, rake_minor = $9, distributable_minor = $10,
             breakage_minor = $11, payout_total_minor = $12, payout_count = $13,
             winner_count = $14, bet_count = $15, market_resolved = $16
           WHERE market_id = $1`,
          [
            marketId,
            plan.next,
            refundReasonNumber(plan.refundReason),
            f.totalStakedMinor,
            f.winningStakedMinor,
            f.losingStakedMinor,
            f.commissionMinor,
            f.streamerShareMinor,
            f.rakeMinor,
            f.distributableMinor,
            f.breakageMinor,
            f.payoutTotalMinor,
            f.payoutCount,
            f.winnerCount,
            f.betCount,
            plan.marketResolved,
          ],
        );
      });
    },

    /** Planned SETTLEMENT rows with a payout > 0 after `afterUserId`, by user id. */
    async payoutPage(
      marketId: string,
      afterUserId: string,
      limit: number,
    ): Promise<PayoutRecord[]> {
      const result = await sql.query<Row>(
        `SELECT ${PAYOUT_COLUMNS} FROM ${PAYOUTS_WITH_RUN}
         WHERE p.market_id = $1 AND p.kind = $2 AND p.payout_minor > 0 AND p.user_id > $3
         ORDER BY p.user_id LIMIT $4`,
        [marketId, payoutKindNumber('SETTLEMENT'), afterUserId, limit],
      );
      return result.rows.map(toPayout);
    },

    /** Moves a run to its next phase; fenced. */
    async setPhase(lease: RunLease, phase: SettlementPhase): Promise<void> {
      const result = await sql.query(
        'UPDATE settlements SET phase = $3 WHERE market_id = $1 AND lease_token = $2',
        [lease.marketId, lease.token, phase],
      );
      if (result.rowCount === 0) throw new LeaseLostError(lease, `moving to ${phase}`);
    },

    /**
     * The final state, in one transaction with its events: COMPLETED + SettlementCompleted, or
     * REFUNDED + MarketRefunded; then every row (losers with payout 0 included) in PayoutsMade
     * pages of {@link PAYOUTS_PER_EVENT}, in user id order.
     * A run already DONE is returned unchanged. Fenced: nothing is written or appended under a
     * stale lease.
     */
    async finish(lease: RunLease): Promise<SettlementRecord> {
      const { marketId } = lease;
      const nowMs = clock.now();
      const record = await sql.transaction(async (tx) => {
        const current = await lockRow(tx, marketId);
        requireLease(current, lease, 'finishing the run');
        if (current.phase === 'DONE') return current;
        const status: SettlementStatus = current.refundReason === null ? 'COMPLETED' : 'REFUNDED';
        const updated = await tx.query<Row>(
          `UPDATE settlements SET status = $2, phase = 'DONE', completed_at_ms = $3,
             leased_until_ms = 0, last_error = ''
           WHERE market_id = $1 RETURNING ${COLUMNS}`,
          [marketId, statusNumber(status), nowMs],
        );
        // The rows as paid: their paid_at_ms is the run's completed_at_ms just written (derived on
        // read since migration 0006, so no row is rewritten here).
        const done = toRecord(updated.rows[0]!);
        const rows = await payoutsOf(tx, marketId);
        const bettors = rows.filter((row) => row.kind !== 'STREAMER_REVENUE_SHARE').length;
        const pages: PayoutRecord[][] = [];
        for (let start = 0; start < rows.length; start += PAYOUTS_PER_EVENT) {
          pages.push(rows.slice(start, start + PAYOUTS_PER_EVENT));
        }
        await appendPerRow(
          tx,
          marketId,
          (meta) =>
            status === 'COMPLETED'
              ? encodeCompleted(done, meta)
              : encodeRefunded(done, bettors, meta),
          pages,
          (page, meta) => encodePayoutsMade(marketId, page, meta),
        );
        return done;
      });
      deps.onCommitted?.();
      return record;
    },

    /**
     * Records a failed attempt: FAILED (or back to PENDING when `deferred`, e.g. the bet engine
     * still has pending bets), the reason, and when the next automatic attempt is due. The lease is
     * released so the next attempt may start at once when due. Fenced.
     */
    async fail(
      lease: RunLease,
      error: string,
      retryInMs: number,
      deferred: boolean,
    ): Promise<void> {
      const nowMs = clock.now();
      const result = await sql.query(
        `UPDATE settlements SET status = CASE WHEN $5 THEN $6::smallint ELSE $2::smallint END,
           last_error = $3, due_at_ms = $4, leased_until_ms = 0
         WHERE market_id = $1 AND status = ANY($7::smallint[]) AND lease_token = $8`,
        [
          lease.marketId,
          statusNumber('FAILED'),
          error.slice(0, 2000),
          nowMs + retryInMs,
          deferred,
          statusNumber('PENDING'),
          RUNNABLE,
          lease.token,
        ],
      );
      if (result.rowCount === 0) throw new LeaseLostError(lease, 'recording the failure');
    },

    /** Every payout row of a market (user id order). */
    async payoutsOfMarket(marketId: string): Promise<PayoutRecord[]> {
      return payoutsOf(sql, marketId);
    },

    /**
     * Moves a reversal to its next round (its holds of `fromRound` were voided: the next attempt
     * takes new ones). Only from `fromRound`, so two callers cannot skip a round.
     */
    async nextReversalRound(marketId: string, fromRound: number): Promise<void> {
      await sql.query(
        'UPDATE settlements SET reversal_round = $3 WHERE market_id = $1 AND reversal_round = $2',
        [marketId, fromRound, fromRound + 1],
      );
    },

    /**
     * Marks a COMPLETED settlement REVERSED with its rows and events (SettlementReversed, one
     * PayoutReversed per row), in one transaction. Returns the reversed record (unchanged if it
     * was already reversed).
     */
    async markReversed(
      marketId: string,
      reason: string,
      requestedByUserId: string,
    ): Promise<SettlementRecord> {
      const nowMs = clock.now();
      const record = await sql.transaction(async (tx) => {
        const current = await lockRow(tx, marketId);
        if (current === undefined) throw new Error(`settlement of ${marketId} vanished`);
        if (current.status === 'REVERSED') return current;
        const updated = await tx.query<Row>(
          `UPDATE settlements SET status = $2, refund_reason = $3, reversed_at_ms = $4,
             reversal_reason = $5, reversed_by_user_id = $6
           WHERE market_id = $1 RETURNING ${COLUMNS}`,
          [
            marketId,
            statusNumber('REVERSED'),
            refundReasonNumber('MARKET_VOIDED'),
            nowMs,
            reason,
            requestedByUserId,
          ],
        );
        await tx.query('UPDATE settlement_payouts SET reversed_at_ms = $2 WHERE market_id = $1', [
          marketId,
          nowMs,
        ]);
        const reversed = toRecord(updated.rows[0]!);
        const rows = await payoutsOf(tx, marketId);
        await appendPerRow(
          tx,
          marketId,
          (meta) => encodeReversed(reversed, meta),
          rows,
          encodePayoutReversed,
          requestedByUserId,
        );
        return reversed;
      });
      deps.onCommitted?.();
      return record;
    },

    /** Paid payout rows, newest first (paid_at_ms, then market, user, kind); see payout-rows.ts. */
    async listPayouts(query: PayoutQuery): Promise<PayoutRecord[]> {
      return listPayouts(sql, query);
    },

    /** Settlements, newest market event first. */
    async listSettlements(query: SettlementQuery): Promise<SettlementRecord[]> {
      const where = ['TRUE'];
      const params: SqlValue[] = [];
      if (query.statuses.length > 0) {
        params.push(query.statuses.map(statusNumber));
        where.push(`status = ANY($${params.length}::smallint[])`);
      }
      if (query.channelId) {
        params.push(query.channelId);
        where.push(`channel_id = $${params.length}`);
      }
      if (query.after) {
        params.push(query.after.marketEventAtMs, query.after.marketId);
        where.push(
          `(market_event_at_ms, market_id) < ($${params.length - 1}::bigint, $${params.length})`,
        );
      }
      params.push(query.limit);
      const result = await sql.query<Row>(
        `SELECT ${COLUMNS} FROM settlements WHERE ${where.join(' AND ')}
         ORDER BY market_event_at_ms DESC, market_id DESC LIMIT $${params.length}`,
        params,
      );
      return result.rows.map(toRecord);
    },
  };
}
