/**
 * Opening a new user's wallets: the PTS and real-currency wallet accounts and the signup grant of
 * play money, right after registration and again by the start-up sweep for any registration it missed.
 */
import type { Sql } from '@streambet/platform/sql/types';
import { PLAY_CURRENCY, canonicalAccountId } from './domain/account-rules.js';
import {
  AccountKind,
  CreateAccountResultCode,
  TransferCode,
  TransferKind,
  TransferResultCode,
} from './domain/types.js';
import type { LedgerStore } from './store/index.js';

/** Dependencies of {@link createWalletOpener}. */
export interface WalletOpenerDeps {
  readonly sql: Sql;
  readonly ledger: LedgerStore;
  readonly realCurrency: string;
  /**
   * Play money (minor units of PTS) every new user receives from `house:PTS` once, with transfer
   * id `signup-grant:<user id>:PTS`; 0 disables the grant. PTS has no payments (product.md), so
   * without a grant a new user could never bet play money.
   */
  readonly signupGrantPtsMinor: bigint;
  /** Ledger clock, for the sweep's window of recent registrations. */
  readonly nowMs: () => number;
}

/** How far back the start-up sweep looks for a registration whose grant is missing. */
const GRANT_REPAIR_WINDOW_MS = 24 * 3_600_000;

/** Opens wallets of newly registered users (see {@link createWalletOpener}). */
export interface WalletOpener {
  /**
   * Opens `wallet:<user>:<real>` and `wallet:<user>:PTS` and pays the signup grant; idempotent
   * (account creation and the grant's transfer id), so it can run any number of times.
   */
  open(userId: string): Promise<void>;
  /**
   * Repairs registrations whose opening did not finish (the process stopped between the Register
   * commit and {@link open}): users without a PTS wallet, and users registered within
   * {@link GRANT_REPAIR_WINDOW_MS} without their grant. Returns how many users it opened.
   */
  sweep(limit?: number): Promise<number>;
}

/**
 * Wallets are opened right after the Register transaction commits, not inside it: the ledger
 * runs its own transactions, and PGlite has one backend, so a ledger call inside Register would
 * wait on itself. Register awaits {@link WalletOpener.open} before answering (the new user can
 * read the wallet and bet at once, and the bet engine's holds find `wallet:<user>:<cur>`); a
 * failure there is repaired by {@link WalletOpener.sweep} at the next start.
 */
export function createWalletOpener(deps: WalletOpenerDeps): WalletOpener {
  const house = canonicalAccountId(AccountKind.HOUSE, PLAY_CURRENCY, '');
  let houseOpened = false;

  async function open(userId: string): Promise<void> {
    const accounts = [deps.realCurrency, PLAY_CURRENCY].map((currency) => ({
      accountId: canonicalAccountId(AccountKind.USER_WALLET, currency, userId),
      kind: AccountKind.USER_WALLET,
      currency,
      ownerId: userId,
    }));
    const withHouse = houseOpened
      ? accounts
      : [
          ...accounts,
          { accountId: house, kind: AccountKind.HOUSE, currency: PLAY_CURRENCY, ownerId: '' },
        ];
    const created = await deps.ledger.createAccounts(withHouse);
    const refused = created.find(
      (result) =>
        result.code !== CreateAccountResultCode.OK &&
        result.code !== CreateAccountResultCode.ALREADY_EXISTS_SAME,
    );
    if (refused !== undefined)
      throw new Error(`cannot open account ${refused.accountId} (result ${refused.code})`);
    houseOpened = true;
    if (deps.signupGrantPtsMinor <= 0n) return;
    const [granted] = await deps.ledger.submitTransfers([
      {
        transferId: `signup-grant:${userId}:${PLAY_CURRENCY}`,
        kind: TransferKind.SINGLE_PHASE,
        debitAccountId: house,
        creditAccountId: accounts[1]!.accountId,
        amountMinor: deps.signupGrantPtsMinor,
        currency: PLAY_CURRENCY,
        pendingId: '',
        timeoutSeconds: 0n,
        linked: false,
        code: TransferCode.PLAY_MONEY_GRANT,
        marketId: '',
        betId: '',
        paymentId: '',
        settlementId: '',
        memo: 'signup play-money grant',
      },
    ]);
    if (
      granted === undefined ||
      (granted.code !== TransferResultCode.OK &&
        granted.code !== TransferResultCode.ALREADY_EXISTS_SAME)
    ) {
      throw new Error(
        `cannot pay the signup grant to ${userId}: ${granted?.code ?? 'no result'} ${granted?.detail ?? ''}`,
      );
    }
  }

  async function sweep(limit = 1000): Promise<number> {
    const rows = await deps.sql.query<{ id: string }>(
      `SELECT u.id FROM users u
       WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = 'wallet:' || u.id || ':PTS')
          OR ($1::boolean AND u.created_at_ms >= $2::bigint AND NOT EXISTS (
                SELECT 1 FROM ledger_transfers t WHERE t.id = 'signup-grant:' || u.id || ':PTS'))
       ORDER BY u.id LIMIT $3`,
      [deps.signupGrantPtsMinor > 0n, String(deps.nowMs() - GRANT_REPAIR_WINDOW_MS), limit],
    );
    for (const row of rows.rows) await open(row.id);
    return rows.rows.length;
  }

  return { open, sweep };
}
