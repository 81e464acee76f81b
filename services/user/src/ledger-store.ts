import { hash } from 'node:crypto';
import type { Link } from '@opentelemetry/api';
import { NotFoundError, UnavailableError } from '@streambet/platform/errors/domain-errors';
import { activeSpanLink, withBatchSpan } from '@streambet/platform/obs/tracing';
import { runDetached } from '@streambet/platform/runtime/detached';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import { integerArrayLiteral, textArrayLiteral } from '@streambet/platform/sql/array-literal';
import {
  CreateAccountResultCode,
  MAX_DERIVED_HOLD_ID_LENGTH,
  PendingStatus,
  holdResolutionCommand,
  type HoldAction,
  TransferKind,
  TransferResultCode,
  addBalance,
  canonicalContent,
  chainsOf,
  checkCommandShape,
  checkNewAccount,
  compareLockOrder,
  finishOutcomes,
  isConstrainedKind,
  lockClassOf,
  planBatch,
  subtractBalance,
  zeroBalance,
  type Account,
  type AccountKind,
  type Balance,
  type BalanceDelta,
  type BatchPlan,
  type CreateAccountOutcome,
  type LedgerCurrencies,
  type NewAccount,
  type StoredTransfer,
  type Transfer,
  type TransferCode,
  type TransferCommand,
  type TransferOutcome,
} from './domain/ledger/index.js';

/** An account's balance right after a change, as wallet.* events carry it. */
export interface BalanceSnapshot {
  readonly accountId: string;
  readonly currency: string;
  readonly balance: Balance;
}

/**
 * One committed change, handed to {@link LedgerStoreOptions.onCommitted} inside the transaction
 * (to append wallet.* events to the outbox): a new transfer, or a hold released by its timeout.
 */
export type LedgerEffect =
  | {
      readonly type: 'transfer';
      /** The committed transfer with its sequence number. */
      readonly transfer: Transfer;
      /** For POST/VOID: the hold's amount as placed; 0 otherwise. */
      readonly heldAmountMinor: bigint;
      readonly debit: BalanceSnapshot;
      readonly credit: BalanceSnapshot;
    }
  | {
      readonly type: 'expiry';
      /** The hold, now EXPIRED with resolvedAtMs set. */
      readonly hold: Transfer;
      /** Sequence number of the expiry (same sequence as transfers). */
      readonly sequence: bigint;
      readonly debit: BalanceSnapshot;
      readonly credit: BalanceSnapshot;
    }
  | MarketHoldsEffect;

/**
 * One page of bulk settlement ({@link LedgerStore.resolveMarketHolds}) committed: many holds of
 * one market resolved (and any expired) in one transaction, reported once for the page.
 */
export interface MarketHoldsEffect {
  readonly type: 'market-holds';
  readonly marketId: string;
  readonly action: HoldAction;
  readonly settlementId: string;
  /** Code of the resolving transfers. */
  readonly code: TransferCode;
  /** Holds posted or voided, and the sum of their held amounts. */
  readonly resolvedCount: number;
  readonly resolvedAmountMinor: bigint;
  /** Holds of the page found past their timeout and released instead (status EXPIRED). */
  readonly expiredCount: number;
  readonly expiredAmountMinor: bigint;
  /** First and last hold id of the page (hold id order). */
  readonly firstHoldId: string;
  readonly lastHoldId: string;
  /** Highest sequence number the page took: every snapshot in `accounts` is as of it. */
  readonly sequence: bigint;
  readonly committedAtMs: number;
  /** Every account the page changed, with its balance after the page. */
  readonly accounts: readonly BalanceSnapshot[];
}

/** Options of {@link createLedgerStore}. */
export interface LedgerStoreOptions {
  /** The ledger clock: commit times and the instant holds are checked for expiry. */
  readonly clock: Clock;
  /** The deployment's real currency (PTS is always allowed). */
  readonly currencies: LedgerCurrencies;
  /**
   * Runs inside each committing transaction with what it committed, in sequence order (append the
   * wallet.* events to the outbox here). Throwing rolls the whole batch back.
   */
  readonly onCommitted?: (tx: SqlExecutor, effects: readonly LedgerEffect[]) => Promise<void>;
  /** Attempts per batch on deadlock, unique-id race or an optimistic check failure; default 8. */
  readonly maxAttempts?: number;
}

/** Query of {@link LedgerStore.listAccountTransfers}. */
export interface ListTransfersQuery {
  readonly accountId: string;
  /** Only these codes; empty means all. */
  readonly codes: readonly TransferCode[];
  /** Lower bound on committed_at_ms (inclusive); 0 means none. */
  readonly fromMs: number;
  /** Upper bound on committed_at_ms (exclusive); 0 means none. */
  readonly toMs: number;
  readonly newestFirst: boolean;
  /** 1–200. */
  readonly limit: number;
  /** Continue after this sequence (exclusive), in the listing's direction. */
  readonly afterSequence?: bigint;
}

/** One page of {@link LedgerStore.listAccountTransfers}. */
export interface TransferPage {
  readonly transfers: Transfer[];
  /** Sequence to continue after, when there are more. */
  readonly nextAfterSequence?: bigint;
}

/** Query of {@link LedgerStore.listWalletHistory}: newest first over a few accounts. */
export interface WalletHistoryQuery {
  /** The accounts (a user's wallets); transfers debiting or crediting any of them. */
  readonly accountIds: readonly string[];
  /** Only these codes; empty means all. */
  readonly codes: readonly TransferCode[];
  /** Lower bound on committed_at_ms (inclusive); 0 means none. */
  readonly fromMs: number;
  /** Upper bound on committed_at_ms (exclusive); 0 means none. */
  readonly toMs: number;
  /** 1–200. */
  readonly limit: number;
  /** Continue with transfers older than this sequence. */
  readonly beforeSequence?: bigint;
}

/** One entry of a wallet history: the transfer and, for a post or void, the hold's amount. */
export interface HistoryEntry {
  readonly transfer: Transfer;
  /** POST_PENDING / VOID_PENDING: the resolved hold's amount as placed; 0 otherwise. */
  readonly heldAmountMinor: bigint;
}

/** One page of {@link LedgerStore.listWalletHistory}. */
export interface HistoryPage {
  readonly entries: HistoryEntry[];
  /** Sequence to continue before, when there are more. */
  readonly nextBeforeSequence?: bigint;
}

/** Sums of the four totals over all accounts of one currency. */
export interface LedgerCurrencyTotals {
  readonly currency: string;
  readonly totals: Balance;
  readonly accountCount: number;
}

