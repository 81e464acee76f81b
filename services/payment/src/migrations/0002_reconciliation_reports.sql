-- The daily provider-vs-ledger reports (payment.proto's ReconciliationReport): one row per UTC
-- day, currency and kind, overwritten by each recomputation of that day.
CREATE TABLE payment_reconciliation_reports (
  day_start_ms BIGINT NOT NULL,
  currency TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL')),
  provider_total_minor BIGINT NOT NULL,
  ledger_total_minor BIGINT NOT NULL,
  difference_minor BIGINT NOT NULL,
  provider_count INTEGER NOT NULL,
  ledger_count INTEGER NOT NULL,
  mismatched_payment_ids JSONB NOT NULL,
  flagged BOOLEAN NOT NULL,
  computed_at_ms BIGINT NOT NULL,
  PRIMARY KEY (day_start_ms, currency, kind)
);

CREATE INDEX payment_reconciliation_reports_flagged ON payment_reconciliation_reports (day_start_ms)
  WHERE flagged;

-- The report's provider side reads payments by completion time.
CREATE INDEX payments_completed ON payments (completed_at_ms) WHERE completed_at_ms > 0;
