/**
 * Runs POOL settlements, resumably. A run goes through phases persisted in its row:
 * - HOLDS: pass 1 streams every bet from the bet engine into the parimutuel totals and decides
 *   payout or refund, keeping the bets in compact columns (a market bigger than maxBetsInMemory is
 *   streamed a second time); pass 2 runs them through the payout calculator in memory, with no
 *   ledger call per bet. Then the ledger resolves the market's holds set-based: on a fresh start
 *   the run first checks that the ledger agrees with the bets listed (the escrow's pending credits
 *   — the market's open holds — equal the total staked, nothing posted yet; otherwise nothing moves
 *   and the attempt fails and is retried with backoff), marks the check done in holds_cursor, then
 *   asks ResolveMarketHolds for pages of up to holdPageSize holds (POST_IN_FULL into escrow, or
 *   VOID for a refund), saving the ledger's hold-id cursor after each page. After the last page the
 *   escrow must hold exactly the stakes posted (nothing pending) or, for a refund, nothing. The
 *   figures and every user's row are then stored with the move to the next phase, in one
 *   transaction.
 * - PAYOUTS: escrow → wallet per user with a payout (cursor = last user id), then commission to
 *   rake, the streamer share and the breakage to house. Escrow is then zero.
 * - FINISH: the final status with SettlementCompleted / MarketRefunded and every PayoutMade.
 * Every transfer id derives from the market, hold and user ids, so whatever a crash interrupted is
 * resubmitted with the same ids and the ledger answers ALREADY_EXISTS_SAME, and a hold page re-asked
 * after a crash only finds the holds still open: nothing is paid or resolved twice.
 *
 * Lease and fencing: an attempt holds its run for a short lease (default {@link DEFAULT_LEASE_MS}),
 * renewed every third of it — at each step (stream batch, hold page, payout batch; by the injected
 * clock) and by a heartbeat timer while one step runs long — so a successor takes a dead runner's
 * run over at most one lease after its last renewal (plus the poll of the task that finds it). Each
 * claim takes the next lease token; every write of the attempt is conditional on it (store.ts), and
 * an attempt that finds its token stale (a refused write, or the heartbeat) stops at once without
 * writing anything more, with a log line and onLeaseLost (a metric). Its ledger calls need no fence:
 * one in flight when the lease was taken over, or made before the attempt noticed, carries the same
 * derived ids as the successor's (holds: the ledger posts or voids each open hold once, under a row
 * lock, with an id derived from the hold; payouts and system transfers: ids derived from the market
 * and user, amounts from the plan both attempts read from the same committed rows), so the ledger
 * answers ALREADY_EXISTS_SAME or finds the hold already resolved, and nothing is paid twice.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import {
  createPoolPayoutCalculator,
  createPoolTotalsAccumulator,
  decidePoolSettlement,
} from '@streambet/parimutuel/settlement';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  ConcurrencyError,
  IllegalStateError,
  NotFoundError,
  UnavailableError,
} from '@streambet/platform/errors/domain-errors';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import {
  LEDGER_BATCH_MAX,
  accounts,
  chunk,
  linkAll,
  payoutCommand,
  planReversal,
  retryDelayMs,
  systemCommands,
  transferIds,
  type LedgerCommand,
  type SettlementBet,
} from './domain/settlement.js';
import type {
  BetSource,
  LedgerBalance,
  LedgerContext,
  SettlementLedger,
  TermsSource,
} from './downstreams.js';
import type { SettlementRecord } from './proto-codec.js';
import {
  LeaseLostError,
  type PlannedPayout,
  type RunLease,
  type SettlementStore,
} from './store.js';

/** Default lease of an attempt on its run (config: SETTLEMENT_LEASE_MS). */
export const DEFAULT_LEASE_MS = 5_000;

/** Arms one-shot timers; injectable so tests drive the lease heartbeat with a manual clock. */
export interface Scheduler {
  setTimer(fn: () => void, delayMs: number): { cancel(): void };
}

