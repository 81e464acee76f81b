/**
 * The bet engine's hot path: group-committed placement, plus the work that must never run
 * concurrently with a batch of this process (retroactive voids, reconciliation of PENDING bets).
 *
 * One lane, batches pipelined. PlaceBet calls queue; a batch starts, taking every queued placement
 * (up to `maxBatchSize`), as soon as the batch before it has written its intents (step 2, the
 * intake) and fewer than `maxBatchesInFlight` run. So an idle engine adds no latency (the first
 * bet starts a batch on the next turn of the event loop, no timer), a bet never waits for a whole
 * batch before its own starts (only for the intake of the one before), and under load a batch
 * takes everything that arrived during the previous intake, so batches stay large. Batches
 * overlap freely: what must stay ordered is kept by the database — each market's totals move in
 * the finalize transaction under the market's row lock, the per-user cap and idempotency keys
 * under an advisory lock per (market, user) — and the odds cache takes only newer versions.
 * One batch is:
 *   1. the escrow accounts of its markets, if not known to exist (one CreateAccounts call);
 *   2. ONE bet-engine commit writing the survivors as PENDING intents (rules re-checked under the
 *      market row lock, per-user cap including earlier bets and this batch);
 *   3. ONE ReserveStakes call (user service): eligibility and every hold (`bet:<betId>:stake`,
 *      PENDING, with a timeout) in one user-service transaction;
 *   4. ONE bet-engine commit: ACCEPTED + totals + odds version + BetPlaced in the outbox (or the
 *      intent withdrawn when the user may not bet or lacks funds, or VOIDED HOLD_FAILED);
 * and only then is each caller answered. If the user service's answer never comes (step 3
 * throws), the bets stay PENDING, the callers get them as PENDING, and reconciliation finishes
 * them by reserving again with the same hold ids (idempotent) — so no hold ever exists without
 * its bet, and no PENDING bet stays unresolved. Lane tasks (voids, reconciliation) wait for the
 * batches in flight and run alone.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Code, ConnectError } from '@connectrpc/connect';
import type { Link } from '@opentelemetry/api';
import {
  NotFoundError,
  ResourceExhaustedError,
  UnavailableError,
} from '@streambet/platform/errors/domain-errors';
import { quoteInput } from '@streambet/platform/errors/quote-input';
import type { Logger } from '@streambet/platform/log/logger';
import { activeSpanLink, withBatchSpan } from '@streambet/platform/obs/tracing';
import { runDetached } from '@streambet/platform/runtime/detached';
import type { Clock } from '@streambet/platform/rpc/clock';
import { rejectionFromIneligibility, reject, type Rejection } from './domain/bet.js';
import type { LedgerPort } from './downstreams.js';
import type { Markets } from './markets.js';
import type { OddsService } from './odds.js';
import type { BetRecord } from './proto-codec.js';
import type {
  BetEngineStore,
  FinalizeResult,
  HoldOutcome,
  IntentRequest,
  MarketRecord,
} from './store/index.js';

/** What one placement came to. */
export type PlaceResult =
  /** Placed (ACCEPTED, or PENDING if the ledger did not answer), or the repeat of an earlier one. */
  | { readonly kind: 'placed'; readonly bet: BetRecord; readonly indicativeDecimalOdds: string }
  | { readonly kind: 'rejected'; readonly rejection: Rejection }
  /** The idempotency key was used by the caller for another bet. */
  | { readonly kind: 'conflict'; readonly bet: BetRecord };

/** Tunables of the placement engine. */
export interface PlacementSettings {
  /** Most requests in one batch (the ledger takes ≤ 1000 commands per call). */
  readonly maxBatchSize: number;
  /** Timeout of every hold: it lapses on its own if nothing resolves it (0–2,592,000 s). */
  readonly holdTimeoutSeconds: number;
  /** Reconciliation leaves PENDING bets younger than this alone (a batch may still finish them). */
  readonly reconcileMinAgeMs: number;
  /** Refuse new placements while the oldest queued one has waited longer (ms). */
  readonly maxQueueWaitMs: number;
  /** Refuse new placements while this many wait. */
  readonly maxQueuedPlacements: number;
  /** Batches running at once (default {@link defaultMaxBatchesInFlight}). */
  readonly maxBatchesInFlight?: number;
}

/**
 * Batches in flight at once unless the settings say otherwise (the service reads
 * BET_ENGINE_BATCHES_IN_FLIGHT, default 3, in config.ts): one per step after the intake
 * (reservation, finalize) plus the one in its intake. The bound matters when a downstream stalls:
 * batches then stop starting instead of piling up as ever smaller ones, each costing a fixed
 * handful of commits (intents, reservation, finalize, the relays' rounds).
 */
