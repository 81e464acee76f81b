
CREATE TABLE rg_limits (
  user_id text NOT NULL REFERENCES users (id),
  kind text NOT NULL CHECK (kind IN ('deposit', 'loss')),
  period text NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly')),
  amount_minor bigint CHECK (amount_minor > 0),
  pending_set boolean NOT NULL DEFAULT false,
  pending_amount_minor bigint CHECK (pending_amount_minor > 0),
  pending_requested_at_ms bigint,
  pending_effective_at_ms bigint,
  PRIMARY KEY (user_id, kind, period)
);
CREATE INDEX rg_limits_due ON rg_limits (pending_effective_at_ms) WHERE pending_set;
CREATE TABLE rg_deposits (
  payment_id text PRIMARY KEY,
  user_id text NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  currency text NOT NULL,
  occurred_at_ms bigint NOT NULL
);
CREATE INDEX rg_deposits_user_time ON rg_deposits (user_id, occurred_at_ms);
CREATE TABLE rg_losses (
  entry_id text PRIMARY KEY,
  user_id text NOT NULL,
  amount_minor bigint NOT NULL,
  occurred_at_ms bigint NOT NULL
);
CREATE INDEX rg_losses_user_time ON rg_losses (user_id, occurred_at_ms);
