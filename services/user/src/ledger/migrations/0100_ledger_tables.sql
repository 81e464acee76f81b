
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
  seq bigint NOT NULL,
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
  transfer_id text COLLATE "C" PRIMARY KEY,
  status smallint NOT NULL,
  expires_at_ms bigint NOT NULL DEFAULT 0,
  resolved_at_ms bigint NOT NULL DEFAULT 0,
  resolved_by text NOT NULL DEFAULT '',
  expiry_seq bigint
);
CREATE INDEX ledger_holds_open_expiry ON ledger_holds (expires_at_ms)
  WHERE status = 1 AND expires_at_ms > 0;