/** The platform's timers (unref'd: a pending heartbeat never keeps the process alive). */
const realScheduler: Scheduler = {
  setTimer(fn, delayMs) {
    const timer = setTimeout(fn, delayMs);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

/** Dependencies of {@link createSettlementRunner}. */
export interface RunnerDeps {
  readonly store: SettlementStore;
  readonly bets: BetSource;
  readonly ledger: SettlementLedger;
  /** Absent: a run recorded without terms fails until they can be fetched. */
  readonly terms?: TermsSource;
  readonly logger: Logger;
  /** Measures lease renewals (the store stamps the lease with the same clock). */
  readonly clock: Clock;
  /**
   * How long an attempt holds its run against other runners, renewed every third of it while it
   * works; default {@link DEFAULT_LEASE_MS}. A crashed runner's run is taken over this long after
   * its last renewal (plus the task's poll).
   */
  readonly leaseMs?: number;
  /** Timers of the lease heartbeat; default {@link realScheduler}. */
  readonly scheduler?: Scheduler;
  /** An attempt found its lease taken over and stopped without writing (a metric). */
  readonly onLeaseLost?: (lease: RunLease) => void;
  /** An attempt took over a RUNNING run whose lease had expired (a metric). */
  readonly onTakeover?: (lease: RunLease) => void;
  /**
   * Most bets kept in memory between the two passes (compact columns, ≈ 100 bytes a bet); a bigger
   * market is streamed from the bet engine twice. Default 2,000,000.
   */
  readonly maxBetsInMemory?: number;
  /** Ledger commands per SubmitTransfers call (payouts), 1–1000; default 1000. */
  readonly batchSize?: number;
  /** Holds per ResolveMarketHolds page, 1–10000; default 10000. */
  readonly holdPageSize?: number;
  /**
   * Called after each ledger batch (a hold page or a payout batch) is applied and its cursor saved
   * (tests stop or crash a run here; the crash test's child reports progress). Throwing aborts the
   * attempt like any failure.
   */
  readonly afterBatch?: (progress: {
    marketId: string;
    phase: 'HOLDS' | 'PAYOUTS';
    batches: number;
  }) => void | Promise<void>;
}

/** Runs settlements: one attempt of one market, or reversal of a completed one. */
export interface SettlementRunner {
  /**
   * One attempt: claims the run (unless final or leased by another runner), runs the remaining
   * phases and returns the record after it (COMPLETED, REFUNDED, or FAILED/PENDING with last_error
   * and the next attempt scheduled). `force` ignores the backoff (admin retry).
   */
  runOnce(marketId: string, options?: { force?: boolean }): Promise<SettlementRecord | undefined>;
  /** ReverseSettlement (see settlement.proto). */
  reverse(marketId: string, reason: string, requestedByUserId: string): Promise<SettlementRecord>;
}

/** Largest ResolveMarketHolds page (ledger.proto). */
const MAX_HOLD_PAGE = 10_000;

/**
 * holds_cursor once the ledger was found to agree with the listed bets and before the first page:
 * resume from the first hold without checking again ('=' is never part of a transfer id).
 */
const HOLDS_CHECKED = '=';

/** What one attempt holds: its lease, kept alive and checked between steps. */
interface Attempt {
  readonly lease: RunLease;
  /**
   * Between steps (before a ledger call, per stream batch): throws the {@link LeaseLostError} the
   * heartbeat found; renews the lease (fenced) when a third of it passed by the clock since the
   * last renewal, whatever the timers did.
   */
  step(): Promise<void>;
  /** A fenced write that renewed the lease (a cursor save) committed; `atMs` is when it started. */
  renewed(atMs: number): void;
  /** The lease loss the heartbeat found, if any. */
  readonly lost: LeaseLostError | undefined;
  /** Stops the heartbeat and waits for a renewal in flight (before the final write). */
  stop(): Promise<void>;
}

/** Builds a runner. */
export function createSettlementRunner(deps: RunnerDeps): SettlementRunner {
  const { store, ledger, logger, clock } = deps;
  const leaseMs = Math.max(deps.leaseMs ?? DEFAULT_LEASE_MS, 3);
  const renewEveryMs = Math.floor(leaseMs / 3);
  const scheduler = deps.scheduler ?? realScheduler;
  const batchSize = Math.min(Math.max(deps.batchSize ?? LEDGER_BATCH_MAX, 1), LEDGER_BATCH_MAX);
  const maxBetsInMemory = deps.maxBetsInMemory ?? 2_000_000;
  const holdPageSize = Math.min(Math.max(deps.holdPageSize ?? MAX_HOLD_PAGE, 1), MAX_HOLD_PAGE);

  function startAttempt(lease: RunLease): Attempt {
    let renewedAtMs = clock.now();
    let lost: LeaseLostError | undefined;
    let inFlight: Promise<void> | undefined;
    let timer: { cancel(): void } | undefined;
    let stopped = false;

    async function renew(): Promise<void> {
      const atMs = clock.now();
      try {
        await store.renewLease(lease, leaseMs);
        renewedAtMs = Math.max(renewedAtMs, atMs);
      } catch (error) {
        if (error instanceof LeaseLostError) lost ??= error;
        throw error;
      }
    }

    function throwIfLost(): void {
      if (lost !== undefined) throw lost;
    }

    function arm(): void {
      if (!stopped && lost === undefined) timer = scheduler.setTimer(beat, renewEveryMs);
    }

    function beat(): void {
      timer = undefined;
      if (stopped || lost !== undefined) return;
      if (inFlight !== undefined) {
        arm();
        return;
      }
      inFlight = renew()
        .catch((error: unknown) => {
          // A lost lease is reported by the attempt when it stops; anything else (the database
          // unreachable) is retried at the next beat or step, and the fence keeps a late write out.
          if (!(error instanceof LeaseLostError)) {
            logger.warn(
              { marketId: lease.marketId, err: error },
              'settlement lease renewal failed',
            );
          }
        })
        .finally(() => {
          inFlight = undefined;
          arm();
        });
    }

    arm();
    return {
      lease,
      get lost() {
        return lost;
      },
      async step() {
        throwIfLost();
        if (clock.now() - renewedAtMs < renewEveryMs) return;
        await inFlight;
        throwIfLost();
        if (clock.now() - renewedAtMs >= renewEveryMs) await renew();
      },
      renewed(atMs) {
        renewedAtMs = Math.max(renewedAtMs, atMs);
      },
      async stop() {
        stopped = true;
        timer?.cancel();
        timer = undefined;
        await inFlight;
      },
    };
  }

  /** The run as stored, if this attempt still holds it (a successor's state is not ours to use). */
  async function current(attempt: Attempt): Promise<SettlementRecord> {
    const record = await store.get(attempt.lease.marketId);
    if (record === undefined || record.leaseToken !== attempt.lease.token) {
      throw new LeaseLostError(attempt.lease, 'continuing the run');
    }
    return record;
  }

  async function submitAll(
    commands: readonly LedgerCommand[],
    context: LedgerContext,
    what: string,
  ) {
    const outcomes = await ledger.submit(commands, context);
    const refused = outcomes.filter((outcome) => !outcome.committed);
    if (refused.length > 0) {
      const first = refused[0]!;
      throw new IllegalStateError(
        `the ledger refused ${refused.length} of ${commands.length} ${what} transfers; first ${first.transferId}: ${first.detail}`,
      );
    }
  }

  async function ensureTerms(
    record: SettlementRecord,
    attempt: Attempt,
  ): Promise<SettlementRecord> {
    if (record.outcomeIds !== null && record.kind !== MarketKind.UNSPECIFIED) return record;
    if (deps.terms === undefined) {
      throw new IllegalStateError(`the terms of market ${record.marketId} are unknown`);
    }
    const terms = await deps.terms.get(record.marketId);
    await store.saveTerms(attempt.lease, terms);
    return current(attempt);
  }

  async function escrowBalance(marketId: string): Promise<LedgerBalance> {
    const escrow = accounts.escrow(marketId);
    const balance = (await ledger.balances([escrow])).get(escrow);
    return (
      balance ?? { debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: 0n }
    );
  }

  /**
   * The HOLDS phase's ledger part: checks that the ledger agrees with the listed bets, then posts
   * (or voids) every open hold of the market with ResolveMarketHolds pages, saving the cursor after
   * each, and checks the escrow after the last page.
   */
  async function resolveHolds(
    record: SettlementRecord,
    attempt: Attempt,
    action: 'POST_IN_FULL' | 'VOID',
    listed: { totalStakedMinor: bigint; betCount: number },
  ): Promise<void> {
    const { marketId } = record;
    let cursor = record.holdsCursor;
    await attempt.step();
    if (cursor === '') {
      // Before anything moves: the market's open holds in the ledger (credited pending to its
      // escrow) must be exactly the stakes of the bets listed. An orphan hold the bet engine has not
      // reconciled yet, or a bet whose hold is missing, fails the attempt (retried with backoff).
      const escrow = await escrowBalance(marketId);
      const untouched =
        escrow.creditsPosted === 0n && escrow.debitsPosted === 0n && escrow.debitsPending === 0n;
      if (escrow.creditsPending !== listed.totalStakedMinor || !untouched) {
        throw new IllegalStateError(
          `the ledger disagrees with the bet engine on market ${marketId}: escrow holds ${escrow.creditsPending} pending (posted ${escrow.creditsPosted}), the ${listed.betCount} bets listed stake ${listed.totalStakedMinor}; nothing was moved, retrying once the bet engine has reconciled its holds`,
        );
      }
      // Checked: a crash from here on resumes without checking again (some holds may be resolved).
      cursor = HOLDS_CHECKED;
      const savedAtMs = clock.now();
      await store.saveHoldsCursor(attempt.lease, cursor, leaseMs);
      attempt.renewed(savedAtMs);
    }
    let batches = 0;
    let expired = 0;
    for (;;) {
      await attempt.step();
      const page = await ledger.resolveMarketHolds({
        marketId,
        action,
        settlementId: record.settlementId,
        afterHoldId: cursor === HOLDS_CHECKED ? '' : cursor,
        maxHolds: holdPageSize,
      });
      if (page.failedCount > 0) {
        throw new IllegalStateError(
          `the ledger refused to resolve ${page.failedCount} hold(s) of market ${marketId}; first ${page.firstFailure}`,
        );
      }
      expired += page.expiredCount;
      if (page.nextAfterHoldId === '') break;
      cursor = page.nextAfterHoldId;
      const savedAtMs = clock.now();
      await store.saveHoldsCursor(attempt.lease, cursor, leaseMs);
      attempt.renewed(savedAtMs);
      batches += 1;
      await deps.afterBatch?.({ marketId, phase: 'HOLDS', batches });
    }
    await attempt.step();
    const escrow = await escrowBalance(marketId);
    const expected =
      action === 'POST_IN_FULL'
        ? { creditsPosted: listed.totalStakedMinor, what: 'posted in full' }
        : { creditsPosted: 0n, what: 'voided' };
    if (
      escrow.creditsPending !== 0n ||
      escrow.creditsPosted !== expected.creditsPosted ||
      escrow.debitsPosted !== 0n ||
      escrow.debitsPending !== 0n
    ) {
      throw new IllegalStateError(
        `after its holds were ${expected.what}, the escrow of market ${marketId} holds ${escrow.creditsPending} pending and ${escrow.creditsPosted} posted, expected 0 and ${expected.creditsPosted}${expired > 0 ? ` (${expired} hold(s) had expired)` : ''}`,
      );
    }
    batches += 1;
    await deps.afterBatch?.({ marketId, phase: 'HOLDS', batches });
  }

  async function runHolds(record: SettlementRecord, attempt: Attempt): Promise<void> {
    const { marketId } = record;
    const terms = {
      outcomeIds: record.outcomeIds ?? [],
      winningOutcomeId: record.canceled ? null : record.winningOutcomeId,
      commissionBps: record.commissionBps,
      streamerShareBps: record.streamerShareBps,
    };
    const accumulator = createPoolTotalsAccumulator(terms.outcomeIds, { betIdOrder: 'ascending' });
    // Pass 1 keeps the bets in compact columns (up to maxBetsInMemory) so pass 2 need not stream
    // them again; beyond that, pass 2 streams them a second time.
    const kept = createBetColumns();
    let keep = true;
    for await (const batch of deps.bets.list(marketId, '')) {
      if (batch.currency !== '' && batch.currency !== record.currency) {
        throw new IllegalStateError(
          `the bet engine reports currency ${batch.currency} for market ${marketId}, settlement expects ${record.currency}`,
        );
      }
      accumulator.add(batch.bets);
      // A long first pass keeps the lease: no other runner starts meanwhile.
      await attempt.step();
      if (keep) {
        for (const bet of batch.bets) kept.push(bet);
        if (kept.length > maxBetsInMemory) {
          keep = false;
          kept.clear();
        }
      }
    }
    const decision = decidePoolSettlement(accumulator.totals(), terms);
    const calculator = createPoolPayoutCalculator(decision);
    // Pass 2: the payouts, in memory (no ledger call per bet).
    if (keep) {
      for (let start = 0; start < kept.length; start += LEDGER_BATCH_MAX) {
        calculator.payouts(kept.slice(start, start + LEDGER_BATCH_MAX));
      }
      kept.clear();
    } else {
      for await (const batch of deps.bets.list(marketId, '')) {
        calculator.payouts(batch.bets);
        await attempt.step();
      }
    }
    const result = calculator.finish();
    await resolveHolds(record, attempt, result.kind === 'REFUND' ? 'VOID' : 'POST_IN_FULL', {
      totalStakedMinor: result.figures.totalStakedMinor,
      betCount: result.figures.betCount,
    });
    const refund = result.kind === 'REFUND';
    const payouts: PlannedPayout[] = result.users.map((user) => ({
      userId: user.userId,
      kind: refund ? 'REFUND' : 'SETTLEMENT',
      stakeMinor: user.stakeMinor,
      payoutMinor: user.payoutMinor,
      netMinor: user.netMinor,
      transferId: !refund && user.payoutMinor > 0n ? transferIds.payout(marketId, user.userId) : '',
    }));
    if (result.figures.streamerShareMinor > 0n) {
      payouts.push({
        userId: record.streamerUserId,
        kind: 'STREAMER_REVENUE_SHARE',
        stakeMinor: 0n,
        payoutMinor: result.figures.streamerShareMinor,
        netMinor: result.figures.streamerShareMinor,
        transferId: transferIds.streamerShare(marketId),
      });
    }
    const f = result.figures;
    await store.savePlan(attempt.lease, {
      figures: {
        totalStakedMinor: f.totalStakedMinor,
        winningStakedMinor: f.winningStakedMinor,
        losingStakedMinor: f.losingStakedMinor,
        commissionMinor: f.commissionMinor,
        streamerShareMinor: f.streamerShareMinor,
        rakeMinor: f.rakeMinor,
        distributableMinor: f.distributableMinor,
        breakageMinor: f.breakageMinor,
        payoutTotalMinor: f.payoutTotalMinor,
        payoutCount: BigInt(f.payoutCount),
        winnerCount: BigInt(f.winnerCount),
        betCount: BigInt(f.betCount),
      },
      refundReason: result.refundReason,
      payouts,
      next: refund ? 'FINISH' : 'PAYOUTS',
    });
  }

  async function runPayouts(record: SettlementRecord, attempt: Attempt): Promise<void> {
    const { marketId, currency } = record;
    const context: LedgerContext = { marketId, settlementId: record.settlementId, currency };
    let cursor = record.payoutsCursor;
    let batches = 0;
    for (;;) {
      const page = await store.payoutPage(marketId, cursor, batchSize);
      if (page.length === 0) break;
      await attempt.step();
      await submitAll(
        page.map((row) => payoutCommand(marketId, currency, row.userId, row.payoutMinor)),
        context,
        'payout',
      );
      cursor = page[page.length - 1]!.userId;
      const savedAtMs = clock.now();
      await store.savePayoutsCursor(attempt.lease, cursor, leaseMs);
      attempt.renewed(savedAtMs);
      batches += 1;
      await deps.afterBatch?.({ marketId, phase: 'PAYOUTS', batches });
    }
    const f = record.figures;
    await attempt.step();
    if (f.streamerShareMinor > 0n) {
      await ledger.ensureStreamerRevenueAccount(record.streamerUserId, currency);
    }
    const system = systemCommands(marketId, currency, record.streamerUserId, [
      { code: 'COMMISSION', amountMinor: f.rakeMinor },
      { code: 'STREAMER_SHARE', amountMinor: f.streamerShareMinor },
      { code: 'BREAKAGE', amountMinor: f.breakageMinor },
    ]);
    if (system.length > 0) await submitAll(system, context, 'commission/share/breakage');
    await store.setPhase(attempt.lease, 'FINISH');
  }

  async function runOnce(
    marketId: string,
    options: { force?: boolean } = {},
  ): Promise<SettlementRecord | undefined> {
    const claim = await store.claim(marketId, leaseMs, options.force === true);
    if (!claim.claimed) return claim.record;
    const { lease } = claim;
    let record = claim.record;
    if (claim.takeover) {
      logger.warn(
        { marketId, attempt: record.attemptCount, leaseToken: lease.token },
        'settlement taken over: the previous runner let its lease expire',
      );
      deps.onTakeover?.(lease);
    }
    const attempt = startAttempt(lease);
    const leaseLost = async (): Promise<SettlementRecord | undefined> => {
      logger.warn(
        { marketId, attempt: record.attemptCount, leaseToken: lease.token },
        'settlement lease lost to another runner: attempt stopped without writing',
      );
      deps.onLeaseLost?.(lease);
      return store.get(marketId);
    };
    try {
      record = await ensureTerms(record, attempt);
      if (record.kind !== MarketKind.POOL) {
        throw new IllegalStateError(
          `market ${marketId} is ${MarketKind[record.kind]}: only POOL markets are settled here yet`,
        );
      }
      if (record.phase === 'HOLDS') {
        await runHolds(record, attempt);
        record = await current(attempt);
      }
      if (record.phase === 'PAYOUTS') {
        await runPayouts(record, attempt);
        record = await current(attempt);
      }
      if (record.phase === 'FINISH') {
        await attempt.stop();
        return await store.finish(lease);
      }
      return record;
    } catch (error) {
      await attempt.stop();
      if (error instanceof LeaseLostError || attempt.lost !== undefined) return leaseLost();
      const deferred = isUnavailable(error);
      const message = error instanceof Error ? error.message : String(error);
      logger.warn(
        { marketId, attempt: record.attemptCount, deferred, err: message },
        deferred ? 'settlement deferred' : 'settlement attempt failed',
      );
      try {
        await store.fail(lease, message, retryDelayMs(record.attemptCount), deferred);
      } catch (failure) {
        if (failure instanceof LeaseLostError) return leaseLost();
        throw failure;
      }
      return store.get(marketId);
    } finally {
      await attempt.stop();
    }
  }

  async function reverse(
    marketId: string,
    reason: string,
    requestedByUserId: string,
  ): Promise<SettlementRecord> {
    const record = await store.get(marketId);
    if (record === undefined) throw new NotFoundError(`market ${marketId} has no settlement`);
    if (record.status === 'REFUNDED' || record.status === 'REVERSED') return record;
    if (record.status !== 'COMPLETED') {
      throw new ConcurrencyError(
        `the settlement of market ${marketId} is still ${record.status}: retry shortly`,
      );
    }
    const rows = await store.payoutsOfMarket(marketId);
    const plan = planReversal({
      marketId,
      currency: record.currency,
      streamerUserId: record.streamerUserId,
      rakeMinor: record.figures.rakeMinor,
      streamerShareMinor: record.figures.streamerShareMinor,
      breakageMinor: record.figures.breakageMinor,
      bettors: rows.filter((row) => row.kind === 'SETTLEMENT'),
    });
    // Money already taken back by an interrupted earlier attempt is not asked for again.
    const done = new Set<string>();
    for (const ids of chunk(plan.inflows.map((c) => c.transferId))) {
      for (const id of await ledger.existing(ids)) done.add(id);
    }
    const needed = new Map<string, bigint>();
    for (const command of plan.inflows) {
      if (done.has(command.transferId) || !plan.debits.has(command.debitAccountId)) continue;
      needed.set(
        command.debitAccountId,
        (needed.get(command.debitAccountId) ?? 0n) + command.amountMinor,
      );
    }
    const short: string[] = [];
    for (const ids of chunk([...needed.keys()])) {
      const available = await ledger.available(ids);
      for (const id of ids) {
        if ((available.get(id) ?? 0n) < needed.get(id)!) short.push(id);
      }
    }
    if (short.length > 0) {
      throw new IllegalStateError(
        `${short.length} payout(s) of market ${marketId} are no longer reversible (available balance below the winnings to take back, e.g. ${short.slice(0, 3).join(', ')}); nothing was moved`,
      );
    }
    const context: LedgerContext = {
      marketId,
      settlementId: record.settlementId,
      currency: record.currency,
    };
    const all = [...plan.inflows, ...plan.outflows];
    if (all.length <= LEDGER_BATCH_MAX) {
      if (all.length > 0) await submitAll(linkAll(all), context, 'reversal');
    } else {
      // Larger than one ledger call: balances were checked above; inflows first, then refunds.
      for (const part of chunk(plan.inflows)) await submitAll(linkAll(part), context, 'reversal');
      for (const part of chunk(plan.outflows)) await submitAll(linkAll(part), context, 'refund');
    }
    return store.markReversed(marketId, reason, requestedByUserId);
  }

  return { runOnce, reverse };
}

/**
 * A market's bets in columns: ids as strings, users and outcomes interned (a market has few
 * outcomes and far fewer users than bets), stakes in a growable BigInt64Array.
 */
function createBetColumns() {
  let betIds: string[] = [];
  let userIndex: number[] = [];
  let outcomeIndex: number[] = [];
  let stakes = new BigInt64Array(1024);
  const users: string[] = [];
  const userIds = new Map<string, number>();
  const outcomes: string[] = [];
  const outcomeIds = new Map<string, number>();
  const intern = (value: string, list: string[], index: Map<string, number>): number => {
    let at = index.get(value);
    if (at === undefined) {
      at = list.length;
      list.push(value);
      index.set(value, at);
    }
    return at;
  };
  return {
    get length(): number {
      return betIds.length;
    },
    push(bet: SettlementBet): void {
      const at = betIds.length;
      if (at === stakes.length) {
        const grown = new BigInt64Array(at * 2);
        grown.set(stakes);
        stakes = grown;
      }
      betIds.push(bet.betId);
      userIndex.push(intern(bet.userId, users, userIds));
      outcomeIndex.push(intern(bet.outcomeId, outcomes, outcomeIds));
      stakes[at] = bet.stakeMinor;
    },
    slice(start: number, end: number): SettlementBet[] {
      const out: SettlementBet[] = [];
      for (let i = start; i < Math.min(end, betIds.length); i += 1) {
        out.push({
          betId: betIds[i]!,
          userId: users[userIndex[i]!]!,
          outcomeId: outcomes[outcomeIndex[i]!]!,
          stakeMinor: stakes[i]!,
        });
      }
      return out;
    },
    clear(): void {
      betIds = [];
      userIndex = [];
      outcomeIndex = [];
      stakes = new BigInt64Array(0);
    },
  };
}

function isUnavailable(error: unknown): boolean {
  if (error instanceof UnavailableError) return true;
  return error instanceof ConnectError && error.code === Code.Unavailable;
}
