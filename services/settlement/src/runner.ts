/**
 * Runs POOL settlements, resumably. A run goes through phases persisted in its row:
 * - HOLDS: the bet engine records the market's resolution (ResolveMarketBets: payout or refund,
 *   the pool's figures, one aggregate per user computed set-based where the bets live; from that
 *   commit on every bet reads WON / LOST / REFUNDED with its payout) and streams it back; the run
 *   checks its figures add up (Σ users = the totals, Σ payouts + C + B = T). Then the ledger
 *   resolves every open hold of the market with one resolution record (ResolveMarket, POST_IN_FULL
 *   into escrow or VOID for a refund, idempotent by settlement id, refused unless the open holds
 *   total exactly the stakes the bet engine counted), and the escrow must then hold exactly the
 *   stakes posted (nothing pending) or, for a refund, nothing. A ledger without ResolveMarket
 *   (UNIMPLEMENTED) gets the older path: the escrow's pending credits checked against the stakes,
 *   then ResolveMarketHolds pages of up to holdPageSize holds, the ledger's hold-id cursor saved
 *   after each. Every user's row is written while ResolveMarket runs (fenced statements, rows
 *   already there kept: every attempt plans the same rows from the recorded resolution); the
 *   figures are then stored with the move to the next phase (and which path resolved the holds),
 *   in one transaction (after the older path, together with the rows, replacing any written early).
 * - PAYOUTS: escrow → wallet per user with a payout (cursor = last user id), then commission to
 *   rake, the streamer share and the breakage to house: CreditMarketPayouts pages of up to
 *   payoutPageSize entries (transfer ids derived by the ledger from the settlement and account)
 *   after ResolveMarket, SubmitTransfers batches (ids derived from the market and user) after the
 *   older path. Escrow is then zero.
 * - FINISH: the final status with SettlementCompleted / MarketRefunded and every payout row in PayoutsMade pages.
 * Whatever a crash interrupted is asked again with the same ids: the bet engine answers its
 * recorded resolution, ResolveMarket replays, payout pages answer ALREADY_EXISTS_SAME, a hold page
 * only finds holds still open: nothing is paid or resolved twice. COMPLETED is written only after
 * the bet engine's resolution committed, so a completed settlement's bets always show their result.
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
  postReversalHold,
  reversalHold,
  voidReversalHold,
  retryDelayMs,
  systemCommands,
  transferIds,
  type LedgerCommand,
} from './domain/settlement.js';
import type {
  BetSource,
  LedgerBalance,
  LedgerContext,
  MarketPayoutEntry,
  ResolvedMarket,
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
  /** Entries per CreditMarketPayouts page, 1–20000; default 20000. */
  readonly payoutPageSize?: number;
  /** Ledger commands per SubmitTransfers call (payouts on the older path), 1–1000; default 1000. */
  readonly batchSize?: number;
  /** Holds per ResolveMarketHolds page (the older path), 1–10000; default 10000. */
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

