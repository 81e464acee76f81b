/**
 * Market-level settlement (migration 0110): ResolveMarket, one resolution record for every open
 * hold of a market, and CreditMarketPayouts, a page of the market's payouts out of its escrow —
 * each one SQL statement in one transaction, balances moved by per-account aggregates.
 */
import { AlreadyExistsError, IllegalStateError } from '@streambet/platform/errors/domain-errors';
import { integerArrayLiteral, textArrayLiteral } from '@streambet/platform/sql/array-literal';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import {
  AccountKind,
  TransferResultCode,
  canonicalAccountId,
  canonicalContent,
  compareLockOrder,
  marketPayoutCommand,
  type HoldAction,
  type TransferCode,
} from '../domain/index.js';
import type { LedgerStoreContext } from './context.js';
import { ACCOUNT_JSON, parseAccount, sha256, sqlState, type Json } from './rows.js';
import type {
  BalanceSnapshot,
  CreditMarketPayoutsCommand,
  CreditMarketPayoutsResult,
  MarketPayoutOutcome,
  MarketResolution,
  ResolveMarketCommand,
  ResolveMarketResult,
} from './types.js';

const RESOLVE_MARKET = `SELECT * FROM ledger_resolve_market($1::text, $2::text, $3::boolean,
  $4::smallint, $5::bigint, $6::bigint, $7::text)`;

const CREDIT_MARKET_PAYOUTS = `SELECT * FROM ledger_credit_market_payouts($1::text, $2::text,
  $3::text, $4::text, $5::bigint, $6::text[], $7::text[], $8::bigint[], $9::smallint[], $10::text[])`;

/** SQLSTATEs the market functions raise for a refused command (nothing written). */
const REFUSED = new Set(['LG003', 'LG004', 'LG005', 'LG006']);

/** Result code of each entry state of ledger_credit_market_payouts. */
const PAYOUT_STATES: Readonly<Record<number, TransferResultCode>> = {
  1: TransferResultCode.OK,
  2: TransferResultCode.ALREADY_EXISTS_SAME,
  3: TransferResultCode.ID_REUSED_DIFFERENT_CONTENT,
  4: TransferResultCode.ACCOUNT_NOT_FOUND,
  5: TransferResultCode.CURRENCY_MISMATCH,
};

type Big = bigint | string | null;
const big = (value: Big): bigint => BigInt(value ?? 0);

interface AccountRow {
  r_kind: string;
  r_id: string | null;
  r_currency: string | null;
  r_dpend: Big;
  r_dpost: Big;
  r_cpend: Big;
  r_cpost: Big;
}

function snapshotOf(row: AccountRow): BalanceSnapshot {
  return {
    accountId: row.r_id ?? '',
    currency: row.r_currency ?? '',
    balance: {
      debitsPending: big(row.r_dpend),
      debitsPosted: big(row.r_dpost),
      creditsPending: big(row.r_cpend),
      creditsPosted: big(row.r_cpost),
    },
  };
}

/** A database refusal as the domain error the edge maps (FAILED_PRECONDITION); others rethrown. */
function refusal(error: unknown, what: string): unknown {
  if (!REFUSED.has(sqlState(error) ?? '')) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new IllegalStateError(`${what} refused: ${message}; nothing was written`, {
    cause: error,
  });
}

const escrowOf = (marketId: string): string =>
  canonicalAccountId(AccountKind.MARKET_ESCROW, '', marketId);

const actionName = (action: HoldAction): string => (action === 'void' ? 'VOID' : 'POST_IN_FULL');

