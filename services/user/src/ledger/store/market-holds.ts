/**
 * Bulk settlement (ResolveMarketHolds): one page of a market's open holds resolved in one SQL
 * statement (ledger_resolve_market_holds), or, for a code the derived commands' shape check
 * refuses, through the commit path one command per hold.
 */
import {
  MAX_DERIVED_HOLD_ID_LENGTH,
  PendingStatus,
  holdResolutionCommand,
  TransferKind,
  TransferResultCode,
  checkCommandShape,
  compareLockOrder,
  type TransferCommand,
  type TransferOutcome,
} from '../domain/index.js';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { LedgerStoreContext } from './context.js';
import { MARKET_JOIN, TRANSFER_JSON, parseTransfer, sqlState, type Json } from './rows.js';
import type {
  BalanceSnapshot,
  ResolveMarketHoldsQuery,
  ResolveMarketHoldsResult,
} from './types.js';

/** One page of bulk settlement in one statement (migration 0104). */
const RESOLVE_MARKET_HOLDS = `SELECT * FROM ledger_resolve_market_holds($1::text, $2::text,
  $3::integer, $4::boolean, $5::smallint, $6::text, $7::bigint, $8::integer, $9::boolean)`;

const UNIQUE_VIOLATION = '23505';

/** A valid bet id for the shape check of a sample derived command. */
const SAMPLE_BET_ID = '00000000000000000000000000';

/** Creates ResolveMarketHolds over the shared store state and the commit path. */
export function createMarketHoldResolution(
  ctx: LedgerStoreContext,
  submitTransfers: (commands: readonly TransferCommand[]) => Promise<TransferOutcome[]>,
): {
  readonly resolveMarketHolds: (
    query: ResolveMarketHoldsQuery,
  ) => Promise<ResolveMarketHoldsResult>;
} {
  const { sql, options, withRetries } = ctx;

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
       ${MARKET_JOIN}
       WHERE t.market_id = $1 AND t.kind = 2 AND t.id > $2 AND h.status = 1
         AND m.resolved_at_ms IS NULL
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

  return { resolveMarketHolds };
}