export const defaultMaxBatchesInFlight = 3;

/** Dependencies of {@link createPlacementEngine}. */
export interface PlacementDeps {
  readonly store: BetEngineStore;
  readonly markets: Markets;
  readonly ledger: LedgerPort;
  readonly odds: OddsService;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settings: PlacementSettings;
  /** A fresh ULID at `nowMs`. */
  readonly newBetId: (nowMs: number) => string;
  /** Told how each placement batch went (metrics: where placement latency goes). */
  readonly onBatch?: (timing: BatchTiming) => void;
}

/** The steps of a placement batch, in order (see the file comment). */
export type BatchStep = 'intents' | 'holds' | 'finalize' | 'odds';

/** How one placement batch went, for metrics. */
export interface BatchTiming {
  /** Placements in the batch. */
  readonly size: number;
  /** How long its oldest placement waited in the queue before the batch started (ms). */
  readonly queueWaitMs: number;
  /** Wall time of each step that ran (ms); a batch that ended early lacks the later ones. */
  readonly stepsMs: Readonly<Partial<Record<BatchStep, number>>>;
}

/** Counters of the lane, for metrics and tests. */
export interface PlacementStats {
  batches: number;
  placements: number;
  ledgerHoldCalls: number;
  largestBatch: number;
  /** Placements refused at arrival because the queue was too long or too old. */
  shed: number;
  /** Queued placements dropped unwritten because their caller had gone. */
  abandoned: number;
}

interface PlaceJob {
  readonly kind: 'place';
  readonly request: Omit<IntentRequest, 'betId'>;
  readonly market: MarketRecord;
  /** When it was queued (the placement clock). */
  readonly queuedAtMs: number;
  /** The caller's signal: a caller gone before its batch starts gets nothing written. */
  readonly signal: AbortSignal | undefined;
  /** The caller's span, linked from the batch's span. */
  readonly link: Link | undefined;
  resolve(result: PlaceResult): void;
  reject(error: unknown): void;
}

interface TaskJob {
  readonly kind: 'task';
  run(): Promise<void>;
}

/** Result of VoidBetsAfter. */
export interface VoidAfterResult {
  readonly lockEffectiveAtMs: number;
  readonly voidedBetCount: bigint;
  readonly voidedStakeMinor: bigint;
}

/** The rejection of a bet whose intent was withdrawn: why the user service refused its stake. */
function refusalOf(bet: BetRecord, hold: HoldOutcome | undefined): Rejection {
  if (hold?.result === 'ineligible') return rejectionFromIneligibility(hold.reasons, bet.currency);
  return reject(
    'INSUFFICIENT_FUNDS',
    `your available ${bet.currency} balance does not cover a stake of ${bet.stakeMinor}`,
    {
      currency: bet.currency,
      availableMinor: hold?.result === 'no-funds' ? (hold.availableMinor ?? 0n) : 0n,
    },
  );
}

