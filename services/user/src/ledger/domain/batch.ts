/**
 * Planning a batch of transfer commands against the accounts, holds and committed ids read for it:
 * each command's outcome, the steps to persist and one aggregated delta per account.
 */
import {
  addBalance,
  availableOf,
  isConstrainedKind,
  isRepresentable,
  subtractBalance,
  zeroBalance,
} from './balance.js';
import { chainsOf, checkCommandShape, type Refusal } from './transfer-rules.js';
import {
  PendingStatus,
  TransferCode,
  TransferKind,
  TransferResultCode,
  type Account,
  type Balance,
  type BalanceDelta,
  type Transfer,
  type TransferCommand,
  type TransferOutcome,
} from './types.js';

/** A committed transfer with the idempotency fingerprint it was stored with. */
export interface StoredTransfer {
  readonly transfer: Transfer;
  readonly fingerprint: string;
}

/** What {@link planBatch} needs: the commands and the stored state they touch. */
export interface BatchInput {
  readonly commands: readonly TransferCommand[];
  /** One per command: hash of its content (and of its chain's, for linked commands). */
  readonly fingerprints: readonly string[];
  /** Ledger clock at commit: commit time of new transfers, the instant holds are checked for expiry. */
  readonly nowMs: number;
  /** Every account the commands (and the holds they resolve) name that exists. */
  readonly accounts: ReadonlyMap<string, Account>;
  /** Committed transfers whose ids the commands use, by id. */
  readonly existing: ReadonlyMap<string, StoredTransfer>;
  /** Committed holds the commands resolve (by pending_id), with their current status. */
  readonly holds: ReadonlyMap<string, Transfer>;
  /**
   * Markets named by the commands' new stake holds (BET_STAKE) that are already resolved
   * (ResolveMarket): a stake hold for one of them is refused with MARKET_RESOLVED. Holds of other
   * codes naming a market (a reversal's claw-backs) are not the market's. Absent means none.
   */
  readonly resolvedMarkets?: ReadonlySet<string>;
}

/** Change of one account caused by one step. */
export interface AccountChange {
  readonly accountId: string;
  readonly delta: BalanceDelta;
}

/** One committed effect of a batch, in commit order; each takes one ledger sequence number. */
export type BatchStep =
  | {
      readonly type: 'transfer';
      /** The new transfer; `sequence` is 0n until the store numbers it, pending status as created. */
      readonly transfer: Transfer;
      /** Fingerprint stored for idempotency. */
      readonly fingerprint: string;
      /** For POST/VOID: the hold's amount as placed. */
      readonly heldAmountMinor: bigint;
      readonly debit: AccountChange;
      readonly credit: AccountChange;
    }
  | {
      readonly type: 'expiry';
      /** The hold as placed (status PENDING as read). */
      readonly hold: Transfer;
      readonly debit: AccountChange;
      readonly credit: AccountChange;
    };

/** New state of a hold that existed before the batch. */
export interface HoldResolution {
  readonly holdId: string;
  readonly status: PendingStatus;
  readonly resolvedAtMs: number;
  /** Transfer id that posted or voided it; empty for expiry. */
  readonly resolvedBy: string;
  /** Index of the step that resolved it (for the expiry's sequence number). */
  readonly step: number;
}

/** Final state of a hold created in this batch. */
export interface NewHoldState {
  readonly holdId: string;
  readonly status: PendingStatus;
  readonly resolvedAtMs: number;
  readonly resolvedBy: string;
  readonly expiresAtMs: number;
}

/** Result of one command before sequence numbers exist; `step` indexes {@link BatchPlan.steps}. */
export interface PlannedOutcome {
  readonly transferId: string;
  readonly code: TransferResultCode;
  readonly detail: string;
  /** For OK and repeats within the request: the step that committed the transfer. */
  readonly step?: number;
  /** For ALREADY_EXISTS_SAME of a transfer committed before this batch. */
  readonly existing?: Transfer;
}

