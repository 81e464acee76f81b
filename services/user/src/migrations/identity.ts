import type { Migration } from '@streambet/platform/sql/types';

/**
 * Tables of identity, sessions, KYC and responsible-gambling limits (the ledger has its own
 * `ledger_*` tables). Times are BIGINT ms since the epoch (the service's injected clock); money is
 * BIGINT minor units. Apply with the platform's and the ledger's migrations:
 * `migrate(sql, 'user', [...platformMigrations, ...identityMigrations, ...ledgerMigrations])`.
 */
export const identityMigrations: readonly Migration[] = [
  {
    id: '0001_identity_users_sessions',
    sql: `
CREATE TABLE users (
  id text PRIMARY KEY,
  email text NOT NULL UNIQUE,
  display_name text NOT NULL,
  display_name_key text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  date_of_birth text NOT NULL,
  roles text[] NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen')),
  frozen_reason text NOT NULL DEFAULT '',
  kyc_status text NOT NULL DEFAULT 'NOT_STARTED'
    CHECK (kyc_status IN ('NOT_STARTED', 'PENDING_REVIEW', 'VERIFIED', 'REJECTED')),
  created_at_ms bigint NOT NULL,
  cool_off_until_ms bigint NOT NULL DEFAULT 0,
  self_exclusion_duration text CHECK (self_exclusion_duration IN ('SIX_MONTHS', 'ONE_YEAR', 'PERMANENT')),
  self_exclusion_started_at_ms bigint,
  self_exclusion_until_ms bigint,
  lifetime_deposits_minor bigint NOT NULL DEFAULT 0 CHECK (lifetime_deposits_minor >= 0)
);
CREATE TABLE sessions (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id),
  created_at_ms bigint NOT NULL,
  device_id text NOT NULL DEFAULT '',
  revoked_at_ms bigint,
  revoked_reason text
);
CREATE INDEX sessions_user_live ON sessions (user_id) WHERE revoked_at_ms IS NULL;
CREATE TABLE refresh_tokens (
  token_hash text PRIMARY KEY,
  session_id text NOT NULL REFERENCES sessions (id),
  issued_at_ms bigint NOT NULL,
  expires_at_ms bigint NOT NULL,
  used_at_ms bigint
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
`,
  },
  {
    id: '0002_identity_kyc',
    sql: `
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
`,
  },
  {
    id: '0003_identity_limits',
    sql: `
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
`,
  },
  {
    id: '0004_identity_login_failures',
    sql: `
CREATE TABLE login_failures (
  email text PRIMARY KEY,
  window_started_at_ms bigint NOT NULL,
  failures integer NOT NULL
);
`,
  },
];