/** Creates the placement engine. */
export function createPlacementEngine(deps: PlacementDeps) {
  const { store, markets, ledger, odds, clock, logger, settings } = deps;
  const maxInFlight = Math.max(1, settings.maxBatchesInFlight ?? defaultMaxBatchesInFlight);
  const queue: Array<PlaceJob | TaskJob> = [];
  /** Batches running now. */
  let inFlight = 0;
  /** A batch is writing its intents: the next one starts once it has (see the file comment). */
  let intakeBusy = false;
  /** A lane task is running (batches wait for it, it waited for them). */
  let taskRunning = false;
  let scheduled = false;
  let idleWaiters: Array<() => void> = [];
  const stats: PlacementStats = {
    batches: 0,
    placements: 0,
    ledgerHoldCalls: 0,
    largestBatch: 0,
    shed: 0,
    abandoned: 0,
  };
  /** Placements in the queue (the queue also holds lane tasks). */
  let queuedPlacements = 0;

  /** Starts work on the next turn, detached from the caller that happens to wake it (see runDetached). */
  function kick(): void {
    if (scheduled) return;
    scheduled = true;
    runDetached(() =>
      setImmediate(() => {
        scheduled = false;
        pump();
      }),
    );
  }

  function idle(): boolean {
    return inFlight === 0 && !taskRunning && queue.length === 0;
  }

  /** Starts whatever may start now: batches up to the limit, or the task at the head alone. */
  function pump(): void {
    while (queue.length > 0 && !taskRunning) {
      const head = queue[0]!;
      if (head.kind === 'task') {
        if (inFlight > 0) return; // runs once the batches in flight are done
        queue.shift();
        taskRunning = true;
        void head.run().finally(() => {
          taskRunning = false;
          pump();
        });
        return;
      }
      if (inFlight >= maxInFlight || intakeBusy) return;
      const batch: PlaceJob[] = [];
      while (batch.length < settings.maxBatchSize && queue[0]?.kind === 'place') {
        const job = queue.shift() as PlaceJob;
        queuedPlacements -= 1;
        if (job.signal?.aborted === true) {
          stats.abandoned += 1;
          job.reject(
            new ConnectError('the caller went away before the bet was placed', Code.Canceled),
          );
          continue;
        }
        batch.push(job);
      }
      if (batch.length === 0) continue;
      inFlight += 1;
      intakeBusy = true;
      let intakeOpen = true;
      const endIntake = (): void => {
        if (!intakeOpen) return;
        intakeOpen = false;
        intakeBusy = false;
        pump();
      };
      void withBatchSpan(
        'bet-engine placement batch',
        batch.map((job) => job.link),
        { 'streambet.batch.size': batch.length },
        () => runBatch(batch, endIntake),
      ).finally(() => {
        inFlight -= 1;
        intakeOpen = false;
        intakeBusy = false;
        pump();
      });
    }
    if (idle()) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Runs `fn` on the lane (never concurrently with a batch of this process). */
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      queue.push({
        kind: 'task',
        // on behalf of one caller: in that caller's context (log lines, trace)
        run: AsyncLocalStorage.bind(() => fn().then(resolve, reject)),
      });
      kick();
    });
  }

  /**
   * After a finalize commit: caches each changed market's odds from the totals that transaction
   * read (no extra SQL), and publishes OddsChanged for those whose event did not go with it.
   */
  async function indicativeOdds(
    finalized: Pick<FinalizeResult, 'changedMarkets' | 'totals' | 'oddsPublished'>,
  ): Promise<Map<string, Map<string, string>>> {
    const byMarket = new Map<string, Map<string, string>>();
    odds.countPublished(finalized.oddsPublished.size);
    for (const marketId of finalized.changedMarkets) {
      const totals = finalized.totals.get(marketId);
      const snapshot =
        totals === undefined ? await odds.refresh(marketId) : await odds.accept(totals);
      if (snapshot !== undefined) {
        byMarket.set(marketId, new Map(snapshot.outcomes.map((o) => [o.outcomeId, o.decimalOdds])));
      }
      if (!finalized.oddsPublished.has(marketId)) odds.changed(marketId);
    }
    return byMarket;
  }

  function scheduleLateVoids(marketIds: ReadonlySet<string>): void {
    for (const marketId of marketIds) {
      void exclusive(() => completeLateVoid(marketId)).catch((error: unknown) =>
        logger.warn(
          { err: error, marketId },
          'retroactive void did not complete; reconciliation retries',
        ),
      );
    }
  }

  /** Runs one batch; calls `endIntake` once its intents are written (the next batch may start). */
  async function runBatch(batch: readonly PlaceJob[], endIntake: () => void): Promise<void> {
    stats.batches += 1;
    stats.placements += batch.length;
    stats.largestBatch = Math.max(stats.largestBatch, batch.length);
    const queueWaitMs = Math.max(0, clock.now() - Math.min(...batch.map((job) => job.queuedAtMs)));
    const stepsMs: Partial<Record<BatchStep, number>> = {};
    let stepStartedAt = performance.now();
    const mark = (step: BatchStep): void => {
      const now = performance.now();
      stepsMs[step] = now - stepStartedAt;
      stepStartedAt = now;
    };
    try {
      await markets.ensureEscrows(batch.map((job) => job.market));
      const nowMs = clock.now();
      const requests: IntentRequest[] = batch.map((job) => ({
        ...job.request,
        betId: deps.newBetId(nowMs),
      }));
      const intents = await store.insertIntents(requests, nowMs, settings.holdTimeoutSeconds);
      mark('intents');
      endIntake();
      const pendingBets = intents.flatMap((o) => (o.kind === 'intent' ? [o.bet] : []));
      const pendingIds = new Set(pendingBets.map((bet) => bet.betId));

      let holds: HoldOutcome[] | undefined;
      if (pendingBets.length > 0) {
        stats.ledgerHoldCalls += 1;
        try {
          holds = await ledger.hold(pendingBets);
        } catch (error) {
          logger.warn(
            { err: error, bets: pendingBets.length },
            'the user service did not confirm the stake reservations; the bets stay PENDING until reconciled',
          );
        }
      }
      mark('holds');
      const refusals = new Map(
        (holds ?? []).flatMap((hold) => (hold.result === 'held' ? [] : [[hold.betId, hold]])),
      );
      const finalized =
        holds === undefined
          ? undefined
          : await store.finalizeHolds(holds, clock.now(), {
              withdrawNoFunds: true,
              publishOddsNow: (marketId) => odds.claimPublication(marketId),
            });
      mark('finalize');
      const oddsByMarket =
        finalized === undefined
          ? new Map<string, Map<string, string>>()
          : await indicativeOdds(finalized);
      mark('odds');
      if (finalized !== undefined) scheduleLateVoids(finalized.lateVoidMarkets);

      logger.debug({ batch: batch.length, queueWaitMs, stepsMs }, 'batch committed');
      batch.forEach((job, index) => {
        const outcome = intents[index]!;
        switch (outcome.kind) {
          case 'rejected':
            job.resolve({ kind: 'rejected', rejection: outcome.rejection });
            return;
          case 'conflict':
            job.resolve({ kind: 'conflict', bet: outcome.bet });
            return;
          case 'existing':
          case 'intent': {
            // A repeat of a bet written earlier in this same batch shares its fate.
            const fresh = outcome.kind === 'intent' || pendingIds.has(outcome.bet.betId);
            if (!fresh || finalized === undefined) {
              job.resolve({ kind: 'placed', bet: outcome.bet, indicativeDecimalOdds: '' });
              return;
            }
            const bet = finalized.bets.get(outcome.bet.betId);
            if (bet === undefined) {
              job.resolve({
                kind: 'rejected',
                rejection: refusalOf(outcome.bet, refusals.get(outcome.bet.betId)),
              });
              return;
            }
            job.resolve({
              kind: 'placed',
              bet,
              indicativeDecimalOdds:
                bet.status === 'ACCEPTED'
                  ? (oddsByMarket.get(bet.marketId)?.get(bet.outcomeId) ?? '')
                  : '',
            });
          }
        }
      });
    } catch (error) {
      for (const job of batch) job.reject(error);
    } finally {
      try {
        deps.onBatch?.({ size: batch.length, queueWaitMs, stepsMs });
      } catch (error) {
        logger.warn({ err: error }, 'placement batch metrics failed');
      }
    }
  }

  /**
   * Finishes PENDING bets (of one market, or all) placed at or before `placedAtOrBeforeMs` by
   * resubmitting their holds: accepted if the ledger has or now takes the hold, else voided
   * HOLD_FAILED. Throws UnavailableError when the ledger cannot be reached.
   */
  async function finishPending(
    placedAtOrBeforeMs: number,
    marketId: string | undefined,
  ): Promise<{ accepted: number; voided: number }> {
    let accepted = 0;
    let voided = 0;
    for (;;) {
      const pending = await store.pendingBets(placedAtOrBeforeMs, marketId, settings.maxBatchSize);
      if (pending.length === 0) break;
      let holds: HoldOutcome[];
      try {
        holds = await ledger.hold(pending);
      } catch (error) {
        throw new UnavailableError('the ledger is unavailable; PENDING bets will be retried', {
          cause: error,
        });
      }
      const finalized = await store.finalizeHolds(holds, clock.now(), {
        withdrawNoFunds: false,
        publishOddsNow: (marketId) => odds.claimPublication(marketId),
      });
      for (const bet of finalized.bets.values()) {
        if (bet.status === 'VOIDED' && bet.voidReason === 'HOLD_FAILED') voided += 1;
        else if (bet.status !== 'PENDING') accepted += 1;
      }
      await indicativeOdds(finalized);
      for (const id of finalized.lateVoidMarkets) {
        if (id !== marketId) scheduleLateVoids(new Set([id]));
      }
      if (pending.length < settings.maxBatchSize) break;
    }
    return { accepted, voided };
  }

  /**
   * Voids (RETROACTIVE_LOCK) every ACCEPTED bet of the market placed after its lock instant:
   * PENDING bets are finished first, then the holds of the late bets are released in one ledger
   * call, then one commit marks them VOIDED with BetVoided events. Clears the market's
   * late-void flag when nothing is left to do.
   */
  async function completeLateVoid(marketId: string): Promise<MarketRecord> {
    await finishPending(clock.now(), marketId);
    const late = await store.lateBets(marketId);
    let releasedIds: string[] = [];
    let complete = true;
    if (late.length > 0) {
      let released;
      try {
        released = await ledger.release(late);
      } catch (error) {
        throw new UnavailableError(
          'the ledger is unavailable; the retroactive void will be retried',
          {
            cause: error,
          },
        );
      }
      releasedIds = late.filter((bet) => released.get(bet.betId) !== 'failed').map((b) => b.betId);
      complete = releasedIds.length === late.length;
      if (!complete) logger.error({ marketId }, 'the ledger refused to release some late holds');
    }
    if (await store.hasPendingBets(marketId)) complete = false;
    const market = await store.markRetroactivelyVoided(
      marketId,
      releasedIds,
      complete,
      clock.now(),
    );
    if (releasedIds.length > 0) {
      await indicativeOdds({
        changedMarkets: new Set([marketId]),
        totals: new Map(),
        oddsPublished: new Set(),
      });
    }
    return market;
  }

  return {
    stats,

    /** Queues a placement for the next batch; resolves once it is durable (or rejected). */
    place(
      request: Omit<IntentRequest, 'betId'>,
      market: MarketRecord,
      signal?: AbortSignal,
    ): Promise<PlaceResult> {
      const nowMs = clock.now();
      const oldest = queue.find((job): job is PlaceJob => job.kind === 'place');
      const waitedMs = oldest === undefined ? 0 : nowMs - oldest.queuedAtMs;
      if (queuedPlacements >= settings.maxQueuedPlacements || waitedMs > settings.maxQueueWaitMs) {
        stats.shed += 1;
        return Promise.reject(
          new ResourceExhaustedError(
            `the bet engine is at capacity (${queuedPlacements} bets waiting, the oldest for ${waitedMs} ms); nothing was placed`,
            { retryAfterMs: 1_000 },
          ),
        );
      }
      return new Promise<PlaceResult>((resolve, reject) => {
        queue.push({
          kind: 'place',
          request,
          market,
          queuedAtMs: nowMs,
          signal,
          link: activeSpanLink(),
          resolve,
          reject,
        });
        queuedPlacements += 1;
        kick();
      });
    },

    /**
     * VoidBetsAfter: fixes the lock instant at once (the first one received wins and betting is
     * closed from now on), then voids the late bets on the lane. Returns the lock in force and
     * the market's void totals. Idempotent.
     */
    async voidBetsAfter(marketId: string, lockEffectiveAtMs: number): Promise<VoidAfterResult> {
      const market = await markets.get(marketId);
      if (market === undefined || market.state === 'DRAFT') {
        throw new NotFoundError(`market ${quoteInput(marketId)} does not exist`);
      }
      await store.sql.transaction((tx) =>
        store.fixLockInstant(tx, marketId, lockEffectiveAtMs, clock.now()),
      );
      markets.forget(marketId);
      const after = await exclusive(() => completeLateVoid(marketId));
      return {
        lockEffectiveAtMs: after.lockEffectiveAtMs ?? lockEffectiveAtMs,
        voidedBetCount: after.voidedBetCount,
        voidedStakeMinor: after.voidedStakeMinor,
      };
    },

    /** Runs the retroactive void of a market whose lock instant was fixed (MarketLocked event). */
    completeLateVoid(marketId: string): Promise<MarketRecord> {
      return exclusive(() => completeLateVoid(marketId));
    },

    /**
     * Reconciliation: finishes PENDING bets older than `reconcileMinAgeMs` (or `minAgeMs`) and
     * completes pending retroactive voids. Runs on the lane; ledger outages are logged and left
     * for the next run.
     */
    reconcile(
      minAgeMs = settings.reconcileMinAgeMs,
    ): Promise<{ accepted: number; voided: number }> {
      return exclusive(async () => {
        let result = { accepted: 0, voided: 0 };
        try {
          result = await finishPending(clock.now() - minAgeMs, undefined);
        } catch (error) {
          logger.warn({ err: error }, 'reconciliation of PENDING bets failed; will retry');
        }
        for (const marketId of await store.marketsWithLateVoidPending(100)) {
          try {
            await completeLateVoid(marketId);
          } catch (error) {
            logger.warn({ err: error, marketId }, 'retroactive void failed; will retry');
          }
        }
        return result;
      });
    },

    /** Placements waiting for the next batch (metrics, tests). */
    queuedPlacements(): number {
      return queuedPlacements;
    },

    /** Runs `fn` on the lane, never concurrently with a batch of this process (tests hold the lane with it). */
    runOnLane<T>(fn: () => Promise<T>): Promise<T> {
      return exclusive(fn);
    },

    /** Resolves when the lane is empty and idle (graceful shutdown, tests). */
    drain(): Promise<void> {
      if (idle() && !scheduled) return Promise.resolve();
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
      });
    },
  };
}

/** The placement engine. */
export type PlacementEngine = ReturnType<typeof createPlacementEngine>;
