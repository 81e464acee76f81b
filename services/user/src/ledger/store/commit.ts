/**
 * The commit path: SubmitTransfers (a batch planned by the pure domain, then persisted in one
 * transaction, with a one-round-trip speculative path for plain new transfers) and the release of
 * holds past their timeout. Both hand what they committed to `onCommitted` in the same transaction.
 */
import {
  PendingStatus,
  TransferCode,
  TransferKind,
  TransferResultCode,
  addBalance,
  chainsOf,
  canonicalContent,
  compareLockOrder,
  finishOutcomes,
  isConstrainedKind,
  lockClassOf,
  planBatch,
  subtractBalance,
  zeroBalance,
  type Account,
  type Balance,
  type BalanceDelta,
  type BatchPlan,
  type StoredTransfer,
  type Transfer,
  type TransferCommand,
  type TransferOutcome,
} from '../domain/index.js';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import { integerArrayLiteral, textArrayLiteral } from '@streambet/platform/sql/array-literal';
import type { LedgerStoreContext } from './context.js';
import {
  MARKET_JOIN,
  TRANSFER_JSON,
  parseAccount,
  parseTransfer,
  sha256,
  sqlState,
  unique,
  type Json,
} from './rows.js';
import type { BalanceSnapshot, LedgerEffect } from './types.js';

/**
 * First statement of a batch: locks (holds, the markets of the holds it resolves or opens — FOR
 * SHARE, reporting the resolved ones —, per-user accounts, debited system accounts, in the
 * ledger's order), then with a fresh snapshot reads the rest and the already committed ids.
 * Credit-only system accounts (a market escrow receiving stakes, the house receiving breakage)
 * are not locked here: their balance decides no result. Every result that depends on a balance
 * therefore depends on a locked row, so two batches carrying the same command serialize on it and
 * the later one sees the earlier one's transfer.
 */
const READ_BATCH =
  'SELECT k, j FROM ledger_read_batch($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean, $6::text[])';

/** Second statement: apply deltas, take sequence numbers, insert transfers and holds. */
const COMMIT_BATCH = `SELECT * FROM ledger_commit_batch(
  $1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::integer,
  $7::integer[], $8::text[], $9::smallint[], $10::text[], $11::text[], $12::bigint[], $13::text[],
  $14::text[], $15::bigint[], $16::bigint[], $17::smallint[], $18::text[], $19::text[], $20::text[],
  $21::text[], $22::text[], $23::bigint[], $24::text[],
  $25::text[], $26::smallint[], $27::bigint[], $28::bigint[], $29::text[],
  $30::text[], $31::smallint[], $32::bigint[], $33::text[], $34::integer[], $35::bigint[])`;

/**
 * SQLSTATEs on which a speculative batch falls back to the full path: unique id (already
 * committed), check (not enough available), numeric overflow, serialization, deadlock.
 */
const SPECULATION_FAILED = new Set(['23505', '23514', '22003', '40001', '40P01', 'LG001']);

/** One new transfer or hold in one statement (migration 0102). */
const TRANSFER_ONE = `SELECT * FROM ledger_transfer_one($1::text, $2::smallint, $3::text, $4::text,
  $5::bigint, $6::text, $7::bigint, $8::bigint, $9::smallint, $10::text, $11::text, $12::text,
  $13::text, $14::text, $15::bigint, $16::text, $17::smallint)`;

/**
 * Fingerprints for idempotency: the hash of a command's content, and for members of a linked chain
 * also of the whole chain, so a transfer committed in one chain is never taken as "the same" by a
 * different chain (or alone).
 */
function fingerprintsOf(commands: readonly TransferCommand[]): string[] {
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
 * The commit path of the ledger over the platform's SQL port (PostgreSQL or PGlite). A batch is one READ COMMITTED
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
export function createCommitPath(ctx: LedgerStoreContext): {
  readonly submitTransfers: (commands: readonly TransferCommand[]) => Promise<TransferOutcome[]>;
  readonly expirePendingTransfers: (nowMs: number, limit?: number) => Promise<number>;
} {
  const { sql, options, withRetries, accountCache, remember } = ctx;

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
    const marketIds = unique(
      commands
        .filter(
          (c) =>
            c.kind === TransferKind.PENDING &&
            c.code === TransferCode.BET_STAKE &&
            c.marketId !== '',
        )
        .map((c) => c.marketId),
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
        const resolvedMarkets = new Set<string>();
        const absorb = (rows: readonly { k: string; j: Json }[]): void => {
          for (const row of rows) {
            if (row.k === 'm') {
              resolvedMarkets.add(row.j[0] as string);
            } else if (row.k === 'a') {
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
          [holdIds, accountIds, debitedSystemIds, transferIds, strict, marketIds],
          { prepareAs: 'sb_ledger_read_batch' },
        );
        absorb(read.rows);
        for (const account of accounts.values()) remember(account);
        const nowMs = options.clock.now();
        const plan = planBatch({
          commands,
          fingerprints,
          nowMs,
          accounts,
          existing,
          holds,
          resolvedMarkets,
        });
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
    // Holds of a resolved market are not open (their state is the market's, migration 0110) and
    // are never expired. Those among the due ones get their derived state written into their row
    // (no balance moves: the resolution moved it), so they leave the expiry index instead of
    // being walked past on every sweep.
    const settled = await withRetries(() =>
      sql.query<{ n: string }>(
        `WITH due AS (
           SELECT h.transfer_id, m.market_id, m.resolved_at_ms, m.hold_status, h.expires_at_ms
           FROM ledger_holds h JOIN ledger_transfers t ON t.id = h.transfer_id
           JOIN ledger_markets m ON m.market_id = t.market_id AND m.resolved_at_ms IS NOT NULL
             AND t.code = ${TransferCode.BET_STAKE}
           WHERE h.status = 1 AND h.expires_at_ms > 0 AND h.expires_at_ms <= $1
           ORDER BY h.expires_at_ms LIMIT $2
           FOR UPDATE OF h SKIP LOCKED),
         written AS (
           UPDATE ledger_holds h SET
             status = CASE WHEN d.expires_at_ms <= d.resolved_at_ms THEN 4 ELSE d.hold_status END,
             resolved_at_ms = d.resolved_at_ms, resolved_by = 'market:' || d.market_id
           FROM due d WHERE h.transfer_id = d.transfer_id
           RETURNING 1)
         SELECT count(*)::text AS n FROM written`,
        [String(nowMs), limit],
      ),
    );
    const expired = await withRetries(() =>
      sql.transaction(async (tx) => {
        const due = await tx.query<{ j: Json }>(
          `SELECT ${TRANSFER_JSON} AS j
           FROM ledger_holds h JOIN ledger_transfers t ON t.id = h.transfer_id
           ${MARKET_JOIN}
           WHERE h.transfer_id IN (
             SELECT x.transfer_id FROM ledger_holds x
             JOIN ledger_transfers xt ON xt.id = x.transfer_id
             LEFT JOIN ledger_markets xm ON xm.market_id = xt.market_id
               AND xt.code = ${TransferCode.BET_STAKE}
             WHERE x.status = 1 AND x.expires_at_ms > 0 AND x.expires_at_ms <= $1
               AND xm.resolved_at_ms IS NULL
             ORDER BY x.expires_at_ms LIMIT $2)
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
    return expired + Number(settled.rows[0]?.n ?? 0);
  }

  return { submitTransfers, expirePendingTransfers };
}
