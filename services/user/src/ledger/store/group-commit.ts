/**
 * Group commit: concurrent SubmitTransfers calls share one transaction, each caller getting exactly
 * its own results. A wrapper around any {@link LedgerStore}.
 */
import type { Link } from '@opentelemetry/api';
import { activeSpanLink, withBatchSpan } from '@streambet/platform/obs/tracing';
import { runDetached } from '@streambet/platform/runtime/detached';
import type { TransferCommand, TransferOutcome } from '../domain/index.js';
import type { LedgerStore } from './types.js';

/** Options of {@link withGroupCommit}. */
export interface GroupCommitOptions {
  /** Most commands in one shared transaction; default 1000 (the contract's batch limit). */
  readonly maxCommands?: number;
  /** Shared transactions running at once; default 2 (keeps pool connections for reads). */
  readonly maxInFlight?: number;
}

/**
 * Group commit (ledger.proto: "concurrent calls may share one commit without changing their
 * results"): concurrent `submitTransfers` calls are queued and applied together as one batch in
 * one SQL transaction, each caller getting exactly its own results, in its own order, only after
 * the shared commit. A call runs alone when it is large, ends with an open linked chain (which
 * would otherwise swallow the next call's commands) or reuses an id of a call already in the
 * group (so it sees that call's committed transfer, as it would sequentially).
 *
 * Forming groups: calls are grouped in arrival order, and a group starts on the turn of the event
 * loop after a call arrives or a slot frees, so every call made in that turn joins it (a lone call
 * waits one turn, not a timer). Without that turn, callers whose previous call had just been
 * answered (each resubmitting from its own promise continuation) lost their slot to the first of
 * them: with 200 callers and two slots the groups went 198, 1, 1, 1, 1, 198. What is queued is
 * split evenly over the free slots, so two slots carry two groups of equal size.
 *
 * A failure isolates its cause: when a shared transaction throws (nothing in it committed: it is
 * one transaction), each of its calls is queued again to run alone, ahead of later calls, so only
 * the call whose commands make the statement fail gets the error and the others their results.
 * An error that every call would meet alone (the database down) therefore reaches each caller
 * after at most two attempts. Refusals of single transfers (EXCEEDS_AVAILABLE, ...) are results,
 * not failures: they never fail a group. Other operations pass through unchanged.
 */
export function withGroupCommit(store: LedgerStore, options: GroupCommitOptions = {}): LedgerStore {
  const maxCommands = options.maxCommands ?? 1000;
  const maxInFlight = options.maxInFlight ?? 2;
  interface Waiting {
    readonly commands: readonly TransferCommand[];
    /** The caller's span, linked from the group's span. */
    readonly link: Link | undefined;
    /** Run in a group of its own (after its shared transaction failed). */
    readonly alone: boolean;
    resolve(results: TransferOutcome[]): void;
    reject(error: unknown): void;
  }
  const queue: Waiting[] = [];
  /** Commands of the calls in {@link queue}. */
  let queuedCommands = 0;
  let inFlight = 0;
  let scheduled = false;

  async function run(group: readonly Waiting[]): Promise<void> {
    try {
      const commands = group.flatMap((waiting) => waiting.commands);
      const results = await withBatchSpan(
        'ledger group commit',
        group.map((waiting) => waiting.link),
        { 'streambet.batch.callers': group.length, 'streambet.batch.size': commands.length },
        () => store.submitTransfers(commands),
      );
      let offset = 0;
      for (const waiting of group) {
        waiting.resolve(results.slice(offset, offset + waiting.commands.length));
        offset += waiting.commands.length;
      }
    } catch (error) {
      if (group.length === 1) {
        group[0]!.reject(error);
        return;
      }
      queue.unshift(...group.map((waiting) => ({ ...waiting, alone: true })));
      for (const waiting of group) queuedCommands += waiting.commands.length;
    }
  }

  /**
   * Schedules one {@link startGroups} for the next turn of the event loop, detached from the caller
   * that happens to call it (see runDetached).
   */
  function pump(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      runDetached(startGroups);
    });
  }

  /** Starts groups while slots are free, each taking its even share of the queue, in order. */
  function startGroups(): void {
    while (inFlight < maxInFlight && queue.length > 0) {
      const share = Math.min(maxCommands, Math.ceil(queuedCommands / (maxInFlight - inFlight)));
      const group: Waiting[] = [];
      const ids = new Set<string>();
      let size = 0;
      for (let next = queue[0]; next !== undefined && size < share; next = queue[0]) {
        if (group.length > 0) {
          if (next.alone || group[0]!.alone || size + next.commands.length > maxCommands) break;
          if (next.commands.some((c) => ids.has(c.transferId))) break;
        }
        queue.shift();
        queuedCommands -= next.commands.length;
        group.push(next);
        size += next.commands.length;
        for (const c of next.commands) ids.add(c.transferId);
      }
      inFlight += 1;
      void run(group).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  }

  return {
    ...store,
    submitTransfers(commands) {
      const last = commands[commands.length - 1];
      if (last === undefined || last.linked || commands.length >= maxCommands) {
        return store.submitTransfers(commands);
      }
      return new Promise<TransferOutcome[]>((resolve, reject) => {
        queue.push({ commands, link: activeSpanLink(), alone: false, resolve, reject });
        queuedCommands += commands.length;
        pump();
      });
    },
  };
}
