/**
 * The ledger as EXCHANGE markets use it. A user has ONE open hold per market
 * (`xh:<market>:<user>:<version>`, a pending wallet → escrow transfer, code BET_STAKE) equal to
 * the worst-case loss of their orders and matched bets. Holds are immutable, so a change of the
 * required amount replaces the hold in ONE linked chain — void version v, then hold v + 1 for the
 * new amount — which commits together or not at all: the user is never without cover, and a
 * raise is refused exactly when the wallet's available balance (with the old hold released)
 * does not cover the new amount. Every batch's replacements go in ONE SubmitTransfers call.
 */
import type { Client } from '@connectrpc/connect';
import {
  TransferResultCode,
  type LedgerInternalService,
  type TransferCommand,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  TransferCode,
  TransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { TransferCommandSchema } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import { UnavailableError } from '@streambet/platform/errors/domain-errors';
import { escrowAccountId, walletAccountId } from '../domain/bet.js';

type Command = MessageInitShape<typeof TransferCommandSchema>;

/** The id of version `version` of a user's hold on a market. */
export function exchangeHoldId(marketId: string, userId: string, version: number): string {
  return `xh:${marketId}:${userId}:${version}`;
}

/** A replacement of a user's market hold: from (version, amount) to (version + 1, amount). */
export interface HoldChange {
  readonly marketId: string;
  readonly userId: string;
  readonly currency: string;
  /** Current version (0: no hold yet) and the order id it was taken for. */
  readonly fromVersion: number;
  readonly fromBetId: string;
  /** Amount of the current hold; 0 when there is none open (never held, or released to 0). */
  readonly fromAmountMinor: bigint;
  readonly toVersion: number;
  /** New amount; 0 releases the hold without a new one. */
  readonly toAmountMinor: bigint;
  readonly toBetId: string;
  readonly timeoutSeconds: number;
}

/** What the ledger did with one change. */
export type HoldChangeOutcome =
  | { readonly kind: 'applied' }
  | { readonly kind: 'no-funds'; readonly availableMinor: bigint }
  | { readonly kind: 'refused'; readonly detail: string };

/** The commands of one change: a chain when it replaces an existing hold. */
export function holdChangeCommands(change: HoldChange): Command[] {
  const commands: Command[] = [];
  if (change.fromVersion > 0 && change.fromAmountMinor > 0n) {
    commands.push({
      transferId: `${exchangeHoldId(change.marketId, change.userId, change.fromVersion)}:void`,
      kind: TransferKind.VOID_PENDING,
      pendingId: exchangeHoldId(change.marketId, change.userId, change.fromVersion),
      amountMinor: 0n,
      currency: change.currency,
      code: TransferCode.BET_STAKE,
      marketId: change.marketId,
      betId: change.fromBetId,
    });
  }
  if (change.toAmountMinor > 0n) {
    commands.push({
      transferId: exchangeHoldId(change.marketId, change.userId, change.toVersion),
      kind: TransferKind.PENDING,
      debitAccountId: walletAccountId(change.userId, change.currency),
      creditAccountId: escrowAccountId(change.marketId),
      amountMinor: change.toAmountMinor,
      currency: change.currency,
      code: TransferCode.BET_STAKE,
      marketId: change.marketId,
      betId: change.toBetId,
      timeoutSeconds: BigInt(change.timeoutSeconds),
    });
  }
  commands.forEach((command, index) => {
    command.linked = index < commands.length - 1;
  });
  return commands;
}

const MAX_COMMANDS = 1000;

/** The exchange's ledger port. */
export interface ExchangeLedger {
  /**
   * Applies hold changes (one SubmitTransfers per 1000 commands; one for a normal batch).
   * Throws UnavailableError when the ledger cannot be reached: the changes stay pending in SQL
   * and are resubmitted with the same ids.
   */
  changeHolds(changes: readonly HoldChange[]): Promise<HoldChangeOutcome[]>;
  /** Available balances of wallets, for INSUFFICIENT_FUNDS details. */
  available(accountIds: readonly string[]): Promise<Map<string, bigint>>;
  /** Submits settlement commands (idempotent ids), in order; throws on any refusal. */
  submit(commands: readonly Command[]): Promise<void>;
  /** Ledger calls made (figures for the group-commit claim). */
  readonly calls: { count: number };
}

/** The exchange ledger over LedgerInternalService. */
export function createExchangeLedger(client: Client<typeof LedgerInternalService>): ExchangeLedger {
  const calls = { count: 0 };
  async function submitChunked(commands: readonly Command[]) {
    const results: Array<{ code: TransferResultCode; detail: string }> = [];
    // Chains never straddle a chunk: each change is at most 2 commands, cut at a chain end.
    let start = 0;
    while (start < commands.length) {
      let end = Math.min(start + MAX_COMMANDS, commands.length);
      while (end < commands.length && commands[end - 1]!.linked === true) end -= 1;
      calls.count += 1;
      let response;
      try {
        response = await client.submitTransfers({ commands: commands.slice(start, end) });
      } catch (error) {
        throw new UnavailableError('the ledger is unavailable; retry shortly', { cause: error });
      }
      for (const r of response.results) results.push({ code: r.code, detail: r.detail });
      start = end;
    }
    return results;
  }
  return {
    calls,
    async changeHolds(changes) {
      const commands: Command[] = [];
      const spans: Array<[number, number]> = [];
      for (const change of changes) {
        const own = holdChangeCommands(change);
        spans.push([commands.length, own.length]);
        commands.push(...own);
      }
      if (commands.length === 0) return changes.map(() => ({ kind: 'applied' as const }));
      const results = await submitChunked(commands);
      const noFunds: number[] = [];
      const outcomes = changes.map((change, index): HoldChangeOutcome => {
        const [from, count] = spans[index]!;
        const mine = results.slice(from, from + count);
        const ok = mine.every(
          (r) =>
            r.code === TransferResultCode.OK || r.code === TransferResultCode.ALREADY_EXISTS_SAME,
        );
        if (ok) return { kind: 'applied' };
        const cause = mine.find(
          (r) =>
            r.code !== TransferResultCode.OK &&
            r.code !== TransferResultCode.ALREADY_EXISTS_SAME &&
            r.code !== TransferResultCode.LINKED_EVENT_FAILED,
        );
        if (
          cause?.code === TransferResultCode.EXCEEDS_AVAILABLE ||
          cause?.code === TransferResultCode.ACCOUNT_NOT_FOUND
        ) {
          noFunds.push(index);
          return { kind: 'no-funds', availableMinor: 0n };
        }
        return {
          kind: 'refused',
          detail: `${TransferResultCode[cause?.code ?? TransferResultCode.UNSPECIFIED]}: ${cause?.detail ?? ''} (${change.userId})`,
        };
      });
      if (noFunds.length > 0) {
        const wallets = noFunds.map((i) =>
          walletAccountId(changes[i]!.userId, changes[i]!.currency),
        );
        const balances = await this.available(wallets).catch(() => new Map<string, bigint>());
        for (const i of noFunds) {
          const change = changes[i]!;
          const available = balances.get(walletAccountId(change.userId, change.currency)) ?? 0n;
          // What the order could use: the available balance plus the hold it would replace.
          outcomes[i] = { kind: 'no-funds', availableMinor: available };
        }
      }
      return outcomes;
    },
    async available(accountIds) {
      if (accountIds.length === 0) return new Map();
      calls.count += 1;
      const response = await client.getAccountBalances({ accountIds: [...new Set(accountIds)] });
      return new Map(response.balances.map((b) => [b.accountId, b.availableMinor]));
    },
    async submit(commands) {
      const results = await submitChunked(commands);
      results.forEach((r, index) => {
        if (r.code !== TransferResultCode.OK && r.code !== TransferResultCode.ALREADY_EXISTS_SAME) {
          throw new Error(
            `ledger refused ${String(commands[index]?.transferId)}: ${TransferResultCode[r.code]} ${r.detail}`,
          );
        }
      });
    },
  };
}

export type { TransferCommand };