/** Largest CreditMarketPayouts page (ledger.proto). */
const MAX_PAYOUT_PAGE = 20_000;

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
  const payoutPageSize = Math.min(
    Math.max(deps.payoutPageSize ?? MAX_PAYOUT_PAGE, 1),
    MAX_PAYOUT_PAGE,
  );
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

  /**
   * ResolveMarket (one resolution record for all the market's holds); false when the ledger does
   * not have it yet (UNIMPLEMENTED): the caller takes the older path.
   */
  async function resolveMarket(
    record: SettlementRecord,
    attempt: Attempt,
    action: 'POST_IN_FULL' | 'VOID',
    totalStakedMinor: bigint,
  ): Promise<boolean> {
    const { marketId } = record;
    await attempt.step();
    let result;
    try {
      result = await ledger.resolveMarket({
        marketId,
        settlementId: record.settlementId,
        action,
        expectedOpenAmountMinor: totalStakedMinor,
      });
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.Unimplemented) return false;
      throw error;
    }
    const escrow = result.escrow;
    const expectedPosted = action === 'POST_IN_FULL' ? totalStakedMinor : 0n;
    if (
      escrow.creditsPending !== 0n ||
      escrow.creditsPosted !== expectedPosted ||
      escrow.debitsPending !== 0n ||
      (!result.replayed && escrow.debitsPosted !== 0n)
    ) {
      throw new IllegalStateError(
        `after its resolution the escrow of market ${marketId} holds ${escrow.creditsPending} pending and ${escrow.creditsPosted} posted, expected 0 and ${expectedPosted}${result.expiredCount > 0 ? ` (${result.expiredCount} hold(s) had expired)` : ''}`,
      );
    }
    await deps.afterBatch?.({ marketId, phase: 'HOLDS', batches: 1 });
    return true;
  }

  async function runHolds(record: SettlementRecord, attempt: Attempt): Promise<void> {
    const { marketId } = record;
    await attempt.step();
    const resolved = await deps.bets.resolve({
      marketId,
      settlementId: record.settlementId,
      canceled: record.canceled,
      winningOutcomeId: record.canceled ? '' : record.winningOutcomeId,
      commissionBps: record.commissionBps,
      streamerShareBps: record.streamerShareBps,
    });
    if (resolved.currency !== '' && resolved.currency !== record.currency) {
      throw new IllegalStateError(
        `the bet engine reports currency ${resolved.currency} for market ${marketId}, settlement expects ${record.currency}`,
      );
    }
    checkResolution(marketId, resolved);
    const refund = resolved.refundReason !== null;
    const action = refund ? 'VOID' : 'POST_IN_FULL';
    const plan = (marketResolved: boolean): PlannedPayout[] => {
      const payoutId = (accountId: string, legacy: string): string =>
        marketResolved ? `payout:${record.settlementId}:${accountId}` : legacy;
      const payouts: PlannedPayout[] = resolved.users.map((user) => ({
        userId: user.userId,
        kind: refund ? 'REFUND' : 'SETTLEMENT',
        stakeMinor: user.stakedMinor,
        payoutMinor: user.payoutMinor,
        netMinor: user.payoutMinor - user.stakedMinor,
        transferId:
          !refund && user.payoutMinor > 0n
            ? payoutId(
                accounts.wallet(user.userId, record.currency),
                transferIds.payout(marketId, user.userId),
              )
            : '',
      }));
      if (resolved.streamerShareMinor > 0n) {
        payouts.push({
          userId: record.streamerUserId,
          kind: 'STREAMER_REVENUE_SHARE',
          stakeMinor: 0n,
          payoutMinor: resolved.streamerShareMinor,
          netMinor: resolved.streamerShareMinor,
          transferId: payoutId(
            accounts.streamerRevenue(record.streamerUserId, record.currency),
            transferIds.streamerShare(marketId),
          ),
        });
      }
      return payouts;
    };
    // A run that started on the older path (a hold cursor saved) finishes on it.
    let payouts: PlannedPayout[] | undefined;
    let marketResolved = false;
    if (record.holdsCursor === '') {
      // The planned rows are written while the ledger resolves the holds (they are the recorded
      // resolution, the same for every attempt; savePlan moves the phase only after both).
      payouts = plan(true);
      const rowsWritten = store.insertRows(attempt.lease, payouts);
      rowsWritten.catch(() => undefined);
      try {
        marketResolved = await resolveMarket(record, attempt, action, resolved.totalStakedMinor);
      } catch (error) {
        await rowsWritten.catch(() => undefined);
        throw error;
      }
      await rowsWritten;
    }
    if (!marketResolved) {
      await resolveHolds(record, attempt, action, {
        totalStakedMinor: resolved.totalStakedMinor,
        betCount: Number(resolved.betCount),
      });
      payouts = plan(false);
    }
    const r = resolved;
    await store.savePlan(attempt.lease, {
      figures: {
        totalStakedMinor: r.totalStakedMinor,
        winningStakedMinor: r.winningStakedMinor,
        losingStakedMinor: r.losingStakedMinor,
        commissionMinor: r.commissionMinor,
        streamerShareMinor: r.streamerShareMinor,
        rakeMinor: r.rakeMinor,
        distributableMinor: r.distributableMinor,
        breakageMinor: r.breakageMinor,
        payoutTotalMinor: r.payoutTotalMinor,
        payoutCount: BigInt(r.users.length),
        winnerCount: r.winnerCount,
        betCount: r.betCount,
      },
      refundReason: r.refundReason,
      payouts: payouts!,
      next: refund ? 'FINISH' : 'PAYOUTS',
      marketResolved,
      rowsWritten: marketResolved,
    });
  }

  /** Every outcome committed (now or before), or IllegalStateError naming the first refusal. */
  function requireCommitted(
    outcomes: readonly { committed: boolean; transferId: string; detail: string }[],
    sent: number,
    what: string,
  ): void {
    const refused = outcomes.filter((outcome) => !outcome.committed);
    if (refused.length > 0 || outcomes.length !== sent) {
      const first = refused[0];
      throw new IllegalStateError(
        `the ledger refused ${refused.length} of ${sent} ${what} transfers${first === undefined ? ` (answered ${outcomes.length})` : `; first ${first.transferId}: ${first.detail}`}`,
      );
    }
  }

  async function runPayouts(record: SettlementRecord, attempt: Attempt): Promise<void> {
    const { marketId, currency } = record;
    const context: LedgerContext = { marketId, settlementId: record.settlementId, currency };
    const pageSize = record.marketResolved ? payoutPageSize : batchSize;
    let cursor = record.payoutsCursor;
    let batches = 0;
    for (;;) {
      const page = await store.payoutPage(marketId, cursor, pageSize);
      if (page.length === 0) break;
      await attempt.step();
      if (record.marketResolved) {
        const entries: MarketPayoutEntry[] = page.map((row) => ({
          accountId: accounts.wallet(row.userId, currency),
          amountMinor: row.payoutMinor,
          code: 'PAYOUT',
        }));
        requireCommitted(
          await ledger.creditMarketPayouts(context, entries),
          entries.length,
          'payout',
        );
      } else {
        await submitAll(
          page.map((row) => payoutCommand(marketId, currency, row.userId, row.payoutMinor)),
          context,
          'payout',
        );
      }
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
    if (system.length > 0) {
      if (record.marketResolved) {
        const entries: MarketPayoutEntry[] = system.map((command) => ({
          accountId: command.creditAccountId,
          amountMinor: command.amountMinor,
          code: command.code,
        }));
        requireCommitted(
          await ledger.creditMarketPayouts(context, entries),
          entries.length,
          'commission/share/breakage',
        );
      } else {
        await submitAll(system, context, 'commission/share/breakage');
      }
    }
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

  /** Voids the open reversal holds of `round` among `commands` (nothing else moves). */
  async function voidHolds(
    commands: readonly LedgerCommand[],
    round: number,
    context: LedgerContext,
  ): Promise<void> {
    for (const part of chunk(commands.map((command) => voidReversalHold(command, round)))) {
      await submitAll(part, context, 'reversal hold release');
    }
  }

  /**
   * ReverseSettlement (see settlement.proto), never leaving a market half reversed. Claw-backs
   * (winners' net winnings, commission, share, breakage) that fit one ledger call go in one linked
   * chain, all or nothing. More than that go in two phases: first every claw-back is HELD (a
   * pending transfer into the escrow, in linked chains of up to 1000); only when all are held are
   * they posted. Then each loser's net loss is refunded. If a hold is refused (a winner spent
   * the winnings meanwhile), the round's holds are voided and the call refuses with nothing moved;
   * the next attempt takes new holds (the next round). A crash anywhere resumes: claw-backs posted
   * are not asked again, holds still open are posted, refunds have derived ids.
   */
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
    const round = record.reversalRound;
    const context: LedgerContext = {
      marketId,
      settlementId: record.settlementId,
      currency: record.currency,
    };

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
    // Claw-backs already posted by an interrupted earlier attempt are not asked for again.
    const posted = new Set<string>();
    for (const ids of chunk(plan.inflows.map((c) => c.transferId))) {
      for (const id of await ledger.existing(ids)) posted.add(id);
    }
    const open = plan.inflows.filter((command) => !posted.has(command.transferId));
    const states = new Map<string, string>();
    for (const part of chunk(open)) {
      const found = await ledger.holdStates(part.map((c) => reversalHold(c, round).transferId));
      for (const [id, state] of found) states.set(id, state);
    }
    const stateOf = (command: LedgerCommand) => states.get(reversalHold(command, round).transferId);
    const held = open.filter((command) => stateOf(command) === 'OPEN');
    if (open.some((command) => stateOf(command) !== undefined && stateOf(command) !== 'OPEN')) {
      // A round undone by an attempt that stopped before moving on: finish undoing it, go on with
      // the next round's holds.
      await voidHolds(held, round, context);
      await store.nextReversalRound(marketId, round);
      return reverse(marketId, reason, requestedByUserId);
    }
    const toHold = open.filter((command) => stateOf(command) === undefined);
    const needed = new Map<string, bigint>();
    for (const command of toHold) {
      if (!plan.debits.has(command.debitAccountId)) continue;
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
    const refuse = async (why: string): Promise<never> => {
      if (held.length > 0) {
        await voidHolds(held, round, context);
        await store.nextReversalRound(marketId, round);
      }
      throw new IllegalStateError(
        `${why} of market ${marketId} are no longer reversible (available balance below the winnings to take back, e.g. ${short.slice(0, 3).join(', ')}); nothing was moved`,
      );
    };
    if (short.length > 0) await refuse(`${short.length} payout(s)`);
    if (held.length === 0 && toHold.length <= LEDGER_BATCH_MAX) {
      // One ledger call takes every claw-back back: one linked chain, all or nothing.
      if (toHold.length > 0) await submitAll(linkAll(toHold), context, 'reversal');
      for (const part of chunk(plan.outflows)) await submitAll(part, context, 'refund');
      return store.markReversed(marketId, reason, requestedByUserId);
    }
    // Phase 1: hold every claw-back (each chain all or nothing).
    for (const part of chunk(toHold)) {
      const outcomes = await ledger.submit(
        linkAll(part.map((command) => reversalHold(command, round))),
        context,
      );
      if (outcomes.every((outcome) => outcome.committed)) {
        held.push(...part);
        continue;
      }
      const first = outcomes.find((outcome) => !outcome.committed);
      short.push(first?.detail ?? 'a hold');
      await refuse('payouts spent while the reversal was taking them back');
    }
    // Phase 2: every claw-back is held, none can fail for funds: post them, then the refunds.
    for (const part of chunk(held.map((command) => postReversalHold(command, round)))) {
      await submitAll(part, context, 'reversal');
    }
    for (const part of chunk(plan.outflows)) await submitAll(part, context, 'refund');
    return store.markReversed(marketId, reason, requestedByUserId);
  }

  return { runOnce, reverse };
}

/**
 * Refuses a resolution whose figures do not add up (the bet engine's rows and totals disagree, or
 * the formula's conservation fails): nothing is moved on it.
 */
function checkResolution(marketId: string, r: ResolvedMarket): void {
  let staked = 0n;
  let paid = 0n;
  let bets = 0n;
  let previous = '';
  for (const user of r.users) {
    if (user.userId <= previous || user.stakedMinor <= 0n || user.payoutMinor < 0n) {
      throw new IllegalStateError(
        `the bet engine sent an invalid row for user ${user.userId} of market ${marketId}`,
      );
    }
    previous = user.userId;
    staked += user.stakedMinor;
    paid += user.payoutMinor;
    bets += user.betCount;
  }
  const refund = r.refundReason !== null;
  const problems: string[] = [];
  if (staked !== r.totalStakedMinor)
    problems.push(`users stake ${staked}, total ${r.totalStakedMinor}`);
  if (paid !== r.payoutTotalMinor)
    problems.push(`users are paid ${paid}, total ${r.payoutTotalMinor}`);
  if (bets !== r.betCount) problems.push(`users have ${bets} bets, total ${r.betCount}`);
  if (r.payoutTotalMinor + r.commissionMinor + r.breakageMinor !== r.totalStakedMinor) {
    problems.push('payouts + commission + breakage ≠ staked');
  }
  if (r.rakeMinor + r.streamerShareMinor !== r.commissionMinor || r.rakeMinor < 0n) {
    problems.push('rake + streamer share ≠ commission');
  }
  if (r.breakageMinor < 0n || r.commissionMinor < 0n) problems.push('a negative figure');
  if (refund && (r.commissionMinor !== 0n || r.breakageMinor !== 0n)) {
    problems.push('a refund with commission or breakage');
  }
  if (problems.length > 0) {
    throw new IllegalStateError(
      `the bet engine's resolution of market ${marketId} does not add up (${problems.join('; ')}); nothing was moved`,
    );
  }
}

function isUnavailable(error: unknown): boolean {
  if (error instanceof UnavailableError) return true;
  return error instanceof ConnectError && error.code === Code.Unavailable;
}