/** Creates ResolveMarket and CreditMarketPayouts over the shared store state. */
export function createMarketResolution(ctx: LedgerStoreContext): {
  readonly resolveMarket: (command: ResolveMarketCommand) => Promise<ResolveMarketResult>;
  readonly creditMarketPayouts: (
    command: CreditMarketPayoutsCommand,
  ) => Promise<CreditMarketPayoutsResult>;
} {
  const { sql, options, withRetries } = ctx;

  function parseResolution(marketId: string, text: string, currency: string): MarketResolution {
    const r = JSON.parse(text) as (string | number | null)[];
    const str = (index: number): string => String(r[index] ?? '0');
    const escrowId = r[11] as string | null;
    return {
      marketId,
      settlementId: (r[0] as string | null) ?? '',
      action: r[1] === 3 ? 'void' : 'post-in-full',
      code: Number(r[2]) as TransferCode,
      expectedOpenAmountMinor: BigInt(str(3)),
      sequence: BigInt(str(4)),
      resolvedCount: Number(str(5)),
      resolvedAmountMinor: BigInt(str(6)),
      expiredCount: Number(str(7)),
      expiredAmountMinor: BigInt(str(8)),
      accountCount: Number(r[9] ?? 0),
      resolvedAtMs: Number(str(10)),
      ...(escrowId === null
        ? {}
        : {
            escrow: {
              accountId: escrowId,
              currency,
              balance: {
                debitsPending: BigInt(str(12)),
                debitsPosted: BigInt(str(13)),
                creditsPending: BigInt(str(14)),
                creditsPosted: BigInt(str(15)),
              },
            },
          }),
    };
  }

  async function resolveMarket(command: ResolveMarketCommand): Promise<ResolveMarketResult> {
    const escrowId = escrowOf(command.marketId);
    try {
      return await withRetries(() =>
        sql.transaction(async (tx) => {
          const nowMs = options.clock.now();
          const rows = await tx.query<AccountRow & { r_text: string | null }>(RESOLVE_MARKET, [
            command.marketId,
            command.settlementId,
            command.action === 'post-in-full',
            command.code,
            command.expectedOpenAmountMinor.toString(),
            String(nowMs),
            escrowId,
          ]);
          const accounts: BalanceSnapshot[] = [];
          let summary: (typeof rows.rows)[number] | undefined;
          for (const row of rows.rows) {
            if (row.r_kind === 'a') accounts.push(snapshotOf(row));
            else summary = row;
          }
          if (summary === undefined) throw new Error('ledger_resolve_market returned no summary');
          const escrowCurrency = await currencyOf(tx, escrowId, accounts);
          const resolution = parseResolution(
            command.marketId,
            summary.r_text ?? '[]',
            escrowCurrency,
          );
          const replayed = big(summary.r_dpend) === 1n;
          if (replayed) {
            if (
              resolution.settlementId === command.settlementId &&
              resolution.action === command.action &&
              resolution.code === command.code &&
              resolution.expectedOpenAmountMinor === command.expectedOpenAmountMinor
            ) {
              return { resolution, replayed };
            }
            throw new AlreadyExistsError(
              resolution.settlementId === command.settlementId
                ? `settlement ${command.settlementId} already resolved market ${command.marketId} with different content (${actionName(resolution.action)}, code ${resolution.code}, expected ${resolution.expectedOpenAmountMinor}); repeat it with the same content or use a new settlement id`
                : `market ${command.marketId} was already resolved (${actionName(resolution.action)}) by settlement ${resolution.settlementId} at ${new Date(resolution.resolvedAtMs).toISOString()}; a market's holds are resolved once`,
            );
          }
          accounts.sort((a, b) => compareLockOrder(a.accountId, b.accountId));
          if (options.onCommitted !== undefined)
            await options.onCommitted(tx, [{ type: 'market-resolution', resolution, accounts }]);
          return { resolution, replayed };
        }),
      );
    } catch (error) {
      throw refusal(error, `ResolveMarket of market ${command.marketId}`);
    }
  }

  /** The escrow's currency: from the changed accounts, else read (it may have none). */
  async function currencyOf(
    tx: SqlExecutor,
    escrowId: string,
    accounts: readonly BalanceSnapshot[],
  ): Promise<string> {
    const changed = accounts.find((a) => a.accountId === escrowId);
    if (changed !== undefined) return changed.currency;
    const known = ctx.accountCache.get(escrowId);
    if (known !== undefined) return known.currency;
    const rows = await tx.query<{ currency: string }>(
      'SELECT currency FROM ledger_accounts WHERE id = $1',
      [escrowId],
    );
    return rows.rows[0]?.currency ?? '';
  }

  async function creditMarketPayouts(
    command: CreditMarketPayoutsCommand,
  ): Promise<CreditMarketPayoutsResult> {
    const escrowId = escrowOf(command.marketId);
    const payout = { ...command, escrowAccountId: escrowId };
    const commands = command.entries.map((entry) => marketPayoutCommand(payout, entry));
    // As SubmitTransfers fingerprints a command outside a linked chain (commit.ts).
    const fingerprints = commands.map((c) => sha256(`${canonicalContent(c)}|`));
    const text = textArrayLiteral;
    const int = integerArrayLiteral;
    try {
      return await withRetries(() =>
        sql.transaction(async (tx) => {
          const nowMs = options.clock.now();
          const rows = await tx.query<
            AccountRow & { r_state: number | null; r_seq: Big; r_ord: Big }
          >(CREDIT_MARKET_PAYOUTS, [
            command.marketId,
            command.settlementId,
            command.currency,
            escrowId,
            String(nowMs),
            text(commands.map((c) => c.transferId)),
            text(commands.map((c) => c.creditAccountId)),
            int(commands.map((c) => c.amountMinor)),
            int(commands.map((c) => c.code)),
            text(fingerprints),
          ]);
          const accounts: BalanceSnapshot[] = [];
          const outcomes = new Array<MarketPayoutOutcome>(commands.length);
          let creditedCount = 0;
          let creditedAmountMinor = 0n;
          let sequence = 0n;
          const credits: { accountId: string; transferId: string; amountMinor: bigint }[] = [];
          for (const row of rows.rows) {
            if (row.r_kind === 'a') {
              accounts.push(snapshotOf(row));
              continue;
            }
            const index = Number(row.r_ord) - 1;
            const c = commands[index]!;
            const code = PAYOUT_STATES[Number(row.r_state)] ?? TransferResultCode.INVALID_FIELD;
            const seq = row.r_seq === null ? 0n : big(row.r_seq);
            if (code === TransferResultCode.OK) {
              creditedCount += 1;
              creditedAmountMinor += c.amountMinor;
              credits.push({
                accountId: c.creditAccountId,
                transferId: c.transferId,
                amountMinor: c.amountMinor,
              });
              if (seq > sequence) sequence = seq;
            }
            outcomes[index] = {
              accountId: c.creditAccountId,
              transferId: c.transferId,
              code,
              detail: detailOf(code, c.transferId, c.creditAccountId, command.currency),
              sequence:
                code === TransferResultCode.OK || code === TransferResultCode.ALREADY_EXISTS_SAME
                  ? seq
                  : 0n,
            };
          }
          let escrow = accounts.find((a) => a.accountId === escrowId);
          if (escrow === undefined) {
            const read = await tx.query<{ j: Json }>(
              `SELECT ${ACCOUNT_JSON} AS j FROM ledger_accounts a WHERE a.id = $1`,
              [escrowId],
            );
            const account = parseAccount(read.rows[0]!.j);
            escrow = { accountId: escrowId, currency: account.currency, balance: account.balance };
          }
          if (creditedCount > 0 && options.onCommitted !== undefined) {
            accounts.sort((a, b) => compareLockOrder(a.accountId, b.accountId));
            credits.sort((a, b) => compareLockOrder(a.accountId, b.accountId));
            await options.onCommitted(tx, [
              {
                type: 'market-payouts',
                marketId: command.marketId,
                settlementId: command.settlementId,
                currency: command.currency,
                creditedCount,
                creditedAmountMinor,
                sequence,
                committedAtMs: nowMs,
                accounts,
                credits,
              },
            ]);
          }
          return { outcomes, creditedCount, creditedAmountMinor, escrow };
        }),
      );
    } catch (error) {
      throw refusal(error, `CreditMarketPayouts of market ${command.marketId}`);
    }
  }

  return { resolveMarket, creditMarketPayouts };
}

function detailOf(
  code: TransferResultCode,
  transferId: string,
  accountId: string,
  currency: string,
): string {
  switch (code) {
    case TransferResultCode.ID_REUSED_DIFFERENT_CONTENT:
      return `transfer id ${transferId} is already used by a transfer with different content`;
    case TransferResultCode.ACCOUNT_NOT_FOUND:
      return `credit account ${accountId} does not exist`;
    case TransferResultCode.CURRENCY_MISMATCH:
      return `account ${accountId} is not in ${currency}`;
    default:
      return '';
  }
}
