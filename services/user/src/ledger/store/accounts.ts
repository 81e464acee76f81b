/**
 * Opening accounts (CreateAccounts): checked by the domain, inserted idempotently by id, each
 * result saying whether it was new, the same as before, or an id reused with different content.
 */
import {
  CreateAccountResultCode,
  checkNewAccount,
  isConstrainedKind,
  type AccountKind,
  type CreateAccountOutcome,
  type NewAccount,
} from '../domain/index.js';
import type { LedgerStoreContext } from './context.js';
import { ACCOUNT_JSON, parseAccount, type Json } from './rows.js';

/** Creates CreateAccounts over the shared store state. */
export function createAccountOpening(ctx: LedgerStoreContext): {
  readonly createAccounts: (accounts: readonly NewAccount[]) => Promise<CreateAccountOutcome[]>;
} {
  const { sql, options, withRetries, remember } = ctx;

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

  return { createAccounts };
}
