/**
 * The missing-run sweeper: finds every RESOLVED or CANCELED market the pool knows that has no
 * settlement run here and records one, due now, so the settlement task runs it. It is the safety
 * net behind the `market` consumer: if MarketResolved or MarketCanceled never arrives (dead-lettered
 * before consumers retried forever, trimmed from a stream, lost with an in-process bus), the
 * stakes would otherwise stay held until the ledger's hold expiry.
 *
 * Source: settlement keeps no copy of the pool's markets, and a projection fed by the same
 * `market` events would miss exactly the events this sweeper exists for; so it asks the pool.
 * PoolService.ListMarkets already lists every channel's markets in given states for any caller
 * (newest created first, keyset pages of up to 200), so no new contract is needed. A sweep pages
 * through RESOLVED and CANCELED markets created within the lookback window (default 30 days, the
 * hold expiry), skips those that finished less than the grace period ago (their event is normally
 * on its way: no pool call for them), asks the store which of a page's markets already have a run,
 * and records the missing ones from the pool's GetMarketForSettlement terms (the same terms
 * RetrySettlement uses). Recording is idempotent (one run per market): if the event arrives
 * afterwards, the consumer changes nothing.
 *
 * Cost: one ListMarkets call per 200 finished markets in the window and one SQL lookup per page,
 * every SETTLEMENT_SWEEP_INTERVAL_MS. Limit: a market created before the window and finished
 * within it is not seen (markets live hours, the window is 30 days).
 */
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { TermsSource } from './downstreams.js';
import type { SettlementStore } from './store.js';

/** A resolved or canceled market as the pool lists it. */
export interface FinishedMarket {
  readonly marketId: string;
  readonly kind: MarketKind;
  readonly createdAtMs: number;
  /** When it was resolved or canceled (the later of the two for a market voided after resolution). */
  readonly finishedAtMs: number;
  /** Voided by an admin after resolution: its bets are refunded, not paid. */
  readonly voided: boolean;
}

/** One page of finished markets, newest created first. */
export interface FinishedMarketsPage {
  readonly markets: readonly FinishedMarket[];
  /** '' after the last page. */
  readonly nextPageToken: string;
}

/** Where the sweeper lists finished markets (the pool's ListMarkets). */
export interface FinishedMarketSource {
  list(pageToken: string): Promise<FinishedMarketsPage>;
}

/** Dependencies of {@link createMissingRunSweeper}. */
export interface SweeperDeps {
  readonly store: Pick<SettlementStore, 'recordRun' | 'marketsWithRuns'>;
  /** Where runs are recorded (the service's database). */
  readonly sql: SqlExecutor;
  readonly markets: FinishedMarketSource;
  readonly terms: TermsSource;
  readonly clock: Clock;
  readonly logger: Logger;
  /** New settlement id for a run (a ULID from the clock in production). */
  readonly newSettlementId: () => string;
  /** Markets created longer ago than this are not looked at. Default 30 days. */
  readonly lookbackMs?: number;
  /** Markets finished less than this ago are left to their event. Default 30 s. */
  readonly graceMs?: number;
  /** Called after a run was recorded (the settlement task wakes to run it). */
  readonly onRunRecorded?: (marketId: string) => void;
}

/** What one sweep did. */
export interface SweepResult {
  /** Finished markets within the window that were checked. */
  readonly checked: number;
  /** Market ids whose missing run this sweep recorded. */
  readonly started: readonly string[];
}

/** The sweeper; `sweepOnce` is what its task runs every interval. */
export interface MissingRunSweeper {
  sweepOnce(): Promise<SweepResult>;
}

const dayMs = 86_400_000;

/** Builds the sweeper (see the file comment). */
export function createMissingRunSweeper(deps: SweeperDeps): MissingRunSweeper {
  const lookbackMs = deps.lookbackMs ?? 30 * dayMs;
  const graceMs = deps.graceMs ?? 30_000;

  async function start(market: FinishedMarket): Promise<boolean> {
    const terms = await deps.terms.get(market.marketId);
    if (terms.kind === MarketKind.EXCHANGE) return false;
    const canceled = terms.canceled || market.voided;
    const recorded = await deps.store.recordRun(
      deps.sql,
      {
        marketId: market.marketId,
        settlementId: deps.newSettlementId(),
        channelId: terms.channelId,
        kind: terms.kind,
        currency: terms.currency,
        canceled,
        winningOutcomeId: canceled ? '' : terms.winningOutcomeId,
        commissionBps: terms.commissionBps,
        streamerShareBps: terms.streamerShareBps,
        streamerUserId: terms.streamerUserId,
        marketEventAtMs: market.finishedAtMs,
      },
      terms.outcomeIds,
    );
    if (recorded) {
      deps.logger.warn(
        { marketId: market.marketId, canceled, finishedAtMs: market.finishedAtMs },
        'a finished market had no settlement run (its event never arrived): the sweeper started one',
      );
      deps.onRunRecorded?.(market.marketId);
    }
    return recorded;
  }

  return {
    async sweepOnce() {
      const nowMs = deps.clock.now();
      const createdAfterMs = nowMs - lookbackMs;
      const finishedBeforeMs = nowMs - graceMs;
      const started: string[] = [];
      let checked = 0;
      let pageToken = '';
      for (;;) {
        const page = await deps.markets.list(pageToken);
        const inWindow = page.markets.filter((market) => market.createdAtMs >= createdAfterMs);
        const candidates = inWindow.filter(
          (market) =>
            market.finishedAtMs <= finishedBeforeMs && market.kind !== MarketKind.EXCHANGE,
        );
        checked += candidates.length;
        const withRuns = await deps.store.marketsWithRuns(candidates.map((m) => m.marketId));
        for (const market of candidates) {
          if (withRuns.has(market.marketId)) continue;
          if (await start(market)) started.push(market.marketId);
        }
        if (inWindow.length < page.markets.length || page.nextPageToken === '') break;
        pageToken = page.nextPageToken;
      }
      return { checked, started };
    },
  };
}

/** Options of {@link createSweeperTask}. */
export interface SweeperTaskOptions {
  readonly sweeper: MissingRunSweeper;
  readonly logger: Logger;
  /** How often to sweep (and once at start). */
  readonly intervalMs: number;
}

/** The sweeper as a background task: one sweep at a time, every `intervalMs`. */
export function createSweeperTask(options: SweeperTaskOptions) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  function tick(): void {
    if (stopped || running !== undefined) return;
    running = options.sweeper
      .sweepOnce()
      .then(() => undefined)
      .catch((error: unknown) =>
        options.logger.warn(
          { err: error },
          'missing-run sweep failed; retrying at the next interval',
        ),
      )
      .finally(() => {
        running = undefined;
      });
  }
  return {
    name: 'settlement-missing-run-sweeper',
    start() {
      if (!stopped) return;
      stopped = false;
      timer = setInterval(tick, options.intervalMs);
      timer.unref();
      tick();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