/** Everything a batch commits, computed without I/O. */
export interface BatchPlan {
  readonly outcomes: readonly PlannedOutcome[];
  /** Lazy expiries first, then new transfers in command order; one sequence number each. */
  readonly steps: readonly BatchStep[];
  readonly holdResolutions: readonly HoldResolution[];
  readonly newHolds: readonly NewHoldState[];
  /** Net change per account over all steps. */
  readonly deltas: ReadonlyMap<string, BalanceDelta>;
}

interface HoldState {
  readonly transfer: Transfer;
  status: PendingStatus;
  resolvedAtMs: number;
  /** Transfer id that posted or voided it. */
  resolvedBy: string;
  /** Index into the expiry list when it expired. */
  expiryIndex: number;
  readonly isNew: boolean;
}

type TransferStep = BatchStep & { type: 'transfer' };
type ExpiryStep = BatchStep & { type: 'expiry' };
type Evaluation =
  | { transferIndex: number; repeat: boolean; existing?: undefined }
  | { transferIndex?: undefined; existing: Transfer }
  | { refusal: Refusal };

/** A delta built in one allocation (planBatch makes several per command). */
const delta = (
  debitsPending: bigint,
  debitsPosted: bigint,
  creditsPending: bigint,
  creditsPosted: bigint,
): BalanceDelta => ({ debitsPending, debitsPosted, creditsPending, creditsPosted });
const negate = (change: BalanceDelta): BalanceDelta => subtractBalance(zeroBalance, change);

/**
 * Applies a batch of transfer commands in order to an in-memory copy of the accounts and holds
 * they touch, with TigerBeetle's semantics: per-command validation, idempotency by id, linked
 * chains all-or-nothing, constrained accounts never below zero available, two-phase post (full or
 * partial) / void, and lazy expiry of holds whose timeout elapsed (kept even when the chain that
 * met it fails). Pure: the store loads the input and persists the plan in one transaction.
 */