/** Query of {@link LedgerStore.resolveMarketHolds}. */
export interface ResolveMarketHoldsQuery {
  readonly marketId: string;
  readonly action: HoldAction;
  /** Stored on each resolving transfer; may be empty. */
  readonly settlementId: string;
  /** Code of the resolving transfers (BET_STAKE for stakes). */
  readonly code: TransferCode;
  /** Resume after this hold id; empty for the first page. */
  readonly afterHoldId: string;
  /** Most holds in this page (one SQL transaction). */
  readonly limit: number;
}

/** What one page of {@link LedgerStore.resolveMarketHolds} did. */
export interface ResolveMarketHoldsResult {
  readonly resolvedCount: number;
  readonly resolvedAmountMinor: bigint;
  readonly expiredCount: number;
  readonly alreadyResolvedCount: number;
  /**
   * Refused resolutions (derived id too long or taken by a different transfer, or a command the
   * code refuses); holds resolved meanwhile by another transfer are skipped, not refused.
   */
  readonly failures: readonly TransferOutcome[];
  /** Cursor for the next page; empty when this page was the last. */
  readonly nextAfterHoldId: string;
}

/** The ledger's storage: every operation of LedgerInternalService, each in one SQL transaction. */
export interface LedgerStore {
  /** Creates accounts (each on its own); results in request order. */
  createAccounts(accounts: readonly NewAccount[]): Promise<CreateAccountOutcome[]>;
  /** The accounts that exist among `ids`, in request order. */
  lookupAccounts(ids: readonly string[]): Promise<Account[]>;
  /** Accounts owned by a user or market, by id. */
  accountsOfOwner(ownerId: string): Promise<Account[]>;
  /**
   * Applies a batch of commands in one SQL transaction (linked chains all-or-nothing, idempotent by
   * transfer id); one result per command, in order.
   */
  submitTransfers(commands: readonly TransferCommand[]): Promise<TransferOutcome[]>;
  /** The transfers that exist among `ids`, in request order, with hold status as of now. */
  lookupTransfers(ids: readonly string[]): Promise<Transfer[]>;
  /** Transfers debiting or crediting one account; NotFoundError when the account does not exist. */
  listAccountTransfers(query: ListTransfersQuery): Promise<TransferPage>;
  /**
   * Transfers debiting or crediting any of `accountIds`, newest first (a user's history over
   * their wallets); accounts that do not exist simply contribute nothing.
   */
  listWalletHistory(query: WalletHistoryQuery): Promise<HistoryPage>;
  /**
   * Sum of the open holds (PENDING, not yet posted, voided or expired) with `code` debiting each
   * of `accountIds`; accounts without any are left out. Loss limits count open stakes with it.
   */
  openHoldTotals(accountIds: readonly string[], code: TransferCode): Promise<Map<string, bigint>>;
  /** Sums per currency (all currencies when `currency` is empty), ordered by currency. */
  getLedgerTotals(currency: string): Promise<LedgerCurrencyTotals[]>;
  /**
   * Releases open holds whose timeout is at or before `nowMs` (at most `limit`, default 1000, per
   * call; holds locked by a running batch are skipped and left for the next call). Returns how many
   * expired. The service calls it periodically with its clock.
   */
  expirePendingTransfers(nowMs: number, limit?: number): Promise<number>;
  /**
   * Bulk settlement: resolves one page of a market's open holds (in hold id order after the
   * cursor) in one SQL statement (ledger_resolve_market_holds, migration 0104): each hold gets the
   * transfer {@link holdResolutionCommand} would commit (same derived id, content and fingerprint,
   * so a later SubmitTransfers of that command answers ALREADY_EXISTS_SAME), holds past their
   * timeout expire as the expiry path expires them, and each touched account takes one aggregated
   * delta. One {@link MarketHoldsEffect} per page goes to onCommitted. A code the derived commands'
   * shape check refuses whatever the hold runs the per-command path (every hold reported refused).
   */
  resolveMarketHolds(query: ResolveMarketHoldsQuery): Promise<ResolveMarketHoldsResult>;
}

const TRANSFER_JSON = 'ledger_transfer_json(t, h.status, h.resolved_at_ms)';
const ACCOUNT_JSON = 'ledger_account_json(a)';

/**
 * First statement of a batch: locks (holds, per-user accounts, debited system accounts, in the
 * ledger's order), then with a fresh snapshot reads the rest and the already committed ids.
 * Credit-only system accounts (a market escrow receiving stakes, the house receiving breakage)
 * are not locked here: their balance decides no result. Every result that depends on a balance
 * therefore depends on a locked row, so two batches carrying the same command serialize on it and
 * the later one sees the earlier one's transfer.
 */
const READ_BATCH =
  'SELECT k, j FROM ledger_read_batch($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean)';

/** Second statement: apply deltas, take sequence numbers, insert transfers and holds. */
const COMMIT_BATCH = `SELECT * FROM ledger_commit_batch(
  $1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::integer,
  $7::integer[], $8::text[], $9::smallint[], $10::text[], $11::text[], $12::bigint[], $13::text[],
  $14::text[], $15::bigint[], $16::bigint[], $17::smallint[], $18::text[], $19::text[], $20::text[],
  $21::text[], $22::text[], $23::bigint[], $24::text[],
  $25::text[], $26::smallint[], $27::bigint[], $28::bigint[], $29::text[],
  $30::text[], $31::smallint[], $32::bigint[], $33::text[], $34::integer[], $35::bigint[])`;

/** Most accounts {@link createLedgerStore} remembers the kind and currency of (about 200 B each). */
const ACCOUNT_CACHE_LIMIT = 200_000;

/**
 * SQLSTATEs on which a speculative batch falls back to the full path: unique id (already
 * committed), check (not enough available), numeric overflow, serialization, deadlock.
 */
const SPECULATION_FAILED = new Set(['23505', '23514', '22003', '40001', '40P01', 'LG001']);

/** One new transfer or hold in one statement (migration 0102). */
const TRANSFER_ONE = `SELECT * FROM ledger_transfer_one($1::text, $2::smallint, $3::text, $4::text,
  $5::bigint, $6::text, $7::bigint, $8::bigint, $9::smallint, $10::text, $11::text, $12::text,
  $13::text, $14::text, $15::bigint, $16::text, $17::smallint)`;

/** One page of bulk settlement in one statement (migration 0104). */
const RESOLVE_MARKET_HOLDS = `SELECT * FROM ledger_resolve_market_holds($1::text, $2::text,
  $3::integer, $4::boolean, $5::smallint, $6::text, $7::bigint, $8::integer, $9::boolean)`;

/**
 * The account-history indexes are keyed by `hashtext(account id)` (migration 0106): a query names
 * the hash, which the index finds, and the id itself, which removes the rare collision. This is
 * the hashes of the account ids in `$1::text[]`.
 */
const HASHES_OF_1 = 'ledger_account_hashes($1::text[])';

const UNIQUE_VIOLATION = '23505';

