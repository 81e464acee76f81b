-- Two-step verification (issue 17): a TOTP secret per user (RFC 6238), its single-use recovery
-- codes by SHA-256, the second step of Login, and email changes confirmed by a link to the new
-- address.
CREATE TABLE two_step_secrets (
  user_id text PRIMARY KEY REFERENCES users (id),
  -- base32 secret (160 bits); the verifier needs it in clear.
  secret_base32 text NOT NULL,
  created_at_ms bigint NOT NULL,
  -- NULL while enrolling (until ConfirmTwoStep); then when it was turned on.
  enabled_at_ms bigint,
  -- An unconfirmed secret stops working at this time.
  enroll_expires_at_ms bigint NOT NULL,
  -- The highest TOTP time step accepted so far: a code of this step or an earlier one is
  -- refused (no reuse of a code, nor of an older one).
  last_used_step bigint NOT NULL DEFAULT 0
);
CREATE TABLE two_step_recovery_codes (
  user_id text NOT NULL REFERENCES users (id),
  code_hash text NOT NULL,
  used_at_ms bigint,
  PRIMARY KEY (user_id, code_hash)
);
-- Password checked, code awaited: the token of LoginResponse.second_step_token by SHA-256.
CREATE TABLE login_second_steps (
  token_hash text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id),
  device_id text NOT NULL DEFAULT '',
  created_at_ms bigint NOT NULL,
  expires_at_ms bigint NOT NULL,
  used_at_ms bigint
);
-- Email changes reuse the emailed tokens: `email` is the new address the link went to and
-- `previous_email` the account's address when it was asked.
ALTER TABLE email_tokens DROP CONSTRAINT email_tokens_purpose_check;
ALTER TABLE email_tokens ADD CONSTRAINT email_tokens_purpose_check
  CHECK (purpose IN ('verify_email', 'reset_password', 'change_email'));
ALTER TABLE email_tokens ADD COLUMN previous_email text;
