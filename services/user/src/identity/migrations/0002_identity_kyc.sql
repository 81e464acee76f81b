
CREATE TABLE kyc_cases (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id),
  status text NOT NULL CHECK (status IN ('PENDING_REVIEW', 'VERIFIED', 'REJECTED')),
  legal_name text NOT NULL,
  document_type text NOT NULL,
  document_number text NOT NULL,
  document_country text NOT NULL,
  submitted_at_ms bigint NOT NULL,
  reviewed_at_ms bigint NOT NULL DEFAULT 0,
  reviewer_user_id text NOT NULL DEFAULT '',
  review_reason text NOT NULL DEFAULT '',
  provider_reference text NOT NULL DEFAULT ''
);
CREATE INDEX kyc_cases_status ON kyc_cases (status, id);
CREATE INDEX kyc_cases_user ON kyc_cases (user_id, id);
CREATE UNIQUE INDEX kyc_cases_one_pending ON kyc_cases (user_id) WHERE status = 'PENDING_REVIEW';
CREATE TABLE kyc_webhook_events (
  event_id text PRIMARY KEY,
  case_id text NOT NULL,
  received_at_ms bigint NOT NULL
);
