/**
 * The EXCHANGE lane of the bet engine: orders, cancels and lapses of every EXCHANGE market go
 * through ONE queue drained in batches (group commit, like POOL placement):
 *
 * 1. **commit 1** — under the markets' be_xbooks rows (FOR UPDATE): take or renew the writer
 *    lease, rebuild the in-memory book if its seq differs from the row's, write the batch's orders
 *    as PENDING intents, apply cancels and lapses, and record each user's hold replacement as
 *    `pending_*` (the worst-case exposure with the new orders counted unmatched);
 * 2. **one SubmitTransfers** with every replacement (a linked void + hold chain per user);
 * 3. **commit 2** — finalize the holds, delete the intents whose hold was refused
 *    (INSUFFICIENT_FUNDS: nothing rests), match the accepted orders in batch order, write fills
 *    and order amounts.
 *
 * One writer per market: the replica holding the market's lease (be_xbooks.writer_id, renewed
 * by every batch, `leaseMs` long) is the only one that matches it; another replica answers
 * UNAVAILABLE ("retry") until the lease lapses, then takes over and rebuilds the book from SQL.
 * Every batch also checks be_xbooks.seq against its in-memory seq under the row lock, so a stale
 * picture is never written on (fencing).
 */
import type { Logger } from '@streambet/platform/log/logger';
import { oddsHundredthsToTick } from '@streambet/exchange/ladder';
import {
  IllegalStateError,
  NotFoundError,
  UnavailableError,
} from '@streambet/platform/errors/domain-errors';
import type { Clock } from '@streambet/platform/rpc/clock';
import { reject, rejectionFromIneligibility, type Rejection } from '../domain/bet.js';
import type { EligibilityPort } from './eligibility.js';
import type { MarketRecord } from '../store/index.js';
import type { ExchangeLedger, HoldChange, HoldChangeOutcome } from './ledger.js';
import { MarketBook, type XFill, type XOrder } from './market-book.js';
import type { ExchangeStore } from './store.js';
import { lapseMarket } from './lock.js';
import { appendOrderEvents, type OrderEvents } from './events.js';
import { appendBookChanged } from './publish.js';
import type { Scheduler } from '../odds.js';
import { planHoldChange, rebuildForWriting } from './rebuild.js';
import {
  sameOrder,
  type CancelResult,
  type LapseResult,
  type OrderRequest,
  type OrderResult,
} from './orders.js';
import {
  planSettlement,
  resolutionKey,
  type ExchangeResolution,
  type UserOutcome,
} from './settle.js';

type Command =
  | {
      readonly kind: 'place';
      readonly marketId: string;
      readonly userId: string;
      readonly order: XOrder;
      readonly market: MarketRecord;
      settle(result: OrderResult | Error): void;
    }
  | {
      readonly kind: 'cancel';
      readonly marketId: string;
      readonly userId: string;
      readonly orderId: string;
      settle(result: CancelResult | Error): void;
    }
  | {
      readonly kind: 'lapse';
      readonly marketId: string;
      readonly userId: '';
      readonly lockEffectiveAtMs: number;
      settle(result: LapseResult | Error): void;
    }
  | {
      readonly kind: 'settle';
      readonly marketId: string;
      readonly userId: '';
      readonly resolution: ExchangeResolution;
      settle(result: UserOutcome[] | Error): void;
    }
  | { readonly kind: 'tidy'; readonly marketId: string; readonly userId: ''; settle(): void };

/** Dependencies of {@link createExchangeEngine}. */
export interface ExchangeEngineDeps {
  readonly store: ExchangeStore;
  readonly ledger: ExchangeLedger;
  readonly clock: Clock;
  readonly logger: Logger;
  /** This replica's id in be_xbooks.writer_id. */
  readonly writerId: string;
  /** How long a writer's lease on a market lasts after its last batch, ms. */
  readonly leaseMs: number;
  readonly holdTimeoutSeconds: number;
  readonly maxBatchSize: number;
  readonly newOrderId: (nowMs: number) => string;
  /** The market's record (projection) for commands that carry none (cancel, lapse, tidy). */
  readonly readMarket: (marketId: string) => Promise<MarketRecord | undefined>;
  /** Arms the trailing book publication (tests: a manual scheduler); default real timers. */
  readonly scheduler?: Scheduler;
  /** Least time between two book snapshots of a market, ms (default 100: ≤ 10/s). */
  readonly publishIntervalMs?: number;
  /** Checks the users of a batch's orders (one call per batch); none: not checked. */
  readonly eligibility?: EligibilityPort;
  /** Called after a commit that changed a market's book (conflated live pushes). */
  readonly onBookChanged?: (marketId: string) => void;
}

