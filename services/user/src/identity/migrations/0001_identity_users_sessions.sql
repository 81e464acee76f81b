
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