export function planBatch(input: BatchInput): BatchPlan {
  const { commands, fingerprints, nowMs } = input;
  const balances = new Map<string, Balance>();
  for (const [id, account] of input.accounts) balances.set(id, account.balance);
  const holds = new Map<string, HoldState>();
  const committed = new Map<string, number>(); // transfer id → index in `transfers`
  const seen = new Map<string, string>(); // transfer id → fingerprint of its first occurrence
  const transfers: TransferStep[] = [];
  const expiries: ExpiryStep[] = [];
  const evaluations: Evaluation[] = new Array<Evaluation>(commands.length);
  let undo: Array<() => void> = [];
  /** Whether the chain being evaluated can fail after a step was recorded (linked or open). */
  let undoable = false;

  const move = (accountId: string, change: BalanceDelta): void => {
    balances.set(accountId, addBalance(balances.get(accountId) ?? zeroBalance, change));
  };

  const holdOf = (id: string): HoldState | undefined => {
    let hold = holds.get(id);
    if (hold === undefined) {
      const stored = input.holds.get(id);
      if (stored === undefined || stored.kind !== TransferKind.PENDING) return undefined;
      hold = {
        transfer: stored,
        status: stored.pendingStatus,
        resolvedAtMs: stored.resolvedAtMs,
        resolvedBy: '',
        expiryIndex: -1,
        isNew: false,
      };
      holds.set(id, hold);
    }
    return hold;
  };

  // Not undone when the chain fails: the timeout elapsed whatever the chain does.
  const expire = (hold: HoldState): void => {
    const amount = hold.transfer.amountMinor;
    const debit = {
      accountId: hold.transfer.debitAccountId,
      delta: delta(-amount, 0n, 0n, 0n),
    };
    const credit = {
      accountId: hold.transfer.creditAccountId,
      delta: delta(0n, 0n, -amount, 0n),
    };
    move(debit.accountId, debit.delta);
    move(credit.accountId, credit.delta);
    hold.status = PendingStatus.EXPIRED;
    hold.resolvedAtMs = nowMs;
    hold.resolvedBy = '';
    hold.expiryIndex = expiries.length;
    expiries.push({ type: 'expiry', hold: hold.transfer, debit, credit });
  };

  /** Records a step whose accounts' balances after it the caller already computed (and checked). */
  const record = (step: TransferStep, debitAfter: Balance, creditAfter: Balance): Evaluation => {
    balances.set(step.debit.accountId, debitAfter);
    balances.set(step.credit.accountId, creditAfter);
    const index = transfers.length;
    transfers.push(step);
    committed.set(step.transfer.transferId, index);
    if (undoable)
      undo.push(() => {
        move(step.debit.accountId, negate(step.debit.delta));
        move(step.credit.accountId, negate(step.credit.delta));
        committed.delete(step.transfer.transferId);
      });
    return { transferIndex: index, repeat: false };
  };

  const newTransfer = (
    command: TransferCommand,
    debitAccountId: string,
    creditAccountId: string,
    amountMinor: bigint,
    currency: string,
    expiresAtMs: number,
    pendingStatus: PendingStatus,
  ): Transfer => ({
    transferId: command.transferId,
    kind: command.kind as TransferKind,
    debitAccountId,
    creditAccountId,
    amountMinor,
    currency,
    pendingId: command.pendingId,
    timeoutSeconds: command.timeoutSeconds,
    code: command.code as TransferCode,
    marketId: command.marketId,
    betId: command.betId,
    paymentId: command.paymentId,
    settlementId: command.settlementId,
    memo: command.memo,
    committedAtMs: nowMs,
    expiresAtMs,
    pendingStatus,
    sequence: 0n,
    resolvedAtMs: 0,
  });

  const applyTransfer = (command: TransferCommand, fingerprint: string): Evaluation => {
    const debitAccount = input.accounts.get(command.debitAccountId);
    const creditAccount = input.accounts.get(command.creditAccountId);
    if (debitAccount === undefined) {
      return {
        refusal: {
          code: TransferResultCode.ACCOUNT_NOT_FOUND,
          detail: `debit account ${command.debitAccountId} does not exist`,
        },
      };
    }
    if (creditAccount === undefined) {
      return {
        refusal: {
          code: TransferResultCode.ACCOUNT_NOT_FOUND,
          detail: `credit account ${command.creditAccountId} does not exist`,
        },
      };
    }
    const mismatched =
      debitAccount.currency !== command.currency
        ? debitAccount
        : creditAccount.currency !== command.currency
          ? creditAccount
          : undefined;
    if (mismatched !== undefined) {
      return {
        refusal: {
          code: TransferResultCode.CURRENCY_MISMATCH,
          detail: `currency ${command.currency} differs from account ${mismatched.accountId}'s currency ${mismatched.currency}`,
        },
      };
    }
    const amount = command.amountMinor;
    const pending = command.kind === TransferKind.PENDING;
    // Only stake holds belong to their market: a reversal's claw-back hold (PAYOUT_REVERSAL) on a
    // resolved market is an ordinary hold.
    if (
      pending &&
      command.code === TransferCode.BET_STAKE &&
      command.marketId !== '' &&
      input.resolvedMarkets?.has(command.marketId)
    ) {
      return {
        refusal: {
          code: TransferResultCode.MARKET_RESOLVED,
          detail: `market ${command.marketId} is already resolved: it takes no new holds`,
        },
      };
    }
    const debit = {
      accountId: debitAccount.accountId,
      delta: pending ? delta(amount, 0n, 0n, 0n) : delta(0n, amount, 0n, 0n),
    };
    const credit = {
      accountId: creditAccount.accountId,
      delta: pending ? delta(0n, 0n, amount, 0n) : delta(0n, 0n, 0n, amount),
    };
    const debitBefore = balances.get(debitAccount.accountId) ?? zeroBalance;
    const debitAfter = addBalance(debitBefore, debit.delta);
    const creditAfter = addBalance(
      balances.get(creditAccount.accountId) ?? zeroBalance,
      credit.delta,
    );
    if (!isRepresentable(debitAfter) || !isRepresentable(creditAfter)) {
      return {
        refusal: {
          code: TransferResultCode.INVALID_AMOUNT,
          detail: 'amount_minor would overflow an account total',
        },
      };
    }
    if (isConstrainedKind(debitAccount.kind) && availableOf(debitAfter) < 0n) {
      return {
        refusal: {
          code: TransferResultCode.EXCEEDS_AVAILABLE,
          detail: `account ${debitAccount.accountId} has ${availableOf(debitBefore)} available, less than ${amount}`,
        },
      };
    }
    const expiresAtMs =
      pending && command.timeoutSeconds > 0n ? nowMs + Number(command.timeoutSeconds) * 1000 : 0;
    const transfer = newTransfer(
      command,
      debitAccount.accountId,
      creditAccount.accountId,
      amount,
      command.currency,
      expiresAtMs,
      pending ? PendingStatus.PENDING : PendingStatus.NONE,
    );
    if (pending) {
      holds.set(transfer.transferId, {
        transfer,
        status: PendingStatus.PENDING,
        resolvedAtMs: 0,
        resolvedBy: '',
        expiryIndex: -1,
        isNew: true,
      });
      if (undoable) undo.push(() => holds.delete(transfer.transferId));
    }
    return record(
      { type: 'transfer', transfer, fingerprint, heldAmountMinor: 0n, debit, credit },
      debitAfter,
      creditAfter,
    );
  };

  const applyResolution = (command: TransferCommand, fingerprint: string): Evaluation => {
    const hold = holdOf(command.pendingId);
    if (hold === undefined) {
      return {
        refusal: {
          code: TransferResultCode.PENDING_NOT_FOUND,
          detail: `no pending transfer ${command.pendingId}`,
        },
      };
    }
    const held = hold.transfer;
    if (
      (command.debitAccountId !== '' && command.debitAccountId !== held.debitAccountId) ||
      (command.creditAccountId !== '' && command.creditAccountId !== held.creditAccountId) ||
      command.currency !== held.currency
    ) {
      return {
        refusal: {
          code: TransferResultCode.PENDING_MISMATCH,
          detail: `accounts or currency differ from pending transfer ${held.transferId} (${held.debitAccountId} → ${held.creditAccountId}, ${held.currency})`,
        },
      };
    }
    if (hold.status === PendingStatus.POSTED || hold.status === PendingStatus.VOIDED) {
      return {
        refusal: {
          code: TransferResultCode.PENDING_ALREADY_RESOLVED,
          detail: `pending transfer ${held.transferId} was already ${hold.status === PendingStatus.POSTED ? 'posted' : 'voided'}`,
        },
      };
    }
    if (hold.status === PendingStatus.PENDING && held.expiresAtMs > 0 && held.expiresAtMs <= nowMs)
      expire(hold);
    if (hold.status === PendingStatus.EXPIRED) {
      return {
        refusal: {
          code: TransferResultCode.PENDING_EXPIRED,
          detail: `pending transfer ${held.transferId} expired`,
        },
      };
    }
    const post = command.kind === TransferKind.POST_PENDING;
    const amount = post ? command.amountMinor : held.amountMinor;
    if (post && amount > held.amountMinor) {
      return {
        refusal: {
          code: TransferResultCode.POST_EXCEEDS_PENDING,
          detail: `amount_minor ${amount} exceeds the pending amount ${held.amountMinor}`,
        },
      };
    }
    const debit = {
      accountId: held.debitAccountId,
      delta: delta(-held.amountMinor, post ? amount : 0n, 0n, 0n),
    };
    const credit = {
      accountId: held.creditAccountId,
      delta: delta(0n, 0n, -held.amountMinor, post ? amount : 0n),
    };
    const debitAfter = addBalance(balances.get(debit.accountId) ?? zeroBalance, debit.delta);
    const creditAfter = addBalance(balances.get(credit.accountId) ?? zeroBalance, credit.delta);
    if (!isRepresentable(debitAfter) || !isRepresentable(creditAfter)) {
      return {
        refusal: {
          code: TransferResultCode.INVALID_AMOUNT,
          detail: 'amount_minor would overflow an account total',
        },
      };
    }
    const transfer = newTransfer(
      command,
      held.debitAccountId,
      held.creditAccountId,
      amount,
      held.currency,
      0,
      PendingStatus.NONE,
    );
    if (undoable) {
      const before = {
        status: hold.status,
        resolvedAtMs: hold.resolvedAtMs,
        resolvedBy: hold.resolvedBy,
      };
      undo.push(() => Object.assign(hold, before));
    }
    hold.status = post ? PendingStatus.POSTED : PendingStatus.VOIDED;
    hold.resolvedAtMs = nowMs;
    hold.resolvedBy = transfer.transferId;
    return record(
      { type: 'transfer', transfer, fingerprint, heldAmountMinor: held.amountMinor, debit, credit },
      debitAfter,
      creditAfter,
    );
  };

  const evaluate = (command: TransferCommand, fingerprint: string): Evaluation => {
    const shape = checkCommandShape(command);
    if (shape !== undefined) return { refusal: shape };
    const id = command.transferId;
    const first = seen.get(id);
    if (first !== undefined && first !== fingerprint) {
      return {
        refusal: {
          code: TransferResultCode.INVALID_TRANSFER_ID,
          detail: `transfer_id ${id} repeats an earlier command of this request with different content`,
        },
      };
    }
    if (first === undefined) seen.set(id, fingerprint);
    const earlier = committed.get(id);
    if (earlier !== undefined) return { transferIndex: earlier, repeat: true };
    const stored = input.existing.get(id);
    if (stored !== undefined) {
      if (stored.fingerprint !== fingerprint) {
        return {
          refusal: {
            code: TransferResultCode.ID_REUSED_DIFFERENT_CONTENT,
            detail: `transfer_id ${id} is already committed with different content (or in a different linked chain)`,
          },
        };
      }
      return { existing: stored.transfer };
    }
    return command.kind === TransferKind.SINGLE_PHASE || command.kind === TransferKind.PENDING
      ? applyTransfer(command, fingerprint)
      : applyResolution(command, fingerprint);
  };

  for (const chain of chainsOf(commands)) {
    undo = [];
    // A chain of one that is not open fails only before it records anything: nothing to undo.
    undoable = chain.end > chain.start || chain.open;
    const transfersBefore = transfers.length;
    let failure: { index: number; refusal: Refusal } | undefined;
    for (let index = chain.start; index <= chain.end; index += 1) {
      const evaluation = evaluate(commands[index]!, fingerprints[index]!);
      if ('refusal' in evaluation) {
        failure = { index, refusal: evaluation.refusal };
        break;
      }
      evaluations[index] = evaluation;
    }
    if (failure === undefined && chain.open) {
      failure = {
        index: chain.end,
        refusal: {
          code: TransferResultCode.LINKED_EVENT_CHAIN_OPEN,
          detail: 'the last command of the request has linked = true; the chain is not terminated',
        },
      };
    }
    if (failure === undefined) continue;
    for (let step = undo.length - 1; step >= 0; step -= 1) undo[step]!();
    transfers.length = transfersBefore;
    for (let index = chain.start; index <= chain.end; index += 1) {
      evaluations[index] =
        index === failure.index
          ? { refusal: failure.refusal }
          : {
              refusal: {
                code: TransferResultCode.LINKED_EVENT_FAILED,
                detail: `command ${failure.index} of the linked chain failed`,
              },
            };
    }
  }

  const steps: BatchStep[] = [...expiries, ...transfers];
  const offset = expiries.length;
  const outcomes = commands.map((command, index): PlannedOutcome => {
    const evaluation = evaluations[index]!;
    if ('refusal' in evaluation) return { transferId: command.transferId, ...evaluation.refusal };
    if (evaluation.existing !== undefined) {
      return {
        transferId: command.transferId,
        code: TransferResultCode.ALREADY_EXISTS_SAME,
        detail: '',
        existing: evaluation.existing,
      };
    }
    const step = offset + evaluation.transferIndex;
    const code = evaluation.repeat ? TransferResultCode.ALREADY_EXISTS_SAME : TransferResultCode.OK;
    return { transferId: command.transferId, code, detail: '', step };
  });

  const deltas = new Map<string, BalanceDelta>();
  const accumulate = (change: { accountId: string; delta: BalanceDelta }): void => {
    deltas.set(
      change.accountId,
      addBalance(deltas.get(change.accountId) ?? zeroBalance, change.delta),
    );
  };
  for (const step of steps) {
    accumulate(step.debit);
    accumulate(step.credit);
  }
  const holdResolutions: HoldResolution[] = [];
  const newHolds: NewHoldState[] = [];
  for (const hold of holds.values()) {
    const stepOf = (): number =>
      hold.status === PendingStatus.EXPIRED
        ? hold.expiryIndex
        : offset + (committed.get(hold.resolvedBy) ?? -1 - offset);
    if (hold.isNew) {
      if (!committed.has(hold.transfer.transferId)) continue;
      newHolds.push({
        holdId: hold.transfer.transferId,
        status: hold.status,
        resolvedAtMs: hold.resolvedAtMs,
        resolvedBy: hold.resolvedBy,
        expiresAtMs: hold.transfer.expiresAtMs,
      });
    } else if (hold.status !== hold.transfer.pendingStatus) {
      holdResolutions.push({
        holdId: hold.transfer.transferId,
        status: hold.status,
        resolvedAtMs: hold.resolvedAtMs,
        resolvedBy: hold.resolvedBy,
        step: stepOf(),
      });
    }
  }
  return { outcomes, steps, holdResolutions, newHolds, deltas };
}

