/**
 * The ledger's reads: accounts and transfers by id, an account's transfers, a user's wallet
 * history, open hold totals (loss limits) and the per-currency totals. None writes; none locks.
 */
import type { Account, Transfer, TransferCode } from '../domain/index.js';
import { NotFoundError } from '@streambet/platform/errors/domain-errors';
import type { LedgerStoreContext } from './context.js';
import {
  ACCOUNT_JSON,
  HASHES_OF_1,
  MARKET_JOIN,
  TRANSFER_JSON,
  parseAccount,
  parseTransfer,
  unique,
  type Json,
} from './rows.js';
import type {
  HistoryPage,
  LedgerCurrencyTotals,
  ListTransfersQuery,
  TransferPage,
  WalletHistoryQuery,
} from './types.js';

/** Creates the read operations over the shared store state. */
export function createLedgerQueries(ctx: LedgerStoreContext) {
  const { sql, remember } = ctx;

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
       ${MARKET_JOIN}
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
       ${MARKET_JOIN}
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
    // The wallet's transfers, and per market resolved by ResolveMarket in which it had open holds
    // the release that resolution made (voided, or past their timeout): no transfer is stored for
    // it, so it is shown as one VOID_PENDING entry `market:<market id>:release` (no pending id),
    // at the resolution's sequence and instant, its amount the held amount released.
    const rows = await sql.query<{ j: Json; held: bigint | string | null }>(
      `SELECT j, held FROM (
         (SELECT ${TRANSFER_JSON} AS j, p.amount AS held, t.seq
          FROM ledger_transfers t
          LEFT JOIN ledger_holds h ON h.transfer_id = t.id
          ${MARKET_JOIN}
          LEFT JOIN ledger_transfers p ON t.kind IN (3, 4) AND p.id = t.pending_id
          WHERE ((hashtext(t.debit_account_id) = ANY(${HASHES_OF_1}) AND t.debit_account_id = ANY($1::text[]))
              OR (hashtext(t.credit_account_id) = ANY(${HASHES_OF_1}) AND t.credit_account_id = ANY($1::text[])))
            AND (cardinality($2::smallint[]) = 0 OR t.code = ANY($2::smallint[]))
            AND ($3::bigint = 0 OR t.committed_at_ms >= $3::bigint)
            AND ($4::bigint = 0 OR t.committed_at_ms < $4::bigint)
            AND ($5::bigint IS NULL OR t.seq < $5::bigint)
          ORDER BY t.seq DESC
          LIMIT $6)
         UNION ALL
         (SELECT json_build_array('market:' || r.market_id || ':release', 4, r.debit, r.credit,
            r.released::text, r.currency, '', '0', '0', r.code, r.market_id, '', '', r.settlement_id,
            '', r.resolved_at_ms::text, r.seq::text, 0, '0', '') AS j, r.released AS held, r.seq
          FROM (
            SELECT g.market_id, g.debit_account_id AS debit, g.credit_account_id AS credit,
              a.currency, m.code, m.settlement_id, m.resolved_at_ms, m.seq,
              CASE WHEN m.hold_status = 3 THEN g.open_amount ELSE coalesce((
                SELECT sum(x.amount) FROM ledger_transfers x
                JOIN ledger_holds xh ON xh.transfer_id = x.id
                WHERE hashtext(x.debit_account_id) = hashtext(g.debit_account_id)
                  AND x.debit_account_id = g.debit_account_id AND x.kind = 2
                  AND x.market_id = g.market_id
                  AND (xh.status = 1 OR xh.resolved_by = 'market:' || g.market_id)
                  AND xh.expires_at_ms > 0 AND xh.expires_at_ms <= m.resolved_at_ms), 0) END
                AS released
            FROM ledger_market_hold_totals g
            JOIN ledger_markets m ON m.market_id = g.market_id AND m.resolved_at_ms IS NOT NULL
            JOIN ledger_accounts a ON a.id = g.debit_account_id
            WHERE g.debit_account_id = ANY($1::text[]) AND g.open_count > 0
              AND (cardinality($2::smallint[]) = 0 OR m.code = ANY($2::smallint[]))
              AND ($3::bigint = 0 OR m.resolved_at_ms >= $3::bigint)
              AND ($4::bigint = 0 OR m.resolved_at_ms < $4::bigint)
              AND ($5::bigint IS NULL OR m.seq < $5::bigint)
          ) r
          WHERE r.released > 0)
       ) e
       ORDER BY e.seq DESC
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
       ${MARKET_JOIN}
       WHERE hashtext(t.debit_account_id) = ANY(${HASHES_OF_1}) AND t.debit_account_id = ANY($1::text[])
         AND t.kind = 2 AND t.code = $2 AND h.status = 1 AND m.resolved_at_ms IS NULL
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

  return {
    lookupAccounts,
    accountsOfOwner,
    lookupTransfers,
    listAccountTransfers,
    listWalletHistory,
    openHoldTotals,
    getLedgerTotals,
  };
}