/** Figures of the lane (group-commit claims). */
export interface ExchangeStats {
  batches: number;
  orders: number;
  commits: number;
}

/** Creates the lane. */
export function createExchangeEngine(deps: ExchangeEngineDeps) {
  const { store, ledger, clock, logger } = deps;
  const memory = new Map<string, MarketBook>();
  const queue: Command[] = [];
  const stats: ExchangeStats = { batches: 0, orders: 0, commits: 0 };
  let running: Promise<void> | undefined;
  /** Book snapshots: when each market's was last appended, and whether a change awaits one. */
  const published = new Map<string, { atMs: number; dirty: boolean }>();
  const trailingTimers = new Map<string, { cancel(): void }>();
  const scheduler: Scheduler = deps.scheduler ?? {
    setTimer(fn, delayMs) {
      const timer = setTimeout(fn, delayMs);
      timer.unref();
      return { cancel: () => clearTimeout(timer) };
    },
  };
  const publishIntervalMs = deps.publishIntervalMs ?? 100;

  /** Publishes a market's last change once the conflation interval has passed. */
  function scheduleTrailing(marketId: string): void {
    if (trailingTimers.has(marketId)) return;
    const fire = () => {
      trailingTimers.delete(marketId);
      queue.push({ kind: 'tidy', marketId, userId: '', settle: () => {} });
      kick();
    };
    trailingTimers.set(marketId, scheduler.setTimer(fire, publishIntervalMs));
  }

  function kick(): void {
    if (running !== undefined) return;
    running = new Promise<void>((resolve) => setImmediate(resolve)).then(drainQueue).finally(() => {
      running = undefined;
      if (queue.length > 0) kick();
    });
  }

  async function drainQueue(): Promise<void> {
    let worked = false;
    while (queue.length > 0) {
      const taken = takeBatch();
      const batch = await screenEligibility(taken).catch((error: unknown) => {
        for (const c of taken) c.settle(error as Error);
        return [];
      });
      if (batch.length === 0) continue;
      if (batch.some((c) => c.kind !== 'tidy')) worked = true;
      try {
        await runBatch(batch);
      } catch (error) {
        for (const c of batch) memory.delete(c.marketId);
        const failure =
          error instanceof UnavailableError || error instanceof IllegalStateError
            ? error
            : new UnavailableError('the exchange could not apply the order now; retry shortly', {
                cause: error,
              });
        if (!(error instanceof UnavailableError))
          logger.error({ err: error }, 'exchange batch failed');
        for (const c of batch) c.settle(failure);
      }
    }
    // Exposure that fell while matching (makers) is released when the lane is idle.
    if (!worked) return;
    for (const [marketId, book] of memory) {
      if (book.shrinkDue.size > 0 && book.writer)
        queue.push({ kind: 'tidy', marketId, userId: '', settle: () => {} });
    }
  }

  /**
   * Refuses the orders of users who may not bet now (one CheckEligibility for the batch) before
   * anything is written; returns the commands that go on.
   */
  async function screenEligibility(batch: Command[]): Promise<Command[]> {
    const places = batch.filter((c): c is Command & { kind: 'place' } => c.kind === 'place');
    if (deps.eligibility === undefined || places.length === 0) return batch;
    const answers = await deps.eligibility(places.map((c) => c.order));
    const refusedOrders = new Set<Command>();
    places.forEach((c, index) => {
      const reasons = answers[index];
      if (reasons === undefined) return;
      refusedOrders.add(c);
      c.settle({
        kind: 'rejected',
        rejection: rejectionFromIneligibility(reasons, c.order.currency),
      });
    });
    return batch.filter((c) => !refusedOrders.has(c));
  }

  /** Up to maxBatchSize commands, at most one per (market, user) and a lapse alone per market. */
  function takeBatch(): Command[] {
    const taken: Command[] = [];
    const seen = new Set<string>();
    const lapsing = new Set<string>();
    for (let i = 0; i < queue.length && taken.length < deps.maxBatchSize;) {
      const c = queue[i]!;
      const key = `${c.marketId} ${c.userId}`;
      const blocked =
        lapsing.has(c.marketId) ||
        ((c.kind === 'lapse' || c.kind === 'settle') &&
          [...seen].some((k) => k.startsWith(`${c.marketId} `)));
      if (blocked || (c.userId !== '' && seen.has(key))) {
        i += 1;
        continue;
      }
      if (c.kind === 'lapse' || c.kind === 'settle') lapsing.add(c.marketId);
      seen.add(key);
      taken.push(c);
      queue.splice(i, 1);
    }
    return taken;
  }

  async function runBatch(batch: Command[]): Promise<void> {
    stats.batches += 1;
    const nowMs = clock.now();
    const marketIds = [...new Set(batch.map((c) => c.marketId))];
    const marketsById = new Map<string, MarketRecord>();
    for (const c of batch) if (c.kind === 'place') marketsById.set(c.marketId, c.market);
    const byMarket = new Map<
      string,
      {
        book: MarketBook;
        currency: string;
        changes: Map<string, HoldChange>;
        /** Cancels, lapses or voids changed the book in commit 1. */
        changed: boolean;
      }
    >();
    const refused = new Map<Command, Error>();
    const rejected = new Map<Command, Rejection>();
    const deferredCommands: Command[] = [];
    const cancelResults = new Map<Command, CancelResult>();
    const lapseResults = new Map<Command, LapseResult>();
    const settling: Array<{
      c: Command & { kind: 'settle' };
      currency: string;
      done: boolean;
    }> = [];
    const settleResults = new Map<Command, UserOutcome[]>();
    const intents: XOrder[] = [];

    for (const marketId of marketIds) {
      if (marketsById.has(marketId)) continue;
      const market = await deps.readMarket(marketId);
      if (market !== undefined) marketsById.set(marketId, market);
    }

    // ---- commit 1: intents, cancels, lapses, pending hold changes
    await store.sql.transaction(async (tx) => {
      const rows = await store.lockBooks(tx, marketIds);
      const repeats = await store.storedKeys(
        tx,
        batch.flatMap((c) =>
          c.kind === 'place' ? [[c.userId, c.order.idempotencyKey] as const] : [],
        ),
      );
      for (const marketId of marketIds) {
        const row = rows.get(marketId)!;
        const mine = batch.filter((c) => c.marketId === marketId);
        if (row.writerId !== '' && row.writerId !== deps.writerId && row.leaseUntilMs > nowMs) {
          for (const c of mine) {
            refused.set(
              c,
              new UnavailableError(
                `market ${marketId}'s book is being matched by another replica; retry shortly`,
              ),
            );
          }
          continue;
        }
        const market = marketsById.get(marketId);
        if (market === undefined) {
          for (const c of mine)
            refused.set(c, new NotFoundError(`market ${marketId} does not exist`));
          continue;
        }
        let book = memory.get(marketId);
        if (
          book === undefined ||
          book.seq !== row.seq ||
          !book.writer ||
          row.writerId !== deps.writerId
        ) {
          book = await rebuildForWriting(
            store,
            tx,
            marketId,
            market.outcomes.length,
            row.seq,
            clock.now(),
          );
          memory.set(marketId, book);
        }
        book.writer = true;
        const currency = market.currency;
        const changes = new Map<string, HoldChange>();
        const entry = { book, currency, changes, changed: false };
        byMarket.set(marketId, entry);
        // Replacements left pending by a dead batch are resubmitted as they were (same ids).
        for (const hold of book.holds.values()) {
          if (hold.pendingVersion > 0)
            changes.set(
              hold.userId,
              planHoldChange(
                deps.holdTimeoutSeconds,
                book,
                currency,
                hold.userId,
                hold.pendingAmountMinor,
                '',
              )!,
            );
        }
        const touchedOrders: XOrder[] = [];
        const removals = {
          canceled: [] as Array<NonNullable<OrderEvents['canceled']>[number]>,
          lapsed: [] as Array<NonNullable<OrderEvents['lapsed']>[number]>,
        };
        /** Orders that lapsed in what lapseMarket appended to touchedOrders from `from` on. */
        const noteLapsed = (from: number): void => {
          for (const o of touchedOrders.slice(from))
            if (o.voidReason === 'LAPSED' && o.updatedAtMs === nowMs)
              removals.lapsed.push({ order: o, lapsedMinor: o.lapsedMinor });
        };
        for (const c of mine) {
          if (c.kind === 'place') {
            if (repeats.has(`${c.userId} ${c.order.idempotencyKey}`)) {
              refused.set(c, repeatMarker); // answered from the stored order
              continue;
            }
            if (row.lapsed || market.lockEffectiveAtMs !== undefined) {
              rejected.set(c, reject('BETTING_CLOSED', `betting on market ${marketId} has closed`));
              refused.set(c, closedMarker);
              continue;
            }
            if (changes.has(c.userId)) {
              // The user's previous hold change is still being settled: next batch.
              deferredCommands.push(c);
              refused.set(c, deferred);
              continue;
            }
            const order = c.order as XOrder & { orderNo: number };
            (order as { orderNo: number }).orderNo = book.nextOrderNo++;
            book.live.set(order.orderNo, order);
            intents.push(order);
            const required = book.requiredHold(c.userId);
            const hold = book.holds.get(c.userId);
            if (required > (hold?.amountMinor ?? 0n)) {
              changes.set(
                c.userId,
                planHoldChange(
                  deps.holdTimeoutSeconds,
                  book,
                  currency,
                  c.userId,
                  required,
                  order.orderId,
                )!,
              );
            }
          } else if (c.kind === 'cancel') {
            const order = [...book.live.values()].find((o) => o.orderId === c.orderId);
            const stored = order ?? (await store.orderById(c.orderId, tx));
            if (stored === undefined) {
              refused.set(c, new NotFoundError(`order ${c.orderId} does not exist`));
              continue;
            }
            const canceledMinor = order === undefined ? 0n : book.cancel(order, nowMs);
            if (canceledMinor > 0n) {
              touchedOrders.push(order!);
              book.shrinkDue.add(order!.userId);
              removals.canceled.push({ order: order!, canceledMinor, byUserId: c.userId });
            }
            cancelResults.set(c, { order: stored, canceledMinor });
          } else if (c.kind === 'lapse') {
            if (row.lapsed) {
              lapseResults.set(c, {
                lapsedOrderCount: row.lapsedOrderCount,
                lapsedStakeMinor: row.lapsedStakeMinor,
              });
              continue;
            }
            const from = touchedOrders.length;
            const result = await lapseMarket(
              store,
              tx,
              book,
              c.lockEffectiveAtMs,
              nowMs,
              touchedOrders,
            );
            noteLapsed(from);
            lapseResults.set(c, result);
          } else if (c.kind === 'settle') {
            if (!row.lapsed) {
              const lockMs = market.lockEffectiveAtMs ?? nowMs;
              const from = touchedOrders.length;
              await lapseMarket(store, tx, book, lockMs, nowMs, touchedOrders);
              noteLapsed(from);
            }
            const key = resolutionKey(c.resolution);
            if (row.settlement !== '' && row.settlement !== key) {
              refused.set(
                c,
                new IllegalStateError(
                  `market ${marketId} was already settled differently (${row.settlement})`,
                ),
              );
              continue;
            }
            await store.markSettled(tx, marketId, key, row.settledAtMs);
            settling.push({ c, currency, done: row.settledAtMs > 0 });
          }
        }
        // Falls in exposure (cancels, lapses, makers matched earlier) ride along in the same call.
        for (const userId of book.shrinkDue) {
          if (changes.has(userId)) continue;
          const required = book.requiredHold(userId);
          const hold = book.holds.get(userId);
          if (hold !== undefined && required < hold.amountMinor) {
            changes.set(
              userId,
              planHoldChange(deps.holdTimeoutSeconds, book, currency, userId, required, '')!,
            );
          }
        }
        book.shrinkDue.clear();
        entry.changed = touchedOrders.length > 0;
        await store.updateOrders(tx, touchedOrders);
        await appendOrderEvents(tx, market, nowMs, removals);
        book.seq = row.seq + 1;
        await store.updateBook(tx, marketId, {
          seq: book.seq,
          writerId: deps.writerId,
          leaseUntilMs: nowMs + deps.leaseMs,
        });
      }
      const inserted = await store.insertOrders(tx, intents);
      for (const order of intents) {
        if (inserted.has(order.orderId)) continue;
        // The key was stored meanwhile (a concurrent repeat): answer from the stored order.
        const book = byMarket.get(order.marketId)!.book;
        book.live.delete(order.orderNo);
        // Its hold raise (planned above) covers nothing: shrink it on the next batch.
        book.shrinkDue.add(order.userId);
        const c = batch.find((b) => b.kind === 'place' && b.order === order)!;
        refused.set(c, repeatMarker);
      }
      for (const { book, currency } of byMarket.values()) {
        await store.saveHolds(
          tx,
          book.marketId,
          currency,
          [...book.holds.values()].filter((h) => h.pendingVersion > 0),
        );
      }
    });
    stats.commits += 1;
    queue.push(...deferredCommands);

    // ---- one ledger call
    const allChanges: HoldChange[] = [];
    for (const { changes } of byMarket.values()) allChanges.push(...changes.values());
    const outcomes = new Map<string, HoldChangeOutcome>();
    if (allChanges.length > 0) {
      const results = await ledger.changeHolds(allChanges);
      allChanges.forEach((change, i) =>
        outcomes.set(`${change.marketId} ${change.userId}`, results[i]!),
      );
    }

    // ---- commit 2: holds, accepted orders matched, fills
    const trailing = new Set<string>();
    const accepted: Array<{ c: Command & { kind: 'place' } }> = [];
    const noFunds = new Map<Command, bigint>();
    const holdRefused = new Map<Command, Error>();
    /** Each accepted order's fills (all of them: the order is new in this batch). */
    const placedFills = new Map<Command, XFill[]>();
    await store.sql.transaction(async (tx) => {
      const rows = await store.lockBooks(tx, [...byMarket.keys()]);
      for (const [marketId, { book, currency, changes, changed }] of byMarket) {
        if (rows.get(marketId)!.seq !== book.seq) {
          throw new UnavailableError(`market ${marketId}'s book changed on another replica; retry`);
        }
        const failedOrders: string[] = [];
        for (const change of changes.values()) {
          const hold = book.holds.get(change.userId)!;
          const outcome = outcomes.get(`${marketId} ${change.userId}`)!;
          if (outcome.kind === 'applied') {
            hold.version = hold.pendingVersion;
            hold.amountMinor = hold.pendingAmountMinor;
            hold.betId = hold.pendingBetId;
          } else if (outcome.kind === 'refused') {
            logger.error(
              { marketId, userId: change.userId, detail: outcome.detail },
              'exchange hold change refused',
            );
          }
          hold.pendingVersion = 0;
          hold.pendingAmountMinor = 0n;
          hold.pendingBetId = '';
          if (outcome.kind !== 'applied') {
            for (const c of batch) {
              if (
                c.kind === 'place' &&
                c.marketId === marketId &&
                c.userId === change.userId &&
                !refused.has(c)
              ) {
                failedOrders.push(c.order.orderId);
                book.live.delete(c.order.orderNo);
                if (outcome.kind === 'no-funds') noFunds.set(c, outcome.availableMinor);
                else {
                  holdRefused.set(
                    c,
                    new IllegalStateError(`the ledger refused the order's hold: ${outcome.detail}`),
                  );
                }
              }
            }
            // The user's standing exposure is still covered by the old hold; check it later.
            book.shrinkDue.add(change.userId);
          }
        }
        const touched = new Map<string, XOrder>();
        const fills: XFill[] = [];
        const market = marketsById.get(marketId);
        for (const c of batch) {
          if (
            c.kind !== 'place' ||
            c.marketId !== marketId ||
            refused.has(c) ||
            noFunds.has(c) ||
            holdRefused.has(c)
          )
            continue;
          c.order.status = 'OPEN';
          c.order.updatedAtMs = nowMs;
          const outcome = book.place(c.order, nowMs);
          fills.push(...outcome.fills);
          for (const o of outcome.touched) {
            touched.set(o.orderId, o);
            if (o.userId !== c.userId) book.shrinkDue.add(o.userId);
          }
          touched.set(c.order.orderId, c.order);
          if (outcome.fills.length > 0 || outcome.selfTradeCanceled.length > 0)
            book.shrinkDue.add(c.userId);
          accepted.push({ c });
        }
        await store.deleteOrders(tx, failedOrders);
        await store.updateOrders(tx, [...touched.values()]);
        await store.insertFills(tx, fills);
        const placedHere = accepted.filter(({ c }) => c.marketId === marketId);
        for (const { c } of placedHere) {
          const id = c.order.orderId;
          placedFills.set(
            c,
            fills.filter((f) => f.backOrderId === id || f.layOrderId === id),
          );
        }
        if (market !== undefined && (placedHere.length > 0 || fills.length > 0)) {
          await appendOrderEvents(tx, market, nowMs, {
            placed: placedHere.map(({ c }) => ({
              order: c.order,
              holdVersion: book.holds.get(c.userId)?.version ?? 0,
            })),
            fills,
            orders: touched,
          });
        }
        await store.saveHolds(
          tx,
          marketId,
          currency,
          [...changes.keys()].map((u) => book.holds.get(u)!),
        );
        book.seq += 1;
        await store.updateBook(tx, marketId, {
          seq: book.seq,
          writerId: deps.writerId,
          leaseUntilMs: nowMs + deps.leaseMs,
        });
        const conflation = published.get(marketId) ?? { atMs: -Infinity, dirty: false };
        published.set(marketId, conflation);
        if (changed || touched.size > 0) conflation.dirty = true;
        if (conflation.dirty && market !== undefined) {
          if (nowMs - conflation.atMs >= publishIntervalMs) {
            await appendBookChanged(tx, book, market, nowMs);
            conflation.atMs = nowMs;
            conflation.dirty = false;
          } else {
            trailing.add(marketId);
          }
        }
      }
    });
    stats.commits += 1;
    stats.orders += accepted.length;
    for (const marketId of trailing) scheduleTrailing(marketId);

    // ---- settlement: one more ledger call and commit per settled market
    for (const { c, currency, done } of settling) {
      const book = byMarket.get(c.marketId)!.book;
      const plan = planSettlement(book, currency, c.resolution, { figuresOnly: done });
      settleResults.set(c, plan.users);
      if (done) continue;
      await ledger.submit(plan.commands);
      const settled = [...book.holds.values()];
      for (const hold of settled) hold.amountMinor = 0n;
      await store.sql.transaction(async (tx) => {
        await store.saveHolds(tx, c.marketId, currency, settled);
        await store.markSettled(tx, c.marketId, resolutionKey(c.resolution), clock.now());
      });
    }

    for (const marketId of byMarket.keys()) deps.onBookChanged?.(marketId);
    for (const c of batch) {
      const error = refused.get(c);
      if (error === deferred) continue;
      if (c.kind === 'place') {
        if (error === repeatMarker) {
          const prior = await store.orderByKey(c.userId, c.order.idempotencyKey);
          c.settle(
            prior !== undefined && sameOrder(prior, c.order)
              ? { kind: 'placed', order: prior }
              : { kind: 'conflict' },
          );
        } else if (error === closedMarker)
          c.settle({ kind: 'rejected', rejection: rejected.get(c)! });
        else if (error !== undefined) c.settle(error);
        else if (holdRefused.has(c)) c.settle(holdRefused.get(c)!);
        else if (noFunds.has(c)) {
          c.settle({
            kind: 'rejected',
            rejection: reject(
              'INSUFFICIENT_FUNDS',
              'your available balance does not cover what this order may lose',
              {
                availableMinor: noFunds.get(c)!,
                currency: c.order.currency,
              },
            ),
          });
        } else c.settle({ kind: 'placed', order: { ...c.order }, fills: placedFills.get(c) ?? [] });
      } else if (c.kind === 'cancel') {
        c.settle(error ?? cancelResults.get(c)!);
      } else if (c.kind === 'lapse') {
        c.settle(error ?? lapseResults.get(c)!);
      } else if (c.kind === 'settle') {
        c.settle(error ?? settleResults.get(c)!);
      } else c.settle();
    }
  }

  function enqueue<T>(build: (settle: (r: T | Error) => void) => Command): Promise<T> {
    return new Promise<T>((resolve, rejectPromise) => {
      queue.push(
        build((result) => {
          if (result instanceof Error) rejectPromise(result);
          else resolve(result);
        }),
      );
      kick();
    });
  }

  return {
    stats,

    /** Places an order (validated at the edge); resolves after commit 2. */
    place(request: OrderRequest): Promise<OrderResult> {
      const nowMs = clock.now();
      const outcomeIndex = request.market.outcomes.findIndex(
        (o) => o.outcomeId === request.outcomeId,
      );
      const order: XOrder = {
        orderId: deps.newOrderId(nowMs),
        marketId: request.market.marketId,
        orderNo: 0,
        userId: request.userId,
        idempotencyKey: request.idempotencyKey,
        outcomeId: request.outcomeId,
        outcomeIndex,
        side: request.side,
        oddsHundredths: request.oddsHundredths,
        tick: oddsHundredthsToTick(request.oddsHundredths),
        currency: request.market.currency,
        stakeMinor: request.stakeMinor,
        matchedMinor: 0n,
        canceledMinor: 0n,
        lapsedMinor: 0n,
        voidedMinor: 0n,
        status: 'PENDING',
        voidReason: '',
        placedAtMs: nowMs,
        updatedAtMs: nowMs,
      };
      return enqueue<OrderResult>((settle) => ({
        kind: 'place',
        marketId: order.marketId,
        userId: order.userId,
        order,
        market: request.market,
        settle,
      }));
    },

    /** Cancels an order's remainder (ownership checked by the caller). */
    cancel(marketId: string, userId: string, orderId: string): Promise<CancelResult> {
      return enqueue<CancelResult>((settle) => ({
        kind: 'cancel',
        marketId,
        userId,
        orderId,
        settle,
      }));
    },

    /** Voids fills and orders after the lock instant and lapses every remainder (idempotent). */
    lapse(marketId: string, lockEffectiveAtMs: number): Promise<LapseResult> {
      return enqueue<LapseResult>((settle) => ({
        kind: 'lapse',
        marketId,
        userId: '',
        lockEffectiveAtMs,
        settle,
      }));
    },

    /**
     * Settles the market's matched bets (lapsing first if needed): per user net winnings with
     * commission on a positive net, or every hold voided for a refund. Idempotent per market;
     * a different resolution than the first is refused (FAILED_PRECONDITION).
     */
    settle(marketId: string, resolution: ExchangeResolution): Promise<UserOutcome[]> {
      return enqueue<UserOutcome[]>((settle) => ({
        kind: 'settle',
        marketId,
        userId: '',
        resolution,
        settle,
      }));
    },

    /**
     * The market's picture for reads (GetBook, tests): this replica's when it is current with
     * SQL, else one built from SQL (not used for writing).
     */
    async view(market: MarketRecord): Promise<MarketBook> {
      const result = await store.sql.query<{ seq: bigint }>(
        `SELECT seq FROM be_xbooks WHERE market_id = $1`,
        [market.marketId],
      );
      const seq = Number(result.rows[0]?.seq ?? 0n);
      const current = memory.get(market.marketId);
      if (current !== undefined && current.seq === seq) return current;
      const built = await store.sql.transaction(async (tx) => {
        const book = new MarketBook(market.marketId, market.outcomes.length);
        for (const fill of await store.marketFills(tx, market.marketId)) book.addFill(fill);
        for (const order of await store.marketOrders(tx, market.marketId)) {
          if (order.status === 'OPEN') book.restOrder(order);
        }
        book.seq = seq;
        return book;
      });
      if (!memory.has(market.marketId)) memory.set(market.marketId, built);
      return built;
    },

    /** Waits until the queue is empty (tests, graceful stop). */
    async drain(): Promise<void> {
      while (running !== undefined || queue.length > 0) {
        kick();
        await running;
      }
    },
  };
}

const closedMarker = new Error('betting closed');
const deferred = new Error('deferred to the next batch');
const repeatMarker = new Error('key stored by a concurrent placement');

/** The lane. */
export type ExchangeEngine = ReturnType<typeof createExchangeEngine>;
