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
 * group (so it sees that call's committed transfer, as it would sequentially). Calls are grouped
 * in arrival order; a lone call is not delayed. Other operations pass through unchanged.
 */
export function withGroupCommit(store: LedgerStore, options: GroupCommitOptions = {}): LedgerStore {
  const maxCommands = options.maxCommands ?? 1000;
  const maxInFlight = options.maxInFlight ?? 2;
  interface Waiting {
    readonly commands: readonly TransferCommand[];
    /** The caller's span, linked from the group's span. */
    readonly link: Link | undefined;
    resolve(results: TransferOutcome[]): void;
    reject(error: unknown): void;
  }
  const queue: Waiting[] = [];
  let inFlight = 0;

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
      for (const waiting of group) waiting.reject(error);
    }
  }

  /** Starts groups, detached from the caller that happens to call it (see runDetached). */
  function pump(): void {
    runDetached(startGroups);
  }

  function startGroups(): void {
    while (inFlight < maxInFlight && queue.length > 0) {
      const group: Waiting[] = [];
      const ids = new Set<string>();
      let size = 0;
      for (let next = queue[0]; next !== undefined; next = queue[0]) {
        if (size + next.commands.length > maxCommands) break;
        if (group.length > 0 && next.commands.some((c) => ids.has(c.transferId))) break;
        queue.shift();
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
        queue.push({ commands, link: activeSpanLink(), resolve, reject });
        pump();
      });
    },
  };
}