/** A valid bet id for the shape check of a sample derived command. */
const SAMPLE_BET_ID = '00000000000000000000000000';

/** SQLSTATEs after which the whole batch is retried: serialization, deadlock, unique race, check. */
const RETRYABLE = new Set(['40001', '40P01', '23505', '23514']);
const CHECK_VIOLATION = '23514';

type Json = readonly unknown[];

function parseTransfer(row: Json): StoredTransfer {
  const text = (index: number): string => row[index] as string;
  const transfer: Transfer = {
    transferId: text(0),
    kind: Number(row[1]) as TransferKind,
    debitAccountId: text(2),
    creditAccountId: text(3),
    amountMinor: BigInt(text(4)),
    currency: text(5),
    pendingId: text(6),
    timeoutSeconds: BigInt(text(7)),
    expiresAtMs: Number(text(8)),
    code: Number(row[9]) as TransferCode,
    marketId: text(10),
    betId: text(11),
    paymentId: text(12),
    settlementId: text(13),
    memo: text(14),
    committedAtMs: Number(text(15)),
    sequence: BigInt(text(16)),
    pendingStatus: Number(row[17]) as PendingStatus,
    resolvedAtMs: Number(text(18)),
  };
  return { transfer, fingerprint: storedFingerprint(transfer, text(19)) };
}

/**
 * A stored transfer's fingerprint. Bulk settlement stores its resolving transfers with an empty one
 * (migration 0108), standing for the fingerprint of the command {@link holdResolutionCommand}
 * derives from the hold; the row holds all it needs (hold id, amount, currency, code, market, bet
 * and settlement ids).
 */
function storedFingerprint(transfer: Transfer, stored: string): string {
  if (stored !== '') return stored;
  const hold = { ...transfer, transferId: transfer.pendingId };
  const action = transfer.kind === TransferKind.POST_PENDING ? 'post-in-full' : 'void';
  const command = holdResolutionCommand(hold, action, transfer.settlementId, transfer.code);
  return sha256(`${canonicalContent(command)}|`);
}

