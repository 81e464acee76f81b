import type { Migration } from '@streambet/platform/sql/types';

/**
 * Schema of the double-entry ledger (ids 0100–0199; identity uses 0001–0099).
 *
 * - `ledger_accounts`: one row per account with its four running totals. A CHECK keeps
 *   constrained accounts (wallets, rake, escrows, streamer revenue) at available ≥ 0 whatever the
 *   code does, so a bug or a race can only fail a transaction, never overdraw a wallet.
 * - `ledger_transfers`: immutable, one row per committed transfer, numbered by `ledger_seq`.
 * - `ledger_holds`: the mutable state of each pending transfer (open, posted, voided, expired),
 *   kept apart so transfer rows are never updated.
 * - `ledger_apply_deltas`: applies per-account balance changes one row at a time in the order
 *   given (the ledger's lock order) and only then takes sequence numbers, so for every account the
 *   sequence of the transfers touching it follows their commit order.
 */
export const ledgerMigrations: readonly Migration[] = [
  {
    id: '0100_ledger_tables',
    sql: `
CREATE TABLE ledger_accounts (
  id text COLLATE "C" PRIMARY KEY,
  kind smallint NOT NULL,
  currency text NOT NULL,
  owner_id text NOT NULL DEFAULT '',
  constrained boolean NOT NULL,
  created_at_ms bigint NOT NULL,
  debits_pending bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
  debits_posted bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
  credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
  credits_posted bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
  CONSTRAINT ledger_accounts_available_not_negative
    CHECK (NOT constrained OR debits_posted + debits_pending <= credits_posted)
);
CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner_id) WHERE owner_id <> '';

CREATE SEQUENCE ledger_seq AS bigint START 1;

CREATE TABLE ledger_transfers (
  id text COLLATE "C" PRIMARY KEY,
  seq bigint NOT NULL UNIQUE,
  kind smallint NOT NULL,
  debit_account_id text COLLATE "C" NOT NULL,
  credit_account_id text COLLATE "C" NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL,
  pending_id text NOT NULL DEFAULT '',
  timeout_seconds bigint NOT NULL DEFAULT 0,
  expires_at_ms bigint NOT NULL DEFAULT 0,
  code smallint NOT NULL,
  market_id text NOT NULL DEFAULT '',
  bet_id text NOT NULL DEFAULT '',
  payment_id text NOT NULL DEFAULT '',
  settlement_id text NOT NULL DEFAULT '',
  memo text NOT NULL DEFAULT '',
  committed_at_ms bigint NOT NULL,
  fingerprint text NOT NULL
);
CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account_id, seq);
CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account_id, seq);

CREATE TABLE ledger_holds (
  transfer_id text COLLATE "C" PRIMARY KEY REFERENCES ledger_transfers (id),
  status smallint NOT NULL,
  expires_at_ms bigint NOT NULL DEFAULT 0,
  resolved_at_ms bigint NOT NULL DEFAULT 0,
  resolved_by text NOT NULL DEFAULT '',
  expiry_seq bigint
);
CREATE INDEX ledger_holds_open_expiry ON ledger_holds (expires_at_ms)
  WHERE status = 1 AND expires_at_ms > 0;
`,
  },
  {
    id: '0101_ledger_apply_deltas',
    sql: `
CREATE FUNCTION ledger_apply_deltas(
  ids text[], d_dpend bigint[], d_dpost bigint[], d_cpend bigint[], d_cpost bigint[], n_seq integer
) RETURNS TABLE (
  r_id text, r_dpend bigint, r_dpost bigint, r_cpend bigint, r_cpost bigint, r_seqs bigint[]
) LANGUAGE plpgsql AS $fn$
DECLARE
  i integer;
BEGIN
  FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
    RETURN QUERY
      UPDATE ledger_accounts a SET
        debits_pending = a.debits_pending + d_dpend[i],
        debits_posted = a.debits_posted + d_dpost[i],
        credits_pending = a.credits_pending + d_cpend[i],
        credits_posted = a.credits_posted + d_cpost[i]
      WHERE a.id = ids[i]
      RETURNING a.id::text, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
        NULL::bigint[];
  END LOOP;
  IF n_seq > 0 THEN
    RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
      ARRAY(SELECT nextval('ledger_seq') FROM generate_series(1, n_seq));
  END IF;
END
$fn$;
`,
  },
];