/**
 * Turns planned outcomes into results once the store has numbered the steps (`sequences[i]` for
 * `plan.steps[i]`): new transfers get their sequence and the hold state as of the end of the batch.
 */
export function finishOutcomes(plan: BatchPlan, sequences: readonly bigint[]): TransferOutcome[] {
  const holdState = new Map(plan.newHolds.map((hold) => [hold.holdId, hold]));
  const resolution = new Map(plan.holdResolutions.map((hold) => [hold.holdId, hold]));
  return plan.outcomes.map((outcome): TransferOutcome => {
    if (outcome.existing !== undefined) {
      const resolved = resolution.get(outcome.transferId);
      const transfer =
        resolved === undefined
          ? outcome.existing
          : {
              ...outcome.existing,
              pendingStatus: resolved.status,
              resolvedAtMs: resolved.resolvedAtMs,
            };
      return { transferId: outcome.transferId, code: outcome.code, detail: '', transfer };
    }
    if (outcome.step === undefined) {
      return { transferId: outcome.transferId, code: outcome.code, detail: outcome.detail };
    }
    const step = plan.steps[outcome.step];
    if (step?.type !== 'transfer')
      throw new Error('planned outcome points at a step that is not a transfer');
    const hold = holdState.get(step.transfer.transferId);
    const sequence = sequences[outcome.step] ?? 0n;
    const transfer: Transfer =
      hold === undefined
        ? { ...step.transfer, sequence }
        : {
            ...step.transfer,
            sequence,
            pendingStatus: hold.status,
            resolvedAtMs: hold.resolvedAtMs,
          };
    return { transferId: outcome.transferId, code: outcome.code, detail: '', transfer };
  });
}
