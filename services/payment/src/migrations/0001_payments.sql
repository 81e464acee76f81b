-- Deposits and withdrawals, one row each, with the saga's progress (status), the provider's
-- reference and the client action of an unpaid deposit. Money itself lives in the user
-- service's ledger; this table only records which ledger transfers were made.
CREATE TABLE payments (
  payment_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL')),
  provider TEXT NOT NULL CHECK (provider IN ('STRIPE', 'MERCADOPAGO_PIX')),
  amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
  currency TEXT NOT NULL,
  status TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  request_fingerprint TEXT NOT NULL,
  provider_reference TEXT NOT NULL DEFAULT '',
  failure_code TEXT NOT NULL DEFAULT '',
  failure_message TEXT NOT NULL DEFAULT '',
  destination JSONB,
  client_action JSONB,
  ledger_transfer_id TEXT NOT NULL DEFAULT '',
  settle_transfer_id TEXT NOT NULL DEFAULT '',
  expires_at_ms BIGINT NOT NULL DEFAULT 0,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  completed_at_ms BIGINT NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at_ms BIGINT NOT NULL DEFAULT 0,
  UNIQUE (user_id, idempotency_key)
);

CREATE INDEX payments_by_user ON payments (user_id, created_at_ms DESC, payment_id DESC);
CREATE INDEX payments_by_time ON payments (created_at_ms DESC, payment_id DESC);
CREATE INDEX payments_by_reference ON payments (provider, provider_reference)
  WHERE provider_reference <> '';
CREATE INDEX payments_open ON payments (next_attempt_at_ms)
  WHERE status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELED', 'EXPIRED', 'PAID');

-- Provider webhook deliveries applied, by the provider's event id: a redelivery is acknowledged
-- and changes nothing. Written in the transaction of the delivery's effect.
CREATE TABLE payment_webhook_events (
  provider TEXT NOT NULL,
  event_id TEXT NOT NULL,
  payment_id TEXT NOT NULL,
  received_at_ms BIGINT NOT NULL,
  PRIMARY KEY (provider, event_id)
);
