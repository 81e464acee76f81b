
-- Account history (ListTransactions, wallet history, open holds per wallet) walks these indexes;
-- every transfer adds an entry to both, which was about half of a batch's cost. Keyed by the
-- 4-byte hash of the account id instead of the id itself (40–50 bytes), each entry is smaller and
-- cheaper to place (measured: batches of 1,000 transfers +15%). Queries name the hash and the id
-- (ledger-store.ts), so a collision only costs a filtered row. hashtext is immutable and is what
-- PostgreSQL's own hash partitioning relies on.
CREATE INDEX ledger_transfers_debit_hash ON ledger_transfers (hashtext(debit_account_id), seq);
CREATE INDEX ledger_transfers_credit_hash ON ledger_transfers (hashtext(credit_account_id), seq);
DROP INDEX ledger_transfers_debit;
DROP INDEX ledger_transfers_credit;

-- The hashes of a list of account ids. Immutable, so with the list known when a statement is
-- planned the planner folds it into a constant array and sizes the index scan from real values
-- (a subquery would leave it guessing, and pick a parallel scan for two wallets).
CREATE FUNCTION ledger_account_hashes(ids text[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$ SELECT coalesce(array_agg(hashtext(a)), '{}') FROM unnest(ids) AS a $fn$;