function parseAccount(row: Json): Account {
  const text = (index: number): string => row[index] as string;
  return {
    accountId: text(0),
    kind: Number(row[1]) as AccountKind,
    currency: text(2),
    ownerId: text(3),
    constrained: row[4] === true,
    createdAtMs: Number(text(5)),
    balance: {
      debitsPending: BigInt(text(6)),
      debitsPosted: BigInt(text(7)),
      creditsPending: BigInt(text(8)),
      creditsPosted: BigInt(text(9)),
    },
  };
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const unique = (values: Iterable<string>): string[] => [...new Set(values)];

function sha256(text: string): string {
  return hash('sha256', text, 'base64url');
}

/**
 * Fingerprints for idempotency: the hash of a command's content, and for members of a linked chain
 * also of the whole chain, so a transfer committed in one chain is never taken as "the same" by a
 * different chain (or alone).
 */
export function fingerprintsOf(commands: readonly TransferCommand[]): string[] {
  const contents = commands.map(canonicalContent);
  const fingerprints = new Array<string>(commands.length);
  for (const chain of chainsOf(commands)) {
    const chainDigest =
      chain.end > chain.start ? sha256(contents.slice(chain.start, chain.end + 1).join('\n')) : '';
    for (let index = chain.start; index <= chain.end; index += 1) {
      fingerprints[index] = sha256(`${contents[index]!}|${chainDigest}`);
    }
  }
  return fingerprints;
}

/**
 * The ledger over the platform's SQL port (PostgreSQL or PGlite). A batch is one READ COMMITTED
 * transaction of four statements: lock the holds, per-user accounts and debited system accounts in
 * (class, id) order; read the rest and the already committed ids with a fresh snapshot; plan in
 * memory ({@link planBatch}); apply one aggregated delta per account in (class, id) order and take
 * sequence numbers (credit-only system accounts — the hot ones — are locked only here, for the
 * last two statements); insert the transfers and hold states with one multi-row statement. A
 * CHECK constraint guarantees constrained accounts never go below zero available whatever
 * happens; should it fire (a credit-only account turned out to be debited by a later command of
 * the batch), the batch is replayed with every account locked up front. Deadlocks, unique-id races
 * and serialization failures replay the batch too (bounded), so callers only see UNAVAILABLE when
 * contention never lets up.
 */
export function createLedgerStore(sql: Sql, options: LedgerStoreOptions): LedgerStore {
  const maxAttempts = options.maxAttempts ?? 8;

  async function withRetries<T>(run: (strict: boolean) => Promise<T>): Promise<T> {
    let strict = false;
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      try {
        return await run(strict);
      } catch (error) {
        const state = sqlState(error);
        if (state === undefined || !RETRYABLE.has(state)) throw error;
        if (state === CHECK_VIOLATION) strict = true;
        lastError = error;
      }
    }
    throw new UnavailableError(
      `the ledger could not commit the batch after ${maxAttempts} attempts under contention; nothing was committed, retry the same commands`,
      { cause: lastError },
    );
  }

  /**
   * Persists a plan with one statement ({@link COMMIT_BATCH}); returns each touched account's new
   * totals and one sequence number per step.
   */
  async function commitPlan(
    tx: SqlExecutor,
    plan: Pick<BatchPlan, 'steps' | 'deltas' | 'newHolds' | 'holdResolutions'>,
    /** Per account: the available balance it must still have afterwards (see migration 0105). */
    needs?: ReadonlyMap<string, bigint>,
  ): Promise<{ finals: Map<string, Balance>; seqs: bigint[] }> {
    const ids = [...plan.deltas.keys()].sort(compareLockOrder);
    // Thousands of elements per call: literals built directly (see array-literal.ts).
    const text = textArrayLiteral;
    const int = integerArrayLiteral;
    const column = (pick: (delta: BalanceDelta) => bigint): string =>
      int(ids.map((id) => pick(plan.deltas.get(id)!)));
    const transferSteps = plan.steps.flatMap((step, index) =>
      step.type === 'transfer' ? [{ step, index }] : [],
    );
    const t = transferSteps.map(({ step }) => step.transfer);
    const result = await tx.query<{
      o_id: string | null;
      o_dpend: bigint | null;
      o_dpost: bigint | null;
      o_cpend: bigint | null;
      o_cpost: bigint | null;
      o_seqs: (bigint | string)[] | null;
    }>(
      COMMIT_BATCH,
      [
        text(ids),
        column((d) => d.debitsPending),
        column((d) => d.debitsPosted),
        column((d) => d.creditsPending),
        column((d) => d.creditsPosted),
        plan.steps.length,
        int(transferSteps.map(({ index }) => index + 1)),
        text(t.map((x) => x.transferId)),
        int(t.map((x) => x.kind)),
        text(t.map((x) => x.debitAccountId)),
        text(t.map((x) => x.creditAccountId)),
        int(t.map((x) => x.amountMinor)),
        text(t.map((x) => x.currency)),
        text(t.map((x) => x.pendingId)),
        int(t.map((x) => x.timeoutSeconds)),
        int(t.map((x) => x.expiresAtMs)),
        int(t.map((x) => x.code)),
        text(t.map((x) => x.marketId)),
        text(t.map((x) => x.betId)),
        text(t.map((x) => x.paymentId)),
        text(t.map((x) => x.settlementId)),
        text(t.map((x) => x.memo)),
        int(t.map((x) => x.committedAtMs)),
        text(transferSteps.map(({ step }) => step.fingerprint)),
        text(plan.newHolds.map((h) => h.holdId)),
        int(plan.newHolds.map((h) => h.status)),
        int(plan.newHolds.map((h) => h.expiresAtMs)),
        int(plan.newHolds.map((h) => h.resolvedAtMs)),
        text(plan.newHolds.map((h) => h.resolvedBy)),
        text(plan.holdResolutions.map((h) => h.holdId)),
        int(plan.holdResolutions.map((h) => h.status)),
        int(plan.holdResolutions.map((h) => h.resolvedAtMs)),
        text(plan.holdResolutions.map((h) => h.resolvedBy)),
        int(
          plan.holdResolutions.map((h) => (h.status === PendingStatus.EXPIRED ? h.step + 1 : null)),
        ),
        int(ids.map((id) => needs?.get(id) ?? 0n)),
      ],
      { prepareAs: 'sb_ledger_commit_batch' },
    );
    const finals = new Map<string, Balance>();
    let seqs: bigint[] = [];
    for (const row of result.rows) {
      if (row.o_id === null) {
        seqs = (row.o_seqs ?? []).map((value) => BigInt(value));
      } else {
        finals.set(row.o_id, {
          debitsPending: BigInt(row.o_dpend!),
          debitsPosted: BigInt(row.o_dpost!),
          creditsPending: BigInt(row.o_cpend!),
          creditsPosted: BigInt(row.o_cpost!),
        });
      }
    }
    if (finals.size !== ids.length || seqs.length !== plan.steps.length) {
      throw new Error(
        `ledger_commit_batch updated ${finals.size} of ${ids.length} accounts and returned ${seqs.length} of ${plan.steps.length} sequence numbers`,
      );
    }
    return { finals, seqs };
  }

  /**
   * Persists a plan of exactly one new transfer or hold with {@link TRANSFER_ONE}: scalar
   * parameters and three writes instead of the array-driven {@link COMMIT_BATCH}.
   */
  async function commitOne(
    tx: SqlExecutor,
    plan: Pick<BatchPlan, 'steps' | 'newHolds'>,
  ): Promise<{ finals: Map<string, Balance>; seqs: bigint[] }> {
    const step = plan.steps[0];
    if (plan.steps.length !== 1 || step?.type !== 'transfer')
      throw new Error('commitOne needs a plan of exactly one transfer');
    const x = step.transfer;
    const result = await tx.query<{
      o_id: string | null;
      o_dpend: bigint | null;
      o_dpost: bigint | null;
      o_cpend: bigint | null;
      o_cpost: bigint | null;
      o_seq: bigint | string | null;
    }>(
      TRANSFER_ONE,
      [
        x.transferId,
        x.kind,
        x.debitAccountId,
        x.creditAccountId,
        x.amountMinor.toString(),
        x.currency,
        x.timeoutSeconds.toString(),
        String(x.expiresAtMs),
        x.code,
        x.marketId,
        x.betId,
        x.paymentId,
        x.settlementId,
        x.memo,
        String(x.committedAtMs),
        step.fingerprint,
        plan.newHolds[0]?.status ?? null,
      ],
      { prepareAs: 'sb_ledger_transfer_one' },
    );
    const finals = new Map<string, Balance>();
    const seqs: bigint[] = [];
    for (const row of result.rows) {
      if (row.o_id === null) seqs.push(BigInt(row.o_seq!));
      else
        finals.set(row.o_id, {
          debitsPending: BigInt(row.o_dpend!),
          debitsPosted: BigInt(row.o_dpost!),
          creditsPending: BigInt(row.o_cpend!),
          creditsPosted: BigInt(row.o_cpost!),
        });
    }
    if (finals.size !== 2 || seqs.length !== 1)
      throw new Error(
        `ledger_transfer_one returned ${finals.size} accounts and ${seqs.length} sequence numbers`,
      );
    return { finals, seqs };
  }

  /** Balance snapshots after each step: walk forward from (final − net delta) of each account. */
  function effectsOf(
    plan: BatchPlan,
    outcomes: readonly TransferOutcome[],
    seqs: readonly bigint[],
    finals: ReadonlyMap<string, Balance>,
    currencyOf: (accountId: string) => string,
    nowMs: number,
  ): LedgerEffect[] {
    const running = new Map<string, Balance>();
    for (const [id, final] of finals)
      running.set(id, subtractBalance(final, plan.deltas.get(id) ?? zeroBalance));
    const finalTransfers = new Map<string, Transfer>();
    for (const outcome of outcomes) {
      if (outcome.transfer !== undefined)
        finalTransfers.set(outcome.transfer.transferId, outcome.transfer);
    }
    const snapshot = (accountId: string, change: BalanceDelta): BalanceSnapshot => {
      const balance = addBalance(running.get(accountId) ?? zeroBalance, change);
      running.set(accountId, balance);
      return { accountId, currency: currencyOf(accountId), balance };
    };
    return plan.steps.map((step, index): LedgerEffect => {
      const sequence = seqs[index]!;
      if (step.type === 'expiry') {
        return {
          type: 'expiry',
          hold: { ...step.hold, pendingStatus: PendingStatus.EXPIRED, resolvedAtMs: nowMs },
          sequence,
          debit: snapshot(step.debit.accountId, step.debit.delta),
          credit: snapshot(step.credit.accountId, step.credit.delta),
        };
      }
      return {
        type: 'transfer',
        transfer: finalTransfers.get(step.transfer.transferId) ?? { ...step.transfer, sequence },
        heldAmountMinor: step.heldAmountMinor,
        debit: snapshot(step.debit.accountId, step.debit.delta),
        credit: snapshot(step.credit.accountId, step.credit.delta),
      };
    });
  }

  /**
   * Kind and currency of accounts seen before. Both are immutable and accounts are never deleted,
   * so an entry stays true for good (also across replicas); it lets {@link trySpeculative} plan a
   * batch without reading. Bounded: cleared when it grows past {@link ACCOUNT_CACHE_LIMIT}.
   */
  const accountCache = new Map<string, Account>();
  const remember = (account: Account): void => {
    if (accountCache.size >= ACCOUNT_CACHE_LIMIT) accountCache.clear();
    accountCache.set(account.accountId, {
      ...account,
      balance: zeroBalance,
    });
  };

  /**
   * The one-round-trip path of a batch of plain new transfers and holds (SINGLE_PHASE / PENDING,
   * not linked, ids unique in the request, accounts known from {@link accountCache}). Such a batch
   * has one possible result when it commits at all — every command OK — and what could make a
   * command fail is checked by the database in the same statement that applies it: a transfer id
   * already used (primary key, 23505), a constrained account without enough available (the CHECK
   * on ledger_accounts, 23514; for an account the batch debits and then credits, the statement's
   * own check that it still has what the lowest point of the batch needed, also 23514), an overflowing total (22003). The plan is made as
   * {@link planBatch} makes it, against balances large enough that it accepts every command, and
   * committed with {@link COMMIT_BATCH} (or {@link TRANSFER_ONE}) alone: no BEGIN, no locking read, no COMMIT round trip.
   * Returns undefined (nothing committed) whenever the batch does not qualify or the statement
   * fails on one of those checks; the caller then runs the full path, which gives the exact
   * refusal. Results are therefore identical to the full path's.
   */
  async function trySpeculative(
    commands: readonly TransferCommand[],
    fingerprints: readonly string[],
  ): Promise<TransferOutcome[] | undefined> {
    const ids = new Set<string>();
    const funding = new Map<string, bigint>();
    for (const command of commands) {
      if (
        command.linked ||
        (command.kind !== TransferKind.SINGLE_PHASE && command.kind !== TransferKind.PENDING) ||
        ids.has(command.transferId) ||
        !accountCache.has(command.debitAccountId) ||
        !accountCache.has(command.creditAccountId) ||
        command.amountMinor <= 0n
      ) {
        return undefined;
      }
      ids.add(command.transferId);
      funding.set(
        command.debitAccountId,
        (funding.get(command.debitAccountId) ?? 0n) + command.amountMinor,
      );
    }
    const accounts = new Map<string, Account>();
    for (const id of [...funding.keys(), ...commands.map((c) => c.creditAccountId)]) {
      if (accounts.has(id)) continue;
      const known = accountCache.get(id)!;
      accounts.set(id, {
        ...known,
        balance: { ...zeroBalance, creditsPosted: funding.get(id) ?? 0n },
      });
    }
    const nowMs = options.clock.now();
    const plan = planBatch({
      commands,
      fingerprints,
      nowMs,
      accounts,
      existing: new Map(),
      holds: new Map(),
    });
    if (
      plan.steps.length !== commands.length ||
      plan.outcomes.some((o) => o.code !== TransferResultCode.OK)
    ) {
      return undefined;
    }
    // The CHECK sees only the final state. It equals the per-command check when no constrained
    // account's available balance is, after some command, lower than both its start and its end.
    const availableChange = new Map<string, bigint>();
    const lowest = new Map<string, bigint>();
    for (const step of plan.steps) {
      if (step.type !== 'transfer') return undefined;
      const { amountMinor, kind } = step.transfer;
      const debited = (availableChange.get(step.debit.accountId) ?? 0n) - amountMinor;
      availableChange.set(step.debit.accountId, debited);
      if (debited < (lowest.get(step.debit.accountId) ?? 0n))
        lowest.set(step.debit.accountId, debited);
      if (kind === TransferKind.SINGLE_PHASE) {
        availableChange.set(
          step.credit.accountId,
          (availableChange.get(step.credit.accountId) ?? 0n) + amountMinor,
        );
      }
    }
    // Where an account dips lower than both, the statement is also told how much it must still
    // have afterwards: start + lowest ≥ 0 ⇔ after ≥ net − lowest (migration 0105).
    const needs = new Map<string, bigint>();
    for (const [id, low] of lowest) {
      const final = availableChange.get(id) ?? 0n;
      if (isConstrainedKind(accountCache.get(id)!.kind) && low < (final < 0n ? final : 0n))
        needs.set(id, final - low);
    }
    const commit =
      plan.steps.length === 1
        ? commitOne
        : (tx: SqlExecutor, batch: BatchPlan) => commitPlan(tx, batch, needs);
    try {
      const onCommitted = options.onCommitted;
      if (onCommitted === undefined) {
        const { seqs } = await commit(sql, plan);
        return finishOutcomes(plan, seqs);
      }
      return await sql.transaction(async (tx) => {
        const { finals, seqs } = await commit(tx, plan);
        const outcomes = finishOutcomes(plan, seqs);
        const currencyOf = (id: string): string => accountCache.get(id)?.currency ?? '';
        await onCommitted(tx, effectsOf(plan, outcomes, seqs, finals, currencyOf, nowMs));
        return outcomes;
      });
    } catch (error) {
      const state = sqlState(error);
      if (state !== undefined && SPECULATION_FAILED.has(state)) return undefined;
      throw error;
    }
  }

  async function submitTransfers(commands: readonly TransferCommand[]): Promise<TransferOutcome[]> {
    if (commands.length === 0) return [];
    const fingerprints = fingerprintsOf(commands);
    const fast = await trySpeculative(commands, fingerprints);
    if (fast !== undefined) return fast;
    const transferIds = unique(commands.map((c) => c.transferId).filter((id) => id !== ''));
    const holdIds = unique(
      commands
        .filter((c) => c.kind === TransferKind.POST_PENDING || c.kind === TransferKind.VOID_PENDING)
        .map((c) => c.pendingId)
        .filter((id) => id !== ''),
    );
    const accountIds = unique(
      commands.flatMap((c) => [c.debitAccountId, c.creditAccountId]).filter((id) => id !== ''),
    );
    const debitedSystemIds = unique(
      commands
        .filter((c) => c.kind === TransferKind.SINGLE_PHASE || c.kind === TransferKind.PENDING)
        .map((c) => c.debitAccountId)
        .filter((id) => id !== '' && lockClassOf(id) === 1),
    );

    return withRetries((strict) =>
      sql.transaction(async (tx) => {
        const accounts = new Map<string, Account>();
        const existing = new Map<string, StoredTransfer>();
        const holds = new Map<string, Transfer>();
        const absorb = (rows: readonly { k: string; j: Json }[]): void => {
          for (const row of rows) {
            if (row.k === 'a') {
              const account = parseAccount(row.j);
              accounts.set(account.accountId, account);
            } else if (row.k === 'h') {
              const hold = parseTransfer(row.j).transfer;
              holds.set(hold.transferId, hold);
            } else {
              const stored = parseTransfer(row.j);
              existing.set(stored.transfer.transferId, stored);
            }
          }
        };
        const read = await tx.query<{ k: string; j: Json }>(
          READ_BATCH,
          [holdIds, accountIds, debitedSystemIds, transferIds, strict],
          { prepareAs: 'sb_ledger_read_batch' },
        );
        absorb(read.rows);
        for (const account of accounts.values()) remember(account);
        const nowMs = options.clock.now();
        const plan = planBatch({ commands, fingerprints, nowMs, accounts, existing, holds });
        if (plan.steps.length === 0) return finishOutcomes(plan, []);
        const { finals, seqs } = await commitPlan(tx, plan);
        const outcomes = finishOutcomes(plan, seqs);
        if (options.onCommitted !== undefined) {
          const currencyOf = (id: string): string => accounts.get(id)?.currency ?? '';
          await options.onCommitted(tx, effectsOf(plan, outcomes, seqs, finals, currencyOf, nowMs));
        }
        return outcomes;
      }),
    );
  }

  async function expirePendingTransfers(nowMs: number, limit = 1000): Promise<number> {
    return withRetries(() =>
      sql.transaction(async (tx) => {
        const due = await tx.query<{ j: Json }>(
          `SELECT ${TRANSFER_JSON} AS j
           FROM ledger_holds h JOIN ledger_transfers t ON t.id = h.transfer_id
           WHERE h.transfer_id IN (
             SELECT transfer_id FROM ledger_holds
             WHERE status = 1 AND expires_at_ms > 0 AND expires_at_ms <= $1
             ORDER BY expires_at_ms LIMIT $2)
           ORDER BY h.transfer_id
           FOR UPDATE OF h SKIP LOCKED`,
          [String(nowMs), limit],
        );
        const holds = due.rows
          .map((row) => parseTransfer(row.j).transfer)
          .filter((hold) => hold.pendingStatus === PendingStatus.PENDING);
        if (holds.length === 0) return 0;
        const deltas = new Map<string, BalanceDelta>();
        const add = (id: string, change: Partial<Balance>): void => {
          deltas.set(id, addBalance(deltas.get(id) ?? zeroBalance, { ...zeroBalance, ...change }));
        };
        for (const hold of holds) {
          add(hold.debitAccountId, { debitsPending: -hold.amountMinor });
          add(hold.creditAccountId, { creditsPending: -hold.amountMinor });
        }
        const steps = holds.map((hold) => ({
          type: 'expiry' as const,
          hold,
          debit: {
            accountId: hold.debitAccountId,
            delta: { ...zeroBalance, debitsPending: -hold.amountMinor },
          },
          credit: {
            accountId: hold.creditAccountId,
            delta: { ...zeroBalance, creditsPending: -hold.amountMinor },
          },
        }));
        const holdResolutions = holds.map((hold, step) => ({
          holdId: hold.transferId,
          status: PendingStatus.EXPIRED,
          resolvedAtMs: nowMs,
          resolvedBy: '',
          step,
        }));
        const { finals, seqs } = await commitPlan(tx, {
          steps,
          deltas,
          newHolds: [],
          holdResolutions,
        });
        if (options.onCommitted !== undefined) {
          const plan: BatchPlan = { outcomes: [], steps, holdResolutions, newHolds: [], deltas };
          const currencyOf = (id: string): string =>
            holds.find((h) => h.debitAccountId === id || h.creditAccountId === id)?.currency ?? '';
          await options.onCommitted(tx, effectsOf(plan, [], seqs, finals, currencyOf, nowMs));
        }
        return holds.length;
      }),
    );
  }

  async function createAccounts(
    newAccounts: readonly NewAccount[],
  ): Promise<CreateAccountOutcome[]> {
    const seen = new Set<string>();
    const checks = newAccounts.map((account) => {
      if (seen.has(account.accountId))
        return { code: CreateAccountResultCode.DUPLICATE_IN_REQUEST };
      const refusal = checkNewAccount(options.currencies, account);
      if (refusal === undefined) seen.add(account.accountId);
      return refusal;
    });
    const valid = newAccounts.filter((_, index) => checks[index] === undefined);
    const nowMs = options.clock.now();
    const { inserted, stored } = await withRetries(() =>
      sql.transaction(async (tx) => {
        const insert = await tx.query<{ id: string }>(
          `INSERT INTO ledger_accounts (id, kind, currency, owner_id, constrained, created_at_ms)
           SELECT * FROM unnest($1::text[], $2::smallint[], $3::text[], $4::text[], $5::boolean[], $6::bigint[])
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [
            valid.map((a) => a.accountId),
            valid.map((a) => a.kind),
            valid.map((a) => a.currency),
            valid.map((a) => a.ownerId),
            valid.map((a) => isConstrainedKind(a.kind as AccountKind)),
            valid.map(() => String(nowMs)),
          ],
        );
        const rows = await tx.query<{ j: Json }>(
          `SELECT ${ACCOUNT_JSON} AS j FROM ledger_accounts a WHERE a.id = ANY($1::text[])`,
          [valid.map((a) => a.accountId)],
        );
        return {
          inserted: new Set(insert.rows.map((row) => row.id)),
          stored: new Map(
            rows.rows.map((row) => {
              const account = parseAccount(row.j);
              return [account.accountId, account] as const;
            }),
          ),
        };
      }),
    );
    for (const account of stored.values()) remember(account);
    return newAccounts.map((account, index): CreateAccountOutcome => {
      const refusal = checks[index];
      if (refusal !== undefined) return { accountId: account.accountId, code: refusal.code };
      const existing = stored.get(account.accountId)!;
      if (inserted.has(account.accountId)) {
        return {
          accountId: account.accountId,
          code: CreateAccountResultCode.OK,
          account: existing,
        };
      }
      const same =
        existing.kind === account.kind &&
        existing.currency === account.currency &&
        existing.ownerId === account.ownerId;
      return {
        accountId: account.accountId,
        code: same
          ? CreateAccountResultCode.ALREADY_EXISTS_SAME
          : CreateAccountResultCode.ID_REUSED_DIFFERENT_CONTENT,
        account: existing,
      };
    });
  }

  async function lookupAccounts(ids: readonly string[]): Promise<Account[]> {
    const rows = await sql.query<{ j: Json }>(
      `SELECT ${ACCOUNT_JSON} AS j FROM ledger_accounts a WHERE a.id = ANY($1::text[])`,
      [unique(ids)],
    );
    const byId = new Map(
      rows.rows.map((row) => {
        const account = parseAccount(row.j);
        remember(account);
        return [account.accountId, account] as const;
      }),
    );
    return ids.flatMap((id) => {
      const account = byId.get(id);
      if (account === undefined) return [];
      byId.delete(id);
      return [account];
    });
  }

  async function accountsOfOwner(ownerId: string): Promise<Account[]> {
    const rows = await sql.query<{ j: Json }>(
      `SELECT ${ACCOUNT_JSON} AS j FROM ledger_accounts a WHERE a.owner_id = $1 AND a.owner_id <> '' ORDER BY a.id`,
      [ownerId],
    );
    return rows.rows.map((row) => parseAccount(row.j));
  }

  async function lookupTransfers(ids: readonly string[]): Promise<Transfer[]> {
    const rows = await sql.query<{ j: Json }>(
      `SELECT ${TRANSFER_JSON} AS j FROM ledger_transfers t LEFT JOIN ledger_holds h ON h.transfer_id = t.id
       WHERE t.id = ANY($1::text[])`,
      [unique(ids)],
    );
    const byId = new Map(
      rows.rows.map((row) => {
        const { transfer } = parseTransfer(row.j);
        return [transfer.transferId, transfer] as const;
      }),
    );
    return ids.flatMap((id) => {
      const transfer = byId.get(id);
      if (transfer === undefined) return [];
      byId.delete(id);
      return [transfer];
    });
  }

  async function listAccountTransfers(query: ListTransfersQuery): Promise<TransferPage> {
    const account = await sql.query('SELECT 1 FROM ledger_accounts WHERE id = $1', [
      query.accountId,
    ]);
    if (account.rows.length === 0)
      throw new NotFoundError(`account ${query.accountId} does not exist`);
    const direction = query.newestFirst ? 'DESC' : 'ASC';
    const cursorOp = query.newestFirst ? '<' : '>';
    const rows = await sql.query<{ j: Json }>(
      `SELECT ${TRANSFER_JSON} AS j FROM ledger_transfers t LEFT JOIN ledger_holds h ON h.transfer_id = t.id
       WHERE ((hashtext(t.debit_account_id) = hashtext($1) AND t.debit_account_id = $1)
           OR (hashtext(t.credit_account_id) = hashtext($1) AND t.credit_account_id = $1))
         AND (cardinality($2::smallint[]) = 0 OR t.code = ANY($2::smallint[]))
         AND ($3::bigint = 0 OR t.committed_at_ms >= $3::bigint)
         AND ($4::bigint = 0 OR t.committed_at_ms < $4::bigint)
         AND ($5::bigint IS NULL OR t.seq ${cursorOp} $5::bigint)
       ORDER BY t.seq ${direction}
       LIMIT $6`,
      [
        query.accountId,
        [...query.codes],
        String(query.fromMs),
        String(query.toMs),
        query.afterSequence === undefined ? null : query.afterSequence.toString(),
        query.limit + 1,
      ],
    );
    const transfers = rows.rows.map((row) => parseTransfer(row.j).transfer);
    if (transfers.length <= query.limit) return { transfers };
    transfers.length = query.limit;
    return { transfers, nextAfterSequence: transfers[transfers.length - 1]!.sequence };
  }

  async function listWalletHistory(query: WalletHistoryQuery): Promise<HistoryPage> {
    const rows = await sql.query<{ j: Json; held: bigint | string | null }>(
      `SELECT ${TRANSFER_JSON} AS j, p.amount AS held
       FROM ledger_transfers t
       LEFT JOIN ledger_holds h ON h.transfer_id = t.id
       LEFT JOIN ledger_transfers p ON t.kind IN (3, 4) AND p.id = t.pending_id
       WHERE ((hashtext(t.debit_account_id) = ANY(${HASHES_OF_1}) AND t.debit_account_id = ANY($1::text[]))
           OR (hashtext(t.credit_account_id) = ANY(${HASHES_OF_1}) AND t.credit_account_id = ANY($1::text[])))
         AND (cardinality($2::smallint[]) = 0 OR t.code = ANY($2::smallint[]))
         AND ($3::bigint = 0 OR t.committed_at_ms >= $3::bigint)
         AND ($4::bigint = 0 OR t.committed_at_ms < $4::bigint)
         AND ($5::bigint IS NULL OR t.seq < $5::bigint)
       ORDER BY t.seq DESC
       LIMIT $6`,
      [
        [...query.accountIds],
        [...query.codes],
        String(query.fromMs),
        String(query.toMs),
        query.beforeSequence === undefined ? null : query.beforeSequence.toString(),
        query.limit + 1,
      ],
    );
    const entries = rows.rows.map((row) => ({
      transfer: parseTransfer(row.j).transfer,
      heldAmountMinor: row.held === null ? 0n : BigInt(row.held),
    }));
    if (entries.length <= query.limit) return { entries };
    entries.length = query.limit;
    return { entries, nextBeforeSequence: entries[entries.length - 1]!.transfer.sequence };
  }

  async function openHoldTotals(
    accountIds: readonly string[],
    code: TransferCode,
  ): Promise<Map<string, bigint>> {
    if (accountIds.length === 0) return new Map();
    const rows = await sql.query<{ id: string; total: string }>(
      `SELECT t.debit_account_id AS id, sum(t.amount)::text AS total
       FROM ledger_transfers t JOIN ledger_holds h ON h.transfer_id = t.id
       WHERE hashtext(t.debit_account_id) = ANY(${HASHES_OF_1}) AND t.debit_account_id = ANY($1::text[])
         AND t.kind = 2 AND t.code = $2 AND h.status = 1
       GROUP BY t.debit_account_id`,
      [unique(accountIds), code],
    );
    return new Map(rows.rows.map((row) => [row.id, BigInt(row.total)]));
  }

  async function getLedgerTotals(currency: string): Promise<LedgerCurrencyTotals[]> {
    const rows = await sql.query<{
      currency: string;
      dpend: string;
      dpost: string;
      cpend: string;
      cpost: string;
      n: string;
    }>(
      `SELECT currency, sum(debits_pending)::text AS dpend, sum(debits_posted)::text AS dpost,
         sum(credits_pending)::text AS cpend, sum(credits_posted)::text AS cpost, count(*)::text AS n
       FROM ledger_accounts WHERE ($1 = '' OR currency = $1)
       GROUP BY currency ORDER BY currency COLLATE "C"`,
      [currency],
    );
    return rows.rows.map((row) => ({
      currency: row.currency,
      totals: {
        debitsPending: BigInt(row.dpend),
        debitsPosted: BigInt(row.dpost),
        creditsPending: BigInt(row.cpend),
        creditsPosted: BigInt(row.cpost),
      },
      accountCount: Number(row.n),
    }));
  }

  async function resolveMarketHolds(
    query: ResolveMarketHoldsQuery,
  ): Promise<ResolveMarketHoldsResult> {
    const sample = holdResolutionCommand(
      {
        transferId: 'hold',
        kind: TransferKind.PENDING,
        debitAccountId: '',
        creditAccountId: '',
        amountMinor: 1n,
        currency: 'PTS',
        pendingId: '',
        timeoutSeconds: 0n,
        expiresAtMs: 0,
        code: query.code,
        marketId: query.marketId,
        betId: SAMPLE_BET_ID,
        paymentId: '',
        settlementId: '',
        memo: '',
        committedAtMs: 0,
        sequence: 0n,
        pendingStatus: PendingStatus.PENDING,
        resolvedAtMs: 0,
      },
      query.action,
      query.settlementId,
      query.code,
    );
    if (checkCommandShape(sample) !== undefined) return resolveMarketHoldsPerCommand(query);
    const post = query.action === 'post-in-full';
    // First without looking up the derived ids; a page meeting a taken one (unique violation) is
    // repeated with the lookups, which report it.
    let probe = false;
    return withRetries(async () => {
      const nowMs = options.clock.now();
      const run = async (tx: SqlExecutor): Promise<ResolveMarketHoldsResult> => {
        const rows = await tx.query<{
          r_kind: string;
          r_id: string;
          r_currency: string;
          r_dpend: bigint | string | null;
          r_dpost: bigint | string | null;
          r_cpend: bigint | string | null;
          r_cpost: bigint | string | null;
          r_count: bigint | string | null;
          r_amount: bigint | string | null;
          r_text: string | null;
        }>(RESOLVE_MARKET_HOLDS, [
          query.marketId,
          query.afterHoldId,
          query.limit,
          post,
          query.code,
          query.settlementId,
          String(nowMs),
          MAX_DERIVED_HOLD_ID_LENGTH,
          probe,
        ]);
        const big = (value: bigint | string | null): bigint => BigInt(value ?? 0);
        const accounts: BalanceSnapshot[] = [];
        const failures: TransferOutcome[] = [];
        let summary: (typeof rows.rows)[number] | undefined;
        for (const row of rows.rows) {
          if (row.r_kind === 'a') {
            accounts.push({
              accountId: row.r_id,
              currency: row.r_currency,
              balance: {
                debitsPending: big(row.r_dpend),
                debitsPosted: big(row.r_dpost),
                creditsPending: big(row.r_cpend),
                creditsPosted: big(row.r_cpost),
              },
            });
          } else if (row.r_kind === 'f') {
            failures.push({
              transferId: row.r_id,
              code: Number(row.r_count) as TransferResultCode,
              detail: row.r_text ?? '',
            });
          } else {
            summary = row;
          }
        }
        if (summary === undefined)
          throw new Error('ledger_resolve_market_holds returned no summary');
        const result: ResolveMarketHoldsResult = {
          resolvedCount: Number(summary.r_count),
          resolvedAmountMinor: big(summary.r_amount),
          expiredCount: Number(summary.r_dpend),
          alreadyResolvedCount: Number(summary.r_cpend),
          failures,
          nextAfterHoldId: summary.r_id,
        };
        if (
          options.onCommitted !== undefined &&
          (result.resolvedCount > 0 || result.expiredCount > 0)
        ) {
          accounts.sort((a, b) => compareLockOrder(a.accountId, b.accountId));
          await options.onCommitted(tx, [
            {
              type: 'market-holds',
              marketId: query.marketId,
              action: query.action,
              settlementId: query.settlementId,
              code: query.code,
              resolvedCount: result.resolvedCount,
              resolvedAmountMinor: result.resolvedAmountMinor,
              expiredCount: result.expiredCount,
              expiredAmountMinor: big(summary.r_dpost),
              firstHoldId: summary.r_currency,
              lastHoldId: summary.r_text ?? '',
              sequence: big(summary.r_cpost),
              committedAtMs: nowMs,
              accounts,
            },
          ]);
        }
        return result;
      };
      try {
        return await (options.onCommitted === undefined ? run(sql) : sql.transaction(run));
      } catch (error) {
        if (sqlState(error) === UNIQUE_VIOLATION) probe = true;
        throw error;
      }
    });
  }

  async function resolveMarketHoldsPerCommand(
    query: ResolveMarketHoldsQuery,
  ): Promise<ResolveMarketHoldsResult> {
    // Unlocked read of the page: the batch below locks each hold and re-checks its state, so a
    // hold resolved in between is refused (or met as already resolved), never resolved twice.
    const page = await sql.query<{ j: Json }>(
      `SELECT ${TRANSFER_JSON} AS j
       FROM ledger_transfers t JOIN ledger_holds h ON h.transfer_id = t.id
       WHERE t.market_id = $1 AND t.kind = 2 AND t.id > $2 AND h.status = 1
       ORDER BY t.id LIMIT $3`,
      [query.marketId, query.afterHoldId, query.limit + 1],
    );
    const holds = page.rows.map((row) => parseTransfer(row.j).transfer);
    const more = holds.length > query.limit;
    if (more) holds.length = query.limit;
    const nextAfterHoldId = more ? holds[holds.length - 1]!.transferId : '';
    const resolvable = holds.filter((hold) => hold.transferId.length <= MAX_DERIVED_HOLD_ID_LENGTH);
    const tooLong: TransferOutcome[] = holds
      .filter((hold) => hold.transferId.length > MAX_DERIVED_HOLD_ID_LENGTH)
      .map((hold) => ({
        transferId: hold.transferId,
        code: TransferResultCode.INVALID_TRANSFER_ID,
        detail: `hold id ${hold.transferId} is too long to derive a resolving transfer id; resolve it with SubmitTransfers`,
      }));
    const outcomes =
      resolvable.length === 0
        ? []
        : await submitTransfers(
            resolvable.map((hold) =>
              holdResolutionCommand(hold, query.action, query.settlementId, query.code),
            ),
          );
    let resolvedCount = 0;
    let resolvedAmountMinor = 0n;
    let expiredCount = 0;
    let alreadyResolvedCount = 0;
    const failures: TransferOutcome[] = [...tooLong];
    outcomes.forEach((outcome, index) => {
      if (outcome.code === TransferResultCode.OK) {
        resolvedCount += 1;
        resolvedAmountMinor += resolvable[index]!.amountMinor;
      } else if (outcome.code === TransferResultCode.ALREADY_EXISTS_SAME) {
        alreadyResolvedCount += 1;
      } else if (outcome.code === TransferResultCode.PENDING_EXPIRED) {
        expiredCount += 1;
      } else {
        failures.push(outcome);
      }
    });
    return {
      resolvedCount,
      resolvedAmountMinor,
      expiredCount,
      alreadyResolvedCount,
      failures,
      nextAfterHoldId,
    };
  }

  return {
    resolveMarketHolds,
    listWalletHistory,
    openHoldTotals,
    createAccounts,
    lookupAccounts,
    accountsOfOwner,
    submitTransfers,
    lookupTransfers,
    listAccountTransfers,
    getLedgerTotals,
    expirePendingTransfers,
  };
}

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
