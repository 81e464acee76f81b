/**
 * Reading the ledger's rows: the JSON row shapes the SQL functions return (`ledger_transfer_json`,
 * `ledger_account_json`), their parsers, the stored fingerprint of bulk-settled transfers, and the
 * small SQL helpers every part of the store shares.
 */
import { hash } from 'node:crypto';
import {
  TransferKind,
  canonicalContent,
  holdResolutionCommand,
  type Account,
  type AccountKind,
  type PendingStatus,
  type StoredTransfer,
  type Transfer,
  type TransferCode,
} from '../domain/index.js';

/**
 * A transfer row as JSON, with its hold's status (`t` = ledger_transfers, `h` = ledger_holds,
 * `m` = ledger_markets joined by {@link MARKET_JOIN}): a hold still PENDING in its row takes its
 * state from its market's resolution (migration 0110, ledger_hold_json) when it is a stake hold
 * (BET_STAKE, migration 0113).
 */
export const TRANSFER_JSON = 'ledger_hold_json(t, h, m)';
/** The join that gives {@link TRANSFER_JSON} a hold's market (`m`, NULL for other transfers). */
export const MARKET_JOIN =
  'LEFT JOIN ledger_markets m ON t.kind = 2 AND t.code = 3 AND m.market_id = t.market_id';
/** An account row as JSON (`a` = ledger_accounts). */
export const ACCOUNT_JSON = 'ledger_account_json(a)';

/**
 * The account-history indexes are keyed by `hashtext(account id)` (migration 0106): a query names
 * the hash, which the index finds, and the id itself, which removes the rare collision. This is
 * the hashes of the account ids in `$1::text[]`.
 */
export const HASHES_OF_1 = 'ledger_account_hashes($1::text[])';

/** A row the ledger's SQL functions return as a JSON array. */
export type Json = readonly unknown[];

/** A transfer of a {@link TRANSFER_JSON} row with its idempotency fingerprint. */
export function parseTransfer(row: Json): StoredTransfer {
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

/** An account of an {@link ACCOUNT_JSON} row. */
export function parseAccount(row: Json): Account {
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

/** The SQLSTATE of a database error, if it has one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The distinct values, in first-seen order. */
export const unique = (values: Iterable<string>): string[] => [...new Set(values)];

/** Base64url SHA-256 of a text (fingerprints). */
export function sha256(text: string): string {
  return hash('sha256', text, 'base64url');
}
